"""Improved precision and recall (Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric
for Assessing Generative Models", Sec. 3), on the same Inception features as FID.

Each set's manifold is the union of balls around its points, each ball's radius the distance to the
point's k-th nearest neighbour within the set (k = 3 in the paper). Precision: the fraction of
generated points inside the real manifold; recall: the fraction of real points inside the generated one.
"""
from __future__ import annotations

import numpy as np


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(squared, 0, None))


def knn_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest neighbour in the same set (itself excluded)."""
    if len(features) <= k:
        raise ValueError(f"need more than k={k} points for k-NN radii, got {len(features)}")
    return np.partition(pairwise_distances(features, features), k, axis=1)[:, k]  # column 0 is the point itself (distance 0)


def coverage(manifold: np.ndarray, queries: np.ndarray, k: int) -> float:
    """Fraction of `queries` inside at least one k-NN ball of `manifold`."""
    inside = pairwise_distances(queries, manifold) <= knn_radii(manifold, k)[None, :]
    return float(inside.any(axis=1).mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    return coverage(real, fake, k), coverage(fake, real, k)
