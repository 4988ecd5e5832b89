"""Stage `prepare`: raw files -> data/prepared/dataset.npz (uint8 NCHW images, labels), shuffled."""
from pathlib import Path

from gansweep.data import prepared
from gansweep.data.sources import DATASETS
from gansweep.stage import run

RAW, OUT = Path("data/raw"), Path("data/prepared/dataset.npz")


def main(cfg):
    images, labels = DATASETS.get(cfg.data.dataset, "data.dataset")().load(RAW)
    images, labels = prepared.shuffle(images, labels, cfg.data.seed)
    prepared.save(OUT, images, labels)
    print(f"{len(images)} images of shape {images.shape[1:]} -> {OUT}")


if __name__ == "__main__":
    run(main)
