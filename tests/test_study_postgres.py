"""Studies shared through a real PostgreSQL server, logged to a real `mlflow server` backed by
PostgreSQL, both on loopback: the multi-machine set-up, on one machine."""
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from mlflow.tracking import MlflowClient

from gansweep.cli import main
from postgres import cluster, mlflow_server
from test_study import check_study, gansweep, make_project, trial_runs

pytestmark = pytest.mark.slow  # real processes, trainings or studies: `pytest -m "not slow"` skips the file

PASSWORD = "s3cret-pw"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    with cluster() as pg:
        pg.create_database("mlflow")
        pg.add_password_user("gan", PASSWORD)
        with mlflow_server(pg.url("mlflow"), tmp_path_factory.mktemp("mlflow-artifacts")) as mlflow_uri:
            yield pg, mlflow_uri


def test_two_workers_share_a_postgresql_study_and_an_mlflow_server_and_never_show_the_password(servers, tmp_path):
    pg, mlflow_uri = servers
    pg.create_database("shared", owner="gan")
    storage = pg.url("shared", "gan")  # the password comes from PGPASSWORD, as on a worker machine
    project = make_project(tmp_path, **{"search.storage": storage, "search.study": "tiny"})
    done = gansweep(project, "study", env={"MLFLOW_TRACKING_URI": mlflow_uri, "PGPASSWORD": PASSWORD})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    study = optuna.load_study(study_name="tiny", storage=pg.url("shared", "gan", PASSWORD))
    client = MlflowClient(mlflow_uri)
    trials = check_study(project, study, client, 6)
    assert "PRUNED" in {t.state.name for t in trials}, [(t.number, t.state.name, t.params) for t in trials]
    for trial in trials:  # the loss's own options only when that loss was chosen
        assert ("loss.options.ebgan.margin" in trial.params) == (trial.params["loss.name"] == "ebgan")
    assert len({t.user_attrs["worker"]["pid"] for t in trials if "worker" in t.user_attrs}) == 2
    parent = client.get_run(study.user_attrs["mlflow_parent_run_id"])
    assert parent.data.tags["optuna.storage"] == storage
    assert PASSWORD not in done.stdout + done.stderr
    assert PASSWORD not in (project / "studies" / "tiny" / "trials.csv").read_text()
    for run in [parent, *trial_runs(client, study)]:
        assert PASSWORD not in str(run.data.params) + str(run.data.tags)


def test_kill_9_on_postgresql_heartbeat_fails_the_trial_and_the_same_command_finishes(servers, tmp_path):
    pg, mlflow_uri = servers
    pg.create_database("killed")
    storage = pg.url("killed")
    project = make_project(tmp_path, **{"search.storage": storage, "search.study": "tiny", "search.workers": 1,
                                        "search.n_trials": 1, "search.pruner": "none", "search.heartbeat": 1})
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_uri}
    launcher = subprocess.Popen([sys.executable, "-m", "gansweep.cli", "study"], cwd=project, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 600
    while not list(project.glob("studies/tiny/trials/*/checkpoints/*/last.ckpt")) and time.time() < deadline and launcher.poll() is None:
        time.sleep(0.2)
    assert launcher.poll() is None, launcher.stderr.read()[-3000:]
    os.killpg(launcher.pid, signal.SIGKILL)  # the launcher and its worker
    launcher.wait()
    [killed] = [t for t in optuna.load_study(study_name="tiny", storage=storage).trials if t.state.name == "RUNNING"]

    done = gansweep(project, "study", env={"MLFLOW_TRACKING_URI": mlflow_uri})
    assert done.returncode == 0, done.stderr[-3000:]
    study = optuna.load_study(study_name="tiny", storage=storage)
    client = MlflowClient(mlflow_uri)
    trials = check_study(project, study, client, 1)
    assert study.trials[killed.number].state.name == "FAIL"
    [retry] = [t for t in trials if t.user_attrs.get("retry_of") == killed.number]
    assert retry.params == killed.params and retry.state.name != "FAIL"
    [run] = [r for r in trial_runs(client, study) if r.data.tags["optuna.trial_number"] == str(killed.number)]
    assert run.info.status == "KILLED"


@pytest.mark.parametrize("command, password", [("study", None), ("study", "wrong"), ("report", "wrong")])
def test_a_password_protected_storage_without_the_right_password_stops_at_once(servers, tmp_path, monkeypatch, capsys, command, password):
    pg, _ = servers
    project = make_project(tmp_path)
    monkeypatch.chdir(project)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    url = pg.url("mlflow", "gan", password)
    with pytest.raises(SystemExit) as stopped:
        main([command, "--storage", url])
    out, err = capsys.readouterr()
    assert stopped.value.code == 2, err[-3000:]
    [line] = err.strip().splitlines()
    assert line.startswith(f"error: search.storage: cannot use postgresql://gan{':***' if password else ''}@127.0.0.1:{pg.port}/mlflow")
    assert "password" in line and PASSWORD not in out + err and (password is None or f":{password}@" not in line)
    assert not (project / "studies" / "tiny" / "trials").exists()
