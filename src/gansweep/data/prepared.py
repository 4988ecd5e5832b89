"""The prepared dataset: one .npz of uint8 NCHW images and int64 labels, shuffled with a seed."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Sampler, TensorDataset

from gansweep.nn.outputs import OUTPUTS
from gansweep.paths import reading
from gansweep.seeding import stream_seed


def shuffle(images: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"expected uint8 NCHW images, got {images.dtype} with shape {images.shape}")
    order = np.random.default_rng(seed).permutation(len(images))
    return np.ascontiguousarray(images[order]), np.ascontiguousarray(labels[order].astype(np.int64))


def save(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=images, labels=labels)


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with reading(path, "prepared dataset"), np.load(path) as data:
        return data["images"], data["labels"]


def to_model_range(images_uint8: torch.Tensor, output: str = "tanh") -> torch.Tensor:
    """uint8 0..255 -> floats in the range of the generator's output activation."""
    out = OUTPUTS.get(output)
    return images_uint8.float().mul((out.high - out.low) / 255.0).add(out.low)


def to_uint8(images: torch.Tensor, output: str = "tanh") -> torch.Tensor:
    """Generator-range floats -> uint8 as a saved image would be (round to nearest, clamp)."""
    out = OUTPUTS.get(output)
    return images.sub(out.low).mul(255.0 / (out.high - out.low)).add(0.5).clamp(0, 255).to(torch.uint8)


class EpochShuffle(Sampler):
    """A permutation per epoch seeded by (seed, epoch). Lightning calls set_epoch before each epoch,
    so the order of an epoch does not depend on the epochs before it: a run resumed from a
    checkpoint sees the same batches as one that never stopped."""

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(stream_seed(self.seed, self.epoch))
        return iter(torch.randperm(self.size, generator=generator).tolist())

    def __len__(self) -> int:
        return self.size


def dataloader(images: np.ndarray, batch_size: int, seed: int) -> DataLoader:
    """Shuffling batches of uint8 images; conversion to float happens on the training device."""
    dataset = TensorDataset(torch.from_numpy(images))
    return DataLoader(dataset, batch_size=batch_size, sampler=EpochShuffle(len(images), seed), drop_last=True)


class EpochBatches(BatchSampler):
    """EpochShuffle's order cut into whole batches: the batches dataloader() makes, as index lists."""

    def __init__(self, size: int, batch_size: int, seed: int):
        super().__init__(EpochShuffle(size, seed), batch_size, drop_last=True)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)


def fits_on(device: torch.device, nbytes: int, share: float = 0.25) -> bool:
    """Whether `nbytes` take at most `share` of the device's free memory (the networks and Inception need the rest)."""
    return device.type != "cuda" or nbytes <= share * torch.cuda.mem_get_info(device)[0]  # (free, total)


def device_batches(images: np.ndarray, batch_size: int, seed: int, device: torch.device) -> DataLoader:
    """The batches of dataloader(), gathered from the images held on `device`: a batch is one
    index into them (no per-image collation, no host-to-device copy per batch)."""
    held = TensorDataset(torch.from_numpy(images).to(device))
    return DataLoader(held, sampler=EpochBatches(len(images), batch_size, seed), batch_size=None)
