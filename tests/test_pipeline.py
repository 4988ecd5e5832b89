"""End-to-end `dvc repro` in a copy of the project, as on a user's machine: bytecode is written
(PYTHONDONTWRITEBYTECODE unset), the copy is a git repository of its own, and the copy's code runs
even though the workspace's src/ is installed. Real DVC, real stages, real Inception, real MLflow
store (few steps, few images)."""
import json
import math
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from gansweep.data.sources import sha256
from pipeline_project import dvc, git, make_project, ran_stages, set_params, user_env

pytestmark = pytest.mark.slow  # real processes, trainings or studies: `pytest -m "not slow"` skips the file


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory)


def test_repro_writes_metrics_and_says_where_results_are(project):
    project, log = project
    assert ran_stages(log) == {"check_params", "download", "prepare", "reference_stats", "selection_stats", "train", "evaluate"}
    metrics = json.loads((project / "metrics.json").read_text())
    assert metrics["fid"] > 0 and math.isfinite(metrics["kid"]) and metrics["kid_std"] >= 0
    assert 0 <= metrics["precision"] <= 1 and 0 <= metrics["recall"] <= 1
    assert metrics["best_epoch"] in (0, 1) and set(metrics["last"]) == {"fid", "kid", "kid_std", "precision", "recall"}
    assert metrics["generated_images"] == 10 and metrics["reference_images"] == 12
    assert (project / "plots" / "samples.png").stat().st_size > 0
    assert len((project / "plots" / "train_losses.csv").read_text().splitlines()) == 3  # header + 2 epochs
    assert "FID " in log and "protocol: 10 generated vs 12 mnist-5k train images" in log
    assert "viewStateShareKey=gansweep&workflowType=machine_learning" in log
    assert "Tip:" not in log and "LeafSpec" not in log  # no advertising, no deprecation noise
    # Outputs are machine results: DVC caches them, git ignores them (dvc.lock aside, which DVC experiments carry).
    assert git(project, "status", "--porcelain") == "?? dvc.lock"


def test_the_mlflow_run_holds_params_metrics_grids_model_and_versions(project):
    project, _ = project
    info = json.loads((project / "run.json").read_text())
    assert info["tracking_uri"] == f"sqlite:///{project / 'mlruns' / 'mlflow.db'}"
    client = MlflowClient(info["tracking_uri"])
    run = client.get_run(info["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["model.g_activation"] == "relu" and run.data.params["loss.name"] == "non_saturating"
    assert run.data.params["train.epochs"] == "2" and run.data.params["metrics.generated_images"] == "10"
    assert [m.step for m in client.get_metric_history(info["run_id"], "d_loss_epoch")] == [2, 5]  # 3 batches, 2 epochs
    assert client.get_metric_history(info["run_id"], "fid")[0].value == pytest.approx(
        json.loads((project / "metrics.json").read_text())["fid"]
    )
    assert run.data.tags["gansweep.data_sha256"] == sha256(project / "data" / "prepared" / "train.npz")
    # The commit of the checkout that ran, not '-dirty' because DVC deleted tracked outputs.
    assert run.data.tags["mlflow.source.git.commit"] == git(project, "rev-parse", "HEAD")
    assert len(run.data.tags["gansweep.code_sha256"]) == 64
    assert run.data.tags["protocol.convention"] == "legacy_tensorflow" and run.data.tags["protocol.generated_images"] == "10"
    epoch_at = {m.step: m.value for m in client.get_metric_history(info["run_id"], "epoch")}  # eval_* share the losses' step axis
    assert [epoch_at[m.step] for m in client.get_metric_history(info["run_id"], "eval_kid")] == [0, 1]
    assert {"precision", "recall", "fid_last", "kid_last"} <= set(run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(info["run_id"])}
    assert {"model", "images", "metrics.json", "samples.png"} <= artifacts
    assert [a.path for a in client.list_artifacts(info["run_id"], "model")] == ["model/generator.pt", "model/generator_best.pt"]
    grids = [a.path for a in client.list_artifacts(info["run_id"], "images")]
    assert sum(p.endswith(".png") and "samples" in p for p in grids) == 2  # one grid per epoch
    experiment = client.get_experiment(info["experiment_id"])
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "metrics.`fid`" in json.loads(json.loads(experiment.tags["mlflow.sharedViewState.gansweep"])["state"])["selectedColumns"]
    assert not (project / "checkpoints").exists() or not any((project / "checkpoints").iterdir())


def test_the_loss_plot_is_declared_once_with_a_colour_per_loss(project):
    project, _ = project
    plots = json.loads(dvc(project, "plots", "show", "--json"))["data"]
    losses = [spec for name, specs in plots.items() for spec in specs if "train_losses" in name]
    assert len(losses) == 1
    content = losses[0]["content"]
    assert content["encoding"]["color"]["field"] == "field" and content["encoding"]["y"]["title"] == "loss (epoch mean)"
    assert {row["field"] for row in content["data"]["values"]} == {"d_loss", "g_loss"}


def test_selection_and_report_use_different_real_images(project):
    import numpy as np

    project, _ = project
    with np.load(project / "data" / "stats" / "reference.npz") as report, np.load(project / "data" / "stats" / "selection.npz") as selection:
        assert (str(report["purpose"]), str(selection["purpose"])) == ("report", "selection")
        assert len(report["features"]) == 12 and len(selection["features"]) == 12
        # no real image's features in both samples
        assert not (np.abs(report["features"][:, None, :] - selection["features"][None]).sum(-1) == 0).any()


def test_bytecode_and_touched_sources_rerun_nothing(project):
    project, _ = project
    assert list(project.glob("src/gansweep/**/__pycache__/*.pyc")), "the stages ran with bytecode allowed"
    assert "Data and pipelines are up to date" in dvc(project, "status")
    assert ran_stages(dvc(project, "repro")) == set()
    # As after `git checkout other-branch && git checkout -`: same content, new times, new bytecode.
    for path in project.glob("src/**/*.py"):
        path.touch()
    subprocess.run([sys.executable, "-c", "import gansweep.train, gansweep.evaluate"], cwd=project / "src", env=user_env(), check=True)
    assert "Data and pipelines are up to date" in dvc(project, "status")


def test_stages_run_the_code_of_their_own_checkout(project):
    project, _ = project
    stage = project / "src" / "gansweep" / "stage.py"
    original = stage.read_text()
    stage.write_text(original.replace('print(f"error: {err}"', 'print(f"copy-error: {err}"'))
    try:
        params = (project / "params.yaml").read_text()
        (project / "params.yaml").write_text(params + "trian: {epochs: 1}\n")
        done = subprocess.run([sys.executable, "pipeline/check_params.py"], cwd=project, capture_output=True, text=True, env=user_env())
        assert done.returncode == 2 and done.stderr.startswith("copy-error: params.yaml: trian: unknown key")
    finally:
        stage.write_text(original)
        (project / "params.yaml").write_text(params)


def test_a_typo_anywhere_in_params_stops_repro_and_exp_run(project):
    project, _ = project
    params = (project / "params.yaml").read_text()
    try:
        (project / "params.yaml").write_text(params + "trian: {epochs: 1}\n")
        done = dvc(project, "repro", ok=False)
        assert done.returncode != 0 and "trian: unknown key; valid keys here: data, model," in done.stdout + done.stderr
        assert ran_stages(done.stdout) == {"check_params"}
        done = dvc(project, "repro", "evaluate", ok=False)  # a target that would otherwise run nothing
        assert done.returncode != 0 and "trian: unknown key" in done.stdout + done.stderr
        (project / "params.yaml").write_text(params)
        done = dvc(project, "exp", "run", "-S", "+trian.epochs=1", ok=False)  # "+": DVC itself refuses a new key without it
        assert done.returncode != 0 and "trian: unknown key" in done.stdout + done.stderr
    finally:
        (project / "params.yaml").write_text(params)
    assert ran_stages(dvc(project, "repro")) == set()


def test_a_param_reruns_only_its_dependents_and_renaming_the_experiment_retrains_nothing(project):
    project, _ = project
    set_params(project, tracking={"experiment": "renamed"})
    assert ran_stages(dvc(project, "repro")) == {"check_params"}
    set_params(project, model={"g_activation": "elu"})
    assert ran_stages(dvc(project, "repro")) == {"check_params", "train", "evaluate"}
    set_params(project, metrics={"generated_images": 11})
    assert ran_stages(dvc(project, "repro")) == {"check_params", "evaluate"}
    assert json.loads((project / "metrics.json").read_text())["generated_images"] == 11
    # The training's run keeps the protocol it was logged with; the new protocol's numbers get a run of their own.
    info = json.loads((project / "run.json").read_text())
    client = MlflowClient(info["tracking_uri"])
    [evaluation] = client.search_runs([info["experiment_id"]], f"tags.`gansweep.train_run_id` = '{info['run_id']}'")
    assert evaluation.data.params["metrics.generated_images"] == "11" and evaluation.data.params["model.g_activation"] == "elu"
    assert "11 generated vs" in evaluation.data.tags["mlflow.note.content"]  # its description names its protocol
    assert client.get_run(info["run_id"]).data.params["metrics.generated_images"] == "10"
    # Reference statistics are cached per setting: DVC's run cache restores an earlier one.
    set_params(project, metrics={"reference_images": 13})
    assert {"reference_stats", "selection_stats"} <= set(json.loads(dvc(project, "status", "--json")))
    assert ran_stages(dvc(project, "repro", "reference_stats")) == {"check_params", "reference_stats"}  # checked whatever the target
    set_params(project, metrics={"reference_images": 12})
    log = dvc(project, "repro", "reference_stats")
    assert "Stage 'reference_stats' is cached - skipping run" in log
