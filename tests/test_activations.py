"""Each activation against its definition at chosen points, negative inputs included."""
import math

import pytest
import torch

from helpers import model_config
from gansweep.nn.activations import ACTIVATIONS

POINTS = [-3.0, -0.5, -1e-3, 0.0, 0.7, 2.0]
SELU_LAMBDA, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772  # Klambauer et al. 2017, Eq. 2


def phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


DEFINITIONS = {
    "sigmoid": lambda x, c: 1 / (1 + math.exp(-x)),
    "tanh": lambda x, c: math.tanh(x),
    "relu": lambda x, c: max(0.0, x),
    "leaky_relu": lambda x, c: x if x > 0 else c.leaky_relu_slope * x,
    "prelu": lambda x, c: x if x > 0 else 0.25 * x,  # He et al. 2015, slope initialised at 0.25
    "elu": lambda x, c: x if x > 0 else c.elu_alpha * (math.exp(x) - 1),  # Clevert et al. 2016
    "selu": lambda x, c: SELU_LAMBDA * (x if x > 0 else SELU_ALPHA * (math.exp(x) - 1)),
    "gelu": lambda x, c: x * phi(x),  # Hendrycks & Gimpel 2016, exact form
    "silu": lambda x, c: x / (1 + math.exp(-x)),  # Elfwing et al. 2018
}


def test_every_registered_activation_has_a_definition_here():
    assert set(ACTIVATIONS.names()) == set(DEFINITIONS)


@pytest.mark.parametrize("cfg", [model_config(), model_config(leaky_relu_slope=0.01, elu_alpha=0.5)])
@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_matches_its_definition(name, cfg):
    module = ACTIVATIONS.get(name)(1, cfg)
    x = torch.tensor(POINTS, dtype=torch.float64).view(1, -1, 1, 1).transpose(0, 1)  # N x C=1 x 1 x 1
    out = module.double()(x).flatten().tolist()
    assert out == pytest.approx([DEFINITIONS[name](p, cfg) for p in POINTS], rel=1e-9, abs=1e-12)


def test_elu_gradient_just_below_zero_is_alpha():
    # The seeds claim 0.01; d/dx alpha (e^x - 1) at 0- is alpha.
    x = torch.tensor([-1e-8], dtype=torch.float64, requires_grad=True)
    ACTIVATIONS.get("elu")(1, model_config(elu_alpha=0.7))(x).sum().backward()
    assert x.grad.item() == pytest.approx(0.7, rel=1e-6)


def test_prelu_learns_one_slope_per_channel():
    prelu = ACTIVATIONS.get("prelu")(3, model_config())
    assert prelu.weight.shape == (3,) and torch.all(prelu.weight == 0.25)
    x = torch.tensor([-2.0, -1.0, 4.0]).view(1, 3, 1, 1)
    prelu(x).sum().backward()
    # d/da of a * x for x < 0 is x; a positive input gives the slope no gradient.
    assert prelu.weight.grad.tolist() == [-2.0, -1.0, 0.0]
