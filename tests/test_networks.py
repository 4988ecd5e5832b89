"""Every architecture against its paper's network (shapes and parameter counts), and the wiring of
the model's choices into both networks, checked at module level."""
import pytest
import torch
from torch import nn

from helpers import make_config, model_config
from gansweep.nn.activations import ACTIVATIONS
from gansweep.nn.dcgan import spatial_plan
from gansweep.nn.networks import ARCHITECTURES, AutoencoderDiscriminator, Discriminator, Generator
from gansweep.registry import ConfigError

SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64)]


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("architecture", ARCHITECTURES.names())
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_network_fits_the_image_shape(architecture, shape):
    cfg = model_config(architecture=architecture, latent_dim=8, g_width=4, d_width=4, d_norm="batch")
    g, d, a = Generator(cfg, shape), Discriminator(cfg, shape), AutoencoderDiscriminator(cfg, shape)
    images = g(torch.randn(5, 8))
    assert images.shape == (5, *shape)
    assert images.min() >= -1 and images.max() <= 1  # tanh output
    assert d(images).shape == (5,)
    assert a(images).shape == images.shape and a.encode(images).shape == (5, 8)


# Parameter counts as the papers' reference code builds the networks, layer by layer.
def linear(n_in, n_out, bias=True):
    return n_in * n_out + (n_out if bias else 0)


def conv(c_in, c_out, k):
    return c_in * c_out * k * k + c_out


def bn(c):
    return 2 * c


def sngan_up_block(c_in, c_out):  # BN, ReLU, up, conv3, BN, ReLU, conv3; shortcut: up, conv1
    return bn(c_in) + conv(c_in, c_out, 3) + bn(c_out) + conv(c_out, c_out, 3) + conv(c_in, c_out, 1)


def sngan_down_block(c_in, c_out, shortcut):
    return conv(c_in, c_out, 3) + conv(c_out, c_out, 3) + (conv(c_in, c_out, 1) if shortcut else 0)


def test_resnet_counts_are_sngans():
    # w86763777/pytorch-gan-collections, models/sngan.py, z_dim 128: ResGenerator32 has 4,276,739
    # parameters, ResDiscriminator32 1,053,824; ResGenerator48 4,878,083. Its ResDiscriminator48
    # (4,859,072) lacks the paper's last block (Miyato et al. 2018, Table 5b: ResBlock 1024 after
    # ResBlock down 512, then ReLU, global sum pooling, dense -> 1), which gansweep's has.
    cfg = model_config(architecture="resnet", latent_dim=128, g_width=64, d_width=64, d_norm="none")
    g32 = linear(128, 4 * 4 * 256) + 3 * sngan_up_block(256, 256) + bn(256) + conv(256, 3, 3)
    d32 = (sngan_down_block(3, 128, True) + sngan_down_block(128, 128, True) + 2 * sngan_down_block(128, 128, False)
           + linear(128, 1, bias=False))
    assert (g32, d32) == (4_276_739, 1_053_824)
    assert count(Generator(cfg, (3, 32, 32))) == g32 and count(Discriminator(cfg, (3, 32, 32))) == d32
    g48 = linear(128, 6 * 6 * 512) + sngan_up_block(512, 256) + sngan_up_block(256, 128) + sngan_up_block(128, 64) + bn(64) + conv(64, 3, 3)
    d48 = (sngan_down_block(3, 64, True) + sngan_down_block(64, 128, True) + sngan_down_block(128, 256, True)
           + sngan_down_block(256, 512, True) + sngan_down_block(512, 1024, True) + linear(1024, 1, bias=False))
    assert g48 == 4_878_083 and d48 - sngan_down_block(512, 1024, True) - linear(1024, 1, bias=False) + linear(512, 1, bias=False) == 4_859_072
    assert count(Generator(cfg, (3, 48, 48))) == g48 and count(Discriminator(cfg, (3, 48, 48))) == d48
    # The 64-pixel variant is the 48-pixel network from an 8x8 base: only the projection grows.
    assert count(Generator(cfg, (3, 64, 64))) == g48 - linear(128, 6 * 6 * 512) + linear(128, 8 * 8 * 512)
    assert count(Discriminator(cfg, (3, 64, 64))) == d48
    blocks = Discriminator(cfg, (3, 48, 48)).features[:5]  # 48 -> 24 -> 12 -> 6 -> 3, and the 1024 block stays at 3x3
    assert [tuple(block(torch.zeros(1, c, s, s)).shape[1:]) for block, c, s in zip(blocks, (3, 64, 128, 256, 512), (48, 24, 12, 6, 3))] == [
        (64, 24, 24), (128, 12, 12), (256, 6, 6), (512, 3, 3), (1024, 3, 3)]
    # 28x28 (MNIST): the 32-pixel network from a 7x7 base, two up-blocks.
    g28 = linear(128, 7 * 7 * 256) + 2 * sngan_up_block(256, 256) + bn(256) + conv(256, 1, 3)
    assert count(Generator(cfg, (1, 28, 28))) == g28


def test_infogan_counts_are_lucic_et_als_mnist_network():
    # Lucic et al. 2018, Table 7 / compare_gan infogan.py (BN on the flat FC outputs).
    cfg = model_config(architecture="infogan", latent_dim=64, g_width=64, d_width=64, d_norm="batch")
    g = (linear(64, 1024) + bn(1024) + linear(1024, 7 * 7 * 128) + bn(7 * 7 * 128) + conv(128, 64, 4) + bn(64) + conv(64, 1, 4))
    d = conv(1, 64, 4) + conv(64, 128, 4) + bn(128) + linear(7 * 7 * 128, 1024) + bn(1024) + linear(1024, 1)
    assert count(Generator(cfg, (1, 28, 28))) == g == 6_642_241
    assert count(Discriminator(cfg, (1, 28, 28))) == d
    g32 = linear(64, 1024) + bn(1024) + linear(1024, 8 * 8 * 128) + bn(8 * 8 * 128) + conv(128, 64, 4) + bn(64) + conv(64, 3, 4)
    assert count(Generator(cfg, (3, 32, 32))) == g32


def test_dcgan_counts_are_todays_networks():
    cfg = model_config(architecture="dcgan", latent_dim=64, g_width=64, d_width=64, d_norm="batch")
    g = linear(64, 128 * 7 * 7) + bn(128) + conv(128, 64, 4) + bn(64) + conv(64, 1, 4)
    d = conv(1, 64, 4) + conv(64, 128, 4) + bn(128) + linear(128 * 7 * 7, 1)
    assert count(Generator(cfg, (1, 28, 28))) == g and count(Discriminator(cfg, (1, 28, 28))) == d


def test_spatial_plan():
    assert spatial_plan(28) == (2, 7)
    assert spatial_plan(32) == (3, 4)
    assert spatial_plan(64) == (4, 4)
    with pytest.raises(ValueError, match="at least 8"):
        spatial_plan(7)


# --- the model's choices are the modules inside both networks, for every architecture ---------

NORM_TYPES = {"batch": nn.BatchNorm2d, "layer": nn.GroupNorm, "instance": nn.InstanceNorm2d}
ACTIVATION_TYPES = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU, nn.PReLU, nn.SiLU, nn.Sigmoid, nn.Tanh)


def hidden_activations(network):
    # the generator's output squashing is not a hidden activation
    return [m for name, m in network.named_modules() if isinstance(m, ACTIVATION_TYPES) and name != "squash"]


@pytest.mark.parametrize("architecture", ARCHITECTURES.names())
@pytest.mark.parametrize("g_act, d_act", [("elu", "gelu"), ("prelu", "selu"), ("leaky_relu", "silu")])
def test_the_chosen_activations_are_every_activation_inside_the_networks(architecture, g_act, d_act):
    cfg = model_config(architecture=architecture, latent_dim=8, g_width=4, d_width=4, g_activation=g_act, d_activation=d_act,
                       leaky_relu_slope=0.3, d_norm="none")
    shape = (1, 28, 28)
    for network, name in ((Generator(cfg, shape), g_act), (Discriminator(cfg, shape), d_act), (AutoencoderDiscriminator(cfg, shape), d_act)):
        expected = type(ACTIVATIONS.get(name)(4, cfg))
        found = hidden_activations(network)
        assert found and all(type(m) is expected for m in found), (name, {type(m).__name__ for m in found})
        if name == "leaky_relu":
            assert all(m.negative_slope == 0.3 for m in found)


@pytest.mark.parametrize("architecture", ARCHITECTURES.names())
@pytest.mark.parametrize("g_norm, d_norm", [("batch", "layer"), ("layer", "batch"), ("none", "none")])
def test_the_chosen_normalizations_are_every_normalization_inside_the_networks(architecture, g_norm, d_norm):
    cfg = model_config(architecture=architecture, latent_dim=8, g_width=4, d_width=4, g_norm=g_norm, d_norm=d_norm)
    shape = (1, 28, 28)
    for network, norm in ((Generator(cfg, shape), g_norm), (Discriminator(cfg, shape), d_norm)):
        norms = [m for m in network.modules() if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d, nn.LayerNorm))]
        if norm == "none":
            assert norms == []
        else:
            assert norms and all(type(m) is NORM_TYPES[norm] for m in norms)
            assert all(m.num_groups == 1 for m in norms) if norm == "layer" else True
    # One normalization per hidden activation, but none on the discriminator's first layer (DCGAN).
    g, d = Generator(cfg, shape), Discriminator(cfg, shape)
    if g_norm != "none":
        assert len([m for m in g.modules() if isinstance(m, NORM_TYPES[g_norm])]) == len(hidden_activations(g))
    if d_norm != "none":
        assert len([m for m in d.modules() if isinstance(m, NORM_TYPES[d_norm])]) == len(hidden_activations(d)) - 1


def test_instance_norm_works_where_it_normalizes_pixels_and_infogan_refuses_it():
    for architecture in ("dcgan", "resnet"):
        cfg = model_config(architecture=architecture, latent_dim=8, g_width=4, d_width=4, g_norm="instance", d_norm="instance")
        assert any(isinstance(m, nn.InstanceNorm2d) for m in Discriminator(cfg, (1, 28, 28)).modules())
    # refused where params.yaml is read, with one line
    with pytest.raises(ConfigError, match=r"params.yaml: model\.g_norm: instance .* infogan network's fully connected layers") as err:
        make_config(model={"architecture": "infogan", "g_norm": "instance"})
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="model.d_norm: instance"):
        make_config(model={"architecture": "infogan", "d_norm": "instance"}, loss={"name": "hinge"})
    # and by the network itself, for a config built in code
    unchecked = model_config(architecture="dcgan", d_norm="instance").model_copy(update={"architecture": "infogan"})
    with pytest.raises(ConfigError, match="^model.d_norm: instance"):
        Discriminator(unchecked, (1, 28, 28))


@pytest.mark.parametrize("architecture", ARCHITECTURES.names())
def test_dropout_follows_every_discriminator_activation(architecture):
    cfg = model_config(architecture=architecture, latent_dim=8, g_width=4, d_width=4, d_dropout=0.3, g_dropout=0.0, d_norm="none")
    d, g = Discriminator(cfg, (1, 28, 28)), Generator(cfg, (1, 28, 28))
    dropouts = [m for m in d.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == len(hidden_activations(d)) and all(m.p == 0.3 for m in dropouts)
    assert not any(isinstance(m, (nn.Dropout, nn.AlphaDropout)) for m in g.modules())
    selu = model_config(architecture=architecture, latent_dim=8, g_width=4, d_width=4, d_activation="selu", d_dropout=0.3, d_norm="none")
    layers = [type(m) for m in Discriminator(selu, (1, 28, 28)).modules()]
    # Klambauer et al. 2017: plain dropout breaks SELU's self-normalization
    assert nn.AlphaDropout in layers and nn.Dropout not in layers


@pytest.mark.parametrize("architecture", ARCHITECTURES.names())
def test_spectral_norm_is_on_every_discriminator_layer_exactly_when_asked(architecture):
    from gansweep.module import GAN

    for asked in (True, False):
        cfg = make_config(model={"architecture": architecture, "latent_dim": 8, "g_width": 4, "d_width": 4},
                          regularization={"d_spectral_norm": asked})
        gan = GAN(cfg, (1, 28, 28))
        layers = [m for m in gan.discriminator.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
        assert layers and all(nn.utils.parametrize.is_parametrized(m, "weight") == asked for m in layers)
        assert not any(nn.utils.parametrize.is_parametrized(m) for m in gan.generator.modules())


def test_architectures_refuse_image_sides_they_cannot_build_with_one_line():
    with pytest.raises(ConfigError, match="infogan needs an image side divisible by 4"):
        Generator(model_config(architecture="infogan"), (1, 30, 30))
    with pytest.raises(ConfigError, match="resnet from 48 pixels needs a side divisible by 16"):
        Generator(model_config(architecture="resnet"), (3, 56, 56))
    with pytest.raises(ConfigError, match="model.architecture: unknown 'stylegan' architecture; choose one of: dcgan, infogan, resnet"):
        make_config(model={"architecture": "stylegan"})


def test_selu_uses_lecun_normal_with_the_true_fan_in():
    cfg = model_config(g_width=16, d_width=16, g_activation="selu", d_activation="selu", d_norm="none")
    torch.manual_seed(0)
    g, d = Generator(cfg, (1, 28, 28)), Discriminator(cfg, (1, 28, 28))
    deconv = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)][0]  # 32 -> 16 channels, k4 s2
    conv_ = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)][1]  # 16 -> 32 channels, k4
    assert deconv.weight.std().item() == pytest.approx((32 * 2 * 2) ** -0.5, rel=0.05)
    assert conv_.weight.std().item() == pytest.approx((16 * 4 * 4) ** -0.5, rel=0.05)


def test_resnet_uses_sngans_xavier_initialisation():
    cfg = model_config(architecture="resnet", latent_dim=128, g_width=64, d_norm="none")
    torch.manual_seed(0)
    g = Generator(cfg, (3, 32, 32))
    residual = g.decoder[2].residual[4]  # the first 3x3 convolution of the first up-block, 256 -> 256
    shortcut = g.decoder[2].shortcut[1]
    # Xavier-uniform: std = gain * sqrt(2 / (fan_in + fan_out)); gain sqrt(2) inside residual branches.
    assert residual.weight.std().item() == pytest.approx(2**0.5 * (2 / (2 * 256 * 9)) ** 0.5, rel=0.03)
    assert shortcut.weight.std().item() == pytest.approx((2 / (2 * 256)) ** 0.5, rel=0.03)


def test_sigmoid_output_generator_stays_in_unit_range():
    g = Generator(model_config(latent_dim=4, g_width=4, g_output="sigmoid", g_norm="layer"), (1, 28, 28))
    images = g(torch.randn(3, 4))
    assert g.output == "sigmoid" and images.min() >= 0 and images.max() <= 1
