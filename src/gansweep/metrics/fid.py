"""Frechet Inception Distance (Heusel et al. 2017), in float64.

FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).
tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues of the symmetric PSD
matrix S1^(1/2) S2 S1^(1/2), which has the same spectrum as S1 S2: symmetric eigensolvers keep
it real and stable where a general sqrtm of S1 S2 can return complex parts.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from gansweep.paths import reading


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need at least 2 feature vectors as [N, D], got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    mu1, sigma1, mu2, sigma2 = (np.asarray(x, np.float64) for x in (mu1, sigma1, mu2, sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"mismatched statistics: {mu1.shape}, {sigma1.shape} vs {mu2.shape}, {sigma2.shape}")
    eigenvalues, vectors = np.linalg.eigh(sigma1)
    root1 = (vectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ vectors.T  # S1^(1/2)
    middle = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def save_statistics(path: Path, features: np.ndarray, **info) -> None:
    mu, sigma = statistics(features)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, mu=mu, sigma=sigma, features=features.astype(np.float32), **info)


def load_statistics(path: Path) -> dict:
    with reading(path, "Inception statistics"), np.load(path) as data:
        if missing := {"mu", "sigma", "features"} - set(data.files):
            raise KeyError(f"no {', '.join(sorted(missing))}")
        return dict(data)


def statistics_of(path: Path) -> dict:
    """load_statistics, read once per process while the file is unchanged (a study worker's trials share one copy)."""
    stat = Path(path).stat() if Path(path).exists() else None
    return _cached(str(path), str(Path(path).resolve()), stat and (stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _cached(path: str, resolved: str, version) -> dict:
    return load_statistics(Path(path))
