import itertools

import numpy as np
import pytest

from gansweep.metrics.kid import kernel_inception_distance, mmd2_unbiased


def brute_force_mmd2(x, y):
    """Binkowski et al. 2018, Eq. (unbiased MMD^2) written as explicit sums over pairs."""
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_unbiased_estimate_matches_the_pairwise_sums():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 5)), rng.normal(1.0, 2.0, size=(6, 5))
    assert mmd2_unbiased(x, y) == pytest.approx(brute_force_mmd2(x, y), rel=1e-12)


def test_identical_sets_give_zero_up_to_the_diagonal_term():
    # X against itself: the estimate is 2 / (m - 1) * (mean k(x_i, x_j) - mean k(x_i, x_i)), which is
    # O(1/m); Inception-like features (non-negative, 2048-d) make it tiny.
    features = np.abs(np.random.default_rng(1).normal(0, 0.5, size=(300, 2048)))
    d, m = features.shape[1], len(features)
    kernel = (features @ features.T / d + 1) ** 3
    expected = 2 / (m - 1) * (kernel.mean() - np.diag(kernel).mean())
    mean, std = kernel_inception_distance(features, features.copy(), subsets=3, subset_size=m)
    assert mean == pytest.approx(expected, rel=1e-9)
    assert abs(mean) < 5e-3 and std < 1e-12


def test_same_distribution_is_near_zero_and_a_shift_is_not():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(400, 64)), rng.normal(size=(400, 64))
    shifted = rng.normal(0.5, 1.0, size=(400, 64))
    same, _ = kernel_inception_distance(a, b, subsets=5, subset_size=200)
    different, _ = kernel_inception_distance(a, shifted, subsets=5, subset_size=200)
    assert abs(same) < 0.02
    assert different > 0.1 and different > 10 * abs(same)


def test_subset_larger_than_the_sets_is_rejected():
    with pytest.raises(ValueError, match="subset_size"):
        kernel_inception_distance(np.zeros((5, 2)), np.zeros((5, 2)), subset_size=6)
