"""Stages `reference_stats` and `selection_stats`: Inception features of real images -> mean,
covariance. `report` (the default): the first metrics.reference_images images of
metrics.reference_split, for the reported scores. `selection`: train.eval_reference_images other
train images, for picking the best generator during training (see gansweep.protocol).

DVC's run cache keeps one result per setting: going back to an earlier one restores its statistics
instead of recomputing them.
"""
import sys

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep import paths
from gansweep.data import prepared
from gansweep.data.sources import DATASETS
from gansweep.metrics.fid import save_statistics
from gansweep.metrics.inception import default_device, inception_features, iterate, scorer
from gansweep.protocol import REPORT, SELECTION, describe, real_images
from gansweep.stage import run

OUTPUT = {REPORT: paths.REFERENCE_STATS, SELECTION: paths.SELECTION_STATS}


def main(cfg, purpose=REPORT):
    splits = {split: prepared.load(paths.prepared_split(split))[0] for split in DATASETS.get(cfg.data.dataset).splits}
    images = real_images(cfg, splits, purpose)
    info = describe(cfg, purpose)
    # The selection statistics are compared with the selection scorer's features: the same network and arithmetic.
    runtime, fast = cfg.compute.inception, purpose == SELECTION and cfg.compute.selection_scorer == "fast"
    used = scorer(default_device(), runtime, fast)
    features = inception_features(iterate(images), total=len(images), desc=f"Inception features ({purpose}, real, {used})",
                                  convention=info["convention"], runtime=runtime, fast=fast)
    save_statistics(OUTPUT[purpose], features, **info, scorer=used)
    print(f"{purpose} statistics of {info['images']} {info['split']} images ({info['convention']}, {used}) -> {OUTPUT[purpose]}")


if __name__ == "__main__":
    purpose = sys.argv[1] if len(sys.argv) > 1 else REPORT
    run(lambda cfg: main(cfg, purpose))
