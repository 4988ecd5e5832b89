"""Configs for tests: params.yaml (the single source of truth) with a few values overridden."""
from contextlib import contextmanager
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


def image_folder(folder: Path, n: int, size: int = 64, non_square: int = 0, seed: int = 0) -> Path:
    """n RGB images of colored disks on colored backgrounds, PNG, JPEG and WebP in three subfolders;
    the last `non_square` of them are 1.25 x size wide."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    for i in range(n):
        width = round(size * 1.25) if i >= n - non_square else size
        image = Image.new("RGB", (width, size), tuple(int(c) for c in rng.integers(0, 256, 3)))
        x, y, r = (int(v) for v in (rng.integers(0, width), rng.integers(0, size), rng.integers(size // 8, size // 3)))
        ImageDraw.Draw(image).ellipse([x - r, y - r, x + r, y + r], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        sub = folder / f"s{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        image.save(sub / f"{i:04d}.{('png', 'jpg', 'webp')[i % 3]}")
    return folder


@contextmanager
def ctrl_c_after_query(table: str):
    """Ctrl-C as it lands in Python right after a C call returns: a KeyboardInterrupt raised just after
    the next SELECT from `table` runs, once armed (append to the yielded list; it is empty once fired)."""
    import sqlalchemy

    armed = []

    def ctrl_c(conn, cursor, statement, *args):
        if armed and statement.lstrip().startswith("SELECT") and f"FROM {table} " in f"{statement} ":
            armed.clear()
            raise KeyboardInterrupt

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "after_cursor_execute", ctrl_c)
    try:
        yield armed
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "after_cursor_execute", ctrl_c)
