"""What every architecture is built from: one network's activation, normalization and dropout
(from the model config), and the weight initialisations the papers use."""
from __future__ import annotations

import math

from torch import nn

from gansweep.nn.activations import ACTIVATIONS
from gansweep.nn.norms import NORMS


class Parts:
    """Activation, normalization and dropout of one network (prefix g or d), from the model config."""

    def __init__(self, cfg, prefix: str):
        self.cfg, self.prefix = cfg, prefix
        activation = getattr(cfg, f"{prefix}_activation")
        self.norm_name = getattr(cfg, f"{prefix}_norm")
        self.act = ACTIVATIONS.get(activation, f"model.{prefix}_activation")
        self.norm = NORMS.get(self.norm_name, f"model.{prefix}_norm")
        self.rate = getattr(cfg, f"{prefix}_dropout")
        # Klambauer et al. 2017: plain dropout breaks SELU's self-normalization; AlphaDropout keeps it.
        self.dropout = nn.AlphaDropout if activation == "selu" else nn.Dropout

    def after(self, channels: int, normalize: bool = True) -> list[nn.Module]:
        """What follows a convolution (or precedes one, in a pre-activation residual block)."""
        norm = self.norm(channels, self.cfg) if normalize else nn.Identity()
        return [norm, self.act(channels, self.cfg), self.dropout(self.rate) if self.rate else nn.Identity()]

    def after_linear(self, features: int) -> list[nn.Module]:
        """The same after a fully connected layer: its features seen as channels of a 1x1 image, so
        that batch norm is per feature (BatchNorm1d) and layer norm is over the features."""
        return [nn.Unflatten(1, (features, 1, 1)), *self.after(features), nn.Flatten()]


def lecun_normal_(layer: nn.Module) -> None:
    # LeCun-normal initialisation, which SELU's fixed point assumes (Klambauer et al. 2017): std
    # 1/sqrt(fan-in). A stride-s transposed conv sums in_channels * (k/s)^2 inputs per output.
    if isinstance(layer, nn.ConvTranspose2d):
        k, s = layer.kernel_size, layer.stride
        fan_in = layer.in_channels * max(k[0] // s[0], 1) * max(k[1] // s[1], 1)
    else:
        fan_in = layer.weight[0].numel()
    nn.init.normal_(layer.weight, 0.0, fan_in**-0.5)


def _initialise(module: nn.Module, activation: str, init_weight) -> None:
    """`init_weight(name, weight)` on every conv and linear layer, LeCun-normal for SELU; zero biases."""
    for name, layer in module.named_modules():
        if not isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            continue
        if activation == "selu":
            lecun_normal_(layer)
        else:
            init_weight(name, layer.weight)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


def normal_init(module: nn.Module, activation: str) -> None:
    """DCGAN's N(0, 0.02) (Radford et al. 2016; also InfoGAN's in compare_gan), LeCun-normal for SELU."""
    _initialise(module, activation, lambda name, weight: nn.init.normal_(weight, 0.0, 0.02))


def xavier_init(module: nn.Module, activation: str) -> None:
    """SNGAN's ResNet initialisation (Miyato et al. 2018's code): Xavier-uniform, gain sqrt(2) inside
    residual branches and 1 elsewhere; LeCun-normal for SELU."""
    _initialise(module, activation,
                lambda name, weight: nn.init.xavier_uniform_(weight, gain=math.sqrt(2) if ".residual." in f".{name}." else 1.0))


def halvings(side: int, smallest: int = 4) -> int:
    """How often `side` halves evenly while staying at least `smallest` pixels."""
    steps = 0
    while side % 2 == 0 and side // 2 >= smallest:
        side //= 2
        steps += 1
    return steps
