"""Stage `evaluate`: FID and KID of the trained generator -> metrics.json, plots/samples.png, MLflow."""
import json
from pathlib import Path

from mlflow.tracking import MlflowClient
from PIL import Image

from gansweep.callbacks import grid_image
from gansweep.evaluate import generated_batches, score
from gansweep.metrics.fid import load_statistics
from gansweep.stage import run
from gansweep.train import load_generator


def main(cfg):
    generator = load_generator(Path("models/generator.pt"))
    metrics, _ = score(generator, load_statistics(Path("data/stats/reference.npz")), cfg.metrics)
    Path("metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    Path("plots").mkdir(exist_ok=True)
    grid = grid_image(next(generated_batches(generator, 64, cfg.metrics.seed, batch_size=64)))
    Image.fromarray(grid.squeeze(-1) if grid.shape[-1] == 1 else grid).save("plots/samples.png")

    run_info = json.loads(Path("models/run.json").read_text())
    client = MlflowClient(run_info["tracking_uri"])
    # Metrics, not params: evaluate may re-run alone with another protocol, and params are immutable.
    for key, value in metrics.items():
        client.log_metric(run_info["run_id"], key, value, step=cfg.train.epochs)
    client.log_artifact(run_info["run_id"], "metrics.json")
    client.log_artifact(run_info["run_id"], "plots/samples.png")

    print(f"FID {metrics['fid']:.2f}  KID {metrics['kid']:.4f} +- {metrics['kid_std']:.4f}  "
          f"({metrics['generated_images']} generated vs {metrics['reference_images']} real images)")
    print("results: metrics.json, plots/samples.png, plots/train_losses.csv")
    print(f"MLflow run {run_info['run_id']}: mlflow ui --backend-store-uri {run_info['tracking_uri']}")


if __name__ == "__main__":
    run(main)
