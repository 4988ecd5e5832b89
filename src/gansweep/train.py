"""Training one GAN: the function behind the `train` stage (and, later, each search trial)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import MLFlowLogger

from gansweep import tracking
from gansweep.callbacks import EpochLossCsv, SampleGrid
from gansweep.config import Config, ModelConfig
from gansweep.data import prepared
from gansweep.data.sources import sha256
from gansweep.module import GAN
from gansweep.nn.networks import Generator


def run_name(cfg: Config) -> str:
    m = cfg.resolved_model()
    return f"{cfg.loss.name} G:{m.g_activation}/{m.g_norm} D:{m.d_activation}/{m.d_norm}"


def make_logger(cfg: Config, data_path: Path) -> MLFlowLogger:
    uri = tracking.tracking_uri()
    from mlflow.tracking import MlflowClient

    tracking.experiment_id(MlflowClient(uri), cfg.tracking.experiment)  # created once, with its artifact root
    return MLFlowLogger(
        experiment_name=cfg.tracking.experiment,
        run_name=run_name(cfg),
        tracking_uri=uri,
        tags={
            "mlflow.source.git.commit": tracking.git_commit(),
            "gansweep.dataset": cfg.data.dataset,
            "gansweep.data_sha256": sha256(data_path),
        },
    )


def save_generator(path: Path, module: GAN) -> None:
    torch.save(
        {
            "model": module.cfg.resolved_model().model_dump(),
            "image_shape": list(module.image_shape),
            "state_dict": module.generator.state_dict(),
        },
        path,
    )


def load_generator(path: Path, device: str = "cpu") -> Generator:
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    generator = Generator(ModelConfig.model_validate(checkpoint["model"]), tuple(checkpoint["image_shape"]))
    generator.load_state_dict(checkpoint["state_dict"])
    return generator.to(device).eval()


def train(cfg: Config, data_path: Path, out_dir: Path, plots_dir: Path, callbacks=()) -> dict:
    """Trains on the prepared data; writes out_dir/generator.pt and out_dir/run.json."""
    images, _ = prepared.load(data_path)
    pl.seed_everything(cfg.train.seed, workers=True, verbose=False)
    module = GAN(cfg, images.shape[1:])
    logger = make_logger(cfg, data_path)
    # metrics.* belong to the evaluate stage, which records them with its numbers.
    params = {k: v for k, v in cfg.flat().items() if not k.startswith("metrics.")}
    logger.log_hyperparams({**params, **{f"recipe.{k}": v for k, v in asdict(module.recipe).items()}})
    on_gpu = torch.cuda.is_available()
    trainer = pl.Trainer(
        max_epochs=cfg.train.epochs,
        limit_train_batches=cfg.train.limit_batches,
        accelerator="auto",
        devices=1,
        logger=logger,
        callbacks=[SampleGrid(), EpochLossCsv(plots_dir / "train_losses.csv"), *callbacks],
        enable_checkpointing=False,
        # Bit-exact on the CPU; some CUDA kernels have no deterministic version, so only warn there.
        deterministic="warn" if on_gpu else True,
        log_every_n_steps=10,
        enable_model_summary=False,
        default_root_dir=out_dir,
    )
    # On an exception Lightning marks the MLflow run FAILED before re-raising.
    trainer.fit(module, prepared.dataloader(images, cfg.train.batch_size, cfg.train.seed))
    out_dir.mkdir(parents=True, exist_ok=True)
    save_generator(out_dir / "generator.pt", module)
    logger.experiment.log_artifact(logger.run_id, str(out_dir / "generator.pt"), artifact_path="model")
    run = {"run_id": logger.run_id, "experiment_id": logger.experiment_id, "tracking_uri": tracking.tracking_uri()}
    (out_dir / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    return run
