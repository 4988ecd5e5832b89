import numpy as np
import pytest
from scipy import linalg

from gansweep.metrics.fid import frechet_distance, load_statistics, save_statistics, statistics


def test_identical_statistics_give_zero():
    rng = np.random.default_rng(0)
    mu, sigma = statistics(rng.normal(size=(300, 16)))
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)


def test_unit_shift_over_2048_dimensions_gives_2048():
    d = 2048
    assert frechet_distance(np.zeros(d), np.eye(d), np.ones(d), np.eye(d)) == pytest.approx(2048.0, abs=1e-8)


def test_diagonal_gaussians_match_the_closed_form():
    # For diagonal covariances FID = |mu1 - mu2|^2 + sum_i (sqrt(s1_i) - sqrt(s2_i))^2.
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([3.0, 1.0, 0.5])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert expected == pytest.approx(9 + 0 + 6.25 + 1 + 1 + 6.25)
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, abs=1e-12)


def test_matches_scipy_sqrtm_on_random_full_covariances():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(40, 8)), rng.normal(size=(40, 8)) @ rng.normal(size=(8, 8))
    (m1, s1), (m2, s2) = statistics(a), statistics(b)
    reference = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(reference, rel=1e-9)


def test_rank_deficient_covariances_stay_real_and_non_negative():
    # Fewer samples than dimensions, as with 500 images and 2048 features.
    rng = np.random.default_rng(2)
    (m1, s1), (m2, s2) = statistics(rng.normal(size=(20, 64))), statistics(rng.normal(size=(20, 64)))
    value = frechet_distance(m1, s1, m2, s2)
    assert isinstance(value, float) and np.isfinite(value) and value > 0


def test_statistics_are_float64_and_round_trip(tmp_path):
    features = np.random.default_rng(3).normal(size=(10, 4)).astype(np.float32)
    save_statistics(tmp_path / "s.npz", features, images=10)
    stats = load_statistics(tmp_path / "s.npz")
    assert stats["mu"].dtype == np.float64 and stats["sigma"].dtype == np.float64
    np.testing.assert_allclose(stats["sigma"], np.cov(features.astype(np.float64), rowvar=False))
    assert int(stats["images"]) == 10


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="mismatched"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_ill_conditioned_covariances_match_the_closed_form():
    # S1 = Q diag(a) Q^T and S2 = Q diag(b) Q^T commute, so tr((S1 S2)^(1/2)) = sum sqrt(a_i b_i) and
    # FID = sum (sqrt(a_i) - sqrt(b_i))^2. Eigenvalues span 1e-12..1 (condition number 1e12).
    rng = np.random.default_rng(4)
    q, _ = np.linalg.qr(rng.normal(size=(64, 64)))
    a, b = np.logspace(-12, 0, 64), np.logspace(0, -12, 64)
    s1, s2 = (q * a) @ q.T, (q * b) @ q.T
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    value = frechet_distance(np.zeros(64), s1, np.zeros(64), s2)
    assert isinstance(value, float) and value == pytest.approx(expected, rel=1e-9)
