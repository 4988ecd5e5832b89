"""Where the stages read and write (the outs and deps declared in dvc.yaml), and how an unreadable
file is reported: by name, with the way to restore it, never as a raw traceback."""
from __future__ import annotations

import pickle
import zipfile
from contextlib import contextmanager
from pathlib import Path

from gansweep.registry import ConfigError

PARAMS_VALID = Path("data/params.valid")  # constant; written once params.yaml passes validation
RAW = Path("data/raw")
PREPARED = Path("data/prepared")
REFERENCE_STATS = Path("data/stats/reference.npz")  # the reported score's real images
SELECTION_STATS = Path("data/stats/selection.npz")  # the best-generator selection's real images
MODELS = Path("models")
BEST_GENERATOR = MODELS / "generator_best.pt"  # the best by periodic evaluation
RUN_INFO = Path("run.json")  # the MLflow run and the epochs behind models/ (kept out of models/ so equal weights hash equal)
CHECKPOINTS = Path("checkpoints")  # under the workspace root; not a DVC output, so `dvc repro` never deletes it
PLOTS = Path("plots")
METRICS = Path("metrics.json")

RESTORE = "delete it and run `dvc repro`: DVC restores it from its cache or recomputes it"


class DamagedFileError(ConfigError):
    """A file the run needs is missing or unreadable."""


@contextmanager
def reading(path: Path, what: str, fix: str = RESTORE):
    """Turns any failure to read `path` into one line naming the file, what it is and how to fix it."""
    try:
        yield
    except FileNotFoundError:
        raise DamagedFileError(f"{path} ({what}) is missing: run `dvc repro`") from None
    except (OSError, ValueError, KeyError, EOFError, RuntimeError, zipfile.BadZipFile, pickle.UnpicklingError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "weights_only" in str(err) or "Weights only" in str(err):  # never pass on torch's advice to unpickle it
            reason = "not a file of tensors as gansweep writes them"
        raise DamagedFileError(f"{path} ({what}) is damaged or unreadable ({reason}); {fix}") from None


def prepared_split(split: str) -> Path:
    return PREPARED / f"{split}.npz"
