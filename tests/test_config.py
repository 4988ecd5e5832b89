import subprocess
import sys

import pytest

from gansweep.cli import main
from gansweep.config import Config, load_config, parse_config
from gansweep.registry import ConfigError, Registry
from helpers import ROOT, make_config


def test_the_shipped_params_are_valid_and_the_only_source_of_defaults():
    cfg = load_config(ROOT / "params.yaml")
    assert isinstance(cfg, Config)
    # The code has no defaults of its own: an in-process config is params.yaml's, or an error.
    for section in Config.model_fields.values():
        assert section.is_required()
        assert all(field.is_required() for field in section.annotation.model_fields.values()), section.annotation
    with pytest.raises(Exception):
        Config()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"data": {"dataset": "imagenet"}}, "data.dataset: unknown 'imagenet' dataset; choose one of: cifar10, fashion-mnist, folder, mnist, mnist-5k"),
        ({"model": {"g_activation": "swish"}}, "model.g_activation: unknown 'swish' activation; choose one of: elu, gelu,"),
        ({"model": {"d_norm": "group"}}, "model.d_norm: unknown 'group' normalization; choose one of: batch, instance, layer, none"),
        ({"loss": {"name": "wasserstein"}}, "loss.name: unknown 'wasserstein' loss; choose one of: began, ebgan, hinge, loss_sensitive, lsgan, minimax,"),
        ({"train": {"epochs": "ten"}}, "train.epochs: Input should be a valid integer, got 'ten'"),
        ({"train": {"epochs": 0}}, "train.epochs: Input should be greater than 0"),
        ({"model": {"d_dropout": 1.5}}, "model.d_dropout: Input should be less than 1"),
        ({"model": {"g_actvation": "elu"}}, "model.g_actvation: unknown key; valid keys here: architecture, latent_dim,"),
        ({"metrics": {"kid_subset_size": 10_000}}, "kid_subset_size (10000) must not exceed"),
        ({"metrics": {"reference_split": "test"}}, "metrics.reference_split: mnist-5k has no 'test' split; choose one of: train"),
        ({"metrics": {"protocol": "lucic2018"}}, "metrics.protocol: lucic2018 scores on the 'test' split, which mnist-5k does not have; "
                                                 "set metrics.protocol: null"),  # the split is the preset's, not the user's
        ({"metrics": {"protocol": "heusel"}}, "metrics: protocol: unknown 'heusel'; choose one of: lucic2018 (or null)"),
        ({"metrics": {"protocol": ["lucic2018"]}}, "metrics: protocol: unknown ['lucic2018']; choose one of: lucic2018"),  # not a TypeError
        ({"metrics": {"convention": "clean"}}, "metrics.convention: unknown 'clean' FID convention; choose one of: legacy_tensorflow, pytorch_fid"),
        ({"loss": {"name": "wgan_gp"}, "model": {"d_norm": "batch"}}, "set model.d_norm to layer, instance or none"),
        # The type is wrong: still list the valid names.
        ({"model": {"d_activation": 3}}, "model.d_activation: expected a activation name, got 3; choose one of: elu, gelu,"),
        # Range errors show the rejected value.
        ({"train": {"epochs": -3}}, "train.epochs: Input should be greater than 0, got -3"),
        ({"train": {"lr_g": float("nan")}}, "train.lr_g: Input should be a finite number, got nan"),
        ({"trian": {"epochs": 1}}, "trian: unknown key; valid keys here: data, model, loss,"),
        ({"metrics": {"precision_recall_k": 10, "generated_images": 10, "kid_subset_size": 5}}, "precision_recall_k (10) must be below reference_images and generated_images (10)"),
        # Loss options are range-checked, not only type-checked.
        ({"loss": {"name": "wgan", "options": {"clip": -1}}}, "loss.options.clip must be > 0 for wgan, got -1"),
        ({"loss": {"name": "lsgan", "options": {"a": float("nan")}}}, "loss.options.a must be a finite number, got nan"),
        ({"loss": {"name": "lsgan", "options": {"a": 1}}}, "lsgan needs different targets for fake (a) and real (b) images"),
        ({"loss": {"name": "ebgan", "options": {"margin": -5}}}, "loss.options.margin must be > 0 for ebgan, got -5"),
        ({"loss": {"name": "began", "options": {"k": 7}}}, "loss.options.k must be <= 1 for began, got 7"),
        ({"loss": {"name": "began", "options": {"gamma": 0}}}, "loss.options.gamma must be > 0 for began, got 0"),
        # the recipe keys
        ({"model": {"architecture": "vit"}}, "model.architecture: unknown 'vit' architecture; choose one of: dcgan, infogan, resnet"),
        ({"train": {"ema": 1.0}}, "train.ema: Input should be less than 1, got 1.0"),
        ({"train": {"ema_rampup": 0}}, "train.ema_rampup: Input should be greater than 0, got 0"),
        ({"regularization": {"augment": ["cutout", "cutout"]}}, "regularization.augment: each augmentation at most once, got ['cutout', 'cutout']"),
        ({"regularization": {"augment": 3}}, "regularization.augment: expected a list of augmentations (or 'none'), got 3; choose from: color, cutout, translation"),
        ({"data": {"channels": 3}}, "data.channels: only the folder dataset takes it (mnist-5k images are 1x28x28); set null"),
        # pydantic's Literal compares with ==: True would be taken for 1, 1 and 1.0 for True
        ({"data": {"dataset": "folder", "image_size": 28, "channels": True}}, "data.channels: Input should be 1 or 3, got True"),
        ({"data": {"dataset": "folder", "image_size": 28, "channels": 3.0}}, "data.channels: Input should be 1 or 3, got 3.0"),
        ({"compute": {"channels_last": 1}}, "compute.channels_last: Input should be 'auto', True or False, got 1"),
        ({"compute": {"channels_last": 0.0}}, "compute.channels_last: Input should be 'auto', True or False, got 0.0"),
        # budget-fair studies
        ({"search": {"budget_factor": "loss.name"}}, "search.budget_factor: a budget-fair study draws the other keys at random and trains every trial "
                                                     "to the end: set search.sampler: random and search.pruner: none (got tpe, hyperband)"),
        ({"search": {"budget_factor": "model.g_norm", "sampler": "random", "pruner": "none"}},
         "search.budget_factor: model.g_norm must be a key of search.space with a choice list (its levels), got no such key"),
        ({"search": {"budget_factor": "train.lr_g", "sampler": "random", "pruner": "none"}},
         "search.budget_factor: train.lr_g must be a key of search.space with a choice list (its levels), got a range"),
        ({"search": {"workers_per_gpu": 0}}, "search.workers_per_gpu: must be auto or a positive number, got 0"),
    ],
)
def test_bad_values_name_the_key_and_the_valid_choices(params, message):
    with pytest.raises(ConfigError) as err:
        make_config(**params)
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_not_a_mapping_empty_incomplete_and_missing_files(tmp_path):
    with pytest.raises(ConfigError, match="expected a mapping"):
        parse_config([1, 2])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("")
    with pytest.raises(ConfigError, match="expected a mapping of sections .*, got an empty file"):
        load_config(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text().replace("  epochs: 12\n", ""))
    with pytest.raises(ConfigError, match="train.epochs: missing: params.yaml must set every key"):
        load_config(tmp_path / "params.yaml")


@pytest.mark.parametrize(
    "text, message",
    [
        ("model: [unclosed\n", "not valid YAML at line 2, column 1: while parsing a flow sequence expected ',' or ']'"),
        ("model:\n  a: 1\n b: 2\n", "not valid YAML at line 3, column 2: while parsing a block mapping expected <block end>"),
    ],
)
def test_yaml_errors_keep_line_column_and_cause(tmp_path, text, message):
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "params.yaml")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_registry_rejects_duplicates_and_lists_names():
    registry = Registry("thing")
    registry.register("b")(1)
    registry.register("a")(2)
    assert registry.names() == ["a", "b"] and registry.get("a") == 2
    with pytest.raises(KeyError, match="twice"):
        registry.register("a")(3)
    with pytest.raises(ConfigError, match="unknown 'c' for x.y; choose one of: a, b"):
        registry.get("c", "x.y")


def test_a_stage_with_bad_params_exits_2_with_one_line_before_any_work(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text().replace("g_activation: relu", "g_activation: swish"))
    done = subprocess.run(
        [sys.executable, str(ROOT / "pipeline" / "train.py")], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: params.yaml: model.g_activation: unknown 'swish' activation; choose one of: "
        "elu, gelu, leaky_relu, prelu, relu, selu, sigmoid, silu, tanh"
    ]
    assert not (tmp_path / "models").exists() and not (tmp_path / "mlruns").exists()


def test_a_protocol_preset_fixes_its_keys():
    cfg = make_config(data={"dataset": "mnist"}, metrics={"protocol": "lucic2018", "generated_images": 500})
    m = cfg.metrics
    assert (m.reference_split, m.reference_images, m.generated_images) == ("test", 10_000, 10_000)


@pytest.mark.parametrize("args, message", [
    (["report", "-S", "train.epochs=[1"], "error: -S train.epochs=[1: the value is not valid YAML (expected ',' or ']'"),
    (["study", "--workers", "many"], "error: argument --workers: invalid auto_or_number value: 'many'"),
])
def test_a_bad_command_line_value_says_one_line_and_exits_2(tmp_path, monkeypatch, capsys, args, message):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(args)
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_a_nan_loss_ends_a_stage_with_one_line_not_a_traceback(capsys):
    from gansweep.module import NonFiniteLossError
    from gansweep.stage import run

    def diverging(cfg):
        raise NonFiniteLossError("d_loss is nan at epoch 3, batch 7 (loss 'non_saturating'): lower train.lr_d")

    with pytest.raises(SystemExit) as stopped:
        run(diverging, ROOT / "params.yaml")
    assert stopped.value.code == 2
    assert capsys.readouterr().err == "error: d_loss is nan at epoch 3, batch 7 (loss 'non_saturating'): lower train.lr_d\n"
