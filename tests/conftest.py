"""Every test logs to an MLflow store of its own, never to the project's mlruns/."""
import os

import mlflow
import pytest
import torch

if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    # One core per test worker, for its own processes too (stages, study workers inherit it): torch's
    # spinning threads in two workers at once would fight over the cores and slow both.
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def isolated_mlflow_store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # Lightning's MLFlowLogger sets mlflow's process-wide URI, which outranks the variable: a test
    # that trains in-process would otherwise point MlflowClient() of every later test at its store.
    mlflow.set_tracking_uri(uri)
