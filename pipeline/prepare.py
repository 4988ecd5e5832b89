"""Stage `prepare`: raw files -> data/prepared/<split>.npz (uint8 NCHW images, labels), shuffled."""
import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep import paths
from gansweep.data import prepared
from gansweep.data.sources import DATASETS
from gansweep.stage import run


def main(cfg):
    for split, (images, labels) in DATASETS.get(cfg.data.dataset, "data.dataset")().load(paths.RAW).items():
        images, labels = prepared.shuffle(images, labels, cfg.data.seed)
        prepared.save(paths.prepared_split(split), images, labels)
        print(f"{split}: {len(images)} images of shape {images.shape[1:]} -> {paths.prepared_split(split)}")


if __name__ == "__main__":
    run(main)
