"""How often the report's 95% bootstrap interval over seeds covers the true mean, by number of seeds.

    python benchmarks/bootstrap_coverage.py [--draws 2000]

Draws `draws` synthetic sets of n FIDs from a normal distribution (mean 60, sd 4: about the seed
spread of the default run) and counts the intervals that contain 60. The report quotes these numbers
next to intervals from fewer than gansweep.stats.MANY_SEEDS seeds.
"""
import argparse

import numpy as np

from gansweep.stats import bootstrap_interval


def coverage(n: int, draws: int, seed: int, resamples: int = 2000) -> float:
    rng = np.random.default_rng(seed)
    covered = 0
    for start in range(0, draws, 100):
        values = rng.normal(60.0, 4.0, size=(min(100, draws - start), n))
        low, high = bootstrap_interval(values, resamples=resamples, seed=start)
        covered += int(np.sum((low <= 60.0) & (60.0 <= high)))
    return covered / draws


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args()
    print("| seeds | coverage of the 95% interval |\n| ---: | ---: |")
    for n in (2, 3, 5, 10, 20, 50):
        print(f"| {n} | {coverage(n, args.draws, seed=n):.3f} |", flush=True)
