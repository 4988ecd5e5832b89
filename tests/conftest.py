"""Every test logs to an MLflow store of its own, never to the project's mlruns/."""
import mlflow
import pytest


@pytest.fixture(autouse=True)
def isolated_mlflow_store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # Lightning's MLFlowLogger sets mlflow's process-wide URI, which outranks the variable: a test
    # that trains in-process would otherwise point MlflowClient() of every later test at its store.
    mlflow.set_tracking_uri(uri)
