"""Budget-fair comparison (Lucic et al. 2018, "Are GANs Created Equal?", Sec. 5 and Fig. 4): for each
level of a factor (a loss, say), with the other hyperparameters drawn at random per trial, the
expected best score after k trials, k = 1..n: the mean over random k-subsets of that level's trials
of their minimum. A level whose curve is lower at budget k is the better choice for someone who can
afford k trials; curves fall with k and often meet at large k.

With the level's n values sorted ascending, x_(1) <= ... <= x_(n), the minimum of a random k-subset
is x_(i) with probability C(n - i, k - 1) / C(n, k), so the curve is exact, not sampled. Its band
resamples the level's trials with replacement (bootstrap); two levels differ at budget k when the
bootstrap interval of their difference excludes 0.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from math import comb

import numpy as np


@functools.cache
def _weights(n: int) -> np.ndarray:
    """W[k - 1, i - 1] = P(the minimum of a random k-subset is the i-th smallest of n)."""
    return np.array([[comb(n - i, k - 1) / comb(n, k) for i in range(1, n + 1)] for k in range(1, n + 1)])


def expected_best(values, budgets=None) -> np.ndarray:
    """E[min of a random k-subset of `values`] for each k in `budgets` (default 1..n)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    budgets = list(range(1, n + 1) if budgets is None else budgets)
    bad = [k for k in budgets if not 1 <= k <= n]
    if bad:
        raise ValueError(f"a budget of {bad[0]} trials needs 1 <= k <= {n} (the level's trials)")
    return _weights(n)[np.array(budgets) - 1] @ x


def _bootstrap(values, draws: int, rng) -> np.ndarray:
    """The curve of `draws` resamples of the values (with replacement): draws x n."""
    x = np.asarray(values, dtype=float)
    resamples = np.sort(rng.choice(x, size=(draws, len(x)), replace=True), axis=1)
    return resamples @ _weights(len(x)).T


@dataclass
class Curve:
    level: str
    trials: int
    budgets: list[int]
    mean: list[float]
    low: list[float]
    high: list[float]


@dataclass
class Verdict:
    """Where one level's curve is lower than another's (bootstrap 95%), as runs of budgets."""

    a: str
    b: str
    a_better: list[int]
    b_better: list[int]
    budgets: int  # compared at 1..budgets

    def sentence(self, metric: str = "FID") -> str:
        parts = [f"{winner} beats {loser} {_budgets(ks, self.budgets)}" for winner, loser, ks in
                 ((self.a, self.b, self.a_better), (self.b, self.a, self.b_better)) if ks]
        if not parts:
            return f"{self.a} and {self.b} do not differ at any budget of 1 to {self.budgets} trials (95% bootstrap)"
        return "; ".join(parts) + f" (expected best {metric}, 95% bootstrap)"


def _runs(ks: list[int]) -> list[tuple[int, int]]:
    """Consecutive budgets as (first, last): [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs = [[k for _, k in group] for _, group in itertools.groupby(enumerate(ks), lambda pair: pair[1] - pair[0])]
    return [(run[0], run[-1]) for run in runs]


def _budgets(ks: list[int], last: int) -> str:
    phrases = []
    for a, b in _runs(ks):
        if a == 1 and b == last:
            phrases.append(f"at every budget of 1 to {last} trials")
        elif b == last:
            phrases.append(f"from {a} trials on")
        elif a == b:
            phrases.append(f"at {a} trial{'s' if a > 1 else ''}")
        else:
            phrases.append(f"at {a} to {b} trials")
    return " and ".join(phrases)


def compare_levels(values: dict[str, list[float]], draws: int = 2000, seed: int = 0, confidence: float = 0.95) -> tuple[list[Curve], list[Verdict]]:
    """Each level's curve with its bootstrap band, and for each pair of levels where one is better."""
    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    curves, boots = [], {}
    for level, xs in values.items():
        budgets = list(range(1, len(xs) + 1))
        boots[level] = _bootstrap(xs, draws, rng)
        low, high = np.quantile(boots[level], [alpha, 1 - alpha], axis=0)
        curves.append(Curve(level, len(xs), budgets, expected_best(xs).tolist(), low.tolist(), high.tolist()))
    verdicts = []
    levels = list(values)
    for i, a in enumerate(levels):
        for b in levels[i + 1:]:
            n = min(len(values[a]), len(values[b]))
            if n == 0:
                continue
            difference = boots[a][:, :n] - boots[b][:, :n]
            low, high = np.quantile(difference, [alpha, 1 - alpha], axis=0)
            verdicts.append(Verdict(a, b, [k + 1 for k in range(n) if high[k] < 0], [k + 1 for k in range(n) if low[k] > 0], n))
    return curves, verdicts
