"""Feature normalizations, chosen by name (model.g_norm / model.d_norm)."""
from __future__ import annotations

from torch import nn

from gansweep.registry import Registry

NORMS: Registry = Registry("normalization")


@NORMS.register("none")
def no_norm(channels, cfg):
    return nn.Identity()


@NORMS.register("batch")
def batch_norm(channels, cfg):
    return nn.BatchNorm2d(channels, momentum=cfg.batch_norm_momentum)
