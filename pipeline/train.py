"""Stage `train`: a GAN on the prepared data -> models/ (last and best generator), run.json (its
MLflow run), plots/train_losses.csv. Resumes from checkpoints/<fingerprint>/ after a crash."""
import json

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep import paths
from gansweep.stage import run
from gansweep.tracking import workspace_root
from gansweep.train import train


def main(cfg):
    result = train(cfg, paths.prepared_split("train"), paths.MODELS, paths.PLOTS, selection_path=paths.SELECTION_STATS,
                   checkpoints=workspace_root() / paths.CHECKPOINTS)
    paths.RUN_INFO.write_text(json.dumps(result, indent=2) + "\n")
    print(f"generators -> {paths.MODELS}/ (best: epoch {result['best_epoch']}); MLflow run {result['run_id']}")


if __name__ == "__main__":
    run(main)
