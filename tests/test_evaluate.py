"""Scoring leaves the generator where it was: with one worker per GPU, moving it to cuda:0 would
break the next training step of a worker on another device."""
import numpy as np
import pytest
import torch

from gansweep.evaluate import score, selection_score
from gansweep.metrics.fid import statistics
from gansweep.nn.networks import Generator
from helpers import make_config, model_config


@pytest.fixture
def reference():
    features = np.random.default_rng(0).normal(size=(8, 2048))
    mu, sigma = statistics(features)
    return {"mu": mu, "sigma": sigma, "features": features}


@pytest.mark.parametrize("training", [True, False])
def test_score_keeps_the_generator_on_its_device_and_in_its_mode(reference, monkeypatch, training):
    # A GPU cannot exist here: pretend one does, so that code choosing "cuda" on its own would fail.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cfg = make_config(metrics={"generated_images": 6, "reference_images": 8, "kid_subset_size": 4, "kid_subsets": 2},
                      train={"eval_images": 5})
    generator = Generator(model_config(latent_dim=8, g_width=4), (1, 28, 28)).train(training)
    metrics, features = score(generator, reference, cfg.metrics)
    assert np.isfinite(metrics["fid"]) and features.shape == (6, 2048)
    assert np.isfinite(selection_score(generator, reference, cfg)["kid"])
    assert {p.device.type for p in generator.parameters()} == {"cpu"} and generator.training == training


def test_selection_never_computes_the_inception_score(reference, monkeypatch):
    # The Inception Score needs a download; the periodic selection must neither need nor start one.
    import gansweep.evaluate as evaluate

    monkeypatch.setattr(evaluate, "logits_weight", lambda: pytest.fail("selection asked for the Inception Score"))
    cfg = make_config(metrics={"inception_score": True}, train={"eval_images": 5})
    generator = Generator(model_config(latent_dim=8, g_width=4), (1, 28, 28))
    assert set(selection_score(generator, reference, cfg)) == {"kid", "fid"}
