"""The generator's output activation, chosen by name (model.g_output), with the range of its values.

Its own module: the data stages scale real images to these ranges and depend on this file alone,
not on the hidden-layer activations.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from gansweep.registry import Registry


@dataclass(frozen=True)
class Output:
    module: type
    low: float
    high: float


OUTPUTS: Registry = Registry("output")
OUTPUTS.register("tanh")(Output(nn.Tanh, -1.0, 1.0))
OUTPUTS.register("sigmoid")(Output(nn.Sigmoid, 0.0, 1.0))
