"""GAN objectives, one class per paper, chosen by name (loss.name) with options (loss.options).

Each loss gets the critic (the discriminator as a callable), a batch of real images and a batch of
generated ones, and returns the discriminator's or the generator's loss to minimise. Scores are
unbounded: probabilities appear only inside the losses, as logits through softplus, for stability.
Each class carries its paper's training recipe (optimizer settings, critic steps per generator step).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch.nn.functional as F

from gansweep.registry import ConfigError, Registry

LOSSES: Registry = Registry("loss")


@dataclass(frozen=True)
class Recipe:
    """Training defaults from the loss's paper; train.* in params.yaml overrides each one."""

    n_critic: int = 1
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999


DCGAN_RECIPE = Recipe()  # Radford et al. 2016, Sec. 4: Adam, lr 2e-4, beta1 0.5


class GANLoss:
    recipe: ClassVar[Recipe] = DCGAN_RECIPE

    def d_loss(self, critic, real, fake):
        raise NotImplementedError

    def g_loss(self, critic, real, fake):
        raise NotImplementedError


@LOSSES.register("non_saturating")
@dataclass
class NonSaturating(GANLoss):
    """Goodfellow et al. 2014, "Generative Adversarial Nets", Eq. 1 for D and the
    non-saturating generator objective of Sec. 3: G maximises log D(G(z)).

    With D = sigmoid(score): -log D = softplus(-score), -log(1 - D) = softplus(score).
    """

    def d_loss(self, critic, real, fake):
        return F.softplus(-critic(real)).mean() + F.softplus(critic(fake)).mean()

    def g_loss(self, critic, real, fake):
        return F.softplus(-critic(fake)).mean()


@LOSSES.register("lsgan")
@dataclass
class LSGAN(GANLoss):
    """Mao et al. 2017, "Least Squares Generative Adversarial Networks", Eq. 2:
    D: 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2];  G: 1/2 E[(D(G(z)) - c)^2].
    Defaults a=0, b=1, c=1 are the paper's 0-1 coding (Eq. 9); a=-1, b=1, c=0 is Eq. 8.
    """

    a: float = 0.0
    b: float = 1.0
    c: float = 1.0

    def d_loss(self, critic, real, fake):
        return 0.5 * ((critic(real) - self.b) ** 2).mean() + 0.5 * ((critic(fake) - self.a) ** 2).mean()

    def g_loss(self, critic, real, fake):
        return 0.5 * ((critic(fake) - self.c) ** 2).mean()


def build_loss(name: str, options: dict) -> GANLoss:
    cls = LOSSES.get(name, "loss.name")
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        choices = ", ".join(valid) if valid else "(none: this loss takes no options)"
        raise ConfigError(f"unknown option {unknown[0]!r} in loss.options for {name}; choose from: {choices}")
    for key, value in options.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"loss.options.{key} must be a number, got {value!r}")
    return cls(**{k: float(v) for k, v in options.items()})
