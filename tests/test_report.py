"""The comparison report on a synthetic grid with known answers: a real journal storage and a real
MLflow store holding what a study leaves (trials, nested runs with tags, eval_fid curves and sample
grids), read back by `gansweep report`. A real grid's report is in test_study.py."""
import hashlib
import html
import importlib
import io
import re
import shutil
from contextlib import contextmanager

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial
from PIL import Image

from gansweep.cli import main
from gansweep.config import read_params
from gansweep.report import screenshot
from helpers import ROOT

plots = importlib.import_module("gansweep.report.plots")  # the module: gansweep.report.plots is also its function

ACTIVATION = {"relu": 0.0, "elu": 20.0}
LOSS = {"non_saturating": 0.0, "lsgan": -30.0}
SEEDS = [0, 1, 2]
NOISE = [-1.0, 0.0, 1.0]  # per seed: every cell's mean is exact and its sd is 1
PROTOCOL = {"dataset": "mnist-5k", "convention": "legacy_tensorflow", "reference_split": "train", "reference_images": "500", "generated_images": "500"}


def fid_of(activation, loss, seed):
    return 100.0 + ACTIVATION[activation] + LOSS[loss] + NOISE[seed]


def make_grid(project, *, other_protocol=False, other_code=False, name="grid", activations=tuple(ACTIVATION), protocol_of_all=PROTOCOL,
              extra=True, fixed_activation=False, augment=None):
    """A finished grid study 'grid' (2 activations x 2 losses x 3 seeds) plus one pruned and one
    failed trial (`extra`), as `gansweep study` leaves it."""
    params = read_params(ROOT / "params.yaml")
    (project / "params.yaml").write_text(yaml.safe_dump({**params, "search": {**params["search"], "study": name}}, sort_keys=False))
    folder = project / "studies" / name
    folder.mkdir(parents=True)
    storage = optuna.storages.journal.JournalStorage(optuna.storages.journal.JournalFileBackend(str(folder / "journal.log")))
    study = optuna.create_study(study_name=name, storage=storage)
    space = {"model.g_activation": list(activations), "loss.name": list(LOSS), "train.seed": SEEDS}
    run_params = {k: v for k, v in params.items() if k != "search"}
    if fixed_activation:  # the study's one activation set in its params, not searched
        [activation] = activations
        del space["model.g_activation"]
        run_params = {**run_params, "model": {**run_params["model"], "g_activation": activation}}
    if augment is not None:  # a list-valued key the study fixed
        run_params = {**run_params, "regularization": {**run_params["regularization"], "augment": augment}}
    study.set_user_attr("identity", {"objective": "fid", "sampler": "grid", "pruner": "none", "seed": 0, "space": space,
                                     "params": run_params, "protocol": protocol_of_all})
    client = MlflowClient()
    known = client.get_experiment_by_name("gansweep")
    experiment = known.experiment_id if known else client.create_experiment("gansweep")
    parent = client.create_run(experiment, run_name=f"study {name}").info.run_id
    study.set_user_attr("mlflow_parent_run_id", parent)
    study.set_user_attr("mlflow_experiment_id", experiment)
    study.set_user_attr("mlflow_tracking_uri", client.tracking_uri)
    distributions = {key: CategoricalDistribution(values) for key, values in space.items()}
    points = [(a, l, s) for a in activations for l in LOSS for s in SEEDS]
    for number, (activation, loss, seed) in enumerate(points + ([("elu", "non_saturating", 0), ("relu", "lsgan", 1)] if extra else [])):
        state = TrialState.COMPLETE if number < len(points) else (TrialState.PRUNED if number == len(points) else TrialState.FAIL)
        fid = fid_of(activation, loss, seed)
        tags = {"mlflow.parentRunId": parent, "optuna.trial_number": str(number), "gansweep.trial": f"{name}/{number}",
                "mlflow.source.git.commit": "c0ffee", "gansweep.data_sha256": "d" * 64,
                "gansweep.code_sha256": ("e" if other_code and number == 0 else "a") * 64}
        if state == TrialState.COMPLETE:
            protocol = {**protocol_of_all, "generated_images": "100"} if other_protocol and number == 0 else protocol_of_all
            tags.update({f"protocol.{k}": v for k, v in protocol.items()})
        run = client.create_run(experiment, run_name=f"trial {number}", tags=tags).info.run_id
        for epoch in range(3):  # the periodic evaluation: falls towards the final value
            if number % 2:  # as training logs it: at the epoch's last batch (10 per epoch), beside Lightning's `epoch`
                step = 10 * epoch + 9
                for key, value in (("epoch", epoch), ("d_loss_epoch", 1.0), ("eval_fid", fid + 40.0 * (2 - epoch))):
                    client.log_metric(run, key, value, step=step)
                client.log_metric(run, "epoch", epoch, step=10 * epoch + 4)  # also at the batches between
            else:  # as runs made before the shared step axis logged it: step = epoch
                client.log_metric(run, "eval_fid", fid + 40.0 * (2 - epoch), step=epoch)
        image = project / "samples.png"
        Image.fromarray(np.full((8, 8), number * 10, np.uint8)).save(image)
        client.log_artifact(run, str(image))
        params = {"model.g_activation": activation, "loss.name": loss, "train.seed": seed}
        if fixed_activation:
            del params["model.g_activation"]
        attrs = {"overrides": {**params, "loss.options": {}}, "mlflow_run_id": run}
        if state == TrialState.COMPLETE:
            attrs.update({"fid": fid, "kid": fid / 1000})
        if state == TrialState.FAIL:
            attrs["fail_reason"] = "d_loss is nan/inf at step 3"
        study.add_trial(create_trial(state=state, value=fid if state == TrialState.COMPLETE else None, params=params,
                                     distributions=distributions, user_attrs=attrs,
                                     intermediate_values={1: fid / 1000} if state == TrialState.PRUNED else None))
        client.set_terminated(run, "FINISHED" if state == TrialState.COMPLETE else "KILLED" if state == TrialState.PRUNED else "FAILED")
    client.set_terminated(parent, "FINISHED")
    return study, client


def run_report(project, monkeypatch, capsys, *args):
    monkeypatch.chdir(project)
    main(["report", *args])
    return capsys.readouterr()


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_the_report_recovers_the_known_answers_of_a_grid(tmp_path, monkeypatch, capsys):
    study, client = make_grid(tmp_path)
    out = run_report(tmp_path, monkeypatch, capsys).out
    folder = tmp_path / "studies" / "grid" / "report"
    assert "report: " in out and str(folder / "report.html") in out

    table = pd.read_csv(folder / "configurations.csv")
    assert list(table["configuration"]) == ["g_activation=relu, loss=lsgan", "g_activation=elu, loss=lsgan",
                                            "g_activation=relu, loss=non_saturating", "g_activation=elu, loss=non_saturating"]
    assert list(table["fid_mean"]) == pytest.approx([70.0, 90.0, 100.0, 120.0])
    assert list(table["fid_sd"]) == pytest.approx([1.0] * 4)
    assert list(table["seeds"]) == [3, 3, 3, 3]
    assert (table["fid_ci_low"] >= table["fid_mean"] - 1).all() and (table["fid_ci_high"] <= table["fid_mean"] + 1).all()
    assert (table["fid_ci_low"] < table["fid_mean"]).all() and (table["fid_mean"] < table["fid_ci_high"]).all()
    assert list(table["best_seed"]) == [0, 0, 0, 0]
    assert table.loc[0, ["pruned", "failed"]].tolist() == [0, 1] and table.loc[3, ["pruned", "failed"]].tolist() == [1, 0]
    assert (table["protocol"] == "mnist-5k: 500 generated vs 500 train images, legacy_tensorflow FID").all()

    marginal = pd.read_csv(folder / "marginal_effects.csv").set_index(["factor", "level"])["effect"]
    assert marginal.to_dict() == pytest.approx({("model.g_activation", "relu"): -10.0, ("model.g_activation", "elu"): 10.0,
                                                ("loss.name", "non_saturating"): 15.0, ("loss.name", "lsgan"): -15.0})

    pairs = pd.read_csv(folder / "pairwise.csv")
    assert len(pairs) == 6 and pairs["significant"].all()  # every gap is 10-50 FID against an sd of 1
    first = pairs.iloc[0]
    assert first["sentence"].startswith("g_activation=relu, loss=lsgan beats g_activation=elu, loss=lsgan by 20 +- ")
    assert "Welch's t-test" in first["sentence"] and "after Holm" in first["sentence"]

    page = (folder / "report.html").read_text()
    conclusion = re.search(r'<div class="conclusion">(.*?)</div>', page).group(1)
    assert "Lowest FID: g_activation=relu, loss=lsgan: 70 (mean of 3 seed(s), 95% interval 69 to 71" in conclusion
    assert "loss: lsgan is best on average" in conclusion and "g_activation: relu is best on average" in conclusion
    assert page.index('class="conclusion"') < page.index("<table")  # the answer before any table
    for warning in ("1 trial(s) were pruned", "1 trial(s) failed: 1 x d_loss is nan/inf at step 3", "fewer than 10 seeds"):
        assert warning in page
    # 4 plots, a grid per configuration, best and worst beside the conclusion, the best per level of 2 factors x 2 levels
    assert page.count('src="data:image/png;base64,') == 4 + 4 + 2 + 4 and not re.search(r'(src|href)="(?!data:|http://127\.0\.0\.1:5000/#)', page)
    assert page.count("Protocol: mnist-5k: 500 generated vs 500 train images, legacy_tensorflow FID") >= 4  # on every table
    run_ids = set(pd.read_csv(folder / "runs.csv")["mlflow_run_id"])
    assert len(run_ids) == 14 and all(f"#/experiments/{study.user_attrs['mlflow_experiment_id']}/runs/{r}" in page for r in run_ids)

    assert set(pd.read_csv(folder / "runs.csv")["state"]) == {"COMPLETE", "PRUNED", "FAIL"}

    # the same files on the study's parent MLflow run, and the same bytes when written again
    parent = study.user_attrs["mlflow_parent_run_id"]
    logged = {a.path for a in client.list_artifacts(parent, "report")}
    assert logged == {f"report/{name}" for name in digest(folder)}
    before = digest(folder)
    run_report(tmp_path, monkeypatch, capsys)
    assert digest(folder) == before


def test_trials_under_other_protocols_or_code_are_kept_apart_and_named(tmp_path, monkeypatch, capsys):
    make_grid(tmp_path, other_protocol=True, other_code=True)
    drawn, draw = {}, plots._figure

    @contextmanager
    def kept(path, *args):  # the plots' axes, to read back what they show
        with draw(path, *args) as (figure, axes):
            drawn[path.stem] = axes
            yield figure, axes
    monkeypatch.setattr(plots, "_figure", kept)
    run_report(tmp_path, monkeypatch, capsys)
    for name in ("fid_by_configuration", "seed_spread"):  # each configuration once, its main-protocol seeds only
        rows = [label.get_text() for label in drawn[name].get_yticklabels()]
        assert sorted(rows) == sorted({f"g_activation={a}, loss={l}" for a in ACTIVATION for l in LOSS}), name
        points = [y for line in drawn[name].lines if line.get_marker() == "o" for y in line.get_ydata()]  # a dot per seed
        assert sorted(points) == sorted([rows.index("g_activation=relu, loss=non_saturating")] * 2
                                        + [row for row in range(4) if rows[row] != "g_activation=relu, loss=non_saturating"] * 3), name
    folder = tmp_path / "studies" / "grid" / "report"
    table = pd.read_csv(folder / "configurations.csv")
    odd = table[table["protocol"].str.contains("100 generated")]
    assert len(odd) == 1 and odd["seeds"].tolist() == [1] and odd["configuration"].tolist() == ["g_activation=relu, loss=non_saturating"]
    same = table[(table["configuration"] == "g_activation=relu, loss=non_saturating") & ~table["protocol"].str.contains("100 generated")]
    assert same["seeds"].tolist() == [2] and same["fid_mean"].tolist() == pytest.approx([100.5])  # seeds 1, 2 only
    page = html.unescape((folder / "report.html").read_text())
    assert "Trials were measured under 2 protocols" in page and "only those of 'mnist-5k: 500 generated" in page
    assert "Complete trials ran 2 code versions (aaaaaaaaaaaa, eeeeeeeeeeee)" in page
    pairs = pd.read_csv(folder / "pairwise.csv")  # the four configurations under the main protocol, not the odd row
    assert len(pairs) == 6 and set(pairs["a"]) | set(pairs["b"]) == set(table["configuration"])


def test_a_report_of_a_study_that_does_not_exist_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["report", "--study-name", "nope"])
    [line] = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2 and line == (
        f"error: no study 'nope' in {tmp_path.resolve()}/studies/nope/: run `gansweep study --study-name nope` first")
    assert not (tmp_path / "studies" / "nope").exists()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed (.ci/run installs it)")
def test_headless_chromium_shows_the_conclusion_on_the_first_screen(tmp_path, monkeypatch, capsys):
    make_grid(tmp_path)
    run_report(tmp_path, monkeypatch, capsys)
    page = tmp_path / "studies" / "grid" / "report" / "report.html"
    png = screenshot(page, tmp_path / "shot.png", width=1280, height=800)
    image = np.asarray(Image.open(io.BytesIO(png.read_bytes())).convert("L"), dtype=float)
    assert image.shape == (800, 1280)
    # the conclusion box's green background is drawn within the first screen, and there is content
    rgb = np.asarray(Image.open(png).convert("RGB"), dtype=int)
    green = np.all(np.abs(rgb - [0xEE, 0xF5, 0xEE]) <= 2, axis=-1)
    rows = np.where(green.any(axis=1))[0]
    assert len(rows) and rows.max() < 790 and green.sum() > 20_000, (rows.max() if len(rows) else None, green.sum())  # ends on screen
    assert image.std() > 20  # not a blank page
    # the sample grids of the best (relu, lsgan, seed 0: trial 3, gray 30) and the worst configuration
    # (elu, non_saturating, seed 0: trial 6, gray 60) beside the conclusion, on the first screen
    for gray in (30, 60):
        block = np.all(rgb == gray, axis=-1)
        assert block.sum() > 150 * 150, (gray, block.sum())
        assert set(np.where(block.any(axis=1))[0]) & set(rows), gray  # level with the conclusion box


def test_a_budget_fair_study_draws_each_levels_best_per_budget(tmp_path, monkeypatch, capsys):
    # 40 random trials per loss with known distributions: A ~ U(10, 50), B ~ U(20, 30). Closed form of the
    # expected best of k: A 10 + 40/(k+1), B 20 + 10/(k+1): B is better at 1 trial, A from 3 on.
    params = read_params(ROOT / "params.yaml")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**params, "search": {**params["search"], "study": "fair"}}, sort_keys=False))
    folder = tmp_path / "studies" / "fair"
    folder.mkdir(parents=True)
    storage = optuna.storages.journal.JournalStorage(optuna.storages.journal.JournalFileBackend(str(folder / "journal.log")))
    study = optuna.create_study(study_name="fair", storage=storage)
    space = {"loss.name": ["A", "B"], "train.lr_g": {"low": 1e-4, "high": 1e-3, "log": True}}
    study.set_user_attr("identity", {"objective": "fid", "sampler": "random", "pruner": "none", "seed": 0, "space": space,
                                     "params": {k: v for k, v in params.items() if k != "search"}, "protocol": PROTOCOL,
                                     "budget_factor": "loss.name"})
    client = MlflowClient()
    experiment = client.create_experiment("gansweep")
    parent = client.create_run(experiment, run_name="study fair").info.run_id
    for key, value in (("mlflow_parent_run_id", parent), ("mlflow_experiment_id", experiment), ("mlflow_tracking_uri", client.tracking_uri)):
        study.set_user_attr(key, value)
    rng = np.random.default_rng(3)
    distributions = {"loss.name": CategoricalDistribution(["A", "B"]), "train.lr_g": optuna.distributions.FloatDistribution(1e-4, 1e-3, log=True)}
    for number in range(80):
        loss = "AB"[number % 2]
        fid = float(rng.uniform(10, 50) if loss == "A" else rng.uniform(20, 30))
        tags = {"mlflow.parentRunId": parent, "optuna.trial_number": str(number), **{f"protocol.{k}": v for k, v in PROTOCOL.items()}}
        run = client.create_run(experiment, run_name=f"trial {number}", tags=tags).info.run_id
        params_ = {"loss.name": loss, "train.lr_g": float(rng.uniform(1e-4, 1e-3))}
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=fid, params=params_, distributions=distributions,
                                     user_attrs={"fid": fid, "kid": fid / 1000, "overrides": params_, "mlflow_run_id": run}))
        client.set_terminated(run, "FINISHED")
    out = run_report(tmp_path, monkeypatch, capsys).out
    curves = pd.read_csv(folder / "report" / "budget_curves.csv")
    for loss, (a, b) in {"A": (10, 50), "B": (20, 30)}.items():
        rows = curves[(curves["level"] == loss) & (curves["budget"] <= 10)]  # (the band's coverage: test_budget.py)
        truth = a + (b - a) / (rows["budget"] + 1)
        assert (abs(rows["expected_best_fid"] - truth) < 0.1 * (b - a)).all(), loss
        assert (rows["ci_low"] < rows["expected_best_fid"]).all() and (rows["expected_best_fid"] < rows["ci_high"]).all()
    # the closed forms cross at 2 trials: B may win only below, A only above (from where 40 trials give the power)
    verdict = re.search(r"A beats B from (\d+) trials on; B beats A at 1 trial \(expected best FID, 95% bootstrap\)\.", out)
    assert verdict and 3 <= int(verdict.group(1)) <= 5, out
    page = (folder / "report" / "report.html").read_text()
    assert "Best FID per tuning budget" in page and page.index("A beats B") < page.index("<table")


def test_a_grid_run_in_two_studies_is_one_comparison(tmp_path, monkeypatch, capsys):
    # the relu half and the elu half of the grid as two studies (two machines, say): the same table as the whole grid
    make_grid(tmp_path, name="relu-half", activations=("relu",), extra=False)
    make_grid(tmp_path, name="elu-half", activations=("elu",), extra=False)
    out = run_report(tmp_path, monkeypatch, capsys, "--study-name", "relu-half", "--study-name", "elu-half").out
    folder = tmp_path / "studies" / "relu-half+elu-half" / "report"
    assert str(folder / "report.html") in out
    table = pd.read_csv(folder / "configurations.csv")
    assert dict(zip(table["configuration"], table["fid_mean"])) == pytest.approx({
        "g_activation=relu, loss=lsgan": 70.0, "g_activation=elu, loss=lsgan": 90.0,
        "g_activation=relu, loss=non_saturating": 100.0, "g_activation=elu, loss=non_saturating": 120.0})
    assert (table["seeds"] == 3).all()
    out = run_report(tmp_path, monkeypatch, capsys, "--study-name", "relu-half", "--study-name", "elu-half", "--study-name", "elu-half").out
    assert str(folder / "report.html") in out and (pd.read_csv(folder / "configurations.csv")["seeds"] == 3).all()  # each study once
    marginal = pd.read_csv(folder / "marginal_effects.csv").set_index(["factor", "level"])["effect"]
    assert marginal[("model.g_activation", "relu")] == pytest.approx(-10.0) and marginal[("loss.name", "lsgan")] == pytest.approx(-15.0)
    runs = pd.read_csv(folder / "runs.csv")
    assert runs.groupby("study")["trial"].count().to_dict() == {"elu-half": 6, "relu-half": 6}
    page = (folder / "report.html").read_text()
    assert "relu-half + elu-half: which configuration gives the lowest FID" in page


def test_studies_under_different_protocols_are_not_one_comparison(tmp_path, monkeypatch, capsys):
    make_grid(tmp_path, name="a", activations=("relu",), extra=False)
    make_grid(tmp_path, name="b", activations=("elu",), extra=False, protocol_of_all={**PROTOCOL, "generated_images": "10000"})
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(["report", "--study-name", "a", "--study-name", "b"])
    [line] = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2 and line.startswith("error: study 'b' was measured with another protocol") and "cannot be compared" in line


def test_a_value_two_studies_fixed_differently_is_a_factor_of_their_comparison(tmp_path, monkeypatch, capsys):
    # one study per activation, each with it in its params (not its space): still four configurations, not two
    make_grid(tmp_path, name="relu", activations=("relu",), extra=False, fixed_activation=True)
    make_grid(tmp_path, name="elu", activations=("elu",), extra=False, fixed_activation=True)
    run_report(tmp_path, monkeypatch, capsys, "--study-name", "relu", "--study-name", "elu")
    folder = tmp_path / "studies" / "relu+elu" / "report"
    table = pd.read_csv(folder / "configurations.csv")
    assert dict(zip(table["configuration"], table["fid_mean"])) == pytest.approx({
        "loss=lsgan, g_activation=relu": 70.0, "loss=lsgan, g_activation=elu": 90.0,
        "loss=non_saturating, g_activation=relu": 100.0, "loss=non_saturating, g_activation=elu": 120.0})
    marginal = pd.read_csv(folder / "marginal_effects.csv").set_index(["factor", "level"])["effect"]
    assert marginal[("model.g_activation", "relu")] == pytest.approx(-10.0)
    assert "start from different values of model.g_activation: compared as factors" in (folder / "report.html").read_text()


def test_grids_by_level_show_each_levels_best_also_for_a_null_level():
    from gansweep.report.comparison import Comparison
    from gansweep.report.page import grids_by_level

    table = pd.DataFrame({"configuration": ["ema=0.999", "(ema off)", "ema=0.9"], "train.ema": [0.999, None, 0.9], "seeds": [1, 1, 1],
                          "fid_mean": [40.0, 50.0, 60.0], "protocol": ["p", "p", "p"]})
    png = {name: io.BytesIO() for name in table["configuration"]}
    for gray, (name, buffer) in zip((10, 20, 30), png.items()):
        Image.fromarray(np.full((4, 4), gray, np.uint8)).save(buffer, format="PNG")
    c = Comparison("s", "grid", "fid", ["train.ema"], ["train.ema"], pd.DataFrame(), table, pd.DataFrame(), [], "p", pd.DataFrame(),
                   samples={name: buffer.getvalue() for name, buffer in png.items()})
    page = grids_by_level(c)
    assert page.count("<figure>") == 3 and "null: FID 50" in page and "0.999: FID 40" in page


def test_fid_curves_are_read_by_epoch_on_either_step_axis(tmp_path):
    """eval_fid on the losses' step axis (odd trials) and at step = epoch (even, older runs): the same curves."""
    from gansweep.report import compare

    study, client = make_grid(tmp_path, extra=False)
    curves = compare([study], client).curves
    assert set(curves["trial"]) == set(range(12))
    for trial, group in curves.groupby("trial"):
        assert list(group["epoch"]) == [1, 2, 3], trial
        assert list(group["eval_fid"].diff().dropna()) == pytest.approx([-40.0, -40.0])


def test_a_list_two_studies_fixed_differently_is_a_factor_too(tmp_path, monkeypatch, capsys):
    make_grid(tmp_path, name="plain", extra=False, augment=[])
    make_grid(tmp_path, name="augmented", extra=False, augment=["translation", "cutout"])
    run_report(tmp_path, monkeypatch, capsys, "--study-name", "plain", "--study-name", "augmented")
    table = pd.read_csv(tmp_path / "studies" / "plain+augmented" / "report" / "configurations.csv")
    assert set(table["regularization.augment"]) == {"none", "translation,cutout"} and len(table) == 8


def test_a_null_choice_is_a_level_and_another_loss_option_is_not(tmp_path, monkeypatch, capsys):
    # docs/recipes.md searches train.ema: [null, 0.999]; a loss's own option is sampled only with that loss
    params = read_params(ROOT / "params.yaml")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**params, "search": {**params["search"], "study": "ema"}}, sort_keys=False))
    (tmp_path / "studies" / "ema").mkdir(parents=True)
    storage = optuna.storages.journal.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "studies" / "ema" / "journal.log")))
    study = optuna.create_study(study_name="ema", storage=storage)
    space = {"train.ema": [None, 0.999], "loss.name": ["non_saturating", "lsgan"], "loss.options.lsgan.a": [-1, 0], "train.seed": [0, 1]}
    study.set_user_attr("identity", {"objective": "fid", "sampler": "grid", "pruner": "none", "seed": 0, "space": space,
                                     "params": {k: v for k, v in params.items() if k != "search"}, "protocol": PROTOCOL})
    client = MlflowClient()
    experiment = client.create_experiment("gansweep")
    parent = client.create_run(experiment, run_name="study ema").info.run_id
    for key, value in (("mlflow_parent_run_id", parent), ("mlflow_experiment_id", experiment), ("mlflow_tracking_uri", client.tracking_uri)):
        study.set_user_attr(key, value)
    points = [{"train.ema": ema, "loss.name": "non_saturating", "train.seed": s} for ema in (None, 0.999) for s in (0, 1)]
    points += [{"train.ema": ema, "loss.name": "lsgan", "loss.options.lsgan.a": a, "train.seed": s}
               for ema in (None, 0.999) for a in (-1, 0) for s in (0, 1)]
    for number, point in enumerate(points):  # FID: 100, +10 without EMA, -20 / -10 for lsgan with a = -1 / 0, +-1 by seed
        fid = 100.0 + 10 * (point["train.ema"] is None) + {-1: -20.0, 0: -10.0, None: 0.0}[point.get("loss.options.lsgan.a")]
        fid += (-1.0, 1.0)[point["train.seed"]]
        run = client.create_run(experiment, run_name=f"trial {number}", tags={
            "mlflow.parentRunId": parent, "optuna.trial_number": str(number), "gansweep.trial": f"ema/{number}",
            **{f"protocol.{k}": v for k, v in PROTOCOL.items()}}).info.run_id
        client.set_terminated(run, "FINISHED")
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=fid, params=point,
                                     distributions={key: CategoricalDistribution(space[key]) for key in point},
                                     user_attrs={"fid": fid, "kid": fid / 1000, "mlflow_run_id": run, "overrides": point}))
    run_report(tmp_path, monkeypatch, capsys)
    folder = tmp_path / "studies" / "ema" / "report"
    table = pd.read_csv(folder / "configurations.csv")
    assert dict(zip(table["configuration"], table["fid_mean"])) == pytest.approx({
        "ema=null, loss=non_saturating": 110.0, "ema=0.999, loss=non_saturating": 100.0,
        "ema=null, loss=lsgan, lsgan.a=-1": 90.0, "ema=0.999, loss=lsgan, lsgan.a=-1": 80.0,
        "ema=null, loss=lsgan, lsgan.a=0": 100.0, "ema=0.999, loss=lsgan, lsgan.a=0": 90.0})
    marginal = pd.read_csv(folder / "marginal_effects.csv", keep_default_na=False).set_index(["factor", "level"])
    assert marginal["effect"].to_dict() == pytest.approx({  # six cells, each weighted equally; no level for "not sampled"
        ("train.ema", "null"): 5.0, ("train.ema", "0.999"): -5.0, ("loss.name", "non_saturating"): 10.0, ("loss.name", "lsgan"): -5.0,
        ("loss.options.lsgan.a", "-1"): -10.0, ("loss.options.lsgan.a", "0"): 0.0})
    page = (folder / "report.html").read_text()
    assert "ema: 0.999 is best on average over the other choices (-5 FID" in page
    assert "configurations have a complete trial" not in page  # the grid has 2 x (1 + 2) cells, not 2 x 2 x 2


def test_a_configuration_and_seed_measured_twice_counts_once(tmp_path, monkeypatch, capsys):
    # two studies over the same half of the grid (or a sampler proposing a configuration again at the fixed seed)
    make_grid(tmp_path, name="relu-half", activations=("relu",), extra=False)
    make_grid(tmp_path, name="relu-again", activations=("relu",), extra=False)
    run_report(tmp_path, monkeypatch, capsys, "--study-name", "relu-half", "--study-name", "relu-again")
    folder = tmp_path / "studies" / "relu-half+relu-again" / "report"
    table = pd.read_csv(folder / "configurations.csv")
    assert list(table["seeds"]) == [3, 3] and list(table["fid_sd"]) == pytest.approx([1.0, 1.0])  # not 6 seeds with a smaller spread
    assert list(table["seed_values"]) == ["0:69 1:70 2:71", "0:99 1:100 2:101"]
    assert "6 complete trial(s) repeat a configuration and seed measured before" in (folder / "report.html").read_text()
    assert len(pd.read_csv(folder / "runs.csv")) == 12  # every trial still listed
