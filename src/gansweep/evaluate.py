"""Scoring a trained generator: FID against the cached reference statistics, and KID."""
from __future__ import annotations

import numpy as np
import torch

from gansweep.config import MetricsConfig
from gansweep.data.prepared import to_uint8
from gansweep.metrics.fid import frechet_distance, statistics
from gansweep.metrics.inception import default_device, inception_features
from gansweep.metrics.kid import kernel_inception_distance


@torch.no_grad()
def generated_batches(generator, n: int, seed: int, batch_size: int = 50, device: str = "cpu"):
    """n uint8 images from seeded latents (drawn on the CPU, so the same on any device)."""
    rng = torch.Generator().manual_seed(seed)
    for start in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - start), generator.latent_dim, generator=rng)
        yield to_uint8(generator(z.to(device)), generator.output).cpu()


def score(generator, reference: dict, cfg: MetricsConfig) -> tuple[dict, np.ndarray]:
    """Metrics of `generator` against `reference` (saved statistics with features), and its features."""
    device = default_device()
    generator = generator.to(device).eval()
    n = cfg.generated_images
    features = inception_features(
        generated_batches(generator, n, cfg.seed, device=device), total=n, device=device, desc="Inception features (generated)"
    )
    mu, sigma = statistics(features)
    kid, kid_std = kernel_inception_distance(
        reference["features"], features, subsets=cfg.kid_subsets, subset_size=cfg.kid_subset_size, seed=cfg.seed
    )
    metrics = {
        "fid": frechet_distance(reference["mu"], reference["sigma"], mu, sigma),
        "kid": kid,
        "kid_std": kid_std,
        "generated_images": n,
        "reference_images": int(len(reference["features"])),
    }
    return metrics, features
