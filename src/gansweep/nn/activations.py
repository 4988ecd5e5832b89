"""Hidden-layer activations, chosen by name (model.g_activation / model.d_activation).

Each factory takes the number of channels (PReLU learns one slope per channel) and the model
config (for slopes and alphas) and returns a fresh module.
"""
from __future__ import annotations

from torch import nn

from gansweep.registry import Registry

ACTIVATIONS: Registry = Registry("activation")


# The activations without parameters or settings.
for _name, _module in {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "selu": nn.SELU, "gelu": nn.GELU, "silu": nn.SiLU}.items():
    ACTIVATIONS.register(_name)(lambda channels, cfg, module=_module: module())

ACTIVATIONS.register("leaky_relu")(lambda channels, cfg: nn.LeakyReLU(cfg.leaky_relu_slope))
# He et al. 2015: one learned slope per channel, initialised at 0.25.
ACTIVATIONS.register("prelu")(lambda channels, cfg: nn.PReLU(num_parameters=channels, init=0.25))
ACTIVATIONS.register("elu")(lambda channels, cfg: nn.ELU(alpha=cfg.elu_alpha))
