"""Where runs are recorded (MLflow) and what pins them: code version, data hash.

The local default is a SQLite store in <workspace>/mlruns (artifacts beside it); MLFLOW_TRACKING_URI
points at a server instead. Every process checks the store before any work, so a wrong URI fails in
seconds with one line instead of minutes of client retries.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import traceback
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from gansweep.registry import ConfigError

# `mlflow ui` (3.x) opens an experiment on its GenAI overview. The kind tag is what older 3.x UIs
# read; 3.17 reads `workflowType` from the URL and a saved view (sorted by FID, with the columns that
# matter) from an experiment tag, both in the link ui_hint builds. Formats from MLflow
# 3.17.2's UI code (its shared-view envelope); not a documented API, so checked by a test.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
VIEW_KEY = "gansweep"
VIEW_COLUMNS = ["metrics.`fid`", "metrics.`kid`", "metrics.`precision`", "metrics.`recall`", "params.`loss.name`",
                "params.`model.g_activation`", "params.`model.d_activation`", "params.`regularization.d_spectral_norm`",
                "params.`train.seed`"]
# The view's times are fixed (0), so every worker writes the same tag.
VIEW_STATE = {"orderByKey": "metrics.`fid`", "orderByAsc": True, "selectedColumns": VIEW_COLUMNS}
VIEW_ENVELOPE = {"name": "GANs by FID", "createdAt": 0, "updatedAt": 0, "state": json.dumps(VIEW_STATE)}
RUNS_VIEW = {f"mlflow.sharedViewState.{VIEW_KEY}": json.dumps(VIEW_ENVELOPE)}
PACKAGE = Path(__file__).resolve().parent
# The files whose content decides what a run computes: the `-dirty` suffix and the code hash cover these.
CODE_PATHS = ("src", "pipeline", "dvc.yaml", "pyproject.toml")


class TrackingError(ConfigError):
    """The MLflow store cannot be used: one line naming the URI."""


def workspace_root() -> Path:
    """The project folder. `dvc exp run --temp/--queue` runs in copies under .dvc/tmp/exps/ that
    lack git-ignored files, so a store inside the copy would be lost: map it to the workspace."""
    path = Path.cwd().resolve()
    return Path(*path.parts[: path.parts.index(".dvc")]) if ".dvc" in path.parts else path


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{workspace_root() / 'mlruns' / 'mlflow.db'}"


def local_store(uri: str) -> Path | None:
    """The folder of a SQLite store (its artifacts live beside the database), else None."""
    return Path(uri.removeprefix("sqlite:///")).parent if uri.startswith("sqlite:///") else None


def client(uri: str | None = None):
    from mlflow.tracking import MlflowClient

    uri = uri or tracking_uri()
    check_store(uri)
    if (store := local_store(uri)) is None:
        return MlflowClient(uri)
    # Parallel workers that open a new SQLite store at once race on creating its tables.
    from filelock import FileLock

    with FileLock(store / ".mlflow.db.lock"):
        made = MlflowClient(uri)
        made.search_experiments(max_results=1)  # creates the schema under the lock
    return made


def check_store(uri: str, timeout: float = 5.0) -> None:
    scheme = urlsplit(uri).scheme
    if (store := local_store(uri)) is not None:
        try:
            store.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise TrackingError(f"MLflow store {uri}: cannot create {store}: {err.strerror}") from None
    elif scheme in ("http", "https"):
        try:
            urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout).close()
        except urllib.error.HTTPError:
            pass  # it answered: reachable (a 401 or 403 is the client's credentials' business)
        except OSError as err:  # URLError (refused, unknown host) is one, and so is a timeout
            reason = getattr(err, "reason", err)
            raise TrackingError(f"MLflow tracking server {uri} is unreachable ({reason}): start it, or fix or unset MLFLOW_TRACKING_URI") from None
    elif scheme in ("", "file"):
        raise TrackingError(f"MLflow tracking URI {uri}: the file store is deprecated and MLflow 3 refuses it; "
                            "use sqlite:///<path>/mlflow.db or a server (http://...)")


def experiment_id(mlflow_client, name: str) -> str:
    """The experiment's id, created on first use (safe when several workers start at once)."""
    from mlflow.exceptions import MlflowException

    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        for key, value in RUNS_VIEW.items():
            if key not in experiment.tags:  # made by an older gansweep
                mlflow_client.set_experiment_tag(experiment.experiment_id, key, value)
        return experiment.experiment_id
    store = local_store(mlflow_client.tracking_uri)
    location = (store / "artifacts").as_uri() if store else None
    try:
        return mlflow_client.create_experiment(name, artifact_location=location, tags={**EXPERIMENT_KIND, **RUNS_VIEW})
    except MlflowException as err:
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return mlflow_client.get_experiment_by_name(name).experiment_id  # another worker made it first


def git_commit(root: str | Path | None = None) -> str:
    """HEAD's commit, suffixed '-dirty' when the code (CODE_PATHS) differs from it; 'unknown'
    outside git. Pipeline outputs that git tracks (metrics.json, plots) do not make a run dirty."""
    root = Path(root or PACKAGE.parents[1])
    try:
        def git(*args):
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()

        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=normal", "--", *CODE_PATHS)
        return f"{commit}-dirty" if dirty else commit
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def code_sha256(package: Path = PACKAGE) -> str:
    """SHA-256 of the library's Python sources that ran (names and contents): pins the code even
    when the checkout is dirty or not a git repository."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def ended(mlflow_client, run_id: str, status: str, reason: str | None = None) -> None:
    """Ends a run: FINISHED, or FAILED / KILLED with its reason as the `gansweep.error` tag."""
    if reason:
        mlflow_client.set_tag(run_id, "gansweep.error", reason[:500])
    mlflow_client.set_terminated(run_id, status)


# Ctrl-C, and the SystemExit Lightning turns it into
INTERRUPTIONS = (KeyboardInterrupt, SystemExit)


def how_it_ended(err: BaseException) -> tuple[str, str]:
    """(status, reason) of a run stopped by `err`: KILLED when stopped on purpose (Ctrl-C, a study's
    pruner), FAILED with the error's first line otherwise."""
    import optuna

    if isinstance(err, INTERRUPTIONS):
        return "KILLED", "interrupted"
    reason = (str(err).splitlines() or [type(err).__name__])[0]
    return ("KILLED" if isinstance(err, optuna.TrialPruned) else "FAILED"), reason


def release_interrupted(err: BaseException) -> None:
    """After Ctrl-C (INTERRUPTIONS): clears the local variables of the finished frames `err` (and what
    it chains) passed through. A store query that Ctrl-C stopped halfway keeps its SQLite statement,
    and with it the store's write lock, alive in those frames: every later write (the run's end, its
    reason) would wait out the busy timeout (20 s), then fail in place of the interrupt. Other errors
    keep their locals for a debugger."""
    if not isinstance(err, INTERRUPTIONS):
        return
    pending, seen = [err], set()
    while pending:
        if (chained := pending.pop()) is not None and id(chained) not in seen:
            seen.add(id(chained))
            traceback.clear_frames(chained.__traceback__)
            pending += [chained.__context__, chained.__cause__]


@contextmanager
def run_life(mlflow_client, run_id: str, reopen: bool = False):
    """A run's life, written once for training, evaluation and trials: RUNNING (again, with `reopen`,
    an earlier error cleared) while the block writes to it, FINISHED only once it completes, else how_it_ended()."""
    if reopen:
        mlflow_client.update_run(run_id, status="RUNNING")
        if "gansweep.error" in mlflow_client.get_run(run_id).data.tags:
            mlflow_client.delete_tag(run_id, "gansweep.error")
    try:
        yield
    except BaseException as err:
        release_interrupted(err)
        ended(mlflow_client, run_id, *how_it_ended(err))
        raise
    ended(mlflow_client, run_id, "FINISHED")


def run_for_metrics(mlflow_client, run_id: str, cfg, description: str) -> str:
    """The training's run for the evaluation's numbers; or, when the run's metrics.* params differ
    from cfg's (evaluate re-ran alone with another protocol), a new run with the training's params
    and tags, the new metrics.* and `description`: params are immutable, and numbers must sit with their protocol."""
    from mlflow.entities import Param

    run = mlflow_client.get_run(run_id)
    wanted = {key: str(value) for key, value in cfg.flat().items() if key.startswith("metrics.")}
    if all(run.data.params.get(key) == value for key, value in wanted.items()):
        return run_id
    tags = {k: v for k, v in run.data.tags.items() if k.startswith("gansweep.") or k == "mlflow.source.git.commit"}
    changed = ", ".join(f"{k.removeprefix('metrics.')}={v}" for k, v in wanted.items() if run.data.params.get(k) != v)
    new = mlflow_client.create_run(run.info.experiment_id, run_name=f"{run.info.run_name} [{changed}]",
                                   tags={**tags, "gansweep.train_run_id": run_id, "mlflow.note.content": description}).info.run_id
    # MlflowClient.log_batch splits the params into batches within the store's limit (100 per call).
    mlflow_client.log_batch(new, params=[Param(key, value) for key, value in {**run.data.params, **wanted}.items()])
    return new


def ui_hint(uri: str, experiment: str) -> str:
    """How to look at an experiment's runs, sorted by FID."""
    link = f"{ui_base(uri)}/#/experiments/{experiment}/runs?viewStateShareKey={VIEW_KEY}&workflowType=machine_learning"
    if urlsplit(uri).scheme in ("http", "https"):
        return link
    return f"mlflow ui --backend-store-uri {uri if local_store(uri) is not None else '<hidden>'}  then open {link}"


def ui_base(uri: str) -> str:
    """Where the MLflow UI of a store answers: the server itself, else `mlflow ui`'s default address."""
    return uri.rstrip("/") if urlsplit(uri).scheme in ("http", "https") else "http://127.0.0.1:5000"
