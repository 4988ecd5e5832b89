"""Stage `download`: the named dataset's raw files -> data/raw/, with their checksums."""
import json
import shutil

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep import paths
from gansweep.data.sources import source
from gansweep.stage import run


def main(cfg):
    shutil.rmtree(paths.RAW, ignore_errors=True)
    info = source(cfg.data).fetch(paths.RAW)
    (paths.RAW / "source.json").write_text(json.dumps(info, indent=2) + "\n")
    if info["files"]:
        checked = "sha256 verified" if cfg.data.dataset == "mnist-5k" else "MD5 verified by torchvision, sha256 in source.json"
        print(f"{cfg.data.dataset}: {', '.join(info['files'])} -> {paths.RAW}/ ({checked})")
    else:
        print(f"{cfg.data.dataset}: {info['source']}")


if __name__ == "__main__":
    run(main)
