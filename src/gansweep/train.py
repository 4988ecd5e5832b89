"""Training one GAN: the function behind the `train` stage (and, later, each search trial)."""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import MLFlowLogger

from gansweep import tracking
from gansweep.callbacks import EpochLossCsv, PeriodicEvaluation, SampleGrid
from gansweep.config import Config, ModelConfig
from gansweep.data import prepared
from gansweep.data.sources import sha256
from gansweep.metrics.fid import load_statistics
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


def train(cfg: Config, data_path: Path, out_dir: Path, plots_dir: Path, reference_path: Path | None = None, callbacks=()) -> dict:
    """Trains on the prepared data; writes out_dir/generator.pt (last), generator_best.pt (best by
    periodic evaluation against the statistics at `reference_path`, or the last) and run.json."""
    images, _ = prepared.load(data_path)
    pl.seed_everything(cfg.train.seed, workers=True, verbose=False)
    module = GAN(cfg, images.shape[1:])
    logger = make_logger(cfg, data_path)
    # metrics.* belong to the evaluate stage, which records them with its numbers.
    params = {k: v for k, v in cfg.flat().items() if not k.startswith("metrics.")}
    logger.log_hyperparams({**params, **{f"recipe.{k}": v for k, v in asdict(module.recipe).items()}})
    on_gpu = torch.cuda.is_available()
    callbacks = [SampleGrid(), EpochLossCsv(plots_dir / "train_losses.csv"), *callbacks]
    evaluation = None
    if cfg.train.eval_every_n_epochs and reference_path is not None:
        evaluation = PeriodicEvaluation(
            load_statistics(reference_path), cfg.metrics, cfg.train.eval_every_n_epochs, cfg.train.eval_images,
            save_generator, out_dir / "generator_best.pt",
        )
        callbacks.append(evaluation)
    trainer = pl.Trainer(
        max_epochs=cfg.train.epochs,
        limit_train_batches=cfg.train.limit_batches,
        accelerator="auto",
        devices=1,
        logger=logger,
        callbacks=callbacks,
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
    last_epoch = trainer.current_epoch - 1
    save_generator(out_dir / "generator.pt", module)
    if evaluation is None or evaluation.best_epoch is None:
        shutil.copyfile(out_dir / "generator.pt", out_dir / "generator_best.pt")
    best_epoch = last_epoch if evaluation is None or evaluation.best_epoch is None else evaluation.best_epoch
    for name in ("generator.pt", "generator_best.pt"):
        logger.experiment.log_artifact(logger.run_id, str(out_dir / name), artifact_path="model")
    logger.experiment.set_tag(logger.run_id, "gansweep.best_epoch", best_epoch)
    run = {
        "run_id": logger.run_id,
        "experiment_id": logger.experiment_id,
        "tracking_uri": tracking.tracking_uri(),
        "last_epoch": last_epoch,
        "best_epoch": best_epoch,
    }
    (out_dir / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    return run
