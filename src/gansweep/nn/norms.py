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


@NORMS.register("instance")
def instance_norm(channels, cfg):
    # Ulyanov et al. 2016; affine so the network can undo it where it hurts.
    return nn.InstanceNorm2d(channels, affine=True)


@NORMS.register("layer")
def layer_norm(channels, cfg):
    # Ba et al. 2016 over (C, H, W) of each image: no coupling across the batch, so it is the
    # normalization that gradient penalties allow (Gulrajani et al. 2017, Sec. 4).
    return nn.GroupNorm(1, channels)
