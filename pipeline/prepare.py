"""Stage `prepare`: raw files (or data.path's images) -> data/prepared/<split>.npz (uint8 NCHW
images, labels), shuffled. Nothing is written unless every image decodes. (Whether a folder holds
enough images for the scores is checked by check_params, and again by the statistics stages.)"""
import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep import paths
from gansweep.data import prepared
from gansweep.data.sources import source
from gansweep.stage import run


def main(cfg):
    for split, (images, labels) in source(cfg.data).load(paths.RAW).items():
        images, labels = prepared.shuffle(images, labels, cfg.data.seed)
        prepared.save(paths.prepared_split(split), images, labels)
        print(f"{split}: {len(images)} images of shape {images.shape[1:]} -> {paths.prepared_split(split)}")


if __name__ == "__main__":
    run(main)
