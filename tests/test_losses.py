"""Each loss against values computed by hand on tiny score tensors.

The critic is the identity, so the "images" passed in are the scores D(x) and D(G(z)) themselves.
"""
import math

import pytest
import torch

from gansweep.losses import LOSSES, LSGAN, NonSaturating, build_loss
from gansweep.registry import ConfigError


def identity(x):
    return x


REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def test_non_saturating_discriminator_is_goodfellow_eq1():
    # Goodfellow et al. 2014, Eq. 1: D maximises log D(x) + log(1 - D(G(z))); we minimise the negative.
    expected = -sum(math.log(sigmoid(r)) for r in REAL.tolist()) / 2 - sum(
        math.log(1 - sigmoid(f)) for f in FAKE.tolist()
    ) / 2
    assert NonSaturating().d_loss(identity, REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_non_saturating_generator_maximises_log_d_of_fake():
    # Goodfellow et al. 2014, Sec. 3: G maximises log D(G(z)) instead of minimising log(1 - D(G(z))).
    expected = -sum(math.log(sigmoid(f)) for f in FAKE.tolist()) / 2
    assert NonSaturating().g_loss(identity, REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_lsgan_default_is_the_0_1_coding():
    # Mao et al. 2017, Eq. 2 with a=0, b=1, c=1 (Eq. 9).
    loss = LSGAN()
    d = 0.5 * ((2 - 1) ** 2 + (-1 - 1) ** 2) / 2 + 0.5 * ((0.5 - 0) ** 2 + (-3 - 0) ** 2) / 2
    g = 0.5 * ((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2
    assert loss.d_loss(identity, REAL, FAKE).item() == pytest.approx(d)
    assert loss.g_loss(identity, REAL, FAKE).item() == pytest.approx(g)


def test_lsgan_with_the_minus_one_one_zero_coding():
    # Mao et al. 2017, Eq. 8: a=-1, b=1, c=0.
    loss = build_loss("lsgan", {"a": -1, "b": 1, "c": 0})
    d = 0.5 * ((2 - 1) ** 2 + (-1 - 1) ** 2) / 2 + 0.5 * ((0.5 + 1) ** 2 + (-3 + 1) ** 2) / 2
    g = 0.5 * (0.5**2 + 3**2) / 2
    assert loss.d_loss(identity, REAL, FAKE).item() == pytest.approx(d)
    assert loss.g_loss(identity, REAL, FAKE).item() == pytest.approx(g)


def test_every_loss_lowers_its_d_loss_when_real_and_fake_separate():
    good = (torch.tensor([3.0, 3.0]), torch.tensor([-3.0, -3.0]))
    bad = (torch.tensor([-3.0, -3.0]), torch.tensor([3.0, 3.0]))
    for name in LOSSES.names():
        loss = build_loss(name, {})
        assert loss.d_loss(identity, *good) < loss.d_loss(identity, *bad), name


def test_unknown_options_list_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown option 'q' in loss.options for lsgan; choose from: a, b, c"):
        build_loss("lsgan", {"q": 1})
    with pytest.raises(ConfigError, match="takes no options"):
        build_loss("non_saturating", {"a": 1})
    with pytest.raises(ConfigError, match="must be a number"):
        build_loss("lsgan", {"a": "zero"})
