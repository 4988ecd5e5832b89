"""The comparison statistics on synthetic trial data with known answers."""
import itertools

import numpy as np
import pytest
from scipy import stats as scipy_stats

from gansweep.stats import MANY_SEEDS, bootstrap_interval, holm, marginal_effects, pairwise


def coverage(n: int, draws: int, seed: int) -> float:
    """How often the 95% bootstrap interval of n normal values covers their true mean."""
    rng = np.random.default_rng(seed)
    true_mean, covered = 60.0, 0
    for start in range(0, draws, 100):
        values = rng.normal(true_mean, 4.0, size=(100, n))
        low, high = bootstrap_interval(values, resamples=2000, seed=start)
        covered += int(np.sum((low <= true_mean) & (true_mean <= high)))
    return covered / draws


def test_the_bootstrap_interval_covers_the_true_mean_at_about_the_stated_rate():
    rate = coverage(n=30, draws=1000, seed=1)
    assert 0.92 <= rate <= 0.97, rate  # nominal 0.95; the percentile bootstrap runs a little under it


def test_with_few_seeds_the_interval_covers_less_often_than_it_says_which_the_report_warns_about():
    few, many = coverage(n=3, draws=600, seed=2), coverage(n=MANY_SEEDS, draws=600, seed=3)
    assert few < 0.85, few  # what makes the report flag intervals from fewer than MANY_SEEDS seeds
    assert few < many, (few, many)


def test_the_bootstrap_interval_is_seeded_and_around_the_mean_and_empty_without_spread():
    values = [61.0, 64.5, 59.2, 70.1, 66.3]
    low, high = bootstrap_interval(values)
    assert (low, high) == bootstrap_interval(values)
    assert low < np.mean(values) < high
    assert min(values) <= low and high <= max(values)
    assert all(np.isnan(bootstrap_interval([60.0])))
    assert all(np.isnan(bootstrap_interval([60.0, 60.0, 60.0])))


def test_holm_matches_its_definition():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # 0.5 * 2 caps at 1; the larger p cannot be smaller


def test_a_known_mean_difference_is_detected_with_its_size_and_direction():
    rng = np.random.default_rng(3)
    groups = {"ragan": rng.normal(50, 2, 8), "non_saturating": rng.normal(62, 2, 8), "lsgan": rng.normal(50.5, 2, 8)}
    pairs = {(p.a, p.b): p for p in pairwise(groups)}
    big = pairs[("ragan", "non_saturating")]
    assert big.significant and big.p_holm < 0.001
    assert big.low < 12 < big.high  # the true difference is inside its interval
    assert big.sentence().startswith("ragan beats non_saturating by ")
    assert "after Holm" in big.sentence()
    close = pairs[("ragan", "lsgan")]
    assert not close.significant
    assert "do not differ significantly" in close.sentence()
    assert pairs[("non_saturating", "lsgan")].sentence().startswith("lsgan beats non_saturating")


def test_identical_groups_are_not_declared_different_more_often_than_alpha():
    rng = np.random.default_rng(1)
    any_significant = 0
    repeats = 400
    for _ in range(repeats):
        groups = {name: rng.normal(60, 3, 5) for name in "abcd"}  # 6 pairs, all truly equal
        any_significant += any(p.significant for p in pairwise(groups))
    # Holm holds the family-wise error rate at alpha = 0.05 (Welch's test is a little conservative)
    assert any_significant / repeats <= 0.07, any_significant / repeats


def test_without_the_holm_correction_the_same_identical_groups_would_be_called_different_often():
    # The check above can fail: uncorrected, 6 comparisons per family find a "difference" far more often.
    rng = np.random.default_rng(1)
    raw = 0
    for _ in range(400):
        groups = [rng.normal(60, 3, 5) for _ in range(4)]
        raw += any(scipy_stats.ttest_ind(x, y, equal_var=False).pvalue < 0.05 for x, y in itertools.combinations(groups, 2))
    assert raw / 400 > 0.12


def test_a_pair_with_one_seed_is_reported_as_not_tested():
    pairs = pairwise({"a": [60.0], "b": [70.0, 71.0], "c": [50.0, 52.0, 51.0]})
    untested = [p for p in pairs if p.a == "a"]
    assert all(np.isnan(p.p) and not p.significant for p in untested)
    assert "not tested" in untested[0].sentence()
    assert (pairs[-1].a, pairs[-1].b) == ("b", "c") and pairs[-1].significant  # the one pair that can be tested


def test_the_marginal_effects_of_a_designed_factorial_are_recovered():
    activation = {"relu": -6.0, "elu": 0.0, "selu": 6.0}
    loss = {"non_saturating": 4.0, "lsgan": -4.0}
    rng = np.random.default_rng(2)
    cells = {(a, l): list(70 + activation[a] + loss[l] + rng.normal(0, 1.5, 6)) for a in activation for l in loss}
    rows = {(r["factor"], r["level"]): r for r in marginal_effects(cells, ["g_activation", "loss"])}
    assert len(rows) == 5
    for factor, truth in (("g_activation", activation), ("loss", loss)):
        for level, effect in truth.items():
            row = rows[(factor, level)]
            assert row["effect"] == pytest.approx(effect, abs=1.0)
            assert row["effect_low"] < effect < row["effect_high"]
            assert row["mean"] == pytest.approx(70 + effect, abs=1.0)
    assert rows[("g_activation", "relu")]["cells"] == 2 and rows[("loss", "lsgan")]["cells"] == 3
    # a factor with no effect has intervals around zero
    cells = {(a, s): list(70 + activation[a] + rng.normal(0, 1.5, 6)) for a in activation for s in (False, True)}
    for row in marginal_effects(cells, ["g_activation", "d_spectral_norm"]):
        if row["factor"] == "d_spectral_norm":
            assert row["effect_low"] < 0 < row["effect_high"]


def test_the_marginal_intervals_keep_their_coverage_with_three_seeds_per_cell():
    # 2 x 3 factorial, 3 seeds per cell, true effects known: the pooled t-interval covers them about
    # 95% of the time (a bootstrap over 3 seeds would cover about 75%)
    rng = np.random.default_rng(4)
    activation, loss = {"relu": -5.0, "elu": 5.0}, {"a": 3.0, "b": 0.0, "c": -3.0}
    covered = total = 0
    for _ in range(400):
        cells = {(a, l): list(70 + activation[a] + loss[l] + rng.normal(0, 6.0, 3)) for a in activation for l in loss}
        for row in marginal_effects(cells, ["activation", "loss"]):
            truth = (activation if row["factor"] == "activation" else loss)[row["level"]]
            covered += row["effect_low"] <= truth <= row["effect_high"]
            total += 1
    assert 0.93 <= covered / total <= 0.97, covered / total


def test_one_seed_per_cell_leaves_no_degrees_of_freedom_for_an_interval():
    rows = marginal_effects({("relu", "a"): [60.0], ("elu", "a"): [70.0]}, ["activation", "loss"])
    assert [r["effect"] for r in rows[:2]] == [-5.0, 5.0]
    assert all(np.isnan(r["effect_low"]) for r in rows)
