"""The MLflow side of a run: a real SQLite store, real processes racing, a real unreachable port."""
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from gansweep import tracking
from gansweep.train import train
from helpers import ROOT, ctrl_c_after_query, make_config, real_digits

RACE = """
import sys
from gansweep import tracking
print(tracking.experiment_id(tracking.client(sys.argv[1]), "race"))
"""

DATASET_RACE = """
import sys, time
from pathlib import Path
import numpy
from gansweep import tracking
from gansweep.config import load_config
from gansweep.train import _log_dataset
uri, experiment, folder, worker = sys.argv[1:]
client, cfg, images = tracking.client(uri), load_config("params.yaml"), numpy.zeros((10, 1, 28, 28), numpy.uint8)
runs = [client.create_run(experiment).info.run_id for _ in range(5)]
(Path(folder) / f"ready-{worker}").touch()
for turn, run_id in enumerate(runs):  # five new datasets, each logged by every worker at the same instant
    while not (go := Path(folder) / f"go-{turn}").exists():
        time.sleep(0.01)
    time.sleep(max(0.0, float(go.read_text()) - time.time()))
    _log_dataset(client, run_id, cfg, images, Path("train.npz"), str(turn) * 64)
    print(run_id, turn, flush=True)
"""


def test_workers_starting_at_once_on_a_new_store_share_one_experiment(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    workers = [subprocess.Popen([sys.executable, "-c", RACE, uri], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    results = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4, [err[-2000:] for _, err in results]
    assert len({out.strip() for out, _ in results}) == 1
    [experiment] = [e for e in MlflowClient(uri).search_experiments() if e.name == "race"]
    assert experiment.artifact_location == (tmp_path / "store" / "artifacts").as_uri()


def test_workers_logging_one_new_dataset_at_once_all_get_it(tmp_path):
    # Without a retry, all but one fail ("UNIQUE constraint failed: datasets..."): a study's first trials start together.
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    experiment = tracking.experiment_id(tracking.client(uri), "race")
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    workers = [subprocess.Popen([sys.executable, "-c", DATASET_RACE, uri, experiment, str(tmp_path), str(k)], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(4)]
    deadline = time.time() + 300
    while len(list(tmp_path.glob("ready-*"))) < 4 and time.time() < deadline and all(w.poll() is None for w in workers):
        time.sleep(0.05)
    for turn in range(5):
        (tmp_path / "go.tmp").write_text(str(time.time() + 0.5))
        (tmp_path / "go.tmp").rename(tmp_path / f"go-{turn}")
        time.sleep(1.0)
    results = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4, [err[-1500:] for _, err in results]
    for out, _ in results:
        for line in out.splitlines():
            run_id, turn = line.split()
            [dataset] = MlflowClient(uri).get_run(run_id).inputs.dataset_inputs
            assert (dataset.dataset.name, dataset.dataset.digest) == ("mnist-5k", turn * 16)


def test_an_unreachable_server_fails_in_seconds_with_one_line_naming_it(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "pipeline" / "train.py")], cwd=tmp_path, capture_output=True, text=True,
        env={**__import__("os").environ, "MLFLOW_TRACKING_URI": "http://127.0.0.1:9/"}, timeout=120,
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: MLflow tracking server http://127.0.0.1:9/ is unreachable (")
    assert "fix or unset MLFLOW_TRACKING_URI" in line
    assert time.monotonic() - start < 60  # the client's retries would take minutes
    assert not (tmp_path / "models").exists()


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    return real_digits(tmp_path_factory.mktemp("data"), 32)[0]


def tiny(**train_values):
    return make_config(model={"latent_dim": 8, "g_width": 8, "d_width": 8},
                       train={"epochs": 1, "batch_size": 16, "limit_batches": 1, "sample_grid_size": 4, "eval_every_n_epochs": 0, **train_values})


def test_a_run_is_finished_only_once_its_generators_are_logged(data_path, tmp_path, monkeypatch):
    def disk_full(self, run_id, local_path, artifact_path=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(MlflowClient, "log_artifact", disk_full)
    with pytest.raises(OSError, match="No space left"):
        train(tiny(), data_path, tmp_path / "m", tmp_path / "m")
    [run] = MlflowClient().search_runs([e.experiment_id for e in MlflowClient().search_experiments()], "attributes.run_name LIKE '%'", max_results=1)
    assert run.info.status == "FAILED" and "No space left" in run.data.tags["gansweep.error"]


def test_ctrl_c_halfway_through_a_store_query_still_ends_the_run_killed_at_once(tmp_path):
    # Ctrl-C lands in Python code right after a C call returns: here after the SELECT that log_batch runs
    # halfway through its write transaction. That statement, alive in the interrupted frames, holds
    # SQLite's write lock: without tracking.release_interrupted the run's end waits 20 s, then fails in place of Ctrl-C.
    from mlflow.entities import Metric

    client = tracking.client(f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    run_id = client.create_run(tracking.experiment_id(client, "ctrl-c")).info.run_id
    client.log_metric(run_id, "loss", 1.0, step=0)
    start = time.time()
    with ctrl_c_after_query("latest_metrics") as armed, pytest.raises(KeyboardInterrupt), tracking.run_life(client, run_id):
        armed.append(True)
        client.log_batch(run_id, metrics=[Metric("loss", 0.5, int(time.time() * 1000), 1)])
    assert not armed  # the query was interrupted
    assert time.time() - start < 10
    run = client.get_run(run_id)
    assert (run.info.status, run.data.tags["gansweep.error"]) == ("KILLED", "interrupted")


def test_an_error_in_a_run_keeps_its_frames_locals_for_a_debugger(tmp_path):
    client = tracking.client(f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    run_id = client.create_run(tracking.experiment_id(client, "error")).info.run_id

    def fails():
        batch = 7  # noqa: F841  (what a debugger would look at)
        raise ValueError("loss is nan")

    with pytest.raises(ValueError) as caught, tracking.run_life(client, run_id):
        fails()
    assert [entry.locals.get("batch") for entry in caught.traceback if entry.name == "fails"] == [7]
    assert client.get_run(run_id).info.status == "FAILED"


def test_a_run_whose_generator_would_never_be_updated_is_refused_before_it_starts(data_path, tmp_path):
    from gansweep.registry import ConfigError

    cfg = make_config(loss={"name": "wgan"}, train={"epochs": 1, "limit_batches": 3, "eval_every_n_epochs": 0, "batch_size": 8})
    with pytest.raises(ConfigError, match=r"the whole run has 3 critic steps \(1 epochs x 3 batches\), fewer than n_critic = 5 \(wgan\)"):
        train(cfg, data_path, tmp_path / "m", tmp_path / "m")
    with pytest.raises(ConfigError, match=r"train.batch_size \(64\) is larger than the training set \(32 images\)"):
        train(make_config(train={"batch_size": 64}), data_path, tmp_path / "m", tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_a_damaged_input_is_named_and_leaves_no_run(data_path, tmp_path):
    from gansweep.paths import DamagedFileError

    (tmp_path / "selection.npz").write_bytes(b"PK\x03\x04 damaged")
    cfg = tiny(eval_every_n_epochs=1)
    before = len(MlflowClient().search_runs([e.experiment_id for e in MlflowClient().search_experiments()]) if MlflowClient().search_experiments() else [])
    with pytest.raises(DamagedFileError, match=r"selection.npz \(Inception statistics\) is damaged or unreadable .*delete it and run `dvc repro`"):
        train(cfg, data_path, tmp_path / "m", tmp_path / "m", selection_path=tmp_path / "selection.npz")
    (tmp_path / "train.npz").write_bytes(b"not a zip")
    with pytest.raises(DamagedFileError, match=r"train.npz \(prepared dataset\) is damaged or unreadable"):
        train(cfg, tmp_path / "train.npz", tmp_path / "m", tmp_path / "m")
    after = len(MlflowClient().search_runs([e.experiment_id for e in MlflowClient().search_experiments()]))
    assert after == before  # nothing started, so nothing left RUNNING


def test_the_commit_tag_is_dirty_only_when_the_code_differs(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "code.py").write_text("x = 1\n")
    (tmp_path / "metrics.json").write_text("{}\n")
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    (tmp_path / "metrics.json").unlink()  # DVC deletes a stage's outputs before running it
    assert tracking.git_commit(tmp_path) == head
    (tmp_path / "src" / "code.py").write_text("x = 2\n")
    assert tracking.git_commit(tmp_path) == f"{head}-dirty"
    git("checkout", "-q", "--", "src/code.py")
    (tmp_path / "src" / "__pycache__").mkdir()
    (tmp_path / ".gitignore").write_text("__pycache__/\n")
    (tmp_path / "src" / "__pycache__" / "code.pyc").write_bytes(b"\0")
    assert tracking.git_commit(tmp_path) == head  # ignored files are not code
    (tmp_path / "src" / "new_module.py").write_text("y = 1\n")  # imported by committed code, never added
    assert tracking.git_commit(tmp_path) == f"{head}-dirty"


def test_the_code_hash_follows_content_not_times(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("x = 1\n")
    first = tracking.code_sha256(package)
    (package / "a.py").touch()
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert tracking.code_sha256(package) == first
    (package / "a.py").write_text("x = 2\n")
    assert tracking.code_sha256(package) != first


def test_the_loss_options_are_logged_as_trained_the_papers_defaults_included(data_path, tmp_path):
    cfg = make_config(model={"latent_dim": 8, "g_width": 8, "d_width": 8}, loss={"name": "lsgan", "options": {"c": 0.5}},
                      train={"epochs": 1, "batch_size": 16, "limit_batches": 1, "sample_grid_size": 4, "eval_every_n_epochs": 0})
    params = MlflowClient().get_run(train(cfg, data_path, tmp_path, tmp_path)["run_id"]).data.params
    # Mao et al. 2017's 0-1 coding (a=0, b=c=1) where params.yaml is silent
    assert {k: v for k, v in params.items() if k.startswith("loss.options.")} == {
        "loss.options.a": "0.0", "loss.options.b": "1.0", "loss.options.c": "0.5"}


def test_tests_never_log_into_the_projects_own_store():
    assert str(ROOT / "mlruns") not in tracking.tracking_uri()


def test_a_training_run_is_an_mlflow_3_run_with_its_generator_model_and_dataset(data_path, tmp_path):
    """The selected generator loads with mlflow.pytorch.load_model and generates images, the
    prepared data is the run's input, the description says the protocol, and no search.* params."""
    import mlflow.pytorch
    import torch

    from gansweep.data import prepared
    from gansweep.generators import load_generator

    cfg = tiny()
    result = train(cfg, data_path, tmp_path / "m", tmp_path / "m")
    client = MlflowClient()
    run = client.get_run(result["run_id"])
    assert run.info.status == "FINISHED"
    assert not [key for key in run.data.params if key.startswith(("search.", "tracking."))]
    # every other value of params.yaml, empty ones included (Lightning's flattening drops {} and [])
    assert cfg.loss.options == {} and cfg.regularization.augment == []
    logged = {k: run.data.params.get(k) for k, v in cfg.flat().items() if not k.startswith(("search.", "tracking."))}
    assert logged == {k: str(v) for k, v in cfg.flat().items() if not k.startswith(("search.", "tracking."))}
    assert "500 generated vs 500 mnist-5k train images, legacy_tensorflow FID" in run.data.tags["mlflow.note.content"]

    model = mlflow.pytorch.load_model(f"runs:/{result['run_id']}/generator")
    latents = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    images = model(latents)
    assert images.shape == (3, 1, 28, 28)
    torch.testing.assert_close(images, load_generator(tmp_path / "m" / "generator_best.pt")(latents))  # the selected generator

    [dataset_input] = run.inputs.dataset_inputs
    digits, _ = prepared.load(data_path)
    assert dataset_input.dataset.name == "mnist-5k" and dataset_input.dataset.source_type == "local"
    assert run.data.tags["gansweep.data_sha256"].startswith(dataset_input.dataset.digest)
    assert {tag.key: tag.value for tag in dataset_input.tags} == {"mlflow.data.context": "training"}
    profile = __import__("json").loads(dataset_input.dataset.profile)
    assert profile == {"num_images": len(digits), "image_shape": [1, 28, 28], "dtype": "uint8"}
