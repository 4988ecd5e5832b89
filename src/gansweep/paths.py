"""Where the stages read and write (the outs and deps declared in dvc.yaml)."""
from pathlib import Path

RAW = Path("data/raw")
PREPARED = Path("data/prepared")
REFERENCE_STATS = Path("data/stats/reference.npz")
MODELS = Path("models")
GENERATOR = MODELS / "generator.pt"  # the last generator
BEST_GENERATOR = MODELS / "generator_best.pt"  # the best by periodic evaluation
RUN_INFO = MODELS / "run.json"
PLOTS = Path("plots")
METRICS = Path("metrics.json")


def prepared_split(split: str) -> Path:
    return PREPARED / f"{split}.npz"
