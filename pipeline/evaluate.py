"""Stage `evaluate`: FID, KID, precision and recall of the best and the last generator at the full
protocol -> metrics.json, plots/samples.png, and the training's MLflow run."""
import json

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)
from PIL import Image

from gansweep import paths, tracking
from gansweep.callbacks import grid_image
from gansweep.evaluate import generated_batches, score
from gansweep.metrics.fid import load_statistics
from gansweep.metrics.inception import default_device
from gansweep.protocol import REPORT, check_reference, latent_seed, protocol
from gansweep.stage import run
from gansweep.generators import load_generator


def main(cfg):
    with paths.reading(paths.RUN_INFO, "MLflow run of the training"):
        run_info = json.loads(paths.RUN_INFO.read_text())
    client = tracking.client(run_info["tracking_uri"])  # an unreachable store fails here, before any work
    reference = load_statistics(paths.REFERENCE_STATS)
    check_reference(reference, cfg, REPORT)
    best = load_generator(paths.BEST_GENERATOR, default_device())
    same = run_info["best_epoch"] == run_info["last_epoch"]
    last = best if same else load_generator(paths.GENERATOR, default_device())
    best_metrics, _ = score(best, reference, cfg.metrics)
    last_metrics = best_metrics if same else score(last, reference, cfg.metrics)[0]
    metrics = {**best_metrics, "best_epoch": run_info["best_epoch"], "last": last_metrics, **protocol(cfg)}
    paths.METRICS.write_text(json.dumps(metrics, indent=2) + "\n")
    paths.PLOTS.mkdir(exist_ok=True)
    grid = grid_image(next(generated_batches(best, 64, latent_seed(cfg.metrics.seed, REPORT), batch_size=64)))
    Image.fromarray(grid.squeeze(-1) if grid.shape[-1] == 1 else grid).save(paths.PLOTS / "samples.png")

    run_id = tracking.run_for_metrics(client, run_info["run_id"], cfg)
    with tracking.reopened(client, run_id):
        step = run_info["last_epoch"]
        for key, value in best_metrics.items():
            client.log_metric(run_id, key, value, step=step)
            client.log_metric(run_id, f"{key}_last", last_metrics[key], step=step)
        for key, value in protocol(cfg).items():
            client.set_tag(run_id, f"protocol.{key}", value)
        client.log_artifact(run_id, str(paths.METRICS))
        client.log_artifact(run_id, str(paths.PLOTS / "samples.png"))

    print(f"best generator (epoch {run_info['best_epoch']}): FID {best_metrics['fid']:.2f}  "
          f"KID {best_metrics['kid']:.4f} +- {best_metrics['kid_std']:.4f}  "
          f"precision {best_metrics['precision']:.3f}  recall {best_metrics['recall']:.3f}")
    if not same:
        print(f"last generator (epoch {run_info['last_epoch']}): FID {last_metrics['fid']:.2f}  KID {last_metrics['kid']:.4f}")
    m = cfg.metrics
    print(f"protocol: {m.generated_images} generated vs {m.reference_images} {cfg.data.dataset} {m.reference_split} images, "
          f"{m.convention} FID")
    print("results: metrics.json, plots/samples.png, plots/train_losses.csv")
    print(f"MLflow run {run_id}: {tracking.ui_hint(client.tracking_uri, run_info['experiment_id'])}")


if __name__ == "__main__":
    run(main)
