"""Which real images and which latents each score uses, and what is recorded with every number.

Two kinds of score exist. The reported score (the `evaluate` stage, a study's objective) compares
`metrics.generated_images` generated images with the first `metrics.reference_images` real images
of `metrics.reference_split`. The selection score (periodic evaluation during training, which
keeps the best generator and feeds a study's pruner) must not reuse either sample: picking the
generator that scores best on the reported sample would bias the reported number downwards, and
an argmin over study trials would bias it more. So selection draws its latents from another random
stream and compares with other real images: the train split past the reported reference when the
reference is the train split, else the start of the train split (never the test split).
"""
from __future__ import annotations

import numpy as np

from gansweep.config import Config
from gansweep.registry import ConfigError
from gansweep.seeding import stream_seed

REPORT, SELECTION = "report", "selection"
_STREAMS = {REPORT: 0, SELECTION: 1}


def latent_seed(metrics_seed: int, purpose: str) -> int:
    return stream_seed(metrics_seed, _STREAMS[purpose])


def real_images(cfg: Config, splits: dict[str, np.ndarray], purpose: str) -> np.ndarray:
    """The real images a score of `purpose` compares with. `splits` maps split names to images."""
    m = cfg.metrics
    reference = splits[m.reference_split]
    if m.reference_images > len(reference):
        raise ConfigError(f"metrics.reference_images is {m.reference_images}, but the {m.reference_split} split of "
                          f"{cfg.data.dataset} has only {len(reference)} images")
    sample = describe(cfg, purpose)  # the one definition of which images a score uses
    images, start, n = splits[sample["split"]], sample["start"], sample["images"]
    if start + n > len(images):  # after the check above, only the selection sample can run past its split
        raise ConfigError(f"train.eval_reference_images is {n}, but the train split of {cfg.data.dataset} has only "
                          f"{len(images) - start} images besides the {start} that metrics.reference_images reserves for the "
                          "reported score")
    return images[start : start + n]


def describe(cfg: Config, purpose: str) -> dict:
    """What a set of reference statistics was made from (saved with them and checked on use)."""
    m = cfg.metrics
    if purpose == REPORT:
        split, start, count = m.reference_split, 0, m.reference_images
    else:
        split, count = "train", cfg.train.eval_reference_images
        start = m.reference_images if m.reference_split == "train" else 0  # past the reported reference if it is in train
    d = cfg.data  # which images the prepared splits hold: another shuffle, folder or size needs new statistics
    data = f"seed {d.seed}" + (f", {d.path} at {d.channels}x{d.image_size}x{d.image_size}" if d.dataset == "folder" else "")
    return {"dataset": d.dataset, "data": data, "convention": m.convention, "split": split, "start": start, "images": count,
            "purpose": purpose}


def train_images_needed(cfg: Config) -> int:
    """Train images the reported and the selection statistics take together (when the reference is the train split)."""
    selection = describe(cfg, SELECTION)
    return selection["start"] + selection["images"]


def check_reference(reference: dict, cfg: Config, purpose: str = REPORT) -> None:
    """The statistics must have been made for this config and this purpose."""
    for key, value in describe(cfg, purpose).items():
        found = reference.get(key)  # None (a key they lack) never equals a described value
        if str(found) != str(value):
            raise ConfigError(f"the {purpose} statistics are for {key}={found}, params say {value}: "
                              "run dvc repro to recompute them")


def label(cfg: Config) -> str:
    """The reported scores' protocol in words, as `evaluate` prints it and a run's description says it."""
    m = cfg.metrics
    return f"{m.generated_images} generated vs {m.reference_images} {cfg.data.dataset} {m.reference_split} images, {m.convention} FID"


def protocol(cfg: Config) -> dict:
    """What every reported number was measured with."""
    measured = ("convention", "reference_split", "reference_images", "generated_images")
    return {"dataset": cfg.data.dataset, **{key: getattr(cfg.metrics, key) for key in measured}}


def description(cfg: Config) -> str:
    """A run's description (MLflow's note): what trained, and the protocol of its scores."""
    return (f"{cfg.model.architecture} GAN, {cfg.loss.name} loss, {cfg.train.epochs} epochs on {cfg.data.dataset}. "
            f"Scores (fid, kid, precision, recall) are the selected generator's: {label(cfg)}.")
