"""Stage `reference_stats`: Inception features of the first N real images of a split -> mean, covariance.

DVC's run cache keeps one result per (dataset, split, N, convention): going back to an earlier
setting restores its statistics instead of recomputing them.
"""
from gansweep import paths
from gansweep.data import prepared
from gansweep.evaluate import protocol
from gansweep.metrics.fid import save_statistics
from gansweep.metrics.inception import inception_features, iterate
from gansweep.registry import ConfigError
from gansweep.stage import run


def main(cfg):
    m = cfg.metrics
    images, _ = prepared.load(paths.prepared_split(m.reference_split))
    if m.reference_images > len(images):
        raise ConfigError(
            f"metrics.reference_images is {m.reference_images}, but the {m.reference_split} split of "
            f"{cfg.data.dataset} has only {len(images)} images"
        )
    features = inception_features(
        iterate(images[: m.reference_images]), total=m.reference_images, desc="Inception features (real)", convention=m.convention
    )
    info = protocol(cfg)
    save_statistics(paths.REFERENCE_STATS, features, **{k: info[k] for k in ("dataset", "convention", "reference_split")})
    print(f"reference statistics of {m.reference_images} {m.reference_split} images ({m.convention}) -> {paths.REFERENCE_STATS}")


if __name__ == "__main__":
    run(main)
