import pytest
import torch
from torch import nn

from helpers import model_config
from gansweep.nn.networks import Discriminator
from gansweep.regularizers import (
    decay_weights,
    gradient_penalty,
    penalised_weights,
    r1_penalty,
    spectral_normalize,
    weight_penalty,
)


def linear_critic(w):
    """score(x) = <w, x>: its input gradient is w everywhere."""
    return lambda x: x.flatten(1) @ w


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    # Gulrajani et al. 2017, Eq. 3: (||w|| - 1)^2 at every interpolate; ||(3, 4)|| = 5 -> 16.
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    real, fake = torch.randn(6, 1, 1, 2), torch.randn(6, 1, 1, 2)
    penalty = gradient_penalty(linear_critic(w), real, fake)
    assert penalty.item() == pytest.approx(16.0)
    penalty.backward()  # the penalty trains the critic: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    assert w.grad.tolist() == pytest.approx([4.8, 6.4])


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    w = torch.tensor([0.6, 0.8])
    assert gradient_penalty(linear_critic(w), torch.randn(4, 2), torch.randn(4, 2)).item() == pytest.approx(0.0, abs=1e-12)


def test_gradient_penalty_samples_between_real_and_fake():
    # A critic whose gradient depends on x: score = sum x^2 / 2, gradient x. With real = fake = c,
    # every interpolate is c, so the penalty is (||c|| - 1)^2.
    c = torch.full((3, 4), 1.5)
    penalty = gradient_penalty(lambda x: (x**2).sum(1) / 2, c, c.clone())
    assert penalty.item() == pytest.approx((3.0 - 1) ** 2)


def test_r1_is_half_the_squared_gradient_norm_on_real_data():
    # Mescheder et al. 2018, Eq. 9: gamma/2 E||grad D(x)||^2; for <w, x>: ||w||^2 / 2 = 12.5.
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    penalty = r1_penalty(linear_critic(w), torch.randn(5, 2))
    assert penalty.item() == pytest.approx(12.5)
    penalty.backward()
    assert w.grad.tolist() == pytest.approx([3.0, 4.0])


def small_net():
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2), nn.PReLU(2), nn.Flatten(), nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([1.0, -2.0]).view(2, 1, 1, 1))
        net[4].weight.copy_(torch.tensor([[3.0, -0.5]]))
        for p in (net[0].bias, net[1].weight, net[1].bias, net[4].bias):
            p.fill_(7.0)  # excluded: must not count
    return net


def test_l1_and_l2_cover_conv_and_linear_weights_only():
    net = small_net()
    assert len(penalised_weights(net)) == 2
    assert weight_penalty(net, l1=1.0, l2=0.0).item() == pytest.approx(1 + 2 + 3 + 0.5)
    assert weight_penalty(net, l1=0.0, l2=1.0).item() == pytest.approx(1 + 4 + 9 + 0.25)
    assert weight_penalty(net, l1=0.1, l2=0.01).item() == pytest.approx(0.65 + 0.1425)
    assert weight_penalty(net, 0.0, 0.0) == 0.0


def test_decoupled_weight_decay_shrinks_weights_not_biases():
    net = small_net()
    decay_weights(net, lr=0.1, weight_decay=0.5)
    assert net[0].weight.flatten().tolist() == pytest.approx([0.95, -1.9])
    assert net[4].weight.flatten().tolist() == pytest.approx([2.85, -0.475])
    assert net[0].bias.tolist() == [7.0, 7.0] and net[2].weight.tolist() == pytest.approx([0.25, 0.25])


def test_spectral_norm_bounds_each_layer_by_one():
    d = spectral_normalize(Discriminator(model_config(d_width=4, d_norm="none"), (1, 28, 28)))
    d.train()
    for _ in range(30):  # power iterations run on each training forward pass
        d(torch.randn(2, 1, 28, 28))
    for layer in d.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            sigma = torch.linalg.matrix_norm(layer.weight.flatten(1), ord=2).item()
            assert sigma == pytest.approx(1.0, rel=0.05)
