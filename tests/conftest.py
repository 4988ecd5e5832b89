"""Every test logs to an MLflow store of its own, never to the project's mlruns/."""
import pytest


@pytest.fixture(autouse=True)
def isolated_mlflow_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
