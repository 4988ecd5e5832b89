"""The statistics of a comparison: what a report may claim from a few seeds per configuration.

- `bootstrap_interval`: the percentile bootstrap interval of a mean over seeds (Efron & Tibshirani
  1993, ch. 13). With few seeds it is too narrow (tests/test_stats.py measures its coverage), which
  the report says next to every interval from fewer than MANY_SEEDS seeds.
- `pairwise`: Welch's unequal-variance t-test (Welch 1947) for each pair, its 95% interval of the
  difference, and Holm's step-down correction (Holm 1979) over the pairs compared.
- `marginal_effects`: each level's mean over the cells of a factorial that have it, minus the grand
  mean (the main effects of a two-way-or-more ANOVA), with t-intervals from the pooled within-cell
  variance.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 10_000
MANY_SEEDS = 10  # below this, a bootstrap interval over seeds covers the mean less often than it says


def bootstrap_interval(values, confidence: float = CONFIDENCE, resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of `values` (last axis); nan without two
    distinct values. Seeded: the same values give the same interval."""
    values = np.asarray(values, dtype=float)
    if values.shape[-1] < 2 or np.all(values == values[..., :1]):
        low = high = np.full(values.shape[:-1], np.nan)
    else:
        low, high = stats.bootstrap((values,), np.mean, axis=-1, confidence_level=confidence, n_resamples=resamples,
                                    method="percentile", vectorized=True, rng=np.random.default_rng(seed)).confidence_interval
    return (float(low), float(high)) if values.ndim == 1 else (low, high)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values: the smallest p times m, the next times m - 1, ...,
    made monotone and capped at 1. Controls the family-wise error rate."""
    p = np.asarray(pvalues, dtype=float)
    order, adjusted = np.argsort(p, kind="stable"), np.empty(len(p))
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]))
    return adjusted


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    difference: float  # mean(b) - mean(a): how much worse b is than a (for a lower-is-better score)
    low: float
    high: float
    p: float
    p_holm: float
    significant: bool

    def sentence(self, metric: str = "FID", alpha: float = 0.05) -> str:
        """The comparison in words, e.g. 'ragan beats non_saturating by 12 +- 5 FID (Welch's t-test,
        p = 0.003 after Holm)'; +- is the half-width of the 95% interval of the difference."""
        if np.isnan(self.p):
            return f"{self.a} vs {self.b}: not tested (fewer than 2 seeds, or no spread)"
        amount = f"{_num(abs(self.difference))} +- {_num((self.high - self.low) / 2)} {metric}"
        test = f"Welch's t-test, p {_p(self.p_holm)} after Holm"
        if self.significant:
            winner, loser = (self.a, self.b) if self.difference > 0 else (self.b, self.a)
            return f"{winner} beats {loser} by {amount} ({test})"
        return f"{self.a} and {self.b} do not differ significantly: {amount} ({test}, alpha {alpha:g})"


def pairwise(groups: dict[str, list[float]], alpha: float = 0.05) -> list[Pair]:
    """Every pair of groups (in the given order), Welch's t-test and its 95% interval of the
    difference, with Holm's correction over the pairs that could be tested."""
    rows = []
    for a, b in itertools.combinations(groups, 2):
        x, y = np.asarray(groups[a], float), np.asarray(groups[b], float)
        low = high = p = np.nan  # not tested
        if min(len(x), len(y)) >= 2 and (x.std() != 0 or y.std() != 0):
            test = stats.ttest_ind(y, x, equal_var=False)
            low, high = test.confidence_interval(CONFIDENCE)
            p = test.pvalue
        rows.append([a, b, float(y.mean() - x.mean()), float(low), float(high), float(p)])
    tested = [i for i, row in enumerate(rows) if not np.isnan(row[5])]
    adjusted = dict(zip(tested, holm([rows[i][5] for i in tested])))
    return [Pair(a, b, d, lo, hi, p, float(adjusted.get(i, np.nan)), bool(adjusted.get(i, 1.0) < alpha))
            for i, (a, b, d, lo, hi, p) in enumerate(rows)]


def marginal_effects(cells: dict[tuple, list[float]], factors: list[str]) -> list[dict]:
    """Per factor and level: the mean over the cells having that level of the cells' means, and its
    effect: that minus the grand mean of the cell means (each cell weighted equally; on a complete,
    balanced factorial these are the ANOVA main effects). `cells` maps a tuple of levels (one per
    factor) to its values; cells without values are left out (the caller warns).

    The 95% intervals are t-intervals of these linear contrasts of cell means, with the within-cell
    variance pooled over all cells (the ANOVA error term, N - cells degrees of freedom): unlike a
    bootstrap over 3 seeds they keep their coverage with few seeds (tests/test_stats.py), assuming
    the seed-to-seed spread is about the same in every cell. Without spare degrees of freedom
    (one seed per cell) the intervals are nan."""
    keys = [key for key, values in cells.items() if len(values)]
    values = [np.asarray(cells[key], float) for key in keys]
    means = np.array([v.mean() for v in values])
    sizes = np.array([len(v) for v in values])
    dof = int(sizes.sum() - len(keys))
    pooled = sum(((v - v.mean()) ** 2).sum() for v in values) / dof if dof > 0 else np.nan
    quantile = stats.t.ppf(0.5 + CONFIDENCE / 2, dof) if dof > 0 else np.nan
    rows = []
    for f, factor in enumerate(factors):
        for level in dict.fromkeys(key[f] for key in keys):
            mask = np.array([key[f] == level for key in keys])
            row = {"factor": factor, "level": level, "cells": int(mask.sum())}
            for name, weights in (("mean", mask / mask.sum()), ("effect", mask / mask.sum() - 1 / len(keys))):
                value = float(weights @ means)
                half = quantile * np.sqrt(pooled * np.sum(weights**2 / sizes))
                row.update({name: value, f"{name}_low": value - half, f"{name}_high": value + half})
            rows.append(row)
    return rows


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}" if p < 0.1 else f"= {p:.2f}"
