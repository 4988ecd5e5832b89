"""The InfoGAN networks (Chen et al. 2016, App. C.1), which Lucic et al. 2018 ("Are GANs Created
Equal?", Table 7; google/compare_gan) use for MNIST and Fashion-MNIST (model.architecture: infogan).

G: FC 1024 - BN - ReLU, FC 128 x (side/4)^2 - BN - ReLU, 4x4 stride-2 deconvolution to 64 channels -
BN - ReLU, 4x4 stride-2 deconvolution to the image. D mirrors it: 4x4 stride-2 convolution to 64 -
LeakyReLU 0.2, to 128 - BN - LeakyReLU, FC 1024 - BN - LeakyReLU, FC 1. Those numbers are `width` =
64; other widths scale every layer (64 -> width, 128 -> 2 width, 1024 -> 16 width). BN stands for
model.g_norm / model.d_norm and ReLU / LeakyReLU for the activations of params.yaml.
"""
from __future__ import annotations

from torch import nn

from gansweep.nn.parts import Parts, normal_init
from gansweep.registry import ConfigError


class InfoGAN:
    init_weights = staticmethod(normal_init)  # compare_gan: N(0, 0.02)
    head_bias = True

    @staticmethod
    def check(image_shape, networks: list[Parts]) -> None:
        side = image_shape[1]
        if side % 4 or side < 8:
            raise ConfigError(f"model.architecture: infogan needs an image side divisible by 4 (two stride-2 layers), got {side}")
        for parts in networks:
            if parts.norm_name == "instance":
                raise ConfigError(f"model.{parts.prefix}_norm: instance normalizes each channel over its pixels, and the infogan "
                                  "network's fully connected layers have one pixel per feature; choose batch, layer or none")

    @staticmethod
    def decoder(parts: Parts, in_features: int, image_shape, width: int) -> nn.Sequential:
        channels, side, _ = image_shape
        base, fc = side // 4, 16 * width
        return nn.Sequential(
            nn.Linear(in_features, fc), *parts.after_linear(fc),
            nn.Linear(fc, 2 * width * base * base), *parts.after_linear(2 * width * base * base),
            nn.Unflatten(1, (2 * width, base, base)),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), *parts.after(width),
            nn.ConvTranspose2d(width, channels, 4, 2, 1),
        )

    @staticmethod
    def encoder(parts: Parts, image_shape, width: int) -> tuple[nn.Sequential, int]:
        channels, side, _ = image_shape
        base, fc = side // 4, 16 * width
        features = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), *parts.after(width, normalize=False),
            nn.Conv2d(width, 2 * width, 4, 2, 1), *parts.after(2 * width),
            nn.Flatten(),
            nn.Linear(2 * width * base * base, fc), *parts.after_linear(fc),
        )
        return features, fc
