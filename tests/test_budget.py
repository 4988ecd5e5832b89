"""The budget-fair curves (Lucic et al. 2018, Sec. 5) on synthetic trial values with known answers."""
import numpy as np
import pytest

from gansweep.budget import compare_levels, expected_best


def test_the_curve_is_the_mean_minimum_over_every_subset():
    from itertools import combinations

    values = [7.0, 3.0, 9.0, 4.0, 12.0]
    for k in range(1, 6):
        brute = np.mean([min(c) for c in combinations(values, k)])
        assert expected_best(values, [k])[0] == pytest.approx(brute)
    assert expected_best(values)[0] == pytest.approx(np.mean(values)) and expected_best(values)[-1] == 3.0
    with pytest.raises(ValueError, match="needs 1 <= k <= 5"):
        expected_best(values, [6])


def uniform_min(a, b, k):
    """E[min of k iid U(a, b)] = a + (b - a) / (k + 1)."""
    return a + (b - a) / (k + 1)


def test_two_levels_with_known_distributions_match_the_closed_form_and_cross_where_it_says():
    # A ~ U(10, 50): wide, a low tail; B ~ U(20, 30): narrow. E[best of k]: A 10 + 40/(k+1), B 20 + 10/(k+1):
    # B is better at k = 1 (30 vs 25), they tie at k = 2 (23.3), A is better from k = 3 on.
    rng = np.random.default_rng(1)
    values = {"A": rng.uniform(10, 50, 300).tolist(), "B": rng.uniform(20, 30, 300).tolist()}
    budgets = 12
    curves, [verdict] = compare_levels({k: v for k, v in values.items()}, draws=400, seed=0)
    by_level = {c.level: c for c in curves}
    for level, (a, b) in {"A": (10, 50), "B": (20, 30)}.items():
        curve = by_level[level]
        for k in range(1, budgets + 1):
            truth = uniform_min(a, b, k)
            assert curve.low[k - 1] <= truth <= curve.high[k - 1], (level, k, truth, curve.low[k - 1], curve.high[k - 1])
            assert curve.mean[k - 1] == pytest.approx(truth, abs=1.5)
        assert all(x >= y for x, y in zip(curve.mean, curve.mean[1:]))  # more trials, a lower expected best
    assert 1 in verdict.b_better and 2 not in verdict.a_better + verdict.b_better
    assert verdict.a_better == list(range(3, verdict.budgets + 1))
    assert verdict.sentence() == "A beats B from 3 trials on; B beats A at 1 trial (expected best FID, 95% bootstrap)"


def test_levels_drawn_from_one_distribution_do_not_differ():
    rng = np.random.default_rng(2)
    values = {"x": rng.normal(60, 8, 6).tolist(), "y": rng.normal(60, 8, 6).tolist()}
    _, [verdict] = compare_levels(values, draws=1000, seed=0)
    assert verdict.a_better == verdict.b_better == []
    assert verdict.sentence() == "x and y do not differ at any budget of 1 to 6 trials (95% bootstrap)"


def test_a_level_better_everywhere_says_so():
    values = {"good": [40.0, 42, 41, 43, 39, 44], "bad": [80.0, 82, 85, 79, 90, 84]}
    _, [verdict] = compare_levels(values, draws=500)
    assert verdict.sentence() == "good beats bad at every budget of 1 to 6 trials (expected best FID, 95% bootstrap)"


def test_the_band_covers_the_true_curve_about_95_percent_of_the_time():
    # 300 studies of 40 trials from U(20, 30); the band at k = 3 and k = 10 against 20 + 10 / (k + 1)
    rng = np.random.default_rng(7)
    covered = {3: 0, 10: 0}
    for _ in range(300):
        [curve], _ = compare_levels({"x": rng.uniform(20, 30, 40).tolist()}, draws=500, seed=int(rng.integers(1 << 30)))
        for k in covered:
            covered[k] += curve.low[k - 1] <= 20 + 10 / (k + 1) <= curve.high[k - 1]
    assert 0.88 <= covered[3] / 300 <= 0.99, covered
    assert 0.80 <= covered[10] / 300 <= 0.99, covered  # nearer the sample minimum the bootstrap undercovers a little
