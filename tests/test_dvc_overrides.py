"""`dvc exp run -S` as DVC applies it (its own code: Hydra's grammar, params.yaml written back as DVC
writes it), read back by gansweep: the README's experiments, and `gansweep train-best`'s command."""
import argparse
import re
import shlex
import shutil

import pytest

import yaml
from dvc.utils.hydra import apply_overrides

from gansweep.cli import main, overrides_from
from gansweep.config import load_config, read_params
from helpers import ROOT


def test_the_winner_reaches_params_yaml_through_dvc_exactly(tmp_path, monkeypatch, capsys):
    params = read_params(ROOT / "params.yaml")
    params["loss"] = {"name": "lsgan", "options": {"a": 0.0, "b": 1.0, "c": 1.0}}  # a mapping the winner's replaces whole
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    study = params["search"]["study"]
    (tmp_path / "studies" / study).mkdir(parents=True)
    best = {"loss.name": "ebgan", "loss.options": {"margin": 5.0}, "regularization.augment": "translation,cutout",
            "train.lr_g": 1.0e-05, "train.ema": None, "compute.channels_last": True, "model.g_activation": "elu"}
    (tmp_path / "studies" / study / "best_params.yaml").write_text(yaml.safe_dump({"params": best}))
    monkeypatch.chdir(tmp_path)
    main(["train-best", "--dry-run", "-S", "train.epochs=30", "-S", "train.lr_g=2.0e-5"])  # yours win over the winner's
    command = shlex.split(capsys.readouterr().out.strip().splitlines()[-1])  # as a user pastes it into a shell
    assert command[:5] == ["dvc", "exp", "run", "-n", f"{study}-best"] and set(command[5::2]) == {"-S"}
    apply_overrides("params.yaml", command[6::2])
    assert "lr_g: 2e-05" in (tmp_path / "params.yaml").read_text()  # YAML 1.1 would read this as a string
    run = load_config("params.yaml", {})
    assert (run.loss.name, run.loss.options, run.regularization.augment, run.train.lr_g, run.train.ema,
            run.compute.channels_last, run.model.g_activation, run.train.epochs) == (
        "ebgan", {"margin": 5.0}, ["translation", "cutout"], 2e-05, None, True, "elu", 30)


@pytest.mark.parametrize("text", ["params: [unclosed", "- a list\n", "params: [a, b]\n"])
def test_a_damaged_best_params_file_is_one_line(tmp_path, monkeypatch, capsys, text):
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    study = read_params(ROOT / "params.yaml")["search"]["study"]
    (tmp_path / "studies" / study).mkdir(parents=True)
    (tmp_path / "studies" / study / "best_params.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["train-best", "--dry-run"])
    assert stopped.value.code == 2 and capsys.readouterr().err.strip().splitlines() == [
        f"error: {tmp_path / 'studies' / study / 'best_params.yaml'} is damaged: `gansweep study --study-name {study}` writes it again"]


def test_numbers_in_e_notation_are_numbers_in_params_yaml_and_in_overrides(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text().replace("lr_d: ", "lr_d: 5e-4  #", 1))
    given = overrides_from(argparse.Namespace(set=["train.lr_g=1e-5", "model.g_activation=elu", "train.seed=1_0"]))
    assert given == {"train.lr_g": 1e-05, "model.g_activation": "elu", "train.seed": 10}
    cfg = load_config(tmp_path / "params.yaml", given)
    assert (cfg.train.lr_d, cfg.train.lr_g) == (0.0005, 1e-05)


@pytest.mark.parametrize("doc", ["README.md", "docs/runs.md"])
def test_the_documented_experiments_are_valid_params_after_dvc_applies_them(tmp_path, doc):
    commands = [shlex.split(line.split("#")[0]) for line in (ROOT / doc).read_text().splitlines() if re.match(r"dvc exp run .*-S", line)]
    assert len(commands) >= 2, doc
    for command in commands:
        shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
        apply_overrides(tmp_path / "params.yaml", [arg for flag, arg in zip(command, command[1:]) if flag == "-S"])
        load_config(tmp_path / "params.yaml", {})  # raises on what DVC would leave invalid
    assert load_config(tmp_path / "params.yaml", {}).loss.options == {"a": -1.0, "b": 1.0, "c": 0.0}  # the last: lsgan's
