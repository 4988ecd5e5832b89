"""The reported FID of a saved generator with the batch-norm statistics it was saved with, and with
standing statistics recomputed for its weights (gansweep.ema.standing_statistics), at the protocol in
params.yaml. Run in a project after `dvc repro`, e.g. one at a commit that still copied the live
generator's statistics into the average (8ce6a4c):

    python /path/to/this/checkout/benchmarks/ema_standing.py [--batches 16,100] [generator_best.pt]
"""
import argparse

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from bench import environment
from gansweep import ema, paths
from gansweep.config import load_config
from gansweep.evaluate import score
from gansweep.generators import load_generator
from gansweep.metrics.fid import load_statistics

parser = argparse.ArgumentParser()
parser.add_argument("generator", nargs="?", default=paths.BEST_GENERATOR.name)
parser.add_argument("--batches", default="16,100", help="standing-statistics batches of train.batch_size latents")
args = parser.parse_args()
cfg, reference = load_config(), load_statistics(paths.REFERENCE_STATS)
print(environment("cpu"))
saved, _ = score(load_generator(paths.MODELS / args.generator), reference, cfg.metrics)
print(f"{args.generator}, saved statistics: FID {saved['fid']:.2f}  KID {saved['kid']:.4f}")
for batches in map(int, args.batches.split(",")):
    generator = load_generator(paths.MODELS / args.generator)
    ema.standing_statistics(generator, cfg.train.batch_size, batches, seed=cfg.train.seed)
    standing, _ = score(generator.eval(), reference, cfg.metrics)
    print(f"{args.generator}, standing statistics of {batches} batches: FID {standing['fid']:.2f}  KID {standing['kid']:.4f}")
