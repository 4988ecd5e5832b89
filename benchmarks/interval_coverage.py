"""How often the report's 95% intervals cover the truth, by number of seeds.

    python benchmarks/interval_coverage.py [--draws 2000]

1. A configuration's percentile bootstrap interval over seeds: `draws` synthetic sets of n FIDs from
   a normal distribution (mean 60, sd 4: about the seed spread of the default run), counting the
   intervals that contain 60. The report quotes these numbers next to intervals from fewer than
   gansweep.stats.MANY_SEEDS seeds.
2. The marginal effects' pooled t-intervals: a 2 x 3 factorial with known main effects (activation
   -5/+5, loss +3/0/-3, sd 6 within cells), n seeds per cell, counting the intervals that contain
   the true effect.
"""
import argparse

import numpy as np

from gansweep.stats import bootstrap_interval, marginal_effects


def coverage(n: int, draws: int, seed: int, resamples: int = 2000) -> float:
    rng = np.random.default_rng(seed)
    covered = 0
    for start in range(0, draws, 100):
        values = rng.normal(60.0, 4.0, size=(min(100, draws - start), n))
        low, high = bootstrap_interval(values, resamples=resamples, seed=start)
        covered += int(np.sum((low <= 60.0) & (60.0 <= high)))
    return covered / draws


def marginal_coverage(n: int, draws: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    activation, loss = {"relu": -5.0, "elu": 5.0}, {"a": 3.0, "b": 0.0, "c": -3.0}
    covered = total = 0
    for _ in range(draws):
        cells = {(a, l): list(70 + activation[a] + loss[l] + rng.normal(0, 6.0, n)) for a in activation for l in loss}
        for row in marginal_effects(cells, ["activation", "loss"]):
            truth = (activation if row["factor"] == "activation" else loss)[row["level"]]
            covered += row["effect_low"] <= truth <= row["effect_high"]
            total += 1
    return covered / total


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args()
    print("| seeds | configuration: bootstrap interval | marginal effect: pooled t-interval |\n| ---: | ---: | ---: |")
    for n in (2, 3, 5, 10, 20, 50):
        marginal = f"{marginal_coverage(n, args.draws // 2, seed=n):.3f}" if n <= 10 else ""
        print(f"| {n} | {coverage(n, args.draws, seed=n):.3f} | {marginal} |", flush=True)
