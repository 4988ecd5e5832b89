"""One tiny end-to-end `dvc repro` in a temporary copy of the project: real DVC, real stages,
real Inception, real MLflow store (few steps, few images)."""
import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gansweep.data.sources import sha256

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "model": {"latent_dim": 8, "g_width": 8, "d_width": 8},
    "train": {"epochs": 2, "batch_size": 16, "limit_batches": 3, "sample_grid_size": 4, "eval_every_n_epochs": 1, "eval_images": 8},
    "metrics": {"reference_images": 12, "generated_images": 10, "kid_subsets": 2, "kid_subset_size": 5},
}


def dvc(project, *args):
    done = subprocess.run(["dvc", *args], cwd=project, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def set_params(project, **sections):
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for section, values in sections.items():
        params[section].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, project / name)
    for name in ("pipeline", "src"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    dvc(project, "init", "-q")
    set_params(project, **TINY)
    log = dvc(project, "repro")
    return project, log


@pytest.fixture(autouse=True)
def own_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def test_repro_writes_metrics_and_says_where_results_are(project):
    project, log = project
    metrics = json.loads((project / "metrics.json").read_text())
    assert metrics["fid"] > 0 and math.isfinite(metrics["kid"]) and metrics["kid_std"] >= 0 and 0 <= metrics["precision"] <= 1 and 0 <= metrics["recall"] <= 1
    assert metrics["best_epoch"] in (0, 1) and set(metrics["last"]) == {"fid", "kid", "kid_std", "precision", "recall"}
    if metrics["best_epoch"] == 1:
        assert metrics["last"]["fid"] == metrics["fid"]
    assert metrics["generated_images"] == 10 and metrics["reference_images"] == 12
    assert (metrics["convention"], metrics["reference_split"], metrics["dataset"]) == ("legacy_tensorflow", "train", "mnist-5k")
    assert (project / "plots" / "samples.png").stat().st_size > 0
    assert len((project / "plots" / "train_losses.csv").read_text().splitlines()) == 3  # header + 2 epochs
    assert "FID " in log and "protocol: 10 generated vs 12 mnist-5k train images" in log
    assert "mlflow ui --backend-store-uri sqlite:///" in log
    assert json.loads((project / "data" / "raw" / "source.json").read_text())["files"]


def test_the_mlflow_run_holds_params_metrics_grids_model_and_versions(project):
    from mlflow.tracking import MlflowClient

    project, _ = project
    info = json.loads((project / "models" / "run.json").read_text())
    assert info["tracking_uri"] == f"sqlite:///{project / 'mlruns' / 'mlflow.db'}"
    client = MlflowClient(info["tracking_uri"])
    run = client.get_run(info["run_id"])
    assert run.data.params["model.g_activation"] == "relu" and run.data.params["loss.name"] == "non_saturating"
    assert run.data.params["train.epochs"] == "2"
    assert [m.step for m in client.get_metric_history(info["run_id"], "d_loss_epoch")] == [2, 5]  # 3 batches, 2 epochs
    assert client.get_metric_history(info["run_id"], "fid")[0].value == pytest.approx(
        json.loads((project / "metrics.json").read_text())["fid"]
    )
    assert run.data.tags["gansweep.data_sha256"] == sha256(project / "data" / "prepared" / "train.npz")
    assert run.data.tags["protocol.convention"] == "legacy_tensorflow" and run.data.tags["protocol.generated_images"] == "10"
    assert [m.step for m in client.get_metric_history(info["run_id"], "eval_kid")] == [0, 1]
    assert {"precision", "recall", "fid_last", "kid_last"} <= set(run.data.metrics)
    assert run.data.tags["mlflow.source.git.commit"]  # "unknown": the temporary copy has no commit
    artifacts = {a.path for a in client.list_artifacts(info["run_id"])}
    assert {"model", "images", "metrics.json", "samples.png"} <= artifacts
    assert [a.path for a in client.list_artifacts(info["run_id"], "model")] == ["model/generator.pt", "model/generator_best.pt"]
    grids = [a.path for a in client.list_artifacts(info["run_id"], "images")]
    assert sum(p.endswith(".png") and "samples" in p for p in grids) == 2  # one grid per epoch


def ran_stages(log):
    return {line.split("'")[1] for line in log.splitlines() if line.startswith("Running stage")}


def test_nothing_reruns_unchanged_and_a_param_reruns_only_its_dependents(project):
    project, _ = project
    assert "Data and pipelines are up to date" in dvc(project, "status")
    assert ran_stages(dvc(project, "repro")) == set()

    set_params(project, model={"g_activation": "elu"})
    assert ran_stages(dvc(project, "repro")) == {"train", "evaluate"}
    set_params(project, metrics={"generated_images": 11})
    assert ran_stages(dvc(project, "repro")) == {"evaluate"}
    assert json.loads((project / "metrics.json").read_text())["generated_images"] == 11
    # Reference statistics are cached per (dataset, split, N, convention): DVC's run cache restores
    # an earlier setting's statistics instead of recomputing them.
    set_params(project, metrics={"reference_images": 13})
    assert set(json.loads(dvc(project, "status", "--json"))) == {"reference_stats", "evaluate"}
    assert ran_stages(dvc(project, "repro", "reference_stats")) == {"reference_stats"}
    set_params(project, metrics={"reference_images": 12})
    log = dvc(project, "repro", "reference_stats")
    assert ran_stages(log) == set() and "Stage 'reference_stats' is cached - skipping run" in log
