"""Stage `reference_stats`: Inception features of the first N real images -> mean, covariance."""
from pathlib import Path

from gansweep.data import prepared
from gansweep.metrics.fid import save_statistics
from gansweep.metrics.inception import inception_features, iterate
from gansweep.registry import ConfigError
from gansweep.stage import run

DATA, OUT = Path("data/prepared/dataset.npz"), Path("data/stats/reference.npz")


def main(cfg):
    images, _ = prepared.load(DATA)
    n = cfg.metrics.reference_images
    if n > len(images):
        raise ConfigError(f"metrics.reference_images is {n}, but {cfg.data.dataset} has only {len(images)} images")
    features = inception_features(iterate(images[:n]), total=n, desc="Inception features (real)")
    save_statistics(OUT, features, dataset=cfg.data.dataset, images=n)
    print(f"reference statistics of {n} real images -> {OUT}")


if __name__ == "__main__":
    run(main)
