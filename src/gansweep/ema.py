"""Generator EMA: an exponential moving average of the generator's weights (Karras et al. 2018,
"Progressive Growing of GANs", Sec. 5 / App. A.1; Yazici et al. 2019, "The Unusual Effectiveness
of Averaging in GAN Training"), which is what samples and scores use (train.ema, train.ema_rampup).

After the generator's t-th update (t = 0, 1, ...), every weight becomes w_ema <- beta_t w_ema +
(1 - beta_t) w. A constant beta would average in the untrained start for hundreds of steps (half-life
ln 0.5 / ln beta steps: 693 at 0.999), so beta_t ramps up as in StyleGAN2 (Karras et al. 2020,
training_loop.py: ema_kimg, ema_rampup): the half-life is capped at ema_rampup x the images seen so
far, i.e. at ema_rampup * t steps,

    beta_t = min(beta, 0.5 ** (1 / (ema_rampup * t)))    (beta_0 = 0: the average starts at G)

The average's batch-norm running statistics are its own "standing statistics" (Brock et al. 2019,
BigGAN; BigGAN-PyTorch's accumulate_standing_stats), recomputed whenever it is used: copied from the
trained generator (StyleGAN2's rule; its networks have no batch norm) they belong to other weights
and cost the default 3.8 FID on average over seeds 0-4, 11.3 at seed 0 (docs/recipes.md, "EMA and batch norm").
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


@torch.no_grad()
def standing_statistics(generator: nn.Module, batch_size: int, batches: int = 16, seed: int = 0) -> None:
    """Sets every batch norm's running mean and variance to the average over `batches` batches of
    seeded latents of its batch statistics in training mode; the rest of the network (dropout)
    stays in eval mode, and no global random stream is drawn from."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    was_training, momenta, rng = generator.training, [m.momentum for m in norms], torch.Generator().manual_seed(seed)
    generator.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average
        m.train()
    for _ in range(batches if norms else 0):
        generator(torch.randn(batch_size, generator.latent_dim, generator=rng).to(next(generator.parameters()).device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    generator.train(was_training)
