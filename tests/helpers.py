"""Configs for tests: params.yaml (the single source of truth) with a few values overridden."""
from pathlib import Path

from gansweep.config import Config, ModelConfig, load_config

ROOT = Path(__file__).resolve().parents[1]


def make_config(**sections) -> Config:
    return load_config(ROOT / "params.yaml", sections)


def model_config(**values) -> ModelConfig:
    return make_config(model=values).model


def real_digits(folder: Path, n: int) -> tuple[Path, "np.ndarray"]:  # noqa: F821
    """The first n of the shuffled embedded MNIST digits as a prepared dataset in `folder`, and all
    the shuffled images (for reference samples that training does not use)."""
    from gansweep.data import prepared
    from gansweep.data.sources import EmbeddedMnist5k

    source = EmbeddedMnist5k()
    source.fetch(folder)
    images, labels = prepared.shuffle(*source.load(folder)["train"], seed=0)
    prepared.save(folder / "train.npz", images[:n], labels[:n])
    return folder / "train.npz", images
