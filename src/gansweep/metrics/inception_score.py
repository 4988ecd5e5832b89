"""Inception Score (Salimans et al. 2016, "Improved Techniques for Training GANs", Sec. 4):
IS = exp(E_x KL(p(y|x) || p(y))), mean and standard deviation over splits of the generated set.

p(y|x) is the softmax of the TF Inception's 1008-way logits, pool3 @ W. W is not in the embedded
FID network (its head was removed), so it comes from the weights file pytorch-fid publishes for the
same TF graph, downloaded once with its SHA-256 prefix checked and cached by torch.hub. As in the
reference implementation (openai/improved-gan), the logits use W without the bias. The features
are those of the FID pass: no second pass over the images.
"""
from __future__ import annotations

import os

import numpy as np
import torch
from scipy.special import softmax

from gansweep.data.sources import DownloadError

HEAD_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"


def load_logits_weight(url: str | None = None) -> np.ndarray:
    """[2048, 1008] weight of the TF Inception's logits layer (GANSWEEP_INCEPTION_HEAD_URL overrides the URL)."""
    url = url or os.environ.get("GANSWEEP_INCEPTION_HEAD_URL", HEAD_URL)
    try:
        state = torch.hub.load_state_dict_from_url(url, map_location="cpu", check_hash=True, progress=True)
    except Exception as err:  # network, HTTP or checksum errors all mean: no trustworthy head
        raise DownloadError(f"cannot get the Inception logits layer for the Inception Score from {url}: {err}. "
                            "Set metrics.inception_score: false, or place the file in torch.hub's checkpoint cache.") from err
    return state["fc.weight"].double().numpy().T


def inception_score(features: np.ndarray, weight: np.ndarray, splits: int = 10) -> tuple[float, float]:
    probs = softmax(np.asarray(features, np.float64) @ weight, axis=1)
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + 1e-30) - np.log(marginal + 1e-30))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
