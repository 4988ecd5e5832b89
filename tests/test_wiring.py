"""The training step's wiring, at value level, for every architecture: the discriminator's loss is
the loss plus each weighted penalty, the gradient penalty is taken between real and fake images,
WGAN's clipping bounds every critic weight, BEGAN's k moves."""
import lightning.pytorch as pl
import numpy as np
import pytest
import torch

from gansweep import regularizers
from gansweep.data import prepared
from gansweep.module import GAN
from gansweep.nn.networks import ARCHITECTURES
from helpers import make_config


def config(architecture="dcgan", loss="non_saturating", model=None, **sections):
    return make_config(model={"architecture": architecture, "latent_dim": 8, "g_width": 4, "d_width": 4, **(model or {})},
                       loss={"name": loss}, train={"batch_size": 8, "sample_grid_size": 4, **sections.pop("train", {})}, **sections)


def fit(gan, steps=2):
    images = np.random.default_rng(0).integers(0, 256, (8 * steps, 1, 28, 28), dtype=np.uint8)
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=steps, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(gan, prepared.dataloader(images, 8, 0))
    return gan


def test_the_gradient_penalty_is_taken_strictly_between_real_and_fake():
    seen = []

    def recording_critic(x):
        seen.append(x.detach().clone())
        return (x**2).flatten(1).sum(1)

    real, fake = torch.zeros(16, 1, 4, 4), torch.ones(16, 1, 4, 4)
    regularizers.gradient_penalty(recording_critic, real, fake)
    [points] = seen
    per_image = points.flatten(1)
    assert torch.all(per_image == per_image[:, :1])  # one mixing weight per image: eps real + (1 - eps) fake
    weights = per_image[:, 0]
    assert torch.all((weights > 0) & (weights < 1)) and weights.std() > 0.1  # strictly between, not one point


@pytest.mark.parametrize("architecture", ARCHITECTURES.names())
def test_the_discriminator_loss_is_the_loss_plus_each_weighted_penalty(architecture):
    cfg = config(architecture, "wgan_gp", model={"d_norm": "layer"},
                 regularization={"gradient_penalty": 3.0, "r1": 0.7, "d_l1": 0.01, "d_l2": 0.02})
    torch.manual_seed(0)
    gan = GAN(cfg, (1, 28, 28))
    real, fake = torch.rand(8, 1, 28, 28) * 2 - 1, torch.rand(8, 1, 28, 28) * 2 - 1
    torch.manual_seed(1)
    total = gan.discriminator_loss(real, fake)
    torch.manual_seed(1)  # the penalty's interpolation weights: the same draws
    d = gan.discriminator
    parts = [
        gan.objective.d_loss(d, real, fake),
        3.0 * regularizers.gradient_penalty(gan.critic_score, real, fake),
        0.7 * regularizers.r1_penalty(gan.critic_score, real),
        regularizers.weight_penalty(d, 0.01, 0.02),
    ]
    assert all(p.item() != 0 for p in parts)
    assert total.item() == pytest.approx(sum(p.item() for p in parts), rel=1e-6)
    # each term counts: without one of them the total differs
    for p in parts:
        assert abs(total.item() - (sum(q.item() for q in parts) - p.item())) > 1e-4


@pytest.mark.parametrize("architecture", ARCHITECTURES.names())
def test_wgan_clipping_bounds_every_critic_weight(architecture):
    gan = fit(GAN(config(architecture, "wgan", model={"d_norm": "none"}, train={"n_critic": 1}), (1, 28, 28)))
    weights = torch.cat([p.detach().flatten() for p in gan.discriminator.parameters()])
    assert weights.abs().max() <= 0.01 + 1e-9
    assert (weights.abs() > 0.0099).float().mean() > 0.05  # the bound is reached: the clipping ran, on this network


@pytest.mark.parametrize("architecture", ARCHITECTURES.names())
def test_began_k_moves_during_training(architecture):
    # from k_0 = 0.5 (the paper's 0 may stay clipped at 0 for the first steps), k follows every balance
    cfg = config(architecture, "began", model={"d_norm": "none"})
    gan = GAN(cfg.model_copy(update={"loss": cfg.loss.model_copy(update={"options": {"k": 0.5}})}), (1, 28, 28))
    history = []
    update = gan.objective.after_g_step

    def recorded():
        before, balance = gan.objective.k, gan.objective.balance()
        update()
        history.append((before, balance, gan.objective.k))

    gan.objective.after_g_step = recorded
    fit(gan, steps=3)
    assert len(history) == 3 and gan.objective.k != 0.5
    for before, balance, after in history:
        assert after == pytest.approx(min(max(before + 0.001 * balance, 0), 1)) and after != before
