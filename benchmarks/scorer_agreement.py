"""Does the fast selection scorer rank generators as the exact one does?

The periodic evaluation (best-generator pick, pruning) only ranks generators, so it may use the
fast scorer (compute.selection_scorer: fast = bf16 Inception where the hardware computes it). This
scores every given generator (checkpoints of one training, trials of a study; the same weights once)
with both scorers, each against selection statistics made by itself from the same real images, and
reports the Spearman rank correlation of their KIDs and FIDs, and the time each took.

  python benchmarks/scorer_agreement.py 'studies/*/trials/*/models/generator*.pt' [--images 100]

On a CPU without bf16 units (AVX2 only) both scorers are float32 and agree by construction.
"""
import argparse
import glob
import time
from pathlib import Path

import numpy as np
import torch
from bench import environment, write_json
from scipy.stats import spearmanr

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)
from gansweep import paths
from gansweep.config import load_config
from gansweep.data import prepared
from gansweep.data.sources import DATASETS
from gansweep.evaluate import generated_features
from gansweep.generators import load_generator
from gansweep.metrics.fid import frechet_distance, statistics
from gansweep.metrics.inception import default_device, inception_features, iterate, scorer
from gansweep.metrics.kid import kernel_inception_distance
from gansweep.protocol import SELECTION, latent_seed, real_images


def distinct(files: list[str]) -> list[str]:
    """The first file of each generator: a training's generator_best.pt often holds the weights of its
    generator.pt (in other bytes), and a pair scored twice would tie in both rankings, raising their
    agreement for nothing."""
    kept = []
    for file in files:
        weights = torch.load(file, map_location="cpu", weights_only=True)["state_dict"]
        if not any(weights.keys() == other.keys() and all(map(torch.equal, weights.values(), other.values()))
                   for _, other in kept):
            kept.append((file, weights))
    return [file for file, _ in kept]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generators", nargs="+", help="generator files or glob patterns")
    parser.add_argument("--images", type=int, default=None, help="generated images per score (default: train.eval_images)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cfg = load_config()
    m, device, runtime = cfg.metrics, default_device(), cfg.compute.inception
    files = distinct(sorted({f for pattern in args.generators for f in glob.glob(pattern)}))
    if len(files) < 3:
        raise SystemExit(f"need at least 3 distinct generators to rank, found {len(files)}")
    n = args.images or cfg.train.eval_images
    splits = {split: prepared.load(paths.prepared_split(split))[0] for split in DATASETS.get(cfg.data.dataset).splits}
    real = real_images(cfg, splits, SELECTION)
    scores, seconds = {}, {}
    for fast in (False, True):
        name = scorer(device, runtime, fast)
        start = time.perf_counter()
        reference = inception_features(iterate(real), len(real), device, f"selection reference ({name})", m.convention, runtime, fast)
        mu, sigma = statistics(reference)
        kids, fids = [], []
        for file in files:
            features = generated_features(load_generator(Path(file), device), n, latent_seed(m.seed, SELECTION), m.convention, name, runtime, fast)
            kids.append(kernel_inception_distance(reference, features, m.kid_subsets, min(m.kid_subset_size, n, len(real)), m.seed)[0])
            fids.append(frechet_distance(mu, sigma, *statistics(features)))
        scores[name], seconds[name] = {"kid": kids, "fid": fids}, time.perf_counter() - start
    exact, fast = scores.values()
    result = {
        "benchmark": "scorer_agreement", **environment(device), "generators": files, "images": n, "scores": scores, "seconds": seconds,
        "spearman_kid": float(spearmanr(exact["kid"], fast["kid"]).statistic),
        "spearman_fid": float(spearmanr(exact["fid"], fast["fid"]).statistic),
        "max_fid_rel_diff": float(np.max(np.abs(np.subtract(fast["fid"], exact["fid"])) / np.abs(exact["fid"]))),
    }
    names = list(scores)
    print(f"{result['device']}: {len(files)} generators, {n} images each; scorers {names[0]} ({seconds[names[0]]:.0f} s) "
          f"and {names[1]} ({seconds[names[1]]:.0f} s)")
    print(f"Spearman rank correlation: KID {result['spearman_kid']:.4f}, FID {result['spearman_fid']:.4f}; "
          f"largest relative FID difference {result['max_fid_rel_diff']:.2e}")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
