"""End-to-end `dvc repro` in a copy of the project, as on a user's machine: bytecode is written
(PYTHONDONTWRITEBYTECODE unset), the copy is a git repository of its own, and the copy's code runs
even though the workspace's src/ is installed. Real DVC, real stages, real Inception, real MLflow
store (few steps, few images)."""
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml
from mlflow.tracking import MlflowClient

from gansweep.data.sources import sha256
from helpers import ROOT

TINY = {
    "model": {"latent_dim": 8, "g_width": 8, "d_width": 8},
    "train": {"epochs": 2, "batch_size": 16, "limit_batches": 3, "sample_grid_size": 4, "eval_every_n_epochs": 1,
              "eval_images": 8, "eval_reference_images": 12},
    "metrics": {"reference_images": 12, "generated_images": 10, "kid_subsets": 2, "kid_subset_size": 5},
}


def user_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "MLFLOW_TRACKING_URI")}
    return env


def dvc(project, *args, ok=True):
    done = subprocess.run(["dvc", *args], cwd=project, capture_output=True, text=True, timeout=900, env=user_env())
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done if not ok else done.stdout


def git(project, *args):
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True).stdout.strip()


def set_params(project, **sections):
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for section, values in sections.items():
        params.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def ran_stages(log):
    return {line.split("'")[1] for line in log.splitlines() if line.startswith("Running stage")}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    files = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in files:
        if (ROOT / name).is_file() and not name.startswith(("tests/", "docs/", "benchmarks/")):
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, project / name)
    set_params(project, **TINY)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy")
    log = dvc(project, "repro")
    return project, log


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
    assert [m.step for m in client.get_metric_history(info["run_id"], "eval_kid")] == [0, 1]
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
    assert client.get_run(info["run_id"]).data.params["metrics.generated_images"] == "10"
    # Reference statistics are cached per setting: DVC's run cache restores an earlier one.
    set_params(project, metrics={"reference_images": 13})
    assert {"reference_stats", "selection_stats"} <= set(json.loads(dvc(project, "status", "--json")))
    assert ran_stages(dvc(project, "repro", "reference_stats")) == {"check_params", "reference_stats"}  # checked whatever the target
    set_params(project, metrics={"reference_images": 12})
    log = dvc(project, "repro", "reference_stats")
    assert "Stage 'reference_stats' is cached - skipping run" in log


def test_kill_9_during_training_resumes_into_the_same_run_and_ends_as_if_never_stopped(project):
    project, _ = project
    set_params(project, train={"epochs": 4, "seed": 7})
    repro = subprocess.Popen(["dvc", "repro"], cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=user_env(), start_new_session=True)
    deadline = time.time() + 600
    while not list(project.glob("checkpoints/*/last.ckpt")) and repro.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    os.killpg(repro.pid, signal.SIGKILL)  # dvc and the stage together, as a power cut would
    repro.wait()
    [checkpoint] = project.glob("checkpoints/*/last.ckpt")
    killed_run = json.loads((checkpoint.parent / "run.json").read_text())["run_id"]

    log = dvc(project, "repro")
    assert "resuming from the checkpoint of epoch" in log and f"into MLflow run {killed_run}" in log
    info = json.loads((project / "run.json").read_text())
    client = MlflowClient(info["tracking_uri"])
    assert info["run_id"] == killed_run and client.get_run(killed_run).info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(killed_run, "eval_kid")][-1] == 3
    resumed = {name: (project / "models" / name).read_bytes() for name in ("generator.pt", "generator_best.pt")}
    metrics = json.loads((project / "metrics.json").read_text())

    dvc(project, "repro", "--force", "train", "evaluate")  # the same training, never interrupted
    for name, data in resumed.items():
        assert (project / "models" / name).read_bytes() == data, name
    assert json.loads((project / "metrics.json").read_text()) == metrics


def test_the_study_pipeline_runs_its_study_and_stays_out_of_the_top_pipeline(project):
    project, _ = project
    set_params(project, search={"study": "tiny", "n_trials": 1, "workers": 1, "pruner": "none",
                                "space": {"model.g_activation": ["relu", "elu"]}})
    log = dvc(project, "--cd", "studies", "repro")
    assert "Running stage 'study'" in log and "0 of 1 trials done" in log
    assert "Running stage 'report'" in log and (project / "studies" / "tiny" / "report" / "report.html").exists()
    shown = json.loads(dvc(project, "--cd", "studies", "plots", "show", "--json"))
    assert {"tiny/report/configurations.csv", "tiny/report/fid_by_configuration.png"} <= set(shown["data"])
    assert "study" not in dvc(project, "status")  # `dvc repro` at the top never runs the study
    folder = project / "studies" / "tiny"
    best = yaml.safe_load((folder / "best_params.yaml").read_text())
    assert best["trial"] == 0 and best["params"]["model.g_activation"] in ("relu", "elu")
    assert len((folder / "trials.csv").read_text().splitlines()) == 1 + 1
    # its storage is not an output (DVC would delete it): a re-run resumes the study, here with nothing left
    again = dvc(project, "--cd", "studies", "repro")
    assert "Stage 'study' didn't change, skipping" in again and "Stage 'report' didn't change, skipping" in again
    assert "1 of 1 trials done" in dvc(project, "--cd", "studies", "repro", "--force")
    assert "trials" not in git(project, "status", "--porcelain", "--untracked-files=all")  # trial folders: ignored
