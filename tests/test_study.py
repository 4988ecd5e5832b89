"""Real Optuna studies of tiny trials, run by the `gansweep study` command in a project folder:
real worker processes, the real journal file, real MLflow store, real kill -9 and Ctrl-C. Two
workers sharing a study, and pruning, are in test_study_postgres.py (the multi-machine set-up)."""
import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy
import optuna
import pandas
import pytest
import yaml
from mlflow.tracking import MlflowClient

from gansweep.cli import main
from gansweep.config import load_config, read_params, with_overrides
from gansweep.metrics.fid import save_statistics
from gansweep.metrics.inception import inception_features, iterate
from gansweep.protocol import REPORT, SELECTION, describe, real_images
from gansweep import tracking
from gansweep.study import Objective
from helpers import ROOT, ctrl_c_after_query, make_config, real_digits

pytestmark = pytest.mark.slow  # real processes, trainings or studies: `pytest -m "not slow"` skips the file

TINY = {
    "model": {"latent_dim": 8, "g_width": 8, "d_width": 8},
    "train": {"epochs": 2, "batch_size": 16, "limit_batches": 2, "sample_grid_size": 4, "eval_every_n_epochs": 1,
              "eval_images": 5, "eval_reference_images": 12},
    "metrics": {"reference_images": 12, "generated_images": 6, "kid_subsets": 2, "kid_subset_size": 5},
}
SEARCH = {
    "search.study": "tiny", "search.n_trials": 6, "search.workers": 2, "search.pruner": "hyperband",
    "search.space": {
        "model.g_activation": ["relu", "elu"],
        "loss.name": ["non_saturating", "lsgan", "ebgan"],
        "loss.options.ebgan.margin": {"low": 5.0, "high": 15.0},
        "train.lr_g": [2.0e-4, 1.0],  # a learning rate no GAN survives: the pruner has something to prune
    },
}


@functools.lru_cache(maxsize=1)
def _inputs():
    """The prepared data and both statistics, made once per session (Inception is slow on a CPU)."""
    folder = Path(tempfile.mkdtemp(prefix="gansweep-study-inputs-"))
    data_path, _ = real_digits(folder / "data" / "prepared", 96)
    cfg = make_config(**TINY)
    images = {"train": numpy.load(data_path)["images"]}
    for purpose, name in ((REPORT, "reference.npz"), (SELECTION, "selection.npz")):
        chosen = real_images(cfg, images, purpose)
        features = inception_features(iterate(chosen), total=len(chosen), device="cpu")
        save_statistics(folder / "data" / "stats" / name, features, **describe(cfg, purpose))
    return folder / "data"


def make_project(folder, **extra):
    params = with_overrides(with_overrides(read_params(ROOT / "params.yaml"), TINY), {**SEARCH, **extra})
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    shutil.copytree(_inputs(), folder / "data")
    return folder


def gansweep(project, *args, env=None, timeout=900):
    return subprocess.run([sys.executable, "-m", "gansweep.cli", *args], cwd=project, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def load(project, name="tiny", storage=None):
    storage = storage or optuna.storages.journal.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(project / "studies" / name / "journal.log")))
    return optuna.load_study(study_name=name, storage=storage)


def trial_runs(client, study):
    parent = study.user_attrs["mlflow_parent_run_id"]
    return client.search_runs([study.user_attrs["mlflow_experiment_id"]], f"tags.`mlflow.parentRunId` = '{parent}'")


def check_study(project, study, client, n_trials):
    trials = study.get_trials()
    assert not [t.number for t in trials if t.state in (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)]
    retried = {t.user_attrs["retry_of"] for t in trials if "retry_of" in t.user_attrs}
    finished = [t for t in trials if t.number not in retried]
    assert len(finished) >= n_trials
    # every trial exactly once in MLflow, nested under the study's run, with its state and params
    runs = trial_runs(client, study)
    by_trial = {}
    for run in runs:
        by_trial.setdefault(int(run.data.tags["optuna.trial_number"]), []).append(run)
    assert sorted(by_trial) == sorted(t.number for t in trials) and all(len(r) == 1 for r in by_trial.values())
    for trial in trials:
        [run] = by_trial[trial.number]
        expected = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": ("FAILED", "KILLED")}[trial.state.name]
        assert run.info.status in expected, (trial.number, trial.state, run.info.status)
        if trial.number not in retried:
            assert run.data.tags["optuna.trial_state"] == trial.state.name
        for key, value in trial.user_attrs["overrides"].items():
            if key != "loss.options":
                assert run.data.params.get(key) == str(value), (trial.number, trial.state.name, trial.user_attrs.get("fail_reason"), key)
        # The pruner heard the selection score on the objective's (FID's) scale, each one also in MLflow (pruned trials too)
        logged = [m.value for m in client.get_metric_history(run.info.run_id, "eval_fid")]
        assert list(trial.intermediate_values.values()) == pytest.approx(logged[:len(trial.intermediate_values)], rel=1e-6)
        assert len(logged) == len(trial.intermediate_values) or trial.state.name != "PRUNED"
    best = min((t for t in trials if t.state.name == "COMPLETE"), key=lambda t: t.value)
    written = yaml.safe_load((project / "studies" / "tiny" / "best_params.yaml").read_text())
    assert (written["trial"], written["value"], written["params"]) == (best.number, best.value, best.user_attrs["overrides"])
    csv = (project / "studies" / "tiny" / "trials.csv").read_text().splitlines()
    assert len(csv) == len(trials) + 1 and "user_attrs_worker" not in csv[0]
    parent = client.get_run(study.user_attrs["mlflow_parent_run_id"])
    assert parent.info.status == "FINISHED" and parent.data.tags["optuna.best_trial"] == str(best.number)
    counts = {state: sum(t.state.name == state and t.number not in retried for t in trials) for state in ("COMPLETE", "PRUNED", "FAIL")}
    counts["REQUEUED"] = len(retried)  # lost with a worker or interrupted: not failures of their params
    assert {state: parent.data.metrics[f"trials_{state.lower()}"] for state in counts} == counts
    # an ended trial's checkpoints are deleted, whatever its end (none resumes: a retry is a new trial)
    assert not [t.number for t in finished if (project / "studies" / "tiny" / "trials" / f"{t.number:04d}" / "checkpoints").exists()]
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "plots")} >= {"plots/optimization_history.png"}
    return trials


def test_a_study_is_resumed_only_with_the_params_it_was_made_with(tmp_path, monkeypatch, capsys):
    project = make_project(tmp_path, **{"search.n_trials": 1})
    monkeypatch.chdir(project)
    from gansweep.study import prepare

    first = prepare(load_config("params.yaml"))  # the study and its parent run, no trial
    with pytest.raises(SystemExit) as stopped:
        main(["study", "-S", "train.epochs=5"])  # another budget is another study
    assert stopped.value.code == 2
    assert "was made with other values of params.train.epochs: resume it with those" in capsys.readouterr().err
    # how long and how wide it runs may change
    same = prepare(load_config("params.yaml", {"search.n_trials": 5, "search.workers": 3, "search.timeout": 60, "search.heartbeat": 5}))
    assert same.user_attrs["mlflow_parent_run_id"] == first.user_attrs["mlflow_parent_run_id"] and same.trials == []
    # on what it runs may change, not the arithmetic that changes the trained weights
    prepare(load_config("params.yaml", {"compute.accelerator": "cpu", "compute.inception": "torch", "compute.selection_scorer": "exact"}))
    with pytest.raises(SystemExit) as stopped:
        main(["study", "-S", "compute.compile=true"])
    assert stopped.value.code == 2 and "was made with other values of compute: resume it with those" in capsys.readouterr().err
    # its MLflow run deleted in the UI: every trial would fail at its end; one line before any work instead
    parent = first.user_attrs["mlflow_parent_run_id"]
    MlflowClient().delete_run(parent)
    with pytest.raises(SystemExit) as stopped:
        main(["study"])
    assert stopped.value.code == 2 and capsys.readouterr().err.strip().splitlines() == [
        f"error: study 'tiny': its MLflow run {parent} was deleted; restore it (MLFLOW_TRACKING_URI={MlflowClient().tracking_uri} "
        f"mlflow runs restore --run-id {parent}) or give the study another name"]


def test_kill_9_mid_trial_then_the_same_command_finishes_the_study(tmp_path):
    project = make_project(tmp_path, **{"search.workers": 1, "search.n_trials": 1, "search.pruner": "none"})
    command = [sys.executable, "-m", "gansweep.cli", "study"]
    launcher = subprocess.Popen(command, cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 600
    while not list(project.glob("studies/tiny/trials/*/checkpoints/*/last.ckpt")) and time.time() < deadline and launcher.poll() is None:
        time.sleep(0.2)
    os.killpg(launcher.pid, signal.SIGKILL)  # the launcher and its worker
    launcher.wait()
    killed = [t for t in load(project).get_trials() if t.state.name == "RUNNING"]
    assert len(killed) == 1

    done = gansweep(project, "study")
    assert done.returncode == 0, done.stderr[-3000:]
    study = load(project)
    trials = check_study(project, study, MlflowClient(), 1)
    lost = study.trials[killed[0].number]
    assert lost.state.name == "FAIL"
    [retry] = [t for t in trials if t.user_attrs.get("retry_of") == lost.number]
    assert retry.params == lost.params and retry.state.name != "FAIL"
    [run] = [r for r in trial_runs(MlflowClient(), study) if r.data.tags["optuna.trial_number"] == str(lost.number)]
    assert run.info.status == "KILLED" and run.data.tags["gansweep.error"] == "its worker died"


def test_a_refused_combination_is_never_trained_and_a_failing_trial_does_not_stop_the_study(tmp_path):
    # Each value is valid on its own (the base critic uses layer norm with an R1 penalty), but batch
    # norm with R1 is refused; a critic learning rate of 1e30 overflows its first steps to inf/NaN.
    project = make_project(tmp_path, **{"model.d_norm": "layer", "regularization.r1": 1.0, "search.workers": 1,
                                        "search.n_trials": 10, "search.pruner": "none", "search.sampler": "grid",
                                        "search.space": {"model.d_norm": ["batch", "layer"], "train.lr_d": [2.0e-4, 1.0e+30]}})
    done = gansweep(project, "study")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "uses batch norm" in done.stderr  # Optuna's line on each, not a traceback
    study = load(project)
    trials = check_study(project, study, MlflowClient(), 4)
    by_point = {(t.params["model.d_norm"], t.params["train.lr_d"]): t for t in trials}
    refused, diverged = by_point["batch", 2.0e-4], by_point["layer", 1.0e+30]
    assert by_point["batch", 1.0e+30].state.name == refused.state.name == "FAIL" and "uses batch norm" in refused.user_attrs["fail_reason"]
    assert not (project / "studies" / "tiny" / "trials" / f"{refused.number:04d}").exists()  # never trained
    reason = diverged.user_attrs["fail_reason"]
    assert diverged.state.name == "FAIL" and ("is nan" in reason or "is inf" in reason), reason
    assert by_point["layer", 2.0e-4].state.name == "COMPLETE"
    runs = {r.data.tags["optuna.trial_number"]: r for r in trial_runs(MlflowClient(), study)}
    for trial in (refused, diverged):
        run = runs[str(trial.number)]
        assert run.info.status == "FAILED" and run.data.tags["gansweep.error"].startswith(trial.user_attrs["fail_reason"][:50])

    # n_trials (10) is more than the grid's 4 points: the same command resumes with nothing left to do,
    # never training a point twice
    again = gansweep(project, "study")
    assert again.returncode == 0 and "4 of 4 trials done" in again.stdout
    assert len(load(project).get_trials()) == len(trials)

    # the report of this grid: the one complete cell, the three failures with their reasons
    folder = project / "studies" / "tiny" / "report"
    written = gansweep(project, "report")
    assert written.returncode == 0, written.stderr[-3000:]
    table = pandas.read_csv(folder / "configurations.csv")
    assert table["configuration"].tolist()[0] == "d_norm=layer, lr_d=0.0002" and table["seeds"].tolist() == [1, 0, 0, 0]
    assert table["fid_mean"].tolist()[0] == pytest.approx(by_point["layer", 2.0e-4].value)
    page = (folder / "report.html").read_text()
    assert "3 trial(s) failed" in page and "uses batch norm" in page and "Lowest FID: d_norm=layer, lr_d=0.0002" in page
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert gansweep(project, "report").returncode == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # the same trials, the same bytes


@pytest.mark.parametrize("phase", ["training", "evaluation"])
def test_ctrl_c_stops_cleanly_and_queues_the_interrupted_trial_again(tmp_path, phase):
    # Where Ctrl-C lands is made certain: a training too long to end first, or an evaluation of many images
    # (Inception on a CPU: seconds) after a training that ended (its run FINISHED, its checkpoints removed).
    lasting = {"train.epochs": 10_000} if phase == "training" else {"metrics.generated_images": 150}
    project = make_project(tmp_path, **lasting, **{"search.workers": 1, "search.n_trials": 1, "search.pruner": "none",
                                                   "search.space": {"model.g_activation": ["relu", "elu"]}})
    trial = project / "studies" / "tiny" / "trials" / "0000"
    launcher = subprocess.Popen([sys.executable, "-m", "gansweep.cli", "study"], cwd=project, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
    landed = {"training": lambda: list(trial.glob("checkpoints/*/last.ckpt")),
              "evaluation": lambda: (trial / "models" / "generator_best.pt").exists() and not list(trial.glob("checkpoints/*"))}[phase]
    deadline = time.time() + 600
    while not landed() and time.time() < deadline and launcher.poll() is None:
        time.sleep(0.2)
    assert launcher.poll() is None, launcher.communicate()[1][-3000:]
    os.killpg(launcher.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole process group
    out, err = launcher.communicate(timeout=300)
    assert launcher.returncode == 130, err[-3000:]
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "interrupted: every finished trial is kept; run the same command to resume"
    stopped = load(project).get_trials()
    assert [t.state.name for t in stopped] == ["FAIL", "WAITING"]  # the interrupted trial, queued again
    assert stopped[0].user_attrs["fail_reason"] == "interrupted" and stopped[1].params == stopped[0].params
    [run] = [r for r in trial_runs(MlflowClient(), load(project)) if r.data.tags["optuna.trial_number"] == "0"]
    assert run.info.status == "KILLED"  # the next `gansweep study` runs the queued trial first, as after kill -9
    assert ("gansweep.best_epoch" in run.data.tags) == (phase == "evaluation") and not (trial / "metrics.json").exists()
    assert not (trial / "checkpoints").exists()  # never resumed: not kept


def test_a_failing_trial_keeps_its_own_error_when_the_study_store_is_down_too(tmp_path, monkeypatch):
    # The trial's MLflow store (in the study's attributes) is a server that has gone away, so the failed
    # trial's look for a finished run to end fails too: the trial must still fail with its own error and
    # reason, not the store's. A closed port: refused at once.
    project = make_project(tmp_path, **{"model.d_norm": "layer", "regularization.r1": 1.0, "train.lr_d": 1.0e+30})
    monkeypatch.chdir(project)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # training logs to the project's own store
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{free.getsockname()[1]}"
    study = optuna.create_study()
    study.set_user_attr("mlflow_experiment_id", "0")
    study.set_user_attr("mlflow_tracking_uri", gone)
    cfg = load_config("params.yaml")
    objective = Objective(cfg, parent_run_id="0" * 32)
    trial = study.ask()
    with pytest.raises(Exception, match="is (nan|inf)") as raised:
        objective(trial)
    assert "unreachable" not in str(raised.value)
    assert re.search("is (nan|inf)", study.trials[0].user_attrs["fail_reason"])
    store = tracking.client()
    experiment = store.get_experiment_by_name(cfg.tracking.experiment).experiment_id
    [run] = store.search_runs([experiment], f"tags.`optuna.trial_number` = '{trial.number}'")
    assert run.info.status == "FAILED"  # ended by the training itself, in the store that works


def test_ctrl_c_halfway_through_a_store_query_after_training_still_ends_its_run_killed(tmp_path, monkeypatch):
    # After train() returned (its run FINISHED), Ctrl-C lands right after the evaluation's first store query
    # (the training's metric history), outside any run_life: the trial itself must let go of that query's
    # SQLite lock, or its ending of the FINISHED run waits 20 s, fails (suppressed) and leaves it FINISHED.
    import gansweep.evaluate

    project = make_project(tmp_path)
    monkeypatch.chdir(project)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load_config("params.yaml")
    store = tracking.client()
    study = optuna.create_study(study_name=cfg.search.study)  # the name the trial's run is tagged with
    study.set_user_attr("mlflow_experiment_id", tracking.experiment_id(store, cfg.tracking.experiment))
    study.set_user_attr("mlflow_tracking_uri", store.tracking_uri)
    real_evaluate = gansweep.evaluate.evaluate_training
    with ctrl_c_after_query("metrics") as armed, pytest.raises(KeyboardInterrupt):
        def evaluate_training(*args, **kwargs):  # armed once train() has returned
            armed.append(True)
            return real_evaluate(*args, **kwargs)

        monkeypatch.setattr(gansweep.evaluate, "evaluate_training", evaluate_training)
        Objective(cfg, parent_run_id="0" * 32)(study.ask())
    assert not armed  # the query was interrupted
    [run] = store.search_runs([study.user_attrs["mlflow_experiment_id"]], "tags.`optuna.trial_number` = '0'")
    assert (run.info.status, run.data.tags.get("gansweep.error")) == ("KILLED", "interrupted")
    assert study.trials[0].user_attrs["fail_reason"] == "interrupted"


def test_statistics_of_other_params_stop_the_study_once_before_any_worker(tmp_path):
    project = make_project(tmp_path, **{"search.workers": 2, "metrics.reference_images": 11})  # the statistics took 12
    done = gansweep(project, "study")
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "error: the report statistics are for images=12, params say 11: run dvc repro to recompute them"]
    assert not list(project.glob("studies/tiny/trials/*"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["-S", "search.pruner=asha"], "search.pruner: unknown 'asha' pruner; choose one of: hyperband, median, none"),
        (["-S", "search.space={model.g_activation: []}"], "search.space.model.g_activation: empty choice list"),
        (["-S", "search.space={model.g_actvation: [relu]}"], "search.space.model.g_actvation: unknown key; valid keys here: model.architecture, model.latent_dim"),
        (["-S", "search.space={train.lr_g: {low: 1.0e-3, high: 1.0e-5, log: true}}"], "search.space.train.lr_g: low (0.001) must be below high (1e-05)"),
        (["-S", "search.space={train.lr_g: {low: 0.0, high: 1.0e-3, log: true}}"], "search.space.train.lr_g: a log range needs low > 0, got 0"),
        (["-S", "search.sampler=bayes"], "search.sampler: unknown 'bayes' sampler; choose one of: grid, random, tpe"),
        (["--storage", "mysql://u@h/db"], "search.storage: use null (a journal file under studies/) or postgresql://user@host:port/db"),
        (["--storage", "postgresql://gan:s3cret-pw@127.0.0.1:9/optuna"], "search.storage: cannot use postgresql://gan:***@127.0.0.1:9/optuna"),
        (["--storage", "postgresql://gan:s3cret@pw@127.0.0.1:9/optuna"], "search.storage: the user or password in postgresql://gan:***@127.0.0.1:9/optuna holds a character reserved"),
        (["--storage", "postgresql://gan:s3cret@127.0.0.1:port/optuna"], "search.storage: postgresql://gan:***@127.0.0.1:port/optuna is not a valid URL"),
        (["-S", "search.space.train.lr_g={low: 1.0e-3, high: 1.0e-5, log: true}"], "search.space.train.lr_g: low (0.001) must be below high (1e-05)"),
    ],
)
def test_bad_search_or_storage_says_one_line_exits_2_and_starts_no_trial(tmp_path, monkeypatch, capsys, args, message):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["study", *args])  # in-process: the command's own entry point, without a slow interpreter start
    out, err = capsys.readouterr()
    assert stopped.value.code == 2, err[-2000:]
    [line] = err.strip().splitlines()
    assert message in line and "s3cret" not in out + err
    assert not (tmp_path / "studies").exists() or not list((tmp_path / "studies").rglob("trials"))


def test_a_budget_fair_study_gives_each_level_its_turn_and_resumes(tmp_path):
    # Two losses take turns; the learning rate is drawn at random. 4 trials, then 6 on the resume.
    budget = {"search.study": "budget", "search.sampler": "random", "search.pruner": "none", "search.budget_factor": "loss.name",
              "search.n_trials": 4, "search.workers": 1,
              "search.space": {"loss.name": ["non_saturating", "lsgan"], "train.lr_g": {"low": 1.0e-4, "high": 1.0e-3, "log": True}}}
    project = make_project(tmp_path, **budget)
    done = gansweep(project, "study")
    assert done.returncode == 0, done.stdout + done.stderr
    study = load(project, "budget")
    losses = [t.params["loss.name"] for t in sorted(study.trials, key=lambda t: t.number)]
    assert losses == ["non_saturating", "lsgan"] * 2 and len({t.params["train.lr_g"] for t in study.trials}) == 4
    assert gansweep(project, "study", "--n-trials", "6").returncode == 0
    study = load(project, "budget")
    assert [t.params["loss.name"] for t in sorted(study.trials, key=lambda t: t.number)] == ["non_saturating", "lsgan"] * 3
    assert len({t.params["train.lr_g"] for t in study.trials}) == 6  # the resume draws new values, not the first run's again
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    report = gansweep(project, "report", "--study-name", "budget")
    assert report.returncode == 0, report.stdout + report.stderr
    curves = pandas.read_csv(project / "studies" / "budget" / "report" / "budget_curves.csv")
    assert sorted(curves["level"].unique()) == ["lsgan", "non_saturating"] and curves.groupby("level")["budget"].max().tolist() == [3, 3]
    fids = {loss: sorted(t.user_attrs["fid"] for t in study.trials if t.params["loss.name"] == loss) for loss in ("lsgan", "non_saturating")}
    best_of_3 = curves[curves["budget"] == 3].set_index("level")["expected_best_fid"]
    assert best_of_3.to_dict() == pytest.approx({loss: values[0] for loss, values in fids.items()})  # the best of all 3
    assert "expected best FID" in report.stdout
