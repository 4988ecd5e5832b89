"""DiffAugment's ops against the paper's code (Zhao et al. 2020), and their wiring: every image any
discriminator call sees in a training step is augmented, penalties included, and nothing the
generator outputs for samples or scores is."""
import pytest
import torch

from gansweep.augment import AUGMENTS, augment, brightness, contrast, cutout, saturation, translation
from gansweep.module import GAN
from helpers import make_config


def numbered(n=64, channels=1, side=16):
    """Images whose pixels are all different and positive (1, 2, 3, ...)."""
    return torch.arange(1, n * channels * side * side + 1, dtype=torch.float64).view(n, channels, side, side)


@pytest.mark.parametrize("name", AUGMENTS.names())
def test_every_op_is_differentiable(name):
    torch.manual_seed(0)
    x = torch.randn(8, 3, 16, 16, requires_grad=True)
    weights = torch.randn(8, 3, 16, 16)
    (AUGMENTS.get(name)(x) * weights).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # the gradient is that of the op with its random draws fixed: check against finite differences
    torch.manual_seed(1)
    x64 = torch.randn(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    state = torch.get_rng_state()

    def fixed_draws(t):
        torch.set_rng_state(state)
        return AUGMENTS.get(name)(t)

    assert torch.autograd.gradcheck(fixed_draws, (x64,))


@pytest.mark.parametrize("side, most", [(16, 2), (28, 4)])  # the paper's code: int(side * 0.125 + 0.5)
def test_translation_shifts_by_at_most_an_eighth_with_zero_padding(side, most):
    torch.manual_seed(0)
    x = numbered(n=50 * (2 * most + 1) ** 2, side=side)
    y = translation(x)
    shifts, every = set(), range(-most - 1, most + 2)  # one pixel more than allowed, to see none is used
    for original, moved in zip(x[:, 0], y[:, 0]):
        # find (dy, dx) such that moved[i, j] = original[i - dy, j - dx] inside and 0 outside
        (dy, dx), = [(dy, dx) for dy in every for dx in every if torch.equal(moved, shifted(original, dy, dx))]
        shifts.add((dy, dx))
    assert shifts == {(dy, dx) for dy in range(-most, most + 1) for dx in range(-most, most + 1)}  # every shift, no larger one


def shifted(image, dy, dx):
    out = torch.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = image[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_cutout_zeroes_a_square_of_half_the_side_anywhere():
    torch.manual_seed(0)
    x = torch.ones(500, 3, 16, 16)
    y = cutout(x)
    centers = set()
    for image in y:
        assert torch.equal(image[0], image[1]) and torch.equal(image[0], image[2])  # the same square on every channel
        rows, cols = (image[0] == 0).nonzero(as_tuple=True)
        top, bottom, left, right = rows.min().item(), rows.max().item(), cols.min().item(), cols.max().item()
        assert len(rows) == (bottom - top + 1) * (right - left + 1)  # a rectangle
        # 8x8 (half of 16), clipped only where it crosses the border
        assert (bottom - top + 1 == 8) or top == 0 or bottom == 15
        assert (right - left + 1 == 8) or left == 0 or right == 15
        assert bottom - top + 1 <= 8 and right - left + 1 <= 8
        centers.add((top + 4 if bottom - top == 7 else None, left + 4 if right - left == 7 else None))
        assert torch.all(image[:, image[0] != 0] == 1)  # the rest untouched
    assert len(centers) > 50  # everywhere in the image, not a fixed place


def test_color_ranges_are_the_papers():
    torch.manual_seed(0)
    gray = torch.full((2000, 3, 4, 4), 0.2)
    moved = brightness(gray) - gray
    offsets = moved[:, 0, 0, 0]
    assert torch.allclose(moved, offsets.view(-1, 1, 1, 1).expand_as(gray))  # one offset per image
    assert -0.5 <= offsets.min() < -0.49 and 0.49 < offsets.max() <= 0.5
    # saturation: each pixel's deviation from its channel mean times U(0, 2); a gray image stays as it is
    assert torch.allclose(saturation(gray), gray)
    pixel = torch.tensor([0.6, 0.0, -0.3]).view(1, 3, 1, 1).expand(2000, 3, 2, 2)
    mean = pixel.mean(dim=1, keepdim=True)
    factors = ((saturation(pixel) - mean) / (pixel - mean))
    assert torch.allclose(factors, factors[:, :1, :1, :1].expand_as(factors), atol=1e-5)
    assert 0 <= factors.min() < 0.01 and 1.99 < factors.max() <= 2
    # contrast: each pixel's deviation from the image mean times U(0.5, 1.5)
    ramp = torch.linspace(-1, 1, 16).view(1, 1, 4, 4).expand(2000, 1, 4, 4)
    scale = (contrast(ramp) - ramp.mean()) / (ramp - ramp.mean())
    assert torch.allclose(scale, scale[:, :, :1, :1].expand_as(scale), atol=1e-5)
    assert 0.5 <= scale.min() < 0.51 and 1.49 < scale.max() <= 1.5
    # color is the three, in the paper's order
    torch.manual_seed(3)
    expected = contrast(saturation(brightness(pixel)))
    torch.manual_seed(3)
    assert torch.equal(AUGMENTS.get("color")(pixel), expected)


def test_a_policy_applies_its_ops_in_order_and_refuses_unknown_names():
    torch.manual_seed(5)
    x = torch.randn(4, 1, 8, 8)
    state = torch.get_rng_state()
    expected = cutout(translation(x))
    torch.set_rng_state(state)
    assert torch.equal(augment(x, ["translation", "cutout"]), expected)
    assert augment(x, []) is x
    from gansweep.registry import ConfigError

    with pytest.raises(ConfigError, match="regularization.augment: unknown 'flip' augmentation; choose one of: color, cutout, translation"):
        make_config(regularization={"augment": ["flip"]})
    assert make_config(regularization={"augment": "translation,cutout"}).regularization.augment == ["translation", "cutout"]
    assert make_config(regularization={"augment": "none"}).regularization.augment == []


# --- wiring ---------------------------------------------------------------------------------------

MARK = 1000.0  # the test op adds this: an image the critic sees without it was not augmented


class Recording(torch.nn.Module):
    """Wraps the critic and records the smallest pixel of every batch it is called on."""

    def __init__(self, critic):
        super().__init__()
        self.critic, self.seen = critic, []

    def forward(self, x):
        self.seen.append(x.detach().amin(dim=(1, 2, 3)))
        return self.critic(x)


def one_training_step(cfg, monkeypatch):
    """One real Lightning training step (a critic and a generator update) with the test op."""
    import lightning.pytorch as pl
    import numpy as np

    from gansweep.data import prepared

    monkeypatch.setitem(AUGMENTS._entries, "translation", lambda x: x + MARK)
    pl.seed_everything(0, verbose=False)
    gan = GAN(cfg, (1, 28, 28))
    gan.discriminator = Recording(gan.discriminator)
    images = np.random.default_rng(0).integers(0, 256, (16, 1, 28, 28), dtype=np.uint8)
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(gan, prepared.dataloader(images, 8, 0))
    return gan, torch.cat(gan.discriminator.seen)


@pytest.mark.parametrize("loss, regularization, model", [
    ("wgan_gp", {"r1": 1.0}, {"d_norm": "layer"}),  # critic calls on real, fake, interpolates and for R1
    ("ragan", {}, {}),  # relativistic: real and fake in both steps
    ("began", {}, {}),  # autoencoder critic
])
def test_every_critic_call_of_a_step_sees_augmented_images(loss, regularization, model, monkeypatch):
    cfg = make_config(loss={"name": loss}, model={"latent_dim": 8, "g_width": 8, "d_width": 8, **model},
                      regularization={"augment": ["translation"], **regularization}, train={"n_critic": 1, "batch_size": 8})
    gan, seen = one_training_step(cfg, monkeypatch)
    # real images are in [-1, 1] and generated ones in (-1, 1): every one of them carried the mark
    assert len(seen) >= 8 * 4 and seen.min() > MARK - 1.5
    plain = make_config(loss={"name": loss}, model={"latent_dim": 8, "g_width": 8, "d_width": 8, **model},
                        regularization={"augment": [], **regularization}, train={"n_critic": 1, "batch_size": 8})
    _, unmarked = one_training_step(plain, monkeypatch)
    assert len(unmarked) == len(seen) and unmarked.max() < 1.5


def test_penalties_are_taken_at_the_augmented_images(monkeypatch):
    # The gradient penalty's interpolates lie between augmented real and augmented fake images.
    cfg = make_config(loss={"name": "wgan_gp"}, model={"latent_dim": 8, "g_width": 8, "d_width": 8, "d_norm": "layer"},
                      regularization={"augment": ["translation"]}, train={"n_critic": 1, "batch_size": 8})
    calls = []
    from gansweep import regularizers

    original = regularizers.gradient_penalty

    def recording(score, real, fake):
        calls.append((real.detach().clone(), fake.detach().clone()))
        return original(score, real, fake)

    monkeypatch.setattr(regularizers, "gradient_penalty", recording)
    one_training_step(cfg, monkeypatch)
    [(real, fake)] = calls
    assert real.min() > MARK - 1.5 and fake.min() > MARK - 1.5


def test_samples_and_scores_never_see_the_augmentation():
    cfg = make_config(model={"latent_dim": 8, "g_width": 8, "d_width": 8}, regularization={"augment": ["translation", "cutout", "color"]},
                      train={"ema": None})  # the trained generator itself samples (EMA: test_ema)
    gan = GAN(cfg, (1, 28, 28))
    gan.generator.eval()
    torch.manual_seed(0)
    first = gan.samples()
    assert torch.equal(first, gan.generator(gan.sample_z)) and torch.equal(gan.samples(), first)
