"""Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs", Sec. 4).

The unbiased estimate of MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3,
averaged over random subsets of equal size m drawn from each set (without replacement within a
subset), as in the paper's reference code.
"""
from __future__ import annotations

import numpy as np


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


def kernel_inception_distance(real: np.ndarray, fake: np.ndarray, subsets: int = 10, subset_size: int = 100,
                              seed: int = 0) -> tuple[float, float]:
    """(mean, standard deviation) of the unbiased MMD^2 over `subsets` random subsets."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if subset_size < 2 or subset_size > min(len(real), len(fake)):
        raise ValueError(f"subset_size must be in [2, {min(len(real), len(fake))}], got {subset_size}")
    rng = np.random.default_rng(seed)
    def subset(x):
        return x[rng.choice(len(x), subset_size, replace=False)]

    values = [mmd2_unbiased(subset(fake), subset(real)) for _ in range(subsets)]  # fake's draw first, as always
    return float(np.mean(values)), float(np.std(values))
