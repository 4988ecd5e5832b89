"""Optuna studies over params.yaml's `search.space` (`gansweep study`, `pipeline/study.py`).

One launcher process prepares the study (storage, the parent MLflow run) and starts the workers
(`search.workers_per_gpu` pinned to each visible GPU, or as many as asked), which run trials until
the study holds `search.n_trials` that finished on their own. A trial is the `train` and `evaluate`
stages' own code run in studies/<study>/trials/<number>/; it returns the reported FID (or KID).

A worker that dies leaves its trial RUNNING. On PostgreSQL, Optuna's heartbeat finds it; on the
local journal file (Optuna has no heartbeat there) every worker checks, before each trial, the
RUNNING trials of its own machine whose process is gone. Either way the trial is marked FAIL, its
MLflow run KILLED, and the same params are queued again (`retry_of`), so nothing is lost and the
lost trial does not count towards n_trials.
"""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState
from pydantic import ValidationError

import gansweep
from gansweep import paths, space, tracking
from gansweep.storage import masked, open_storage, retried, study_dir
from gansweep.study_results import write_results
from gansweep.config import Config, ConfigError, RunConfig, explain
from gansweep.overrides import changed_keys, with_overrides
from gansweep.metrics.fid import statistics_of
from gansweep.protocol import REPORT, SELECTION, check_reference, protocol
from gansweep.seeding import stream_seed

MAX_RETRIES = 2


# ---- Dead workers ----------------------------------------------------------------------------


def _process_start(pid: int) -> int | None:
    """The kernel's start time of a live process (field 22 of /proc/<pid>/stat), else None.
    Comparing it guards against a reused pid; a zombie counts as dead."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def _dead(trial) -> bool:
    owner = trial.user_attrs.get("worker")
    if owner is None:  # died between ask() and recording its owner
        return trial.datetime_start is not None and time.time() - trial.datetime_start.timestamp() > 60
    return owner["host"] == socket.gethostname() and _process_start(owner["pid"]) != owner["start"]


def requeue(study: optuna.Study, trial) -> None:
    """A trial lost with its worker: its MLflow run is marked KILLED and its params queued again.
    Also Optuna's stale-trial callback for PostgreSQL (the trial is already FAIL there)."""
    client, runs = _trial_runs(study, trial.number)
    for run in runs:
        if run.info.status == "RUNNING":
            tracking.ended(client, run.info.run_id, "KILLED", "its worker died")
    retries = trial.user_attrs.get("retries", 0)
    if retries < MAX_RETRIES:
        queue_again(study, trial, retries + 1)


def queue_again(study: optuna.Study, trial, retries: int) -> None:
    """The trial's params as a new waiting trial (`retry_of` it). Not Optuna's RetryFailedTrialCallback:
    it copies the lost trial's user attrs into the retry, whose dead `worker` would get it reaped again."""
    study.add_trial(optuna.trial.create_trial(state=TrialState.WAITING, params=trial.params, distributions=trial.distributions,
                                              user_attrs={"retry_of": trial.number, "retries": retries}))


def reap(study: optuna.Study) -> None:
    """Fails and requeues the RUNNING trials of this machine whose worker process is gone (the
    journal storage has no heartbeat; PostgreSQL's is Optuna's own)."""
    if isinstance(study._storage, optuna.storages.RDBStorage):
        optuna.storages.fail_stale_trials(study)
        return
    for trial in filter(_dead, study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))):
        try:
            study.tell(trial.number, state=TrialState.FAIL)
        except (ValueError, optuna.exceptions.UpdateFinishedTrialError):  # "Cannot tell a FAIL trial", or lost the race
            continue  # another worker reaped it first, and queued it again
        requeue(study, study._storage.get_trial(trial._trial_id))


def target(search) -> int:
    """How many trials the study runs: n_trials, or fewer when a grid has fewer points (a grid never trains a point twice)."""
    return min(search.n_trials, space.grid_size(search.space)) if search.sampler == "grid" else search.n_trials


def counted(study: optuna.Study) -> int:
    """Trials that count towards n_trials: finished on their own (a trial lost with its worker
    and queued again does not), or running."""
    trials = study.get_trials(deepcopy=False)
    again = retried(trials)
    return sum(t.state == TrialState.RUNNING or (t.state.is_finished() and t.number not in again) for t in trials)


# ---- MLflow ----------------------------------------------------------------------------------


def _trial_runs(study: optuna.Study, number: int):
    """(client, the trial's MLflow runs); no runs before the study has its parent run."""
    attrs = study.user_attrs
    if "mlflow_experiment_id" not in attrs:
        return None, []
    client = tracking.client(attrs["mlflow_tracking_uri"])
    return client, client.search_runs([attrs["mlflow_experiment_id"]], f"tags.`gansweep.trial` = '{study.study_name}/{number}'")


def _record_state(study: optuna.Study, trial) -> None:
    """After each trial: its final state (and value) on its MLflow run."""
    client, runs = _trial_runs(study, trial.number)
    for run in runs:
        client.set_tag(run.info.run_id, "optuna.trial_state", trial.state.name)
        if trial.value is not None:
            client.set_tag(run.info.run_id, "optuna.value", trial.value)


def parent_run(study: optuna.Study, cfg: Config, client) -> None:
    """The study's MLflow run (the trials' runs are nested under it), made once per study."""
    if (run_id := study.user_attrs.get("mlflow_parent_run_id")) is not None:
        if client.get_run(run_id).info.lifecycle_stage == "deleted":  # in the MLflow UI: every trial's results would fail to log
            raise ConfigError(f"study '{cfg.search.study}': its MLflow run {run_id} was deleted; restore it (MLFLOW_TRACKING_URI="
                              f"{client.tracking_uri} mlflow runs restore --run-id {run_id}) or give the study another name")
        client.update_run(run_id, status="RUNNING")
        return
    search = cfg.search
    experiment = tracking.experiment_id(client, cfg.tracking.experiment)
    run_id = client.create_run(experiment, run_name=f"study {search.study}", tags={
        "gansweep.study": search.study, "optuna.sampler": search.sampler, "optuna.pruner": search.pruner,
        "optuna.storage": masked(search.storage), "mlflow.source.git.commit": tracking.git_commit()}).info.run_id
    client.log_param(run_id, "search.objective", search.objective)
    client.log_param(run_id, "search.space", json.dumps(space.as_data(search.space)))
    study.set_user_attr("mlflow_parent_run_id", run_id)
    study.set_user_attr("mlflow_experiment_id", experiment)
    study.set_user_attr("mlflow_tracking_uri", client.tracking_uri)


# ---- Trials ----------------------------------------------------------------------------------


class Objective:
    """One trial: the sampled params on top of params.yaml, trained and evaluated like the stages."""

    def __init__(self, cfg: Config, parent_run_id: str):
        self.cfg, self.search, self.parent = cfg, cfg.search, parent_run_id
        self.base = cfg.run_config().model_dump()
        self.reference = statistics_of(paths.REFERENCE_STATS)  # checked against the params by prepare(), before the workers

    def __call__(self, trial: optuna.Trial) -> float:
        from gansweep.evaluate import evaluate_training
        from gansweep.train import train

        trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid(), "start": _process_start(os.getpid())})
        overrides = space.suggest(trial, self.search.space, RunConfig)
        trial.set_user_attr("overrides", overrides)
        folder = study_dir(self.search) / "trials" / f"{trial.number:04d}"
        tags = {"mlflow.parentRunId": self.parent, "gansweep.trial": f"{self.search.study}/{trial.number}",
                "optuna.trial_number": str(trial.number), "optuna.study": self.search.study}  # str: a REST store refuses others
        try:
            cfg = RunConfig.model_validate(with_overrides(self.base, overrides))
        except ValidationError as err:
            reason = explain(err)
            self._rejected(trial, overrides, tags, reason)
            raise ConfigError(reason) from None
        try:
            run = train(cfg, paths.prepared_split("train"), folder / "models", folder, selection_path=paths.SELECTION_STATS,
                        checkpoints=folder / "checkpoints", tags=tags, on_score=functools.partial(self._on_score, trial))
            metrics = evaluate_training(cfg, run, folder / "models", self.reference, folder / "metrics.json", folder / "samples.png")
        except optuna.TrialPruned:
            raise
        except BaseException as err:
            status, reason = tracking.how_it_ended(err)
            tracking.release_interrupted(err)
            # A training that ended (its run FINISHED) before the trial stopped, while scored or before train()
            # returned: its run must not say FINISHED. A store that fails here too must not hide `err` (nor
            # stop an interrupted trial's requeue).
            with contextlib.suppress(Exception):
                client, runs = _trial_runs(trial.study, trial.number)
                for finished in (r for r in runs if r.info.status == "FINISHED"):
                    tracking.ended(client, finished.info.run_id, status, reason)
            trial.set_user_attr("fail_reason", reason[:500])
            if not isinstance(err, tracking.INTERRUPTIONS):
                raise
            queue_again(trial.study, trial, 0)
            raise KeyboardInterrupt from None  # Optuna marks the trial FAIL, then the worker stops
        finally:  # pruned, failed or interrupted: never resumed (a trial queued again is a new trial, in its own folder)
            shutil.rmtree(folder / "checkpoints", ignore_errors=True)
        for key in ("fid", "kid", "precision", "recall"):
            trial.set_user_attr(key, metrics[key])
        trial.set_user_attr("mlflow_run_id", run["run_id"])
        return metrics[self.search.objective]

    def _on_score(self, trial, epoch: int, metrics: dict) -> None:
        # Not optuna-integration's PyTorchLightningPruningCallback: it listens to Lightning's validation
        # loop, which the periodic evaluation is not (see gansweep.callbacks).
        # The selection score on the objective's own scale: a pruned trial's last value sits beside
        # complete trials' values in Optuna's plots and dashboard.
        objective = self.search.objective
        trial.report(metrics[objective], epoch + 1)  # steps: epochs trained
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned after {epoch + 1} epochs (selection {objective.upper()} {metrics[objective]:.4g})")

    def _rejected(self, trial, overrides: dict, tags: dict, reason: str) -> None:
        """A combination params.yaml's validation refuses: recorded, never trained."""
        from mlflow.entities import Param

        trial.set_user_attr("fail_reason", reason[:500])
        client = tracking.client()
        experiment = tracking.experiment_id(client, self.cfg.tracking.experiment)
        run_id = client.create_run(experiment, run_name=f"trial {trial.number} (rejected)", tags=tags).info.run_id
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in overrides.items()])
        tracking.ended(client, run_id, "FAILED", reason)


def _without_traceback(record: logging.LogRecord) -> bool:
    """Optuna's line on a trial refused by validation, diverged (a NaN loss) or stopped by Ctrl-C, without its traceback."""
    if record.exc_info and isinstance(record.exc_info[1], (ConfigError, FloatingPointError, KeyboardInterrupt)):
        record.exc_info = None
    return True


def work(cfg: Config, rank: int) -> None:
    """One worker: trials until the study has n_trials (or the time is up)."""
    import torch

    search = cfg.search
    for handler in logging.getLogger("optuna").handlers:
        handler.addFilter(_without_traceback)
    if not torch.cuda.is_available() and not os.environ.get("OMP_NUM_THREADS"):  # an explicit OMP_NUM_THREADS wins
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, int(os.environ.get("GANSWEEP_WORKERS", "1")))))
    storage = open_storage(search, study_dir(search), on_stale=requeue)
    study = optuna.load_study(study_name=search.study, storage=storage, pruner=space.PRUNERS.get(search.pruner)(cfg.train))
    # Workers with one seed would propose the same params, and a resumed study its first run's again
    done = len(study.get_trials(deepcopy=False))
    study.sampler = space.SAMPLERS.get(search.sampler)(stream_seed(search.seed, rank, done) % 2**32 if done else search.seed + rank)
    objective = Objective(cfg, study.user_attrs["mlflow_parent_run_id"])
    deadline = None if search.timeout is None else time.time() + search.timeout
    rdb = isinstance(study._storage, optuna.storages.RDBStorage)
    while not study._stop_flag:  # set once the grid is exhausted
        reap(study)
        if deadline is not None and time.time() >= deadline:
            return
        if counted(study) >= target(search):
            # Nothing to do, but a RUNNING trial may still be queued again: any on PostgreSQL (the heartbeat
            # settles it), this machine's on the journal file. Wait while there is one.
            running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if not (running if rdb else any(t.user_attrs.get("worker", {}).get("host") == socket.gethostname() for t in running)):
                return
            time.sleep(min(search.heartbeat, 2.0) if rdb else 2.0)
            continue
        study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[_record_state])


# ---- The launcher ----------------------------------------------------------------------------


# What one worker takes on a GPU: its CUDA context, the Inception network and its activations at batch
# 50 (float32 and bf16 copies), the GAN and the held images. An estimate, until gpu_check measures it.
WORKER_GPU_BYTES = int(2.5 * 2**30)
AUTO_WORKERS_PER_GPU = 4  # a cap for `auto`: not yet measured on a GPU (benchmarks/gpu_check.sh times 1, 2, 4 and 8)


def workers_for(search) -> tuple[int, list[str | None]]:
    """How many workers, and the device each is pinned to (None: the CPU). On GPUs, workers go
    round-robin over the visible ones, `search.workers_per_gpu` each when `search.workers` is auto;
    refused with one line when they cannot fit in a GPU's free memory."""
    import torch

    gpus = torch.cuda.device_count()
    if not gpus:
        count = 1 if search.workers == "auto" else search.workers
        return count, [None] * count
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [i.strip() for i in visible.split(",")][:gpus] if visible else [str(i) for i in range(gpus)]
    free = [torch.cuda.mem_get_info(index)[0] for index in range(len(ids))]
    per_gpu = search.workers_per_gpu
    if per_gpu == "auto":
        per_gpu = max(1, min(AUTO_WORKERS_PER_GPU, min(free) // WORKER_GPU_BYTES))
    count = len(ids) * per_gpu if search.workers == "auto" else search.workers
    devices = [ids[k % len(ids)] for k in range(count)]
    for device, available in zip(ids, free):
        placed = devices.count(device)
        if placed * WORKER_GPU_BYTES > available:
            key = "search.workers_per_gpu" if search.workers == "auto" else "search.workers"
            raise ConfigError(f"{key}: {placed} workers on GPU {device} need about {placed * WORKER_GPU_BYTES / 2**30:.1f} GiB, "
                              f"it has {available / 2**30:.1f} GiB free; run fewer (at most {available // WORKER_GPU_BYTES} there)")
    return count, devices


def identity_of(cfg: Config) -> dict:
    """What makes a study the same study: what its trials compute, how it proposes them, and the
    MLflow experiment its runs are in. Not n_trials, timeout, workers, heartbeat, compute (how long,
    how wide and on what it runs; each trial's MLflow run records its compute.* params) but the
    arithmetic that changes the trained weights (recorded only when not the default, as before it was)."""
    search, weights = cfg.search, {"precision": cfg.compute.precision, "compile": cfg.compute.compile}
    return json.loads(json.dumps({
        "objective": search.objective, "sampler": search.sampler, "pruner": search.pruner, "seed": search.seed,
        "space": space.as_data(search.space),
        "params": cfg.run_config().model_dump(exclude={"compute"}), "protocol": protocol(cfg),
        **({"budget_factor": search.budget_factor} if search.budget_factor else {}),  # absent: studies made before it stay the same
        **({"compute": weights} if weights != {"precision": "32-true", "compile": False} else {}),
    }))


def prepare(cfg: Config):
    """Opens (or creates) the study, checks it is the same study, makes its parent MLflow run."""
    search = cfg.search
    if cfg.compute.devices > 1:
        raise ConfigError("compute.devices: a study runs one worker per GPU, each training on its own GPU; set compute.devices to 1")
    storage = open_storage(search, study_dir(search), on_stale=requeue)
    for path in (paths.prepared_split("train"), paths.REFERENCE_STATS, paths.SELECTION_STATS):
        if not path.exists():
            raise ConfigError(f"{path} is missing: run `dvc repro` (or `dvc repro reference_stats selection_stats`) first")
    for path, purpose in ((paths.REFERENCE_STATS, REPORT), (paths.SELECTION_STATS, SELECTION)):  # once, not in every worker
        check_reference(statistics_of(path), cfg, purpose)
    client = tracking.client()
    study = optuna.create_study(study_name=search.study, storage=storage, direction="minimize", load_if_exists=True)
    identity = identity_of(cfg)
    stored = study.user_attrs.get("identity")
    if stored is None:
        study.set_user_attr("identity", identity)
    elif stored != identity:
        changed = ", ".join(changed_keys(stored, identity, whole=("space",)))
        raise ConfigError(f"study '{search.study}' in {masked(search.storage)} was made with other values of {changed}: "
                          "resume it with those, or give the new study another name (search.study or --study-name)")
    parent_run(study, cfg, client)
    reap(study)
    if search.budget_factor:
        # A budget-fair study's factor levels take turns: trial k gets level k mod L, queued up front
        # (up to the target, also when n_trials grows on a resume), so each level gets its share of the
        # trials whatever the workers do; the random sampler draws every other key.
        levels = search.space[search.budget_factor]
        own = [t for t in study.get_trials(deepcopy=False) if "retry_of" not in t.user_attrs]
        for k in range(len(own), target(search)):
            study.enqueue_trial({search.budget_factor: levels[k % len(levels)]}, skip_if_exists=False)
    return study


def run(cfg: Config, argv: list[str]) -> dict:
    """`gansweep study`: prepares the study, runs the workers, writes the results (returns best_params.yaml's content)."""
    search = cfg.search
    study = prepare(cfg)
    count, devices = workers_for(search)
    print(f"study '{search.study}' ({masked(search.storage)}): {counted(study)} of {target(search)} trials done; "
          f"{count} worker{'s' if count > 1 else ''} on "
          + (", ".join(f"GPU {d} ({devices.count(d)})" for d in dict.fromkeys(devices)) if devices[0] is not None else "the CPU"))
    src = str(Path(gansweep.__file__).resolve().parents[1])  # the launcher's own code (its checkout's src/)
    env = {**os.environ, "GANSWEEP_WORKERS": str(count), "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    procs = []
    try:
        for rank, device in enumerate(devices):
            worker_env = {**env, **({"CUDA_VISIBLE_DEVICES": device} if device is not None else {})}
            procs.append(subprocess.Popen([sys.executable, "-m", "gansweep.cli", *argv, "--worker-rank", str(rank)], env=worker_env))
        for proc in procs:
            proc.wait()
    except KeyboardInterrupt:
        for proc in procs:
            proc.wait()  # each stops its trial (FAIL, queued again) and exits
        write_results(study, cfg, finished=False)
        raise
    best = write_results(study, cfg, finished=counted(study) >= target(search))
    if failed := [p.returncode for p in procs if p.returncode]:
        sys.exit(f"error: {len(failed)} worker(s) exited with status {failed}: see their output above")
    return best
