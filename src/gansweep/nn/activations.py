"""Hidden-layer activations, chosen by name (model.g_activation / model.d_activation).

Each factory takes the number of channels (PReLU learns one slope per channel) and the model
config (for slopes and alphas) and returns a fresh module.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from gansweep.registry import Registry

ACTIVATIONS: Registry = Registry("activation")
OUTPUTS: Registry = Registry("output")  # model.g_output


@dataclass(frozen=True)
class Output:
    """The generator's last activation and the range of its values, which real images are scaled to."""

    module: type
    low: float
    high: float


OUTPUTS.register("tanh")(Output(nn.Tanh, -1.0, 1.0))
OUTPUTS.register("sigmoid")(Output(nn.Sigmoid, 0.0, 1.0))


@ACTIVATIONS.register("sigmoid")
def sigmoid(channels, cfg):
    return nn.Sigmoid()


@ACTIVATIONS.register("tanh")
def tanh(channels, cfg):
    return nn.Tanh()


@ACTIVATIONS.register("relu")
def relu(channels, cfg):
    return nn.ReLU()


@ACTIVATIONS.register("leaky_relu")
def leaky_relu(channels, cfg):
    return nn.LeakyReLU(cfg.leaky_relu_slope)


@ACTIVATIONS.register("prelu")
def prelu(channels, cfg):
    # He et al. 2015: one learned slope per channel, initialised at 0.25.
    return nn.PReLU(num_parameters=channels, init=0.25)


@ACTIVATIONS.register("elu")
def elu(channels, cfg):
    return nn.ELU(alpha=cfg.elu_alpha)


@ACTIVATIONS.register("selu")
def selu(channels, cfg):
    return nn.SELU()


@ACTIVATIONS.register("gelu")
def gelu(channels, cfg):
    return nn.GELU()


@ACTIVATIONS.register("silu")
def silu(channels, cfg):
    return nn.SiLU()
