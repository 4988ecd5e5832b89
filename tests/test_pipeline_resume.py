"""End to end, the long ones: a `kill -9` of `dvc repro` mid-training resumed and compared with an
uninterrupted run, and the study pipeline (studies/dvc.yaml) with its report. In a git copy of the
project as a user has it (tests/pipeline_project.py), apart from test_pipeline.py's copy."""
import json
import os
import signal
import subprocess
import time

import pytest
import yaml
from mlflow.tracking import MlflowClient

from pipeline_project import dvc, git, make_project, set_params, user_env

pytestmark = pytest.mark.slow  # real processes, trainings or studies: `pytest -m "not slow"` skips the file


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory)


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
    epoch_at = {m.step: m.value for m in client.get_metric_history(killed_run, "epoch")}
    assert [epoch_at[m.step] for m in client.get_metric_history(killed_run, "eval_kid")][-1] == 3
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
