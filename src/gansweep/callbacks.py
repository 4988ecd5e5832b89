"""Lightning callbacks that record training as it goes: sample grids and per-epoch losses."""
from __future__ import annotations

import csv
from pathlib import Path

import lightning.pytorch as pl

from gansweep.data.prepared import to_uint8
from gansweep.grids import grid_image


class SampleGrid(pl.Callback):
    """Logs a grid of samples from fixed latents to the MLflow run after every epoch."""

    def on_train_epoch_end(self, trainer, module):
        grid = grid_image(to_uint8(module.samples(), module.generator.output))
        trainer.logger.experiment.log_image(trainer.logger.run_id, grid, key="samples", step=trainer.current_epoch)


class PeriodicEvaluation(pl.Callback):
    """Every train.eval_every_n_epochs epochs (and after the last), KID and FID of the selection
    sample (gansweep.protocol: latents and real images that the reported scores never use) of the
    output generator (the average with train.ema); keeps the one with the lowest KID so far, in
    memory and in checkpoints. KID, being unbiased, ranks small samples more reliably than FID.
    `on_score(epoch, metrics)` sees every score (a study's pruner listens there).

    Not Lightning's validation loop with ModelCheckpoint(monitor="eval_kid"): the loop skips the last
    epoch unless the cadence divides the epochs, and ModelCheckpoint writes whole checkpoints (both
    networks and optimizers) where only the output generator's weights are needed."""

    def __init__(self, selection: dict, cfg, on_score=None):
        self.selection, self.cfg, self.on_score = selection, cfg, on_score
        self.best_kid, self.best_epoch, self.best_state = float("inf"), None, None
        self.unheard = None  # the last (epoch, metrics) that on_score has not seen yet

    def on_train_epoch_end(self, trainer, module):
        from gansweep.evaluate import selection_score  # evaluate imports the metrics stack; only needed here

        epoch = trainer.current_epoch
        if (epoch + 1) % self.cfg.train.eval_every_n_epochs and epoch + 1 != trainer.max_epochs:
            return
        metrics = selection_score(module.output_generator, self.selection, self.cfg)
        # Through Lightning's own logging: on the loss curves' step axis (its `epoch` metric there names the epoch).
        module.log_dict({"eval_kid": metrics["kid"], "eval_fid": metrics["fid"]}, on_step=False, on_epoch=True)
        if metrics["kid"] < self.best_kid:
            self.best_kid, self.best_epoch = metrics["kid"], epoch
            self.best_state = {k: v.detach().cpu().clone() for k, v in module.output_generator.state_dict().items()}
        self.unheard = (epoch, metrics)

    # on_score hears a score once Lightning has logged it (after every on_train_epoch_end hook): a trial
    # its pruner stops keeps that last score in MLflow.
    def on_train_epoch_start(self, trainer, module):
        if self.on_score is not None and self.unheard is not None:
            unheard, self.unheard = self.unheard, None
            self.on_score(*unheard)

    on_train_end = on_train_epoch_start

    def state_dict(self):
        return {"best_kid": self.best_kid, "best_epoch": self.best_epoch, "best_state": self.best_state}

    def load_state_dict(self, state):
        self.best_kid, self.best_epoch, self.best_state = state["best_kid"], state["best_epoch"], state["best_state"]


class EpochLossCsv(pl.Callback):
    """Writes the epoch means of the logged losses to a CSV that `dvc plots` draws. The rows live
    in checkpoints too, so a resumed run writes the whole curve."""

    def __init__(self, path: Path, keys=("d_loss", "g_loss")):
        self.path, self.keys, self.rows = Path(path), keys, []

    def on_train_epoch_end(self, trainer, module):
        if not trainer.is_global_zero:  # DDP: process 0 writes the file
            return
        metrics = trainer.callback_metrics
        self.rows.append([trainer.current_epoch] + [float(metrics[f"{key}_epoch"]) if key in module.logged_this_epoch else ""
                                                    for key in self.keys])
        self.write()

    def write(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as f:
            csv.writer(f).writerows([["epoch", *self.keys], *self.rows])

    def state_dict(self):
        return {"rows": self.rows}

    def load_state_dict(self, state):
        self.rows = state["rows"]
