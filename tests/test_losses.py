"""Each loss against values computed by hand on tiny tensors, for the D and the G objective.

Classifier losses get the identity as critic, so the "images" are the scores D(x), D(G(z))
themselves: REAL = [2, -1], FAKE = [0.5, -3]. Autoencoder losses get a critic that reconstructs
half of its input, so the residual is -x/2.
"""
import math

import pytest
import torch
from torch import nn

from gansweep.losses import BEGAN, EBGAN, LOSSES, build_loss, pull_away_term
from gansweep.registry import ConfigError

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def identity(x):
    return x


def log_sigmoid(v):
    return -math.log1p(math.exp(-v))


def mean(values):
    return sum(values) / len(values)


def losses(name, **options):
    loss = build_loss(name, options)
    return loss.d_loss(identity, REAL, FAKE).item(), loss.g_loss(identity, REAL, FAKE).item()


def test_minimax_is_goodfellow_eq1():
    # D maximises log D(x) + log(1 - D(G(z))); G minimises log(1 - D(G(z))) (saturating).
    d, g = losses("minimax")
    assert d == pytest.approx(-mean([log_sigmoid(2), log_sigmoid(-1)]) - mean([log_sigmoid(-0.5), log_sigmoid(3)]))
    assert g == pytest.approx(mean([math.log(1 - 1 / (1 + math.exp(-0.5))), math.log(1 - 1 / (1 + math.exp(3)))]))


def test_non_saturating_generator_maximises_log_d_of_fake():
    # Goodfellow et al. 2014, Sec. 3.
    d, g = losses("non_saturating")
    assert d == pytest.approx(losses("minimax")[0])
    assert g == pytest.approx(-mean([log_sigmoid(0.5), log_sigmoid(-3)]))


def test_lsgan_eq2_with_both_codings():
    # Mao et al. 2017, Eq. 2; a=0, b=1, c=1 (Eq. 9) by default, a=-1, b=1, c=0 (Eq. 8).
    d, g = losses("lsgan")
    assert d == pytest.approx(0.5 * mean([1, 4]) + 0.5 * mean([0.25, 9]))
    assert g == pytest.approx(0.5 * mean([0.25, 16]))
    d, g = losses("lsgan", a=-1, b=1, c=0)
    assert d == pytest.approx(0.5 * mean([1, 4]) + 0.5 * mean([2.25, 4]))
    assert g == pytest.approx(0.5 * mean([0.25, 9]))


@pytest.mark.parametrize("name", ["wgan", "wgan_gp"])
def test_wasserstein_critic_and_generator(name):
    # Arjovsky et al. 2017, Alg. 1; Gulrajani et al. 2017, Alg. 1 (penalty tested in test_regularizers).
    d, g = losses(name)
    assert d == pytest.approx(mean([0.5, -3]) - mean([2, -1]))  # -1.75
    assert g == pytest.approx(1.25)


def test_wgan_clips_every_critic_weight_after_the_d_step():
    critic = nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.5, -0.003, -2.0]]))
        critic.bias.fill_(0.02)
    build_loss("wgan", {}).after_d_step(critic)
    assert critic.weight[0].tolist() == pytest.approx([0.01, -0.003, -0.01])
    assert critic.bias.item() == pytest.approx(0.01)


def test_hinge():
    # Lim & Ye 2017; Miyato et al. 2018, Eq. 16-17.
    d, g = losses("hinge")
    assert d == pytest.approx(mean([0, 2]) + mean([1.5, 0]))
    assert g == pytest.approx(1.25)


def test_relativistic_standard_pairs_real_and_fake():
    # Jolicoeur-Martineau 2018, Eq. 8: D: -log sigmoid(C(x_r) - C(x_f)); G swaps them.
    d, g = losses("rsgan")
    assert d == pytest.approx(-mean([log_sigmoid(1.5), log_sigmoid(2.0)]))
    assert g == pytest.approx(-mean([log_sigmoid(-1.5), log_sigmoid(-2.0)]))


# Relativistic average: r~ = C(x_r) - mean C(x_f) = [3.25, 0.25], f~ = C(x_f) - mean C(x_r) = [0, -3.5].
def test_relativistic_average_standard():
    d, g = losses("ragan")
    assert d == pytest.approx((-mean([log_sigmoid(3.25), log_sigmoid(0.25)]) - mean([log_sigmoid(0), log_sigmoid(3.5)])) / 2)
    assert g == pytest.approx((-mean([log_sigmoid(-3.25), log_sigmoid(-0.25)]) - mean([log_sigmoid(0), log_sigmoid(-3.5)])) / 2)


def test_relativistic_average_least_squares():
    d, g = losses("ralsgan")
    assert d == pytest.approx((mean([2.25**2, 0.75**2]) + mean([1, 2.5**2])) / 2)  # 3.21875
    assert g == pytest.approx((mean([4.25**2, 1.25**2]) + mean([1, 4.5**2])) / 2)  # 10.21875


def test_relativistic_average_hinge():
    d, g = losses("rahinge")
    assert d == pytest.approx((mean([0, 0.75]) + mean([1, 0])) / 2)
    assert g == pytest.approx((mean([4.25, 1.25]) + mean([1, 4.5])) / 2)


class HalfAutoencoder(nn.Module):
    """Reconstructs x/2; its 'embedding' is the image itself."""

    def forward(self, x):
        return 0.5 * x

    def encode(self, x):
        return x


AE_REAL = torch.tensor([[[[3.0, 4.0]]], [[[0.0, 2.0]]]])  # ||x|| = 5, 2; mean|x| = 3.5, 1
AE_FAKE = torch.tensor([[[[6.0, 8.0]]], [[[0.0, 30.0]]]])  # ||x|| = 10, 30; mean|x| = 7, 15


def test_ebgan_energy_margin_and_pull_away_term():
    # Zhao et al. 2017, Eq. 1-2: energy ||Dec(Enc(x)) - x|| = ||x|| / 2 here: real 2.5, 1; fake 5, 15.
    loss, critic = EBGAN(margin=10), HalfAutoencoder()
    assert loss.d_loss(critic, AE_REAL, AE_FAKE).item() == pytest.approx(mean([2.5, 1]) + mean([5, 0]))
    assert loss.g_loss(critic, AE_REAL, AE_FAKE).item() == pytest.approx(10)
    # Eq. 7 on embeddings [6, 8] and [0, 30]: cos = 0.8, so f_PT = (0.64 + 0.64) / (2 * 1).
    assert pull_away_term(AE_FAKE).item() == pytest.approx(0.64)
    assert pull_away_term(AE_FAKE[:1]).item() == 0.0  # no pairs in a batch of one
    assert EBGAN(margin=10, pt_weight=0.1).g_loss(critic, AE_REAL, AE_FAKE).item() == pytest.approx(10.064)


def test_began_losses_k_update_and_convergence_measure():
    # Berthelot et al. 2017, Eq. 4: L(v) = mean|v - D(v)| = mean|v| / 2: real 1.75, 0.5; fake 3.5, 7.5.
    loss, critic = BEGAN(k=0.1), HalfAutoencoder()
    assert loss.d_loss(critic, AE_REAL, AE_FAKE).item() == pytest.approx(1.125 - 0.1 * 5.5)
    loss.last_real_loss = float("nan")  # g_loss measures L(x) itself, with the critic G is trained against
    assert loss.g_loss(critic, AE_REAL, AE_FAKE).item() == pytest.approx(5.5)
    loss.after_g_step()
    # k <- k + lambda_k (gamma L(x) - L(G(z))) = 0.1 + 0.001 * (0.5 * 1.125 - 5.5)
    assert loss.k == pytest.approx(0.1 + 0.001 * (0.5625 - 5.5))
    assert loss.metrics() == {"began_k": pytest.approx(0.0950625), "began_convergence": pytest.approx(1.125 + 4.9375)}


def test_began_k_stays_in_the_unit_interval():
    loss = BEGAN(k=0.001, lambda_k=1.0)
    loss.last_real_loss, loss.last_fake_loss = 0.0, 1.0
    loss.after_g_step()
    assert loss.k == 0.0
    loss.last_real_loss, loss.last_fake_loss = 10.0, 0.0
    loss.after_g_step()
    assert loss.k == 1.0


def pixel_sum(x):
    return x.flatten(1).sum(1)


def test_loss_sensitive_margin_and_slack():
    # Qi 2017, Eq. 5 with L(x) = relu(sum of pixels): real L = 3, 0; fake L = 5, 4;
    # Delta = ||x - G(z)||_1 = 4, 7 (delta_scale 1); slack = relu(4 + 3 - 5), relu(7 + 0 - 4) = 2, 3.
    real = torch.tensor([[1.0, 2.0], [-4.0, 1.0]])
    fake = torch.tensor([[0.0, 5.0], [2.0, 2.0]])
    loss = build_loss("loss_sensitive", {"delta_scale": 1, "lambda_slack": 2, "lipschitz_decay": 0})
    assert loss.d_loss(pixel_sum, real, fake).item() == pytest.approx(mean([3, 0]) + 2 * mean([2, 3]))
    assert loss.g_loss(pixel_sum, real, fake).item() == pytest.approx(4.5)


class LinearCritic(nn.Module):
    def __init__(self, weight, bias):
        super().__init__()
        self.linear = nn.Linear(len(weight), 1)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([weight]))
            self.linear.bias.fill_(bias)

    def forward(self, x):
        return self.linear(x.flatten(1)).squeeze(1)


def test_loss_sensitive_lipschitz_weight_decay():
    critic = LinearCritic([3.0, 4.0], bias=-100.0)  # every L(x) = relu(...) = 0; biases are not decayed
    x = torch.zeros(2, 2)
    loss = build_loss("loss_sensitive", {"lipschitz_decay": 0.1, "delta_scale": 0})
    assert loss.d_loss(critic, x, x).item() == pytest.approx(0.5 * 0.1 * 25)


def test_every_loss_has_a_paper_and_a_recipe():
    for name in LOSSES.names():
        cls = LOSSES.get(name)
        assert "20" in (cls.__doc__ or "") + (cls.__mro__[1].__doc__ or ""), f"{name} cites no paper"
        assert cls.recipe.n_critic >= 1 and cls.recipe.lr_d > 0


def test_unknown_options_list_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown option 'q' in loss.options for lsgan; choose from: a, b, c"):
        build_loss("lsgan", {"q": 1})
    with pytest.raises(ConfigError, match="takes no options"):
        build_loss("non_saturating", {"a": 1})
    with pytest.raises(ConfigError, match="must be a finite number, got .zero."):
        build_loss("lsgan", {"a": "zero"})
    with pytest.raises(ConfigError, match="choose from: gamma, lambda_k, k$"):
        build_loss("began", {"last_real_loss": 1})
