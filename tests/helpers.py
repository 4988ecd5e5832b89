"""Configs for tests: params.yaml (the single source of truth) with a few values overridden."""
from pathlib import Path

from gansweep.config import Config, ModelConfig, load_config

ROOT = Path(__file__).resolve().parents[1]


def make_config(**sections) -> Config:
    return load_config(ROOT / "params.yaml", sections)


def model_config(**values) -> ModelConfig:
    return make_config(model=values).model
