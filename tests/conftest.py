"""Every test logs to its own MLflow store, never to the project's mlruns/."""
import pytest


@pytest.fixture(autouse=True)
def isolated_mlflow_store(tmp_path_factory, monkeypatch):
    store = tmp_path_factory.getbasetemp() / "mlruns"
    store.mkdir(exist_ok=True)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
