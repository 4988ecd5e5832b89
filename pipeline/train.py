"""Stage `train`: a GAN on the prepared data -> models/generator.pt, models/run.json, MLflow run."""
from pathlib import Path

from gansweep.stage import run
from gansweep.train import train


def main(cfg):
    result = train(cfg, Path("data/prepared/dataset.npz"), Path("models"), Path("plots"))
    print(f"generator -> models/generator.pt; MLflow run {result['run_id']}")


if __name__ == "__main__":
    run(main)
