"""Where a trained generator's FID sits: between an untrained generator and real data.

Scores, at the protocol in params.yaml (metrics.*), against the reference statistics of the
`reference_stats` stage:
  - real vs real: the next N prepared images (disjoint from the reference ones): the noise floor;
  - an untrained generator (the train stage's initial weights);
  - the trained generator in models/generator.pt.
Run after `dvc repro`:  python benchmarks/fid_baselines.py  (writes docs/baselines.md)
"""
import json
import platform
import time
from pathlib import Path

import lightning.pytorch as pl

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep import paths
from gansweep.config import load_config
from gansweep.data import prepared
from gansweep.evaluate import score
from gansweep.metrics.fid import frechet_distance, load_statistics, statistics
from gansweep.metrics.inception import default_device, inception_features, iterate
from gansweep.metrics.kid import kernel_inception_distance
from gansweep.generators import load_generator
from gansweep.module import GAN


def main():
    cfg = load_config()
    m = cfg.metrics
    reference = load_statistics(paths.REFERENCE_STATS)
    images, _ = prepared.load(paths.prepared_split(m.reference_split))
    n_ref, n_gen = m.reference_images, m.generated_images
    if n_ref + n_gen > len(images):
        raise SystemExit(f"need {n_ref + n_gen} prepared images for a disjoint real set, have {len(images)}")

    rows = []
    start = time.time()
    real = inception_features(iterate(images[n_ref : n_ref + n_gen]), total=n_gen, desc="Inception features (held-out real)",
                              convention=m.convention, runtime=cfg.compute.inception)  # as the reference statistics were made
    mu, sigma = statistics(real)
    kid, kid_std = kernel_inception_distance(reference["features"], real, m.kid_subsets, m.kid_subset_size, m.seed)
    rows.append(("real vs real (noise floor)", frechet_distance(reference["mu"], reference["sigma"], mu, sigma), kid, kid_std, time.time() - start))

    pl.seed_everything(cfg.train.seed, verbose=False)  # the same initial weights as the train stage
    for name, generator in (
        ("untrained generator", GAN(cfg, images.shape[1:]).generator.to(default_device())),
        ("trained generator (models/generator_best.pt)", load_generator(paths.BEST_GENERATOR, default_device())),
    ):
        start = time.time()
        metrics, _ = score(generator, reference, m, cfg.compute.inception)
        rows.append((name, metrics["fid"], metrics["kid"], metrics["kid_std"], time.time() - start))

    lines = [
        "# FID baselines",
        "",
        f"Made by `python benchmarks/fid_baselines.py` after `dvc repro` with the shipped params.yaml, on "
        f"{platform.machine()} with {platform.python_version()}; dataset {cfg.data.dataset}, "
        f"{n_gen} images scored against the reference statistics of {n_ref} real images "
        f"(TF-FID Inception, {m.convention} convention).",
        "",
        "| images | FID | KID (x1e3) | seconds |",
        "| --- | ---: | ---: | ---: |",
        *[f"| {name} | {fid:.2f} | {kid * 1e3:.2f} +- {std * 1e3:.2f} | {secs:.0f} |" for name, fid, kid, std, secs in rows],
        "",
    ]
    Path("docs").mkdir(exist_ok=True)
    Path("docs/baselines.md").write_text("\n".join(lines))
    print("\n".join(lines))
    print(json.dumps({name: round(fid, 3) for name, fid, *_ in rows}))


if __name__ == "__main__":
    main()
