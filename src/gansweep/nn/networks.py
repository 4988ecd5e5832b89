"""The generator and the discriminators, for any architecture (model.architecture).

An architecture gives a decoder (vector -> image-shaped map) and an encoder (image -> flat
features), each built with one network's activation, normalization and dropout. The generator is
the decoder of z plus the output activation. Discriminators come in two families, chosen by the
loss's recipe: a classifier (encoder + a linear score) and an autoencoder (encoder + a linear
embedding + a decoder, for energy-based losses), so every loss works with every architecture.
"""
from __future__ import annotations

from torch import nn

from gansweep.nn.outputs import OUTPUTS
from gansweep.nn.dcgan import DCGAN
from gansweep.nn.infogan import InfoGAN
from gansweep.nn.parts import Parts
from gansweep.nn.resnet import ResNet
from gansweep.registry import Registry

ARCHITECTURES: Registry = Registry("architecture")
ARCHITECTURES.register("dcgan")(DCGAN)
ARCHITECTURES.register("infogan")(InfoGAN)
ARCHITECTURES.register("resnet")(ResNet)


def check_architecture(cfg, image_shape, networks: str = "gd"):
    """The architecture of model.architecture. Raises ConfigError (one line, naming the key) where it
    cannot take the image shape or one of the choices of the networks ("g", "d" or both)."""
    if image_shape[1] != image_shape[2]:
        raise ValueError(f"images must be square, got {image_shape[1]}x{image_shape[2]}")
    arch = ARCHITECTURES.get(cfg.architecture, "model.architecture")
    arch.check(image_shape, [Parts(cfg, prefix) for prefix in networks])
    return arch


class Generator(nn.Module):
    def __init__(self, cfg, image_shape: tuple[int, int, int]):
        super().__init__()
        arch = check_architecture(cfg, image_shape, "g")
        self.latent_dim = cfg.latent_dim
        self.output = cfg.g_output
        self.decoder = arch.decoder(Parts(cfg, "g"), cfg.latent_dim, image_shape, cfg.g_width)
        self.squash = OUTPUTS.get(cfg.g_output).module()
        arch.init_weights(self, cfg.g_activation)

    def forward(self, z):
        return self.squash(self.decoder(z))


DISCRIMINATORS: Registry = Registry("discriminator")


@DISCRIMINATORS.register("classifier")
class Discriminator(nn.Module):
    """Image -> one unbounded score (a logit or a critic value) per image."""

    def __init__(self, cfg, image_shape: tuple[int, int, int]):
        super().__init__()
        arch = check_architecture(cfg, image_shape, "d")
        self.features, size = arch.encoder(Parts(cfg, "d"), image_shape, cfg.d_width)
        self.head = nn.Linear(size, 1, bias=arch.head_bias)
        arch.init_weights(self, cfg.d_activation)

    def forward(self, x):
        return self.head(self.features(x)).squeeze(1)


@DISCRIMINATORS.register("autoencoder")
class AutoencoderDiscriminator(nn.Module):
    """Image -> reconstruction, through a `latent_dim` embedding (EBGAN, BEGAN). The decoder is the
    architecture's generator network with the discriminator's activation, normalization and width,
    and no output squashing."""

    def __init__(self, cfg, image_shape: tuple[int, int, int]):
        super().__init__()
        arch = check_architecture(cfg, image_shape, "d")
        parts = Parts(cfg, "d")
        features, size = arch.encoder(parts, image_shape, cfg.d_width)
        self.encoder = nn.Sequential(features, nn.Linear(size, cfg.latent_dim))
        self.decoder = arch.decoder(parts, cfg.latent_dim, image_shape, cfg.d_width)
        arch.init_weights(self, cfg.d_activation)

    def encode(self, x):
        return self.encoder(x)

    def forward(self, x):
        return self.decoder(self.encode(x))
