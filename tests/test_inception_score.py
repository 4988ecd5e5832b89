import hashlib
import http.server
import threading
from functools import partial

import numpy as np
import pytest
import torch

from gansweep.metrics.inception_score import inception_score, load_logits_weight


def test_uniform_predictions_score_one():
    features = np.random.default_rng(0).normal(size=(40, 8))
    assert inception_score(features, np.zeros((8, 5)), splits=2) == pytest.approx((1.0, 0.0))


def test_confident_predictions_spread_over_c_classes_score_c():
    # Image i looks like class i % 4 with near certainty: KL = log 4 for each image, IS = 4.
    features = np.tile(np.eye(4), (10, 1))
    mean, std = inception_score(features, 100.0 * np.eye(4), splits=5)
    assert mean == pytest.approx(4.0, rel=1e-6) and std < 1e-6


def test_confident_but_collapsed_predictions_score_one():
    features = np.tile([[1.0, 0, 0, 0]], (20, 1))
    assert inception_score(features, 100.0 * np.eye(4), splits=2)[0] == pytest.approx(1.0)


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(http.server.SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_head_downloads_over_http_with_its_hash_checked(served, tmp_path, monkeypatch):
    root, url = served
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weight = torch.randn(1008, 2048)
    torch.save({"fc.weight": weight, "fc.bias": torch.zeros(1008)}, tmp_path / "head.pth")
    data = (tmp_path / "head.pth").read_bytes()
    name = f"head-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    (root / name).write_bytes(data)
    loaded = load_logits_weight(url + name)
    assert loaded.shape == (2048, 1008) and np.allclose(loaded, weight.double().numpy().T)

    (root / "head-00000000.pth").write_bytes(data)
    with pytest.raises(RuntimeError, match="cannot get the Inception logits layer"):
        load_logits_weight(url + "head-00000000.pth")
