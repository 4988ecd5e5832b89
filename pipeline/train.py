"""Stage `train`: a GAN on the prepared data -> models/ (last and best generator, run.json), MLflow run."""
from gansweep import paths
from gansweep.stage import run
from gansweep.train import train


def main(cfg):
    result = train(cfg, paths.prepared_split("train"), paths.MODELS, paths.PLOTS, reference_path=paths.REFERENCE_STATS)
    print(f"generators -> {paths.MODELS}/ (best: epoch {result['best_epoch']}); MLflow run {result['run_id']}")


if __name__ == "__main__":
    run(main)
