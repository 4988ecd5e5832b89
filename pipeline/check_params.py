"""Stage `check_params`: validates the whole params.yaml. It depends on the file itself and every
other stage depends on its constant output, so any edit, a typo in a key that no stage reads
included, stops `dvc repro` and `dvc exp run`, whatever their targets, with one line and exit 2
before any other stage runs. A folder dataset's folder is checked here too (it exists, holds
images, enough of them)."""
import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep import paths
from gansweep.data.sources import source
from gansweep.protocol import train_images_needed
from gansweep.stage import run


def main(cfg):
    found = source(cfg.data).check(train_images_needed(cfg))
    if found is not None:  # a folder: its count is known before any work (the built-in datasets' in train)
        cfg.check_budget(found)
    paths.PARAMS_VALID.parent.mkdir(parents=True, exist_ok=True)
    paths.PARAMS_VALID.write_text("params.yaml passed validation\n")  # the same bytes every time
    print("params.yaml: valid" + (f" ({found} images under {cfg.data.path})" if found is not None else ""))


if __name__ == "__main__":
    run(main)
