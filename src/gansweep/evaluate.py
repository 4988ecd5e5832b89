"""Scoring a generator against the cached reference statistics: FID, KID, precision and recall,
all from one pass of generated images through Inception."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import torch

from gansweep.config import Config, MetricsConfig
from gansweep.data.prepared import to_uint8
from gansweep.metrics.fid import frechet_distance, statistics
from gansweep.metrics.inception import default_device, inception_features
from gansweep.metrics.inception_score import inception_score, load_logits_weight
from gansweep.metrics.kid import kernel_inception_distance
from gansweep.metrics.precision_recall import precision_recall
from gansweep.protocol import REPORT, SELECTION, description, latent_seed, protocol

logits_weight = functools.lru_cache(maxsize=1)(load_logits_weight)  # the one download, once per process


@torch.no_grad()
def generated_batches(generator, n: int, seed: int, batch_size: int = 50):
    """n uint8 images from seeded latents, on the generator's own device (the latents are drawn on
    the CPU, so they are the same on any device)."""
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    for start in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - start), generator.latent_dim, generator=rng)
        yield to_uint8(generator(z.to(device)), generator.output)


def generated_features(generator, n: int, seed: int, convention: str, desc: str, runtime: str = "auto", fast: bool = False) -> np.ndarray:
    """Inception features of n generated images, computed on the generator's device; its train/eval mode is kept."""
    was_training = generator.training
    generator.eval()
    try:
        return inception_features(generated_batches(generator, n, seed), total=n, device=str(next(generator.parameters()).device),
                                  desc=desc, convention=convention, runtime=runtime, fast=fast)
    finally:
        generator.train(was_training)


def _fid_kid(features: np.ndarray, real: dict, m: MetricsConfig, subset_size: int) -> dict:
    mu, sigma = statistics(features)
    kid, kid_std = kernel_inception_distance(real["features"], features, subsets=m.kid_subsets, subset_size=subset_size, seed=m.seed)
    return {"fid": frechet_distance(real["mu"], real["sigma"], mu, sigma), "kid": kid, "kid_std": kid_std}


def score(generator, reference: dict, cfg: MetricsConfig, runtime: str = "auto") -> tuple[dict, np.ndarray]:
    """The reported metrics of cfg.generated_images images against `reference` (the report's
    saved statistics with their features), and the generated features. Always float32."""
    features = generated_features(generator, cfg.generated_images, latent_seed(cfg.seed, REPORT), cfg.convention,
                                  "Inception features (generated)", runtime)
    metrics = _fid_kid(features, reference, cfg, cfg.kid_subset_size)
    metrics["precision"], metrics["recall"] = precision_recall(reference["features"], features, k=cfg.precision_recall_k)
    if cfg.inception_score:
        metrics["inception_score"], metrics["inception_score_std"] = inception_score(features, logits_weight())
    return metrics, features


def selection_score(generator, selection: dict, cfg: Config) -> dict:
    """KID and FID of train.eval_images images from the selection latent stream against the
    selection statistics: only what ranking generators needs (see gansweep.protocol), so with the
    fast scorer (compute.selection_scorer) where the hardware has one."""
    m, n = cfg.metrics, cfg.train.eval_images
    features = generated_features(generator, n, latent_seed(m.seed, SELECTION), m.convention, "Inception features (selection)",
                                  cfg.compute.inception, cfg.compute.selection_scorer == "fast")
    metrics = _fid_kid(features, selection, m, min(m.kid_subset_size, n, len(selection["features"])))
    return {"kid": metrics["kid"], "fid": metrics["fid"]}


def evaluate_training(cfg: Config, run: dict, models_dir: Path, reference: dict, metrics_path: Path, samples_path: Path) -> dict:
    """What the `evaluate` stage (and a study trial, after training) does: the reported metrics of
    the best and the last generator in `models_dir` -> metrics_path (JSON), a sample grid of the
    best -> samples_path, both logged with the metrics to the training's MLflow run (`run`, as
    train() returns it). Returns the metrics."""
    from PIL import Image

    from gansweep import tracking
    from gansweep.grids import grid_image
    from gansweep.generators import load_generator

    client = tracking.client(run["tracking_uri"])  # an unreachable store fails here, before any work
    best = load_generator(models_dir / "generator_best.pt", default_device())
    best_metrics, _ = score(best, reference, cfg.metrics, cfg.compute.inception)
    last_metrics = best_metrics
    if run["best_epoch"] != run["last_epoch"]:
        last = load_generator(models_dir / "generator.pt", default_device())
        last_metrics, _ = score(last, reference, cfg.metrics, cfg.compute.inception)
    metrics = {**best_metrics, "best_epoch": run["best_epoch"], "last": last_metrics, **protocol(cfg)}
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    grid = grid_image(next(generated_batches(best, 64, latent_seed(cfg.metrics.seed, REPORT), batch_size=64)))
    samples_path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid.squeeze(-1) if grid.shape[-1] == 1 else grid).save(samples_path)

    # At the training's last step: on the axis of its loss curves (Lightning's `epoch` metric is logged at each of its steps).
    step = max((m.step for m in client.get_metric_history(run["run_id"], "epoch")), default=0)
    run_id = tracking.run_for_metrics(client, run["run_id"], cfg, description(cfg))
    with tracking.run_life(client, run_id, reopen=True):
        for key, value in best_metrics.items():
            client.log_metric(run_id, key, value, step=step)
            client.log_metric(run_id, f"{key}_last", last_metrics[key], step=step)
        for key, value in protocol(cfg).items():
            client.set_tag(run_id, f"protocol.{key}", value)
        client.log_artifact(run_id, str(metrics_path))
        client.log_artifact(run_id, str(samples_path))
    return {**metrics, "run_id": run_id}
