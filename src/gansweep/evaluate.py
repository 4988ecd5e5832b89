"""Scoring a generator against the cached reference statistics: FID, KID, precision and recall,
all from one pass of generated images through Inception."""
from __future__ import annotations

import functools

import numpy as np
import torch

from gansweep.config import Config, MetricsConfig
from gansweep.data.prepared import to_uint8
from gansweep.metrics.fid import frechet_distance, statistics
from gansweep.metrics.inception import default_device, inception_features
from gansweep.metrics.inception_score import inception_score, load_logits_weight
from gansweep.metrics.kid import kernel_inception_distance
from gansweep.metrics.precision_recall import precision_recall
from gansweep.registry import ConfigError


@torch.no_grad()
def generated_batches(generator, n: int, seed: int, batch_size: int = 50, device: str = "cpu"):
    """n uint8 images from seeded latents (drawn on the CPU, so the same on any device)."""
    rng = torch.Generator().manual_seed(seed)
    for start in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - start), generator.latent_dim, generator=rng)
        yield to_uint8(generator(z.to(device)), generator.output).cpu()


def protocol(cfg: Config) -> dict:
    """What every reported number was measured with."""
    m = cfg.metrics
    return {
        "dataset": cfg.data.dataset,
        "convention": m.convention,
        "reference_split": m.reference_split,
        "reference_images": m.reference_images,
        "generated_images": m.generated_images,
    }


def check_reference(reference: dict, cfg: Config) -> None:
    """The reference statistics must have been made with this config's protocol."""
    expected = protocol(cfg)
    for key in ("dataset", "convention", "reference_split"):
        if str(reference[key]) != expected[key]:
            raise ConfigError(f"reference statistics are for {key}={reference[key]}, params say {expected[key]}: run dvc repro")
    if len(reference["features"]) != expected["reference_images"]:
        raise ConfigError(
            f"reference statistics hold {len(reference['features'])} images, params say {expected['reference_images']}: run dvc repro"
        )


def score(generator, reference: dict, cfg: MetricsConfig, n: int | None = None) -> tuple[dict, np.ndarray]:
    """Metrics of `n` generated images (default: cfg.generated_images) against `reference` (saved
    statistics with their features), and the generated features."""
    device = default_device()
    was_training = generator.training
    generator = generator.to(device).eval()
    n = n or cfg.generated_images
    features = inception_features(
        generated_batches(generator, n, cfg.seed, device=device),
        total=n,
        device=device,
        desc="Inception features (generated)",
        convention=cfg.convention,
    )
    generator.train(was_training)
    real = reference["features"]
    mu, sigma = statistics(features)
    kid, kid_std = kernel_inception_distance(
        real, features, subsets=cfg.kid_subsets, subset_size=min(cfg.kid_subset_size, n, len(real)), seed=cfg.seed
    )
    precision, recall = precision_recall(real, features, k=cfg.precision_recall_k)
    metrics = {
        "fid": frechet_distance(reference["mu"], reference["sigma"], mu, sigma),
        "kid": kid,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
    }
    if cfg.inception_score:
        metrics["inception_score"], metrics["inception_score_std"] = inception_score(features, logits_weight())
    return metrics, features


@functools.lru_cache(maxsize=1)
def logits_weight() -> np.ndarray:
    return load_logits_weight()
