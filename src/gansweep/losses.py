"""GAN objectives, one class per paper, chosen by name (loss.name) with options (loss.options).

Each loss gets the critic (the discriminator as a callable), a batch of real images and a batch of
generated ones, and returns the discriminator's or the generator's loss to minimise. Classifier
critics return one unbounded score per image; probabilities appear only inside the losses, as
logits through softplus, for stability. Autoencoder critics (EBGAN, BEGAN) return reconstructions,
and the loss turns them into per-image energies (`score`).

Each class carries its paper's training recipe (optimizer, learning rates, critic steps per generator
step, critic normalization, gradient penalty, discriminator family); `train.*`, `model.d_norm` and
`regularization.gradient_penalty` in params.yaml override it when set.
"""
from __future__ import annotations

import dataclasses
import math
import operator
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from gansweep.registry import ConfigError, Registry
from gansweep.regularizers import weight_penalty

LOSSES: Registry = Registry("loss")
# A recipe's optimizer, by name. fused: one kernel for all parameters where torch has one (Adam on
# CUDA); None keeps torch's default.
OPTIMIZERS: Registry = Registry("optimizer")
OPTIMIZERS.register("adam")(lambda params, r, lr, fused: torch.optim.Adam(params, lr=lr, betas=(r.beta1, r.beta2), fused=fused))
OPTIMIZERS.register("rmsprop")(lambda params, r, lr, fused: torch.optim.RMSprop(params, lr=lr))


@dataclass(frozen=True)
class Recipe:
    n_critic: int = 1
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5  # Adam's beta1; RMSprop ignores the betas
    beta2: float = 0.999
    optimizer: str = "adam"
    d_norm: str = "batch"
    gradient_penalty: float = 0.0
    discriminator: str = "classifier"  # fixed by the loss, not overridable


def option(default: float, *, gt: float | None = None, ge: float | None = None, le: float | None = None):
    """A loss hyperparameter (loss.options.<name>) with the range its paper allows, as (symbol, test, limit) per bound."""
    candidates = ((">", operator.gt, gt), (">=", operator.ge, ge), ("<=", operator.le, le))
    return dataclasses.field(default=default, metadata={"bounds": [bound for bound in candidates if bound[2] is not None]})


class GANLoss:
    recipe: ClassVar[Recipe] = Recipe()  # Radford et al. 2016 (DCGAN), Sec. 4: Adam, lr 2e-4, beta1 0.5

    def score(self, critic, images):
        """One scalar per image: what gradient penalties differentiate."""
        return critic(images)

    def d_loss(self, critic, real, fake):
        raise NotImplementedError

    def g_loss(self, critic, real, fake):
        raise NotImplementedError

    def after_d_step(self, critic) -> None:
        """Called after each discriminator update (WGAN clips weights here)."""

    def after_g_step(self) -> None:
        """Called after each generator update (BEGAN updates k_t here)."""

    def metrics(self) -> dict[str, float]:
        """Extra values to log every step."""
        return {}

    def check(self) -> None:
        """Rejects combinations of options that the per-option ranges cannot express."""

    def state_dict(self) -> dict[str, float]:
        """What changes during training (BEGAN's k_t), for checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, float]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


@LOSSES.register("minimax")
@dataclass
class Minimax(GANLoss):
    """Goodfellow et al. 2014, "Generative Adversarial Nets", Eq. 1, the saturating original:
    D maximises log D(x) + log(1 - D(G(z))); G minimises log(1 - D(G(z))).
    With D = sigmoid(s): -log D = softplus(-s), log(1 - D) = -softplus(s).
    """

    def d_loss(self, critic, real, fake):
        return F.softplus(-critic(real)).mean() + F.softplus(critic(fake)).mean()

    def g_loss(self, critic, real, fake):
        return -F.softplus(critic(fake)).mean()


@LOSSES.register("non_saturating")
@dataclass
class NonSaturating(Minimax):
    """Goodfellow et al. 2014, Eq. 1 for D and the non-saturating generator objective of Sec. 3:
    G maximises log D(G(z)), i.e. minimises softplus(-s) on fakes."""

    def g_loss(self, critic, real, fake):
        return F.softplus(-critic(fake)).mean()


@LOSSES.register("lsgan")
@dataclass
class LSGAN(GANLoss):
    """Mao et al. 2017, "Least Squares Generative Adversarial Networks", Eq. 2:
    D: 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2];  G: 1/2 E[(D(G(z)) - c)^2].
    Defaults a=0, b=1, c=1 are the 0-1 coding (Eq. 9) of the authors' code; a=-1, b=1, c=0 is Eq. 8.
    """

    a: float = option(0.0)
    b: float = option(1.0)
    c: float = option(1.0)

    def check(self) -> None:
        if self.a == self.b:
            raise ConfigError(f"loss.options: lsgan needs different targets for fake (a) and real (b) images, got a = b = {self.a}")

    def d_loss(self, critic, real, fake):
        return 0.5 * ((critic(real) - self.b) ** 2).mean() + 0.5 * ((critic(fake) - self.a) ** 2).mean()

    def g_loss(self, critic, real, fake):
        return 0.5 * ((critic(fake) - self.c) ** 2).mean()


@LOSSES.register("wgan")
@dataclass
class WGAN(GANLoss):
    """Arjovsky et al. 2017, "Wasserstein GAN", Algorithm 1: the critic maximises
    E[f(x)] - E[f(G(z))] with its weights clipped to [-c, c] after every update (c = 0.01);
    G minimises -E[f(G(z))]. RMSProp, lr 5e-5, n_critic 5. (The authors' code also runs 100
    critic steps early on and every 500 generator steps; the paper's algorithm does not.)
    """

    recipe: ClassVar[Recipe] = Recipe(n_critic=5, lr_g=5e-5, lr_d=5e-5, optimizer="rmsprop")
    clip: float = option(0.01, gt=0)

    def d_loss(self, critic, real, fake):
        return critic(fake).mean() - critic(real).mean()

    def g_loss(self, critic, real, fake):
        return -critic(fake).mean()

    @torch.no_grad()
    def after_d_step(self, critic) -> None:
        for p in critic.parameters():
            p.clamp_(-self.clip, self.clip)


@LOSSES.register("wgan_gp")
@dataclass
class WGANGP(GANLoss):
    """Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Algorithm 1: the WGAN critic
    loss E[D(G(z))] - E[D(x)] plus lambda E[(||grad D(x_hat)||_2 - 1)^2] on random interpolates
    (the recipe's gradient_penalty, lambda = 10; see regularizers.gradient_penalty), no clipping, no
    batch norm in the critic (layer norm instead, Sec. 4). Adam lr 1e-4, betas (0, 0.9), n_critic 5.
    """

    recipe: ClassVar[Recipe] = Recipe(n_critic=5, lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9, d_norm="layer",
                                      gradient_penalty=10.0)
    d_loss, g_loss = WGAN.d_loss, WGAN.g_loss  # WGAN's, without its clipping


@LOSSES.register("hinge")
@dataclass
class Hinge(GANLoss):
    """Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018 (SN-GAN), Eq. 16-17:
    D: E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))];  G: -E[D(G(z))].
    Recipe: SN-GAN's setting C for the standard CNN (Adam 2e-4, betas 0.5/0.999, n_dis 1).
    """

    def d_loss(self, critic, real, fake):
        return F.relu(1 - critic(real)).mean() + F.relu(1 + critic(fake)).mean()

    g_loss = WGAN.g_loss  # -E[D(G(z))]


def pull_away_term(embeddings: torch.Tensor) -> torch.Tensor:
    """Zhao et al. 2017, Eq. 7: mean squared cosine similarity over pairs i != j of a batch."""
    s = F.normalize(embeddings.flatten(1), dim=1)
    if (n := len(s)) < 2:
        return s.new_zeros(())
    cosine = s @ s.T
    return ((cosine**2).sum() - (cosine.diagonal() ** 2).sum()) / (n * (n - 1))


@LOSSES.register("ebgan")
@dataclass
class EBGAN(GANLoss):
    """Zhao, Mathieu & LeCun 2017, "Energy-based Generative Adversarial Network", Eq. 1-2 and 7:
    energy D(x) = ||Dec(Enc(x)) - x|| (per image, L2 norm over pixels) of an autoencoder critic;
    L_D = D(x) + [m - D(G(z))]^+;  L_G = D(G(z)) + pt_weight * f_PT(Enc(G(z))).
    Defaults: the paper's MNIST margin m = 10 and Adam lr 1e-3; the pull-away term is off unless
    pt_weight > 0 (the paper's EBGAN-PT uses 0.1).
    """

    recipe: ClassVar[Recipe] = Recipe(lr_g=1e-3, lr_d=1e-3, discriminator="autoencoder")
    margin: float = option(10.0, gt=0)
    pt_weight: float = option(0.0, ge=0)

    def score(self, critic, images):
        return (critic(images) - images).flatten(1).norm(dim=1)

    def d_loss(self, critic, real, fake):
        return self.score(critic, real).mean() + F.relu(self.margin - self.score(critic, fake)).mean()

    def g_loss(self, critic, real, fake):
        loss = self.score(critic, fake).mean()
        if self.pt_weight > 0:
            loss = loss + self.pt_weight * pull_away_term(critic.encode(fake))
        return loss


@LOSSES.register("began")
@dataclass
class BEGAN(GANLoss):
    """Berthelot, Schumm & Metz 2017, "BEGAN", Eq. 4 and Sec. 3.4:
    L(v) = mean |v - D(v)| (eta = 1) for an autoencoder critic D;
    L_D = L(x) - k_t L(G(z_D));  L_G = L(G(z_G));
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1), k_0 = 0;
    convergence M = L(x) + |gamma L(x) - L(G(z_G))|, logged every step.
    Defaults gamma 0.5, lambda_k 0.001; Adam lr 1e-4, betas 0.5/0.999; no batch norm (Sec. 3.5).
    """

    recipe: ClassVar[Recipe] = Recipe(lr_g=1e-4, lr_d=1e-4, d_norm="none", discriminator="autoencoder")
    gamma: float = option(0.5, gt=0, le=1)
    lambda_k: float = option(0.001, ge=0)
    k: float = option(0.0, ge=0, le=1)
    last_real_loss: float = dataclasses.field(default=float("nan"), init=False)
    last_fake_loss: float = dataclasses.field(default=float("nan"), init=False)

    def score(self, critic, images):
        return (critic(images) - images).flatten(1).abs().mean(dim=1)

    def d_loss(self, critic, real, fake):
        real_loss = self.score(critic, real).mean()
        self.last_real_loss = real_loss.item()
        return real_loss - self.k * self.score(critic, fake).mean()

    def g_loss(self, critic, real, fake):
        fake_loss = self.score(critic, fake).mean()
        # The balance compares L(x) and L(G(z_G)) under the same critic (the one after its update).
        with torch.no_grad():
            self.last_real_loss = self.score(critic, real).mean().item()
        self.last_fake_loss = fake_loss.item()
        return fake_loss

    def balance(self) -> float:
        return self.gamma * self.last_real_loss - self.last_fake_loss

    def after_g_step(self) -> None:
        self.k = min(max(self.k + self.lambda_k * self.balance(), 0.0), 1.0)

    def metrics(self) -> dict[str, float]:
        return {"began_k": self.k, "began_convergence": self.last_real_loss + abs(self.balance())}

    def state_dict(self) -> dict[str, float]:
        return {"k": self.k}


@LOSSES.register("loss_sensitive")
@dataclass
class LossSensitive(GANLoss):
    """Qi 2017, "Loss-Sensitive Generative Adversarial Networks on Lipschitz Densities", Eq. 5:
    a non-negative loss L(x) (the critic through ReLU, as in the author's code) is trained with
    E[L(x)] + lambda_slack E[(Delta(x, G(z)) + L(x) - L(G(z)))_+] where the margin
    Delta(x, G(z)) = delta_scale * ||x - G(z)||_1 (pixel sum, pairs of the batch, no gradient);
    G minimises E[L(G(z))]. The Lipschitz regularization of L is weight decay on its weights,
    (lipschitz_decay / 2) ||theta||^2 as in the author's code. Adam lr 1e-4, beta1 0.5.
    """

    recipe: ClassVar[Recipe] = Recipe(lr_g=1e-4, lr_d=1e-4)
    lambda_slack: float = option(1.0, gt=0)
    delta_scale: float = option(0.0002, ge=0)
    lipschitz_decay: float = option(5e-5, ge=0)

    def score(self, critic, images):
        return F.relu(critic(images))

    def d_loss(self, critic, real, fake):
        real_loss, fake_loss = self.score(critic, real), self.score(critic, fake)
        delta = self.delta_scale * (real - fake).flatten(1).abs().sum(dim=1).detach()
        slack = F.relu(delta + real_loss - fake_loss).mean()
        lipschitz = weight_penalty(critic, l1=0.0, l2=0.5 * self.lipschitz_decay)
        return real_loss.mean() + self.lambda_slack * slack + lipschitz

    def g_loss(self, critic, real, fake):
        return self.score(critic, fake).mean()


class Relativistic(GANLoss):
    """Jolicoeur-Martineau 2018, "The relativistic discriminator": the critic estimates how much more
    realistic real data is than fake. Formulas follow the author's code (GAN_losses_iter.py), whose
    relativistic-average losses average the real and fake terms. Adam 2e-4, betas 0.5/0.999, n_D 1.
    A relativistic-average loss is `loss(D~(x_r), D~(x_f))`; the generator's swaps real and fake.
    """

    @staticmethod
    def relative(critic, real, fake):
        c_real, c_fake = critic(real), critic(fake)
        return c_real - c_fake.mean(), c_fake - c_real.mean()

    def d_loss(self, critic, real, fake):
        return self.loss(*self.relative(critic, real, fake))

    def g_loss(self, critic, real, fake):
        return self.loss(*reversed(self.relative(critic, real, fake)))


@LOSSES.register("rsgan")
@dataclass
class RSGAN(Relativistic):
    """Relativistic standard GAN, Eq. 8: D: -E[log sigmoid(C(x_r) - C(x_f))];
    G: -E[log sigmoid(C(x_f) - C(x_r))], over pairs of the batch."""

    def d_loss(self, critic, real, fake):
        return F.softplus(-(critic(real) - critic(fake))).mean()

    def g_loss(self, critic, real, fake):
        return F.softplus(-(critic(fake) - critic(real))).mean()


@LOSSES.register("ragan")
@dataclass
class RaGAN(Relativistic):
    """Relativistic average standard GAN (RaSGAN), Eq. 11-12 with D~(x_r) = C(x_r) - E C(x_f):
    D: -(E log sigmoid(D~(x_r)) + E log(1 - sigmoid(D~(x_f)))) / 2; G swaps real and fake."""

    @staticmethod
    def loss(r, f):
        return (F.softplus(-r).mean() + F.softplus(f).mean()) / 2


@LOSSES.register("ralsgan")
@dataclass
class RaLSGAN(Relativistic):
    """Relativistic average LSGAN: D: (E(D~(x_r) - 1)^2 + E(D~(x_f) + 1)^2) / 2; G: (E(D~(x_r) + 1)^2 + E(D~(x_f) - 1)^2) / 2."""

    @staticmethod
    def loss(r, f):
        return (((r - 1) ** 2).mean() + ((f + 1) ** 2).mean()) / 2


@LOSSES.register("rahinge")
@dataclass
class RaHinge(Relativistic):
    """Relativistic average hinge: D: (E max(0, 1 - D~(x_r)) + E max(0, 1 + D~(x_f))) / 2;
    G: (E max(0, 1 + D~(x_r)) + E max(0, 1 - D~(x_f))) / 2."""

    @staticmethod
    def loss(r, f):
        return (F.relu(1 - r).mean() + F.relu(1 + f).mean()) / 2


def build_loss(name: str, options: dict) -> GANLoss:
    cls = LOSSES.get(name, "loss.name")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    if unknown := sorted(set(options) - set(fields)):
        choices = ", ".join(fields) if fields else "(none: this loss takes no options)"
        raise ConfigError(f"unknown option {unknown[0]!r} in loss.options for {name}; choose from: {choices}")
    for key, value in options.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"loss.options.{key} must be a finite number, got {value!r}")
        for symbol, holds, limit in fields[key].metadata.get("bounds", ()):
            if not holds(value, limit):
                raise ConfigError(f"loss.options.{key} must be {symbol} {limit} for {name}, got {value!r}")
    loss = cls(**{k: float(v) for k, v in options.items()})
    loss.check()
    return loss
