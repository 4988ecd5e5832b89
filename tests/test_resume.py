"""A crashed training resumes from its last finished epoch into the same MLflow run and ends with
the same generators as a run that never stopped (bit for bit on the CPU): real Lightning training,
real checkpoints, real MLflow store."""
import csv

import pytest
import torch
from mlflow.tracking import MlflowClient

from gansweep.generators import load_generator
from gansweep.metrics.fid import save_statistics
from gansweep.metrics.inception import inception_features, iterate
from gansweep.module import GAN
from gansweep.protocol import SELECTION, describe
from gansweep.train import train
from helpers import make_config, real_digits

pytestmark = pytest.mark.slow  # real processes, trainings or studies: `pytest -m "not slow"` skips the file


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    data_path, images = real_digits(tmp_path_factory.mktemp("data"), 48)
    return data_path, inception_features(iterate(images[100:108]), total=8, device="cpu")


def tiny(loss, recipe=False):
    # recipe: generator EMA and DiffAugment on (the average and the augmentation's random draws resume too)
    extra = {"ema": 0.99, "ema_rampup": 0.05} if recipe else {}
    return make_config(
        model={"latent_dim": 8, "g_width": 8, "d_width": 8},
        loss={"name": loss},
        train={"epochs": 3, "batch_size": 16, "limit_batches": 3, "sample_grid_size": 4, "eval_every_n_epochs": 1,
               "eval_images": 6, "eval_reference_images": 8, **extra},
        regularization={"augment": ["color", "translation", "cutout"] if recipe else []},
        metrics={"kid_subset_size": 4, "kid_subsets": 2},
    )


def crash_at(monkeypatch, epoch, batch):
    step = GAN.training_step

    def crashing(self, batch_, batch_idx):
        if self.current_epoch == epoch and batch_idx == batch:
            raise RuntimeError("simulated crash")
        return step(self, batch_, batch_idx)

    monkeypatch.setattr(GAN, "training_step", crashing)


def same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


# began: the loss's k_t; wgan: n_critic 5 counted across epochs (3 batches an epoch); all: RNG, optimizers, best so far;
# recipe: the generator average and the augmentation.
@pytest.mark.parametrize("loss, recipe", [("non_saturating", False), ("began", False), ("wgan", False), ("non_saturating", True)],
                         ids=["non_saturating", "began", "wgan", "ema+augment"])
def test_a_crashed_run_resumes_into_the_same_run_and_ends_bit_identical(loss, recipe, data, tmp_path, monkeypatch):
    data_path, features = data
    cfg = tiny(loss, recipe)
    save_statistics(tmp_path / "selection.npz", features, **describe(cfg, SELECTION))
    args = dict(selection_path=tmp_path / "selection.npz")
    whole = train(cfg, data_path, tmp_path / "whole", tmp_path / "whole", checkpoints=tmp_path / "ckpt-whole", **args)
    assert not any((tmp_path / "ckpt-whole").iterdir())  # removed once the run is complete

    with monkeypatch.context() as patch, pytest.raises(RuntimeError, match="simulated crash"):
        crash_at(patch, epoch=2, batch=1)
        train(cfg, data_path, tmp_path / "b", tmp_path / "b", checkpoints=tmp_path / "ckpt", **args)
    [checkpoint] = (tmp_path / "ckpt").glob("*/last.ckpt")
    client = MlflowClient()
    [crashed] = client.search_runs([whole["experiment_id"]], "attributes.status = 'FAILED'")
    assert crashed.data.tags["gansweep.error"] == "simulated crash"

    resumed = train(cfg, data_path, tmp_path / "b", tmp_path / "b", checkpoints=tmp_path / "ckpt", **args)
    assert resumed["run_id"] == crashed.info.run_id  # one run in MLflow, not two
    run = client.get_run(resumed["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["gansweep.resumed_after_epoch"] == "1"
    assert (resumed["best_epoch"], resumed["last_epoch"]) == (whole["best_epoch"], whole["last_epoch"])
    for name in ("generator.pt", "generator_best.pt"):
        assert same_weights(load_generator(tmp_path / "whole" / name), load_generator(tmp_path / "b" / name)), name
    rows = lambda folder: list(csv.reader(open(folder / "train_losses.csv")))  # noqa: E731
    assert rows(tmp_path / "b") == rows(tmp_path / "whole") and len(rows(tmp_path / "b")) == 4
    kid = lambda run_id: {m.step: m.value for m in client.get_metric_history(run_id, "eval_kid")}  # noqa: E731
    assert kid(resumed["run_id"]) == kid(whole["run_id"])
    assert not checkpoint.parent.exists()


def test_a_damaged_checkpoint_is_named_with_the_way_out(data, tmp_path):
    from gansweep.paths import DamagedFileError
    from gansweep.train import fingerprint

    data_path, _ = data
    cfg = make_config(model={"latent_dim": 8, "g_width": 8, "d_width": 8}, train={"epochs": 1, "batch_size": 16, "eval_every_n_epochs": 0})
    folder = tmp_path / "ckpt" / fingerprint(cfg, data_path)
    folder.mkdir(parents=True)
    (folder / "last.ckpt").write_bytes(b"PK\x03\x04 not a checkpoint")
    with pytest.raises(DamagedFileError) as err:
        train(cfg, data_path, tmp_path / "m", tmp_path / "m", checkpoints=tmp_path / "ckpt")
    message = str(err.value)
    assert f"{folder / 'last.ckpt'} (training checkpoint) is damaged or unreadable" in message
    assert f"delete {folder} to train from the first epoch" in message and "\n" not in message
    assert MlflowClient().search_runs([e.experiment_id for e in MlflowClient().search_experiments()], "attributes.status = 'RUNNING'") == []


def test_killed_after_the_last_checkpoint_the_rerun_completes_the_results(data, tmp_path, monkeypatch):
    # The last epoch's checkpoint is written, then the process dies while saving the generators.
    import gansweep.train as training

    data_path, features = data
    cfg = tiny("non_saturating")
    save_statistics(tmp_path / "selection.npz", features, **describe(cfg, SELECTION))
    args = dict(selection_path=tmp_path / "selection.npz", checkpoints=tmp_path / "ckpt")
    with monkeypatch.context() as patch, pytest.raises(OSError, match="disk full"):
        patch.setattr(training, "save_generator", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
        train(cfg, data_path, tmp_path / "b", tmp_path / "b", **args)
    (tmp_path / "b" / "train_losses.csv").unlink()  # DVC deletes a stage's outputs before re-running it
    resumed = train(cfg, data_path, tmp_path / "b", tmp_path / "b", **args)
    whole = train(cfg, data_path, tmp_path / "whole", tmp_path / "whole", selection_path=tmp_path / "selection.npz")
    assert (resumed["best_epoch"], resumed["last_epoch"]) == (whole["best_epoch"], whole["last_epoch"]) and resumed["last_epoch"] == 2
    for name in ("generator.pt", "generator_best.pt"):
        assert same_weights(load_generator(tmp_path / "whole" / name), load_generator(tmp_path / "b" / name)), name
    rows = lambda folder: list(csv.reader(open(folder / "train_losses.csv")))  # noqa: E731
    assert rows(tmp_path / "b") == rows(tmp_path / "whole")
    run = MlflowClient().get_run(resumed["run_id"])
    assert run.info.status == "FINISHED" and "gansweep.error" not in run.data.tags  # the crash's reason is gone


def crashed_in_epoch_1(data, tmp_path, monkeypatch):
    """A tiny training that crashed after its first epoch's checkpoint: (its data, its config)."""
    data_path, _ = data
    cfg = make_config(model={"latent_dim": 8, "g_width": 8, "d_width": 8},
                      train={"epochs": 2, "batch_size": 16, "limit_batches": 2, "sample_grid_size": 4, "eval_every_n_epochs": 0})
    with monkeypatch.context() as patch, pytest.raises(RuntimeError):
        crash_at(patch, epoch=1, batch=0)
        train(cfg, data_path, tmp_path / "m", tmp_path / "m", checkpoints=tmp_path / "ckpt")
    return data_path, cfg


def test_renaming_the_experiment_between_crash_and_resume_keeps_the_run(data, tmp_path, monkeypatch):
    data_path, cfg = crashed_in_epoch_1(data, tmp_path, monkeypatch)
    # and another report protocol: not what training computes (evaluate gives it a run of its own)
    renamed = make_config(**{**cfg.model_dump(), "tracking": {"experiment": "renamed"},
                             "metrics": {**cfg.metrics.model_dump(), "generated_images": cfg.metrics.generated_images + 1}})
    resumed = train(renamed, data_path, tmp_path / "m", tmp_path / "m", checkpoints=tmp_path / "ckpt")
    run = MlflowClient().get_run(resumed["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["gansweep.resumed_after_epoch"] == "0"
    assert not any(key.startswith("tracking.") for key in run.data.params)
    assert run.data.params["metrics.generated_images"] == str(cfg.metrics.generated_images)  # as the run began


def test_a_run_deleted_in_the_mlflow_ui_is_not_resumed_into(data, tmp_path, monkeypatch):
    data_path, cfg = crashed_in_epoch_1(data, tmp_path, monkeypatch)
    [crashed] = MlflowClient().search_runs(["1"])
    MlflowClient().delete_run(crashed.info.run_id)  # mlflow ui's Delete: the store keeps it, marked deleted
    resumed = train(cfg, data_path, tmp_path / "m", tmp_path / "m", checkpoints=tmp_path / "ckpt")
    run = MlflowClient().get_run(resumed["run_id"])
    assert resumed["run_id"] != crashed.info.run_id and run.info.status == "FINISHED" and run.info.lifecycle_stage == "active"
    assert MlflowClient().get_run(crashed.info.run_id).info.lifecycle_stage == "deleted"


def test_a_training_of_the_same_params_running_meanwhile_keeps_its_checkpoint_folder(data, tmp_path, monkeypatch):
    # `dvc exp run --queue -j 2` of two experiments that differ only in metrics.*: one fingerprint, one folder.
    import fcntl

    from gansweep.train import fingerprint

    data_path, cfg = crashed_in_epoch_1(data, tmp_path, monkeypatch)
    folder = tmp_path / "ckpt" / fingerprint(cfg, data_path)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    with open(folder / ".lock", "a") as other:  # the other training's hold on the folder
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.warns(UserWarning, match=f"another training of these params is using {folder}: this one keeps no checkpoints"):
            alongside = train(cfg, data_path, tmp_path / "n", tmp_path / "n", checkpoints=tmp_path / "ckpt")
        assert {path.name: path.read_bytes() for path in folder.iterdir()} == before  # neither resumed into nor deleted
    run = MlflowClient().get_run(alongside["run_id"])
    assert run.info.status == "FINISHED" and "gansweep.resumed_after_epoch" not in run.data.tags
    resumed = train(cfg, data_path, tmp_path / "m", tmp_path / "m", checkpoints=tmp_path / "ckpt")  # the folder's own run, once free
    assert MlflowClient().get_run(resumed["run_id"]).data.tags["gansweep.resumed_after_epoch"] == "0" and not folder.exists()
