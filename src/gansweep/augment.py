"""Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training", Sec. 3; regularization.augment).

The discriminator sees every image, real and generated, through the same random transformations,
in the generator's step too; being differentiable, they pass the generator's gradient through. Each
op draws its own parameters per image on every call, from the ranges of the paper's code, on images
in the generator's range ([-1, 1] for tanh):
- color: brightness + U(-0.5, 0.5), saturation (deviation from the pixel's channel mean) x U(0, 2),
  contrast (deviation from the image mean) x U(0.5, 1.5);
- translation: a shift by up to 1/8 of the side (rounded) in each direction, integer pixels, zero padding;
- cutout: a zeroed square of half the side, centered anywhere in the image (clipped at the border).
"""
from __future__ import annotations

import torch

from gansweep.registry import Registry

AUGMENTS: Registry = Registry("augmentation")


def _uniform(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return torch.rand(len(x), 1, 1, 1, dtype=x.dtype, device=x.device) * (high - low) + low


def brightness(x: torch.Tensor) -> torch.Tensor:
    return x + _uniform(x, -0.5, 0.5)


def saturation(x: torch.Tensor) -> torch.Tensor:
    channel_mean = x.mean(dim=1, keepdim=True)
    return (x - channel_mean) * _uniform(x, 0.0, 2.0) + channel_mean


def contrast(x: torch.Tensor) -> torch.Tensor:
    image_mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - image_mean) * _uniform(x, 0.5, 1.5) + image_mean


@AUGMENTS.register("color")
def color(x: torch.Tensor) -> torch.Tensor:
    return contrast(saturation(brightness(x)))


@AUGMENTS.register("translation")
def translation(x: torch.Tensor) -> torch.Tensor:
    n, _, height, width = x.shape
    sy, sx = (height + 4) // 8, (width + 4) // 8  # the paper's code: int(side * 0.125 + 0.5), 4 at 28 pixels
    dy, dx = torch.randint(-sy, sy + 1, (n,), device=x.device), torch.randint(-sx, sx + 1, (n,), device=x.device)
    # Output pixel (i, j) reads input pixel (i - dy, j - dx), or 0 where that falls outside.
    rows = torch.arange(height, device=x.device)[None, :] - dy[:, None]  # (N, H)
    cols = torch.arange(width, device=x.device)[None, :] - dx[:, None]  # (N, W)
    inside = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]
    rows, cols = rows.clamp(0, height - 1), cols.clamp(0, width - 1)
    index = (rows[:, :, None] * width + cols[:, None, :]).flatten(1)  # (N, H*W) into each image's pixels
    moved = x.flatten(2).gather(2, index[:, None, :].expand(-1, x.shape[1], -1)).view_as(x)
    return moved * inside[:, None].to(x.dtype)


@AUGMENTS.register("cutout")
def cutout(x: torch.Tensor) -> torch.Tensor:
    n, _, height, width = x.shape
    size_h, size_w = height // 2, width // 2
    cy = torch.randint(0, height + (1 - size_h % 2), (n,), device=x.device)
    cx = torch.randint(0, width + (1 - size_w % 2), (n,), device=x.device)
    top, left = cy - size_h // 2, cx - size_w // 2
    rows, cols = torch.arange(height, device=x.device)[None, :], torch.arange(width, device=x.device)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < (top + size_h)[:, None])
    in_cols = (cols >= left[:, None]) & (cols < (left + size_w)[:, None])
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return x * keep[:, None].to(x.dtype)


def augment(x: torch.Tensor, policy: list[str] | tuple[str, ...]) -> torch.Tensor:
    """`x` through the ops of `policy`, in its order (DiffAugment applies color, translation, cutout)."""
    for name in policy:
        x = AUGMENTS.get(name, "regularization.augment")(x)
    return x
