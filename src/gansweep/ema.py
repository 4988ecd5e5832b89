"""Generator EMA: an exponential moving average of the generator's weights (Karras et al. 2018,
"Progressive Growing of GANs", Sec. 5 / App. A.1; Yazici et al. 2019, "The Unusual Effectiveness
of Averaging in GAN Training"), which is what samples and scores use (train.ema, train.ema_rampup).

After the generator's t-th update (t = 0, 1, ...), every weight becomes w_ema <- beta_t w_ema +
(1 - beta_t) w. A constant beta would average in the untrained start for hundreds of steps (half-life
ln 0.5 / ln beta steps: 693 at 0.999), so beta_t ramps up as in StyleGAN2 (Karras et al. 2020,
training_loop.py: ema_kimg, ema_rampup): the half-life is capped at ema_rampup x the images seen so
far, i.e. at ema_rampup * t steps,

    beta_t = min(beta, 0.5 ** (1 / (ema_rampup * t)))    (beta_0 = 0: the average starts at G)

Buffers (batch-norm running statistics) are copied from the trained generator, not averaged.
"""
from __future__ import annotations

import torch
from torch import nn


def ema_beta(decay: float, rampup: float | None, step: int) -> float:
    """beta_t for the generator's update number `step` (0-based)."""
    if rampup is None:
        return decay
    return min(decay, 0.5 ** (1.0 / (rampup * step))) if step else 0.0


@torch.no_grad()
def update(ema: nn.Module, generator: nn.Module, beta: float) -> None:
    # One fused call for all tensors (a few kernel launches on a GPU, not one per tensor).
    torch._foreach_lerp_(list(ema.parameters()), list(generator.parameters()), 1.0 - beta)
    for ema_buffer, buffer in zip(ema.buffers(), generator.buffers()):
        ema_buffer.copy_(buffer)
