import subprocess
import sys
from pathlib import Path

import pytest

from gansweep.config import Config, load_config, parse_config
from gansweep.registry import ConfigError, Registry

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_params_are_valid_and_complete():
    cfg = load_config(ROOT / "params.yaml")
    assert isinstance(cfg, Config)
    # Every key has a value in params.yaml: nothing silently falls back to a code default.
    import yaml

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in cfg.model_dump().items():
        assert set(raw[section]) == set(values), section


@pytest.mark.parametrize(
    "params, message",
    [
        ({"data": {"dataset": "imagenet"}}, "data.dataset: unknown 'imagenet' dataset; choose one of: cifar10, fashion-mnist, mnist, mnist-5k"),
        ({"model": {"g_activation": "swish"}}, "model.g_activation: unknown 'swish' activation; choose one of: elu, gelu,"),
        ({"model": {"d_norm": "group"}}, "model.d_norm: unknown 'group' normalization; choose one of: batch, instance, layer, none"),
        ({"loss": {"name": "wasserstein"}}, "loss.name: unknown 'wasserstein' loss; choose one of: began, ebgan, hinge, loss_sensitive, lsgan, minimax,"),
        ({"train": {"epochs": "ten"}}, "train.epochs: Input should be a valid integer, got 'ten'"),
        ({"train": {"epochs": 0}}, "train.epochs: Input should be greater than 0"),
        ({"model": {"d_dropout": 1.5}}, "model.d_dropout: Input should be less than 1"),
        ({"model": {"g_actvation": "elu"}}, "model.g_actvation: unknown key; valid keys here: latent_dim,"),
        ({"metrics": {"kid_subset_size": 10_000}}, "kid_subset_size (10000) must not exceed"),
        ({"metrics": {"reference_split": "test"}}, "metrics.reference_split: mnist-5k has no 'test' split; choose one of: train"),
        ({"metrics": {"protocol": "heusel"}}, "metrics: protocol: unknown 'heusel'; choose one of: lucic2018 (or null)"),
        ({"metrics": {"convention": "clean"}}, "metrics.convention: unknown 'clean' FID convention; choose one of: legacy_tensorflow, pytorch_fid"),
        ({"loss": {"name": "wgan_gp"}, "model": {"d_norm": "batch"}}, "set model.d_norm to layer, instance or none"),
    ],
)
def test_bad_values_name_the_key_and_the_valid_choices(params, message):
    with pytest.raises(ConfigError) as err:
        parse_config(params)
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_not_a_mapping_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="expected a mapping"):
        parse_config([1, 2])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "params.yaml")


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
    (tmp_path / "params.yaml").write_text("model:\n  g_activation: swish\n")
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
    cfg = parse_config({"data": {"dataset": "mnist"}, "metrics": {"protocol": "lucic2018", "generated_images": 500}})
    m = cfg.metrics
    assert (m.reference_split, m.reference_images, m.generated_images) == ("test", 10_000, 10_000)
