"""DCGAN-style networks (Radford et al. 2016), sized from the image shape.

They halve/double the spatial size with 4x4 stride-2 convolutions between the image side and a
small base (7x7 for 28x28, 4x4 for 32x32), doubling channels at each step down. Discriminators come
in two families, chosen by the loss's recipe: a classifier (one score per image) and an autoencoder
(a reconstruction per image, for energy-based losses).
"""
from __future__ import annotations

from torch import nn

from gansweep.nn.activations import ACTIVATIONS
from gansweep.nn.norms import NORMS
from gansweep.registry import Registry

OUTPUTS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid}  # the generator's output; data scaled to match


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
                # LeCun-normal initialisation, which SELU's fixed point assumes (Klambauer et al. 2017):
                # std 1/sqrt(fan-in). A stride-s transposed conv sums in_channels * (k/s)^2 inputs per output.
                if isinstance(layer, nn.ConvTranspose2d):
                    k, s = layer.kernel_size, layer.stride
                    fan_in = layer.in_channels * (k[0] // s[0]) * (k[1] // s[1])
                else:
                    fan_in = layer.weight[0].numel()
                nn.init.normal_(layer.weight, 0.0, fan_in**-0.5)
            else:
                nn.init.normal_(layer.weight, 0.0, 0.02)  # DCGAN's initialisation
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class Parts:
    """Activation, normalization and dropout of one network, from the model config."""

    def __init__(self, cfg, prefix: str):
        self.cfg = cfg
        self.name = getattr(cfg, f"{prefix}_activation")
        self.act = ACTIVATIONS.get(self.name, f"model.{prefix}_activation")
        self.norm = NORMS.get(getattr(cfg, f"{prefix}_norm"), f"model.{prefix}_norm")
        self.rate = getattr(cfg, f"{prefix}_dropout")

    def after(self, channels: int, normalize: bool = True) -> list[nn.Module]:
        norm = self.norm(channels, self.cfg) if normalize else nn.Identity()
        return [norm, self.act(channels, self.cfg), dropout(self.rate, self.name)]


def upsampler(parts: Parts, in_features: int, image_shape, width: int) -> tuple[nn.Linear, tuple, nn.Sequential]:
    """Vector -> image-sized map: a projection to the base, then stride-2 transposed convolutions."""
    channels, side, _ = image_shape
    steps, base = spatial_plan(side)
    widths = channel_plan(width, steps)
    layers = parts.after(widths[0])
    for c_in, c_out in zip(widths, widths[1:]):
        layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), *parts.after(c_out)]
    layers.append(nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1))
    return nn.Linear(in_features, widths[0] * base * base), (widths[0], base, base), nn.Sequential(*layers)


def downsampler(parts: Parts, image_shape, width: int) -> tuple[nn.Sequential, int]:
    """Image -> flat features: stride-2 convolutions down to the base. No normalization on the
    first layer, as in DCGAN: it would erase the input's statistics."""
    channels, side, _ = image_shape
    steps, base = spatial_plan(side)
    widths = channel_plan(width, steps)[::-1]
    layers = [nn.Conv2d(channels, widths[0], 4, 2, 1), *parts.after(widths[0], normalize=False)]
    for c_in, c_out in zip(widths, widths[1:]):
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), *parts.after(c_out)]
    return nn.Sequential(*layers, nn.Flatten()), widths[-1] * base * base


class Generator(nn.Module):
    def __init__(self, cfg, image_shape: tuple[int, int, int]):
        super().__init__()
        if image_shape[1] != image_shape[2]:
            raise ValueError(f"images must be square, got {image_shape[1]}x{image_shape[2]}")
        self.latent_dim = cfg.latent_dim
        self.output = cfg.g_output
        self.project, self.base_shape, body = upsampler(Parts(cfg, "g"), cfg.latent_dim, image_shape, cfg.g_width)
        self.body = nn.Sequential(*body, OUTPUTS[cfg.g_output]())
        init_weights(self, cfg.g_activation)

    def forward(self, z):
        return self.body(self.project(z).view(-1, *self.base_shape))


DISCRIMINATORS: Registry = Registry("discriminator")


@DISCRIMINATORS.register("classifier")
class Discriminator(nn.Module):
    """Image -> one unbounded score (a logit or a critic value) per image."""

    def __init__(self, cfg, image_shape: tuple[int, int, int]):
        super().__init__()
        self.features, size = downsampler(Parts(cfg, "d"), image_shape, cfg.d_width)
        self.head = nn.Linear(size, 1)
        init_weights(self, cfg.d_activation)

    def forward(self, x):
        return self.head(self.features(x)).squeeze(1)


@DISCRIMINATORS.register("autoencoder")
class AutoencoderDiscriminator(nn.Module):
    """Image -> reconstruction, through a `latent_dim` embedding (EBGAN, BEGAN). The decoder mirrors
    the encoder with the discriminator's activation and normalization and has no output squashing."""

    def __init__(self, cfg, image_shape: tuple[int, int, int]):
        super().__init__()
        parts = Parts(cfg, "d")
        features, size = downsampler(parts, image_shape, cfg.d_width)
        self.encoder = nn.Sequential(features, nn.Linear(size, cfg.latent_dim))
        self.project, self.base_shape, self.decoder = upsampler(parts, cfg.latent_dim, image_shape, cfg.d_width)
        init_weights(self, cfg.d_activation)

    def encode(self, x):
        return self.encoder(x)

    def forward(self, x):
        return self.decoder(self.project(self.encode(x)).view(-1, *self.base_shape))
