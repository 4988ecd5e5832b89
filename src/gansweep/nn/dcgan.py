"""DCGAN-style networks (Radford et al. 2016), sized from the image shape (model.architecture: dcgan).

They halve/double the spatial size with 4x4 stride-2 convolutions between the image side and a
small base (7x7 for 28x28, 4x4 for 32x32 and 64x64), doubling channels at each step down from
`width` next to the image.
"""
from __future__ import annotations

from torch import nn

from gansweep.nn.parts import Parts, halvings, normal_init


def spatial_plan(size: int) -> tuple[int, int]:
    """(number of stride-2 steps, base size) for a square image side."""
    steps = halvings(size)
    if steps == 0:
        raise ValueError(f"model.architecture: dcgan needs an even image side of at least 8 pixels (data.image_size), got {size}")
    return steps, size // 2**steps


class DCGAN:
    init_weights = staticmethod(normal_init)
    head_bias = True

    @staticmethod
    def check(image_shape, networks: list[Parts]) -> None:
        spatial_plan(image_shape[1])

    @staticmethod
    def decoder(parts: Parts, in_features: int, image_shape, width: int) -> nn.Sequential:
        """Vector -> image-sized map: a projection to the base, then stride-2 transposed convolutions."""
        channels, side, _ = image_shape
        steps, base = spatial_plan(side)
        widths = [width * 2**i for i in range(steps)][::-1]  # from the base (widest) to the image side
        layers = parts.after(widths[0])
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), *parts.after(c_out)]
        layers.append(nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1))
        return nn.Sequential(nn.Linear(in_features, widths[0] * base * base), nn.Unflatten(1, (widths[0], base, base)), *layers)

    @staticmethod
    def encoder(parts: Parts, image_shape, width: int) -> tuple[nn.Sequential, int]:
        """Image -> flat features: stride-2 convolutions down to the base. No normalization on the
        first layer, as in DCGAN: it would erase the input's statistics."""
        channels, side, _ = image_shape
        steps, base = spatial_plan(side)
        widths = [width * 2**i for i in range(steps)]
        layers = [nn.Conv2d(channels, widths[0], 4, 2, 1), *parts.after(widths[0], normalize=False)]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), *parts.after(c_out)]
        return nn.Sequential(*layers, nn.Flatten()), widths[-1] * base * base
