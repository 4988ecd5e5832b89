"""Where runs are recorded (MLflow) and what pins them: code version, data hash, images."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mlflow.tracking import MlflowClient


def workspace_root(cwd: str | Path | None = None) -> Path:
    """The project folder. `dvc exp run --temp/--queue` runs in copies under .dvc/tmp/exps/ that
    lack git-ignored files, so a store inside the copy would be lost: map it to the workspace."""
    path = Path(cwd or os.getcwd()).resolve()
    if ".dvc" in path.parts:
        return Path(*path.parts[: path.parts.index(".dvc")])
    return path


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set (a server, say), else the SQLite store in <workspace>/mlruns."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    store = workspace_root() / "mlruns"
    store.mkdir(exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


def artifact_location() -> str:
    return (workspace_root() / "mlruns" / "artifacts").as_uri()


def experiment_id(client: MlflowClient, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location())


def git_commit(cwd: str | Path | None = None) -> str:
    """HEAD's commit, suffixed '-dirty' when tracked files differ from it; 'unknown' outside git."""
    try:
        def git(*args):
            return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()

        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return f"{commit}-dirty" if dirty else commit
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
