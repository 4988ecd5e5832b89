"""The ResNet GAN of Gulrajani et al. 2017 (WGAN-GP, App. F) as Miyato et al. 2018 (SNGAN, App. B.4)
use it (model.architecture: resnet), with pre-activation residual blocks.

Up to 32 pixels (CIFAR-10's network): G projects z to a 4x4 map of 4 width channels (256 at width
64) and doubles it with 3 up-blocks (nearest upsampling, two 3x3 convolutions, a 1x1 shortcut), then
BN - ReLU - 3x3 convolution to the image. D: an "optimized" first block and one more down-block to
side/4 with 2 width channels (128), two plain blocks, ReLU, a sum over the pixels, a linear layer
without bias. 28x28 images take the same network from a 7x7 base with 2 up-blocks.

From 48 pixels (STL-10's network, and CelebA at 64): G starts at side/8 with 8 width channels (512)
and halves them in each of 3 up-blocks; D doubles from `width` (64) in 4 down-blocks.

BN and ReLU stand for model.g_norm / model.d_norm and the activations: SNGAN's own D has no
normalization (model.d_norm: none) and spectral norm on every layer (regularization.d_spectral_norm).
"""
from __future__ import annotations

from torch import nn

from gansweep.nn.parts import Parts, halvings, xavier_init
from gansweep.registry import ConfigError

LARGE = 48  # the smallest image side that takes STL-10's network


class UpBlock(nn.Module):
    def __init__(self, parts: Parts, c_in: int, c_out: int):
        super().__init__()
        self.residual = nn.Sequential(*parts.after(c_in), nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, 1, 1),
                                      *parts.after(c_out), nn.Conv2d(c_out, c_out, 3, 1, 1))
        self.shortcut = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 1))

    def forward(self, x):
        return self.residual(x) + self.shortcut(x)


class DownBlock(nn.Module):
    """`first`: SNGAN's optimized block on the image (no activation before its first convolution,
    no normalization of the raw image), always down-sampling."""

    def __init__(self, parts: Parts, c_in: int, c_out: int, down: bool, first: bool = False):
        super().__init__()
        head = [] if first else parts.after(c_in)
        self.residual = nn.Sequential(*head, nn.Conv2d(c_in, c_out, 3, 1, 1), *parts.after(c_out, normalize=not first),
                                      nn.Conv2d(c_out, c_out, 3, 1, 1), *([nn.AvgPool2d(2)] if down else []))
        if first:
            self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(c_in, c_out, 1))
        elif down or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1), *([nn.AvgPool2d(2)] if down else []))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        return self.residual(x) + self.shortcut(x)


class SumPool(nn.Module):
    def forward(self, x):
        return x.sum(dim=(2, 3))


class ResNet:
    init_weights = staticmethod(xavier_init)
    head_bias = False  # SNGAN's last layer has none

    @staticmethod
    def check(image_shape, networks: list[Parts]) -> None:
        side = image_shape[1]
        if side >= LARGE and side % 16:
            raise ConfigError(f"model.architecture: resnet from 48 pixels needs a side divisible by 16 (4 down-blocks), got {side}")
        if side < LARGE and (side % 4 or side < 16):
            raise ConfigError(f"model.architecture: resnet needs an image side divisible by 4 and at least 16 pixels, got {side}")

    @staticmethod
    def decoder(parts: Parts, in_features: int, image_shape, width: int) -> nn.Sequential:
        channels, side, _ = image_shape
        steps = 3 if side >= LARGE else min(3, halvings(side))
        base = side // 2**steps
        widths = [8 * width // 2**i for i in range(steps + 1)] if side >= LARGE else [4 * width] * (steps + 1)
        blocks = [UpBlock(parts, c_in, c_out) for c_in, c_out in zip(widths, widths[1:])]
        return nn.Sequential(nn.Linear(in_features, widths[0] * base * base), nn.Unflatten(1, (widths[0], base, base)),
                             *blocks, *parts.after(widths[-1]), nn.Conv2d(widths[-1], channels, 3, 1, 1))

    @staticmethod
    def encoder(parts: Parts, image_shape, width: int) -> tuple[nn.Sequential, int]:
        channels, side, _ = image_shape
        # (channels, down-sampling) of each block, the first the optimized block on the image; from 48 pixels
        # STL-10's (Miyato et al. 2018, Table 5b): down to 512 channels, then a 1024 block at the same size.
        plan = [(width * 2**i, i < 4) for i in range(5)] if side >= LARGE else [(2 * width, i < 2) for i in range(4)]
        blocks, c_in = [], channels
        for i, (c_out, down) in enumerate(plan):
            blocks.append(DownBlock(parts, c_in, c_out, down=down, first=i == 0))
            c_in = c_out
        return nn.Sequential(*blocks, *parts.after(c_in), SumPool()), c_in
