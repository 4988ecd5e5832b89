"""Training one GAN: the function behind the `train` stage (and each study trial).

A run is resumable: with a checkpoint folder, every epoch ends with a full checkpoint (both
networks, both optimizers, the loops, the critic step count, the loss's state, the random states,
the best generator so far), and a later call with the same folder continues from the last finished
epoch into the same MLflow run, ending with the same generator as a run that never stopped.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, fields
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import MLFlowLogger
from lightning.pytorch.utilities import rank_zero_only

from gansweep import tracking
from gansweep.callbacks import EpochLossCsv, PeriodicEvaluation, SampleGrid
from gansweep.config import Config
from gansweep.data import prepared
from gansweep.data.sources import sha256
from gansweep.generators import load_generator, save_generator
from gansweep.metrics.fid import statistics_of
from gansweep.metrics.inception import scorer
from gansweep.module import GAN
from gansweep.paths import reading
from gansweep.protocol import SELECTION, check_reference, description
from gansweep.registry import ConfigError

LAST_CHECKPOINT = "last.ckpt"


class RunLogger(MLFlowLogger):
    """Lightning's MLflow logger, except that train() ends the run: Lightning would mark it
    FINISHED when fit returns, before the generators are logged."""

    def finalize(self, status: str = "success") -> None:
        pass


def quiet_lightning() -> None:
    """No advertising tips, and no deprecation warning from torch internals that Lightning triggers."""
    for handler in logging.getLogger("lightning.pytorch").handlers:
        handler.addFilter(lambda record: "Tip:" not in record.getMessage())
    warnings.filterwarnings("ignore", message=r".*LeafSpec.* is deprecated", module=r"lightning\.pytorch\.utilities\._pytree")
    # The checkpoint folder also holds run.json (the MLflow run to resume into).
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")


# What training reads: dvc.yaml lists the same params for the `train` stage (a test checks it).
TRAINING_SECTIONS = ("data", "model", "loss", "regularization", "train", "compute")
SELECTION_METRICS = ("convention", "kid_subsets", "kid_subset_size", "seed")  # the periodic selection's


def fingerprint(cfg: Config, *inputs: Path) -> str:
    """What a checkpoint belongs to: the params training reads, the input files' bytes and the
    code. A checkpoint of anything else is never resumed."""
    dump = cfg.model_dump()
    params = {**{k: dump[k] for k in TRAINING_SECTIONS}, "metrics": {k: dump["metrics"][k] for k in SELECTION_METRICS}}
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for path in inputs:
        digest.update(sha256(path).encode())
    digest.update(tracking.code_sha256().encode())
    return digest.hexdigest()[:16]


def training_device(compute) -> torch.device:
    """The device one training runs on (the first of them under DDP)."""
    gpus = torch.cuda.device_count()
    if compute.accelerator == "gpu" and gpus == 0:
        raise ConfigError("compute.accelerator is gpu, but torch sees no GPU (CUDA_VISIBLE_DEVICES, driver?); use auto or cpu")
    if compute.devices > max(gpus, 1):
        raise ConfigError(f"compute.devices is {compute.devices}, but torch sees {gpus} GPU(s)")
    return torch.device("cuda", torch.cuda.current_device()) if gpus and compute.accelerator != "cpu" else torch.device("cpu")


def fit_settings(cfg: Config) -> dict:
    """The Trainer arguments that decide where and how fast training runs (compute.*)."""
    compute, device = cfg.compute, training_device(cfg.compute)
    settings = {
        "accelerator": device.type if device.type == "cpu" else "gpu",
        "devices": compute.devices,
        "precision": compute.precision,
        # Bit-exact on the CPU; some CUDA kernels have no deterministic version, so only warn there.
        "deterministic": True if device.type == "cpu" else "warn",
        # A progress bar refresh reads the losses back from the GPU: not every step there.
        "callbacks": [TQDMProgressBar(refresh_rate=1 if device.type == "cpu" else 25)],
    }
    if compute.devices > 1:
        # Two backward passes per step (D, then G), each reaching only one network's parameters:
        # DDP must expect unused ones. Batch norm sees the whole batch, as on one device.
        settings.update(strategy="ddp_find_unused_parameters_true", sync_batchnorm=True)
    return settings


def training_batches(cfg: Config, images, device: torch.device):
    """The shuffled batches: gathered from images held on the device when compute.data_on_device
    and they fit (one training device), else a DataLoader. Both give the same batches. Under DDP
    each device gets batch_size / devices images of every batch (Lightning shards the sampler)."""
    t, devices = cfg.train, cfg.compute.devices
    if cfg.compute.data_on_device and devices == 1 and prepared.fits_on(device, images.nbytes):
        return prepared.device_batches(images, t.batch_size, t.seed, device)
    return prepared.dataloader(images, t.batch_size // devices, t.seed)


@contextmanager
def _claimed(folder: Path | None, lock: bool):
    """The checkpoint folder, locked while this training uses it; None while another training of the same
    params holds it (`dvc exp run --queue -j 2` of experiments that differ only in metrics.* or tracking.*)."""
    if folder is None or not lock:  # DDP's other processes: process 0 holds it
        yield folder
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            warnings.warn(f"another training of these params is using {folder}: this one keeps no checkpoints")
            folder = None
        yield folder


def _resume_point(checkpoint_dir: Path | None) -> tuple[Path | None, int | None, str | None]:
    """(checkpoint to resume from, its epoch, the MLflow run it belongs to), or Nones."""
    if checkpoint_dir is None:
        return None, None, None
    run_file, last = checkpoint_dir / "run.json", checkpoint_dir / LAST_CHECKPOINT
    fix = f"delete {checkpoint_dir} to train from the first epoch"
    run_id = None
    if run_file.exists():
        with reading(run_file, "MLflow run of the interrupted training", fix):
            run_id = json.loads(run_file.read_text())["run_id"]
    if not last.exists():
        return None, None, run_id
    with reading(last, "training checkpoint", fix):
        epoch = torch.load(last, map_location="cpu", weights_only=True)["epoch"]
    return last, epoch, run_id


def _open_run(client, cfg: Config, run_id: str | None, tags: dict) -> tuple[str, bool]:
    """(the interrupted run, True) when the store still has it, else (a new run, False)."""
    from mlflow.exceptions import MlflowException

    if run_id is not None:
        try:
            if client.get_run(run_id).info.lifecycle_stage == "active":  # not one deleted in the UI (MLflow keeps it)
                return run_id, True
        except MlflowException as err:
            if err.error_code != "RESOURCE_DOES_NOT_EXIST":  # else deleted meanwhile: the rest of the training goes to a new run
                raise
    experiment = tracking.experiment_id(client, cfg.tracking.experiment)
    tags = {k: str(v) for k, v in tags.items()}  # a REST store takes strings only
    m = cfg.resolved_model()
    name = f"{cfg.loss.name} G:{m.g_activation}/{m.g_norm} D:{m.d_activation}/{m.d_norm}"
    return client.create_run(experiment, run_name=name, tags=tags).info.run_id, False


def _log_dataset(client, run_id: str, cfg: Config, images, data_path: Path, digest: str) -> None:
    """The prepared images as the run's training input (MLflow's Datasets panel)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.exceptions import MlflowException

    profile = {"num_images": int(len(images)), "image_shape": list(images.shape[1:]), "dtype": str(images.dtype)}
    dataset = Dataset(name=cfg.data.dataset, digest=digest[:16], source_type="local",
                      source=json.dumps({"uri": Path(data_path).resolve().as_uri()}), profile=json.dumps(profile))
    inputs = [DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")])]
    try:  # MLflow looks the dataset up, then inserts it: of two workers logging a new one at once, one fails, then finds it
        client.log_inputs(run_id, datasets=inputs)
    except MlflowException:
        client.log_inputs(run_id, datasets=inputs)


def _log_model(client, run_id: str, generator_path: Path) -> None:
    """The selected generator as an MLflow model, `mlflow.pytorch.load_model("runs:/<run>/generator")`:
    latents (N, latent_dim) float32 in, images (N, C, H, W) in the generator's output range out."""
    import mlflow.pytorch
    import numpy as np
    from mlflow.models import infer_signature

    generator = load_generator(generator_path)  # on the CPU, in eval mode: loadable anywhere
    latents = np.random.default_rng(0).standard_normal((2, generator.latent_dim)).astype(np.float32)
    with torch.no_grad():
        images = generator(torch.from_numpy(latents)).numpy()
    mlflow.set_tracking_uri(client.tracking_uri)
    with warnings.catch_warnings(), mlflow.start_run(run_id=run_id):  # log_model logs into the active run
        warnings.simplefilter("ignore")
        mlflow.pytorch.log_model(generator, name="generator", signature=infer_signature(latents, images), input_example=latents,
                                 pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"])


def train(cfg: Config, data_path: Path, out_dir: Path, plots_dir: Path, selection_path: Path | None = None,
          checkpoints: Path | None = None, tags: dict | None = None, on_score=None) -> dict:
    """Trains on the prepared data; writes out_dir/generator.pt (last) and generator_best.pt (best
    by periodic evaluation against the selection statistics at `selection_path`, or the last), and
    returns the MLflow run and epochs. With `checkpoints`, saves a checkpoint every epoch in a
    folder under it named by fingerprint(), and resumes from it when it exists."""
    quiet_lightning()
    client = tracking.client()  # a wrong MLFLOW_TRACKING_URI fails here, before any work
    images, _ = prepared.load(data_path)
    cfg.check_budget(len(images))
    settings = fit_settings(cfg)  # no GPU where params ask for one: refused here, before any work
    selection = None
    if cfg.train.eval_every_n_epochs and selection_path is not None:
        selection = statistics_of(selection_path)
        check_reference(selection, cfg, SELECTION)
        wanted = scorer(str(training_device(cfg.compute)), cfg.compute.inception, cfg.compute.selection_scorer == "fast")
        made = str(selection.get("scorer", "torch-f32"))  # statistics from before the scorer was recorded
        if made.split("-")[1] != wanted.split("-")[1]:
            warnings.warn(f"the selection statistics were computed with {made}, the selection scores of this run use {wanted} "
                          "(another machine?): scores stay comparable between generators, not with other machines' runs; "
                          "`dvc repro -f selection_stats` recomputes them here")
    # Under DDP (compute.devices > 1) Lightning starts this program again for every other GPU: those
    # processes train along, and process 0 alone records the run and writes the results.
    helper = rank_zero_only.rank > 0
    folder = Path(checkpoints) / fingerprint(cfg, data_path, *([selection_path] if selection else [])) if checkpoints else None
    with _claimed(folder, lock=not helper) as checkpoint_dir:
        resume_from, resume_epoch, run_id = _resume_point(checkpoint_dir)
        pl.seed_everything(cfg.train.seed, workers=True, verbose=False)
        module = GAN(cfg, images.shape[1:])
        run_tags = {
            "mlflow.source.git.commit": tracking.git_commit(), "gansweep.code_sha256": tracking.code_sha256(),
            "gansweep.dataset": cfg.data.dataset, "gansweep.data_sha256": sha256(data_path),
            "mlflow.note.content": description(cfg),
            **(tags or {}),
        }
        run_id, reopened = (None, False) if helper else _open_run(client, cfg, run_id, run_tags)
        with nullcontext() if helper else tracking.run_life(client, run_id, reopen=reopened):  # FINISHED once the generators are logged
            if checkpoint_dir is not None and not helper:
                (checkpoint_dir / "run.json").write_text(json.dumps({"run_id": run_id}) + "\n")
            if not helper and resume_from is None:
                _log_dataset(client, run_id, cfg, images, data_path, run_tags["gansweep.data_sha256"])
            if resume_from is not None and not helper:
                print(f"resuming from the checkpoint of epoch {resume_epoch} ({resume_from}) into MLflow run {run_id}")
                client.set_tag(run_id, "gansweep.resumed_after_epoch", resume_epoch)
            logger = RunLogger(experiment_name=cfg.tracking.experiment, tracking_uri=client.tracking_uri, run_id=run_id)
            # Not what it computes: tracking.*, search.*; nor, resumed, metrics.* (MLflow keeps the first; evaluate: tracking.run_for_metrics)
            params = {k: v for k, v in cfg.flat().items() if not k.startswith(("tracking.", "search.", *(("metrics.",) if reopened else ())))}
            params = {k: str(v) if isinstance(v, list | dict) else v for k, v in params.items()}  # Lightning drops [] and {}
            # As trained: the paper's defaults too, not only what params.yaml sets
            options = {f"loss.options.{f.name}": getattr(module.objective, f.name) for f in fields(module.objective) if f.init}
            logger.log_hyperparams({**params, **options, **{f"recipe.{k}": v for k, v in asdict(module.recipe).items()}})
            evaluation = PeriodicEvaluation(selection, cfg, on_score) if selection is not None else None
            losses = EpochLossCsv(plots_dir / "train_losses.csv")
            callbacks = [SampleGrid(), losses, *([evaluation] if evaluation else []), *settings.pop("callbacks")]
            if checkpoint_dir is not None:  # one file, overwritten at the end of every epoch (no monitor: the latest is the one kept)
                callbacks.append(ModelCheckpoint(dirpath=checkpoint_dir, filename=LAST_CHECKPOINT.removesuffix(".ckpt"), save_top_k=1,
                                                 save_on_train_epoch_end=True, enable_version_counter=False))
            trainer = pl.Trainer(max_epochs=cfg.train.epochs, limit_train_batches=cfg.train.limit_batches, logger=logger,
                                 callbacks=callbacks, enable_checkpointing=checkpoint_dir is not None, log_every_n_steps=10,
                                 enable_model_summary=False, default_root_dir=checkpoint_dir or out_dir, **settings)
            trainer.fit(module, training_batches(cfg, images, training_device(cfg.compute)), ckpt_path=resume_from, weights_only=True)
            if helper:
                raise SystemExit(0)
            losses.write()  # also when a resume found every epoch done (killed while saving the results)
            last_epoch, last = trainer.current_epoch - 1, module.output_generator.state_dict()
            best_found = evaluation is not None and evaluation.best_state is not None
            best_epoch, best = (evaluation.best_epoch, evaluation.best_state) if best_found else (last_epoch, last)
            for name, state in (("generator.pt", last), ("generator_best.pt", best)):
                save_generator(out_dir / name, module.cfg.resolved_model(), module.image_shape, state)
                client.log_artifact(run_id, str(out_dir / name), artifact_path="model")
            client.set_tag(run_id, "gansweep.best_epoch", best_epoch)
            _log_model(client, run_id, out_dir / "generator_best.pt")
        if checkpoint_dir is not None:
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return {"run_id": run_id, "experiment_id": logger.experiment_id, "tracking_uri": client.tracking_uri,
            "last_epoch": last_epoch, "best_epoch": best_epoch}
