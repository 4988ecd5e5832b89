import pytest
import torch

from helpers import model_config
from gansweep.nn.activations import ACTIVATIONS
from gansweep.nn.networks import Discriminator, Generator, spatial_plan


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_generator_and_discriminator_fit_the_image_shape(shape):
    cfg = model_config(latent_dim=8, g_width=8, d_width=8, d_norm="batch")
    g, d = Generator(cfg, shape), Discriminator(cfg, shape)
    images = g(torch.randn(5, 8))
    assert images.shape == (5, *shape)
    assert images.min() >= -1 and images.max() <= 1  # tanh output
    assert d(images).shape == (5,)


def test_spatial_plan():
    assert spatial_plan(28) == (2, 7)
    assert spatial_plan(32) == (3, 4)
    assert spatial_plan(64) == (4, 4)
    with pytest.raises(ValueError, match="at least 8"):
        spatial_plan(7)


@pytest.mark.parametrize("activation", ACTIVATIONS.names())
def test_every_activation_builds_both_networks(activation):
    cfg = model_config(latent_dim=4, g_width=4, d_width=4, g_activation=activation, d_activation=activation, d_dropout=0.2, d_norm="layer")
    shape = (1, 28, 28)
    scores = Discriminator(cfg, shape)(Generator(cfg, shape)(torch.randn(2, 4)))
    assert torch.isfinite(scores).all()


def test_selu_uses_alpha_dropout():
    cfg = model_config(d_activation="selu", d_dropout=0.3, d_norm="none")
    layers = [type(m).__name__ for m in Discriminator(cfg, (1, 28, 28)).modules()]
    assert "AlphaDropout" in layers and "Dropout" not in layers


@pytest.mark.parametrize("norm", ["none", "batch", "instance", "layer"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_autoencoder_discriminator_reconstructs_and_embeds(norm, shape):
    from gansweep.nn.networks import AutoencoderDiscriminator

    cfg = model_config(latent_dim=6, d_width=4, d_norm=norm)
    d = AutoencoderDiscriminator(cfg, shape)
    x = torch.randn(3, *shape)
    assert d(x).shape == x.shape and d.encode(x).shape == (3, 6)


def test_sigmoid_output_generator_stays_in_unit_range():
    g = Generator(model_config(latent_dim=4, g_width=4, g_output="sigmoid", g_norm="layer"), (1, 28, 28))
    images = g(torch.randn(3, 4))
    assert g.output == "sigmoid" and images.min() >= 0 and images.max() <= 1


def test_selu_uses_lecun_normal_with_the_true_fan_in():
    cfg = model_config(g_width=16, d_width=16, g_activation="selu", d_activation="selu", d_norm="none")
    torch.manual_seed(0)
    g, d = Generator(cfg, (1, 28, 28)), Discriminator(cfg, (1, 28, 28))
    deconv = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)][0]  # 32 -> 16 channels, k4 s2
    conv = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)][1]  # 16 -> 32 channels, k4
    assert deconv.weight.std().item() == pytest.approx((32 * 2 * 2) ** -0.5, rel=0.05)
    assert conv.weight.std().item() == pytest.approx((16 * 4 * 4) ** -0.5, rel=0.05)
