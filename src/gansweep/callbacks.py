"""Lightning callbacks that record training as it goes: sample grids and per-epoch losses."""
from __future__ import annotations

import csv
from pathlib import Path

import lightning.pytorch as pl
from torchvision.utils import make_grid

from gansweep.data.prepared import to_uint8


def grid_image(images_uint8) -> "np.ndarray":  # noqa: F821
    """uint8 NCHW batch -> one HWC uint8 grid (gray images keep one channel)."""
    grid = make_grid(images_uint8.cpu(), nrow=8, padding=2, pad_value=0)
    return grid[: images_uint8.shape[1]].permute(1, 2, 0).numpy()


class SampleGrid(pl.Callback):
    """Logs a grid of samples from fixed latents to the MLflow run after every epoch."""

    def on_train_epoch_end(self, trainer, module):
        logger = trainer.logger
        grid = grid_image(to_uint8(module.samples(), module.generator.output))
        logger.experiment.log_image(logger.run_id, grid, key="samples", step=trainer.current_epoch)


class PeriodicEvaluation(pl.Callback):
    """Every `every` epochs (and after the last), KID and FID of a few generated images against the
    reference; the generator with the lowest KID so far is saved to `best_path`. KID, being unbiased,
    ranks small samples more reliably than FID."""

    def __init__(self, reference: dict, metrics_cfg, every: int, images: int, save, best_path: Path):
        self.reference, self.cfg, self.every, self.images = reference, metrics_cfg, every, images
        self.save, self.best_path = save, Path(best_path)
        self.best_kid, self.best_epoch = float("inf"), None

    def on_train_epoch_end(self, trainer, module):
        from gansweep.evaluate import score  # evaluate imports the metrics stack; only needed here

        epoch = trainer.current_epoch
        if (epoch + 1) % self.every and epoch + 1 != trainer.max_epochs:
            return
        metrics, _ = score(module.generator, self.reference, self.cfg, n=self.images)
        trainer.logger.log_metrics({"eval_kid": metrics["kid"], "eval_fid": metrics["fid"]}, step=epoch)
        if metrics["kid"] < self.best_kid:
            self.best_kid, self.best_epoch = metrics["kid"], epoch
            self.best_path.parent.mkdir(parents=True, exist_ok=True)
            self.save(self.best_path, module)


class EpochLossCsv(pl.Callback):
    """Writes the epoch means of the logged losses to a CSV that `dvc plots` draws."""

    def __init__(self, path: Path, keys=("d_loss", "g_loss")):
        self.path, self.keys = Path(path), keys

    def on_fit_start(self, trainer, module):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as f:
            csv.writer(f).writerow(["epoch", *self.keys])

    def on_train_epoch_end(self, trainer, module):
        metrics = trainer.callback_metrics
        row = [trainer.current_epoch] + [
            float(metrics[f"{key}_epoch"]) if f"{key}_epoch" in metrics else "" for key in self.keys
        ]
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow(row)
