"""Penalties and constraints on the networks, usable with any loss (regularization.* in params)."""
from __future__ import annotations

import torch
from torch import nn


def penalised_weights(module: nn.Module) -> list[torch.Tensor]:
    """Conv and linear weight tensors: biases, norm scales/shifts and PReLU slopes are 1-d and excluded."""
    return [p for p in module.parameters() if p.ndim > 1 and p.requires_grad]


def weight_penalty(module: nn.Module, l1: float, l2: float) -> torch.Tensor | float:
    if l1 == 0 and l2 == 0:
        return 0.0
    weights = penalised_weights(module)
    return l1 * sum(w.abs().sum() for w in weights) + l2 * sum((w**2).sum() for w in weights)


@torch.no_grad()
def decay_weights(module: nn.Module, lr: float, weight_decay: float) -> None:
    """Decoupled weight decay (Loshchilov & Hutter 2019): w <- w - lr * wd * w, before the step."""
    if weight_decay:
        for w in penalised_weights(module):
            w.mul_(1 - lr * weight_decay)


def _input_gradients(score, images: torch.Tensor) -> torch.Tensor:
    images = images.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(score(images).sum(), images, create_graph=True)
    return grad.flatten(1)


def gradient_penalty(score, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Gulrajani et al. 2017, Eq. 3: E[(||grad score(x_hat)||_2 - 1)^2] with
    x_hat = eps * x + (1 - eps) * G(z), eps ~ U[0, 1] per image. Multiply by lambda."""
    eps = torch.rand(len(real), *[1] * (real.ndim - 1), device=real.device, dtype=real.dtype)
    interpolates = eps * real.detach() + (1 - eps) * fake.detach()
    return ((_input_gradients(score, interpolates).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(score, real: torch.Tensor) -> torch.Tensor:
    """Mescheder et al. 2018, Eq. 9: 1/2 E[||grad D(x)||^2] on real data. Multiply by gamma."""
    return 0.5 * (_input_gradients(score, real) ** 2).sum(dim=1).mean()


def spectral_normalize(module: nn.Module) -> nn.Module:
    """Miyato et al. 2018: every conv and linear weight divided by its largest singular value
    (one power iteration per forward pass)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(layer)
    return module
