"""DCGAN-style generator and discriminator (Radford et al. 2016), sized from the image shape.

Both halve/double the spatial size with 4x4 stride-2 convolutions between the image size and a
small base (7x7 for 28x28, 4x4 for 32x32), doubling channels at each step down.
"""
from __future__ import annotations

from torch import nn

from gansweep.nn.activations import ACTIVATIONS
from gansweep.nn.norms import NORMS


def spatial_plan(size: int) -> tuple[int, int]:
    """(number of stride-2 steps, base size) for a square image side."""
    steps = 0
    while size % 2 == 0 and size // 2 >= 4:
        size //= 2
        steps += 1
    if steps == 0:
        raise ValueError(f"image side must be even and at least 8 pixels to build a DCGAN, got {size}")
    return steps, size


def channel_plan(width: int, steps: int) -> list[int]:
    """Channels from the base (widest) to the image side, e.g. [128, 64] for width 64, 2 steps."""
    return [width * 2 ** (steps - 1 - i) for i in range(steps)]


def dropout(rate: float, activation: str) -> nn.Module:
    if rate == 0:
        return nn.Identity()
    # Klambauer et al. 2017: plain dropout breaks SELU's self-normalization; AlphaDropout keeps it.
    return nn.AlphaDropout(rate) if activation == "selu" else nn.Dropout(rate)


def init_weights(module: nn.Module, activation: str) -> None:
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if activation == "selu":
                # LeCun-normal initialisation, which SELU's fixed point assumes (Klambauer et al. 2017).
                nn.init.kaiming_normal_(layer.weight, nonlinearity="linear")
            else:
                nn.init.normal_(layer.weight, 0.0, 0.02)  # DCGAN's initialisation
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class Generator(nn.Module):
    def __init__(self, cfg, image_shape: tuple[int, int, int]):
        super().__init__()
        channels, height, width = image_shape
        if height != width:
            raise ValueError(f"images must be square, got {height}x{width}")
        steps, base = spatial_plan(height)
        widths = channel_plan(cfg.g_width, steps)
        act = ACTIVATIONS.get(cfg.g_activation, "model.g_activation")
        norm = NORMS.get(cfg.g_norm, "model.g_norm")
        self.latent_dim = cfg.latent_dim
        self.project = nn.Linear(cfg.latent_dim, widths[0] * base * base)
        self.base_shape = (widths[0], base, base)
        layers = [norm(widths[0], cfg), act(widths[0], cfg), dropout(cfg.g_dropout, cfg.g_activation)]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1),
                norm(c_out, cfg),
                act(c_out, cfg),
                dropout(cfg.g_dropout, cfg.g_activation),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        init_weights(self, cfg.g_activation)

    def forward(self, z):
        return self.body(self.project(z).view(-1, *self.base_shape))


class Discriminator(nn.Module):
    """Image -> one unbounded score (a logit or a critic value) per image."""

    def __init__(self, cfg, image_shape: tuple[int, int, int]):
        super().__init__()
        channels, height, _ = image_shape
        steps, base = spatial_plan(height)
        widths = channel_plan(cfg.d_width, steps)[::-1]  # narrow at the image, wide at the base
        act = ACTIVATIONS.get(cfg.d_activation, "model.d_activation")
        norm = NORMS.get(cfg.d_norm, "model.d_norm")
        # No normalization on the first layer, as in DCGAN: it would erase the input's statistics.
        layers = [nn.Conv2d(channels, widths[0], 4, 2, 1), act(widths[0], cfg), dropout(cfg.d_dropout, cfg.d_activation)]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [
                nn.Conv2d(c_in, c_out, 4, 2, 1),
                norm(c_out, cfg),
                act(c_out, cfg),
                dropout(cfg.d_dropout, cfg.d_activation),
            ]
        layers += [nn.Flatten(), nn.Linear(widths[-1] * base * base, 1)]
        self.body = nn.Sequential(*layers)
        init_weights(self, cfg.d_activation)

    def forward(self, x):
        return self.body(x).squeeze(1)
