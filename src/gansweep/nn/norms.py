"""Feature normalizations, chosen by name (model.g_norm / model.d_norm)."""
from __future__ import annotations

from torch import nn

from gansweep.registry import Registry

NORMS: Registry = Registry("normalization")  # factories (channels, model config) -> module

NORMS.register("none")(lambda channels, cfg: nn.Identity())
NORMS.register("batch")(lambda channels, cfg: nn.BatchNorm2d(channels, momentum=cfg.batch_norm_momentum))
# Ulyanov et al. 2016; affine so the network can undo it where it hurts.
NORMS.register("instance")(lambda channels, cfg: nn.InstanceNorm2d(channels, affine=True))
# Ba et al. 2016 over (C, H, W) of each image: no coupling across the batch, so it is the
# normalization that gradient penalties allow (Gulrajani et al. 2017, Sec. 4).
NORMS.register("layer")(lambda channels, cfg: nn.GroupNorm(1, channels))
