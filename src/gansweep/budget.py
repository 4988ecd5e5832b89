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
    if bad := [k for k in budgets if not 1 <= k <= n]:
        raise ValueError(f"a budget of {bad[0]} trials needs 1 <= k <= {n} (the level's trials)")
    return _weights(n)[np.array(budgets) - 1] @ x


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


def _budgets(ks: list[int], last: int) -> str:
    """The budgets in words, by runs of consecutive ones: [1, 2, 3, 7] is 1 to 3 and 7."""
    phrases = []
    for _, group in itertools.groupby(enumerate(ks), lambda pair: pair[1] - pair[0]):
        run = [k for _, k in group]
        a, b = run[0], run[-1]
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
        x = np.asarray(xs, dtype=float)  # the curves of `draws` resamples of the level's trials (with replacement)
        boots[level] = np.sort(rng.choice(x, size=(draws, len(x)), replace=True), axis=1) @ _weights(len(x)).T
        low, high = np.quantile(boots[level], [alpha, 1 - alpha], axis=0)
        curves.append(Curve(level, len(xs), list(range(1, len(xs) + 1)), expected_best(xs).tolist(), low.tolist(), high.tolist()))
    verdicts = []
    for a, b in itertools.combinations(values, 2):
        n = min(len(values[a]), len(values[b]))
        low, high = np.quantile(boots[a][:, :n] - boots[b][:, :n], [alpha, 1 - alpha], axis=0)
        verdicts.append(Verdict(a, b, [k + 1 for k in range(n) if high[k] < 0], [k + 1 for k in range(n) if low[k] > 0], n))
    return curves, verdicts
