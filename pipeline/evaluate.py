"""Stage `evaluate`: FID, KID, precision and recall of the best and the last generator at the full
protocol -> metrics.json, plots/samples.png, and the training's MLflow run."""
import json

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep import paths, tracking
from gansweep.evaluate import evaluate_training
from gansweep.metrics.fid import load_statistics
from gansweep.protocol import REPORT, check_reference, label
from gansweep.stage import run


def main(cfg):
    with paths.reading(paths.RUN_INFO, "MLflow run of the training"):
        run_info = json.loads(paths.RUN_INFO.read_text())
    tracking.check_store(run_info["tracking_uri"])  # an unreachable store fails here, before any work
    reference = load_statistics(paths.REFERENCE_STATS)
    check_reference(reference, cfg, REPORT)
    m = evaluate_training(cfg, run_info, paths.MODELS, reference, paths.METRICS, paths.PLOTS / "samples.png")
    print(f"best generator (epoch {m['best_epoch']}): FID {m['fid']:.2f}  KID {m['kid']:.4f} +- {m['kid_std']:.4f}  "
          f"precision {m['precision']:.3f}  recall {m['recall']:.3f}")
    if m["best_epoch"] != run_info["last_epoch"]:
        print(f"last generator (epoch {run_info['last_epoch']}): FID {m['last']['fid']:.2f}  KID {m['last']['kid']:.4f}")
    print(f"protocol: {label(cfg)}")
    print("results: metrics.json, plots/samples.png, plots/train_losses.csv")
    print(f"MLflow run {m['run_id']}: {tracking.ui_hint(run_info['tracking_uri'], run_info['experiment_id'])}")


if __name__ == "__main__":
    run(main)
