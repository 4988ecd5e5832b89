import numpy as np
import pytest

from gansweep.metrics.precision_recall import knn_radii, precision_recall


def test_a_set_against_itself_is_one_one():
    features = np.random.default_rng(0).normal(size=(50, 16))
    assert precision_recall(features, features.copy()) == (1.0, 1.0)


def test_a_disjoint_far_cluster_is_zero_zero():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(50, 16)), rng.normal(size=(50, 16)) + 100.0
    assert precision_recall(real, fake) == (0.0, 0.0)


def test_mode_collapse_keeps_precision_and_loses_recall():
    # Generated points all near one real point: realistic (precision 1) but not diverse (recall low).
    rng = np.random.default_rng(2)
    real = rng.normal(size=(100, 8))
    fake = real[0] + 1e-3 * rng.normal(size=(100, 8))
    precision, recall = precision_recall(real, fake)
    assert precision == 1.0 and recall < 0.1


def test_radii_are_the_kth_neighbour_distance():
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    assert knn_radii(points, k=1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(points, k=2).tolist() == [3.0, 2.0, 3.0, 6.0]
    with pytest.raises(ValueError, match="more than k=4"):
        knn_radii(points, k=4)
