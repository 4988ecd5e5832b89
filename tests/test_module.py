"""Real Lightning training steps on a few real MNIST digits, with a real (temporary) MLflow store."""
import lightning.pytorch as pl
import pytest
import torch

from gansweep.data import prepared
from gansweep.generators import load_generator
from gansweep.losses import Recipe
from gansweep.module import GAN
from gansweep.train import train
from helpers import make_config, real_digits


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    return real_digits(tmp_path_factory.mktemp("data"), 64)[0]


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def tiny(**sections):
    raw = {
        "model": {"latent_dim": 8, "g_width": 8, "d_width": 8},
        "train": {"epochs": 1, "batch_size": 16, "limit_batches": 2, "sample_grid_size": 4, "eval_every_n_epochs": 0},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return make_config(**raw)


def run(cfg, data_path, tmp_path, name):
    result = train(cfg, data_path, tmp_path / name, tmp_path / name)
    return result, load_generator(tmp_path / name / "generator.pt")


@pytest.mark.parametrize("loss", ["non_saturating", "lsgan"])
def test_training_changes_the_generator_and_logs_the_run(loss, data_path, tmp_path, store):
    from mlflow.tracking import MlflowClient

    cfg = tiny(loss={"name": loss})
    pl.seed_everything(cfg.train.seed, verbose=False)  # as train() does: the same initial weights
    module = GAN(cfg, (1, 28, 28))
    before = [p.detach().clone() for p in module.generator.parameters()]
    result, generator = run(cfg, data_path, tmp_path, "a")
    after = list(generator.parameters())
    assert any(not torch.equal(b, a) for b, a in zip(before, after))

    client = MlflowClient(store)
    run_ = client.get_run(result["run_id"])
    assert run_.info.status == "FINISHED"
    assert run_.data.params["loss.name"] == loss and run_.data.params["recipe.n_critic"] == "1"
    assert len(run_.data.tags["gansweep.data_sha256"]) == 64
    assert {"d_loss_epoch", "g_loss_epoch"} <= set(run_.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(result["run_id"])}
    assert "model" in artifacts and "images" in artifacts
    rows = (tmp_path / "a" / "train_losses.csv").read_text().splitlines()
    assert rows[0] == "epoch,d_loss,g_loss" and len(rows) == 2
    assert result["last_epoch"] == 0 and result["tracking_uri"] == store


def test_same_seed_gives_bit_identical_generators_on_the_cpu(data_path, tmp_path, store):
    cfg = tiny()
    _, first = run(cfg, data_path, tmp_path, "first")
    _, second = run(cfg, data_path, tmp_path, "second")
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    _, other = run(tiny(train={"seed": 1}), data_path, tmp_path, "other")
    assert any(not torch.equal(a, b) for a, b in zip(first.state_dict().values(), other.state_dict().values()))


def test_recipe_takes_params_overrides():
    cfg = tiny(loss={"name": "wgan_gp"}, train={"lr_g": None, "lr_d": 3e-4, "beta1": None}, model={"d_norm": "none"})
    assert cfg.recipe() == Recipe(
        n_critic=5, lr_g=1e-4, lr_d=3e-4, beta1=0.0, beta2=0.9, d_norm="none", gradient_penalty=10.0
    )
    assert tiny(loss={"name": "wgan_gp"}, regularization={"gradient_penalty": 0}).recipe().gradient_penalty == 0


def test_a_nan_loss_stops_training_and_marks_the_run_failed(data_path, tmp_path, store, monkeypatch):
    from mlflow.tracking import MlflowClient

    from gansweep.losses import NonSaturating
    from gansweep.module import NonFiniteLossError

    monkeypatch.setattr(NonSaturating, "d_loss", lambda self, critic, real, fake: critic(real).mean() * float("nan"))
    with pytest.raises(NonFiniteLossError, match=r"d_loss is nan at epoch 0, batch 0 \(loss 'non_saturating'\)"):
        train(tiny(), data_path, tmp_path / "nan", tmp_path / "nan")
    runs = MlflowClient(store).search_runs(["1"])
    assert [r.info.status for r in runs] == ["FAILED"]


def test_periodic_evaluation_keeps_the_best_generator(data_path, tmp_path, store):
    from mlflow.tracking import MlflowClient

    from gansweep.metrics.fid import save_statistics
    from gansweep.metrics.inception import inception_features, iterate
    from gansweep.protocol import SELECTION, describe

    images, _ = prepared.load(data_path)
    features = inception_features(iterate(images[:8]), total=8, device="cpu")
    cfg = tiny(
        train={"epochs": 3, "eval_every_n_epochs": 2, "eval_images": 6, "eval_reference_images": 8},
        metrics={"kid_subset_size": 4, "kid_subsets": 2, "reference_images": 8, "generated_images": 8},
    )
    save_statistics(tmp_path / "selection.npz", features, **describe(cfg, SELECTION))
    result = train(cfg, data_path, tmp_path / "m", tmp_path / "m", selection_path=tmp_path / "selection.npz")
    client = MlflowClient(store)
    history = client.get_metric_history(result["run_id"], "eval_kid")
    epoch_at = {m.step: m.value for m in client.get_metric_history(result["run_id"], "epoch")}
    d_loss_steps = [m.step for m in client.get_metric_history(result["run_id"], "d_loss_epoch")]
    assert [epoch_at[m.step] for m in history] == [1, 2]  # every 2nd epoch, and after the last
    assert [m.step for m in history] == d_loss_steps[1:]  # on the loss curves' step axis
    best = min(history, key=lambda m: m.value)
    assert result["best_epoch"] == epoch_at[best.step] and result["last_epoch"] == 2
    # The logged score is the selection sample's: its own latent stream against the selection statistics.
    from gansweep.evaluate import selection_score
    from gansweep.metrics.fid import load_statistics

    best_g, last_g = load_generator(tmp_path / "m" / "generator_best.pt"), load_generator(tmp_path / "m" / "generator.pt")
    # rel 1e-6: Lightning logs float32
    assert selection_score(best_g, load_statistics(tmp_path / "selection.npz"), cfg)["kid"] == pytest.approx(best.value, rel=1e-6)
    same = all(torch.equal(a, b) for a, b in zip(best_g.state_dict().values(), last_g.state_dict().values()))
    assert same == (epoch_at[best.step] == 2)


def test_a_score_that_stops_training_is_in_mlflow_first(data_path, tmp_path, store):
    """A study's pruner stops a trial from on_score: the score it stopped on is already logged."""
    import optuna
    from mlflow.tracking import MlflowClient

    from gansweep.metrics.fid import save_statistics
    from gansweep.metrics.inception import inception_features, iterate
    from gansweep.protocol import SELECTION, describe

    images, _ = prepared.load(data_path)
    features = inception_features(iterate(images[:8]), total=8, device="cpu")
    cfg = tiny(train={"epochs": 3, "eval_every_n_epochs": 1, "eval_images": 6, "eval_reference_images": 8},
               metrics={"kid_subset_size": 4, "kid_subsets": 2, "reference_images": 8, "generated_images": 8})
    save_statistics(tmp_path / "selection.npz", features, **describe(cfg, SELECTION))
    heard = []

    def prune(epoch, metrics):
        heard.append((epoch, metrics["kid"]))
        raise optuna.TrialPruned("pruned")

    with pytest.raises(optuna.TrialPruned):
        train(cfg, data_path, tmp_path / "m", tmp_path / "m", selection_path=tmp_path / "selection.npz", on_score=prune)
    client = MlflowClient(store)
    [run] = client.search_runs([client.get_experiment_by_name(cfg.tracking.experiment).experiment_id])
    assert run.info.status == "KILLED" and [epoch for epoch, _ in heard] == [0]
    assert [m.value for m in client.get_metric_history(run.info.run_id, "eval_kid")] == pytest.approx([heard[0][1]], rel=1e-6)


def test_without_periodic_evaluation_the_last_generator_is_the_best(data_path, tmp_path, store):
    result = train(tiny(train={"eval_every_n_epochs": 0}), data_path, tmp_path / "m", tmp_path / "m")
    assert result["best_epoch"] == result["last_epoch"] == 0
    best, last = load_generator(tmp_path / "m" / "generator_best.pt"), load_generator(tmp_path / "m" / "generator.pt")
    assert all(torch.equal(a, b) for a, b in zip(best.state_dict().values(), last.state_dict().values()))


@pytest.mark.parametrize("epochs, batches, d_steps, g_steps", [(1, 4, 4, 2), (2, 3, 6, 3)])
def test_n_critic_counts_critic_steps_across_epochs(epochs, batches, d_steps, g_steps, data_path):
    # n_critic 2: a generator step after every 2nd critic step, also across epoch boundaries.
    cfg = tiny(train={"n_critic": 2, "limit_batches": batches, "epochs": epochs})
    module = GAN(cfg, (1, 28, 28))
    counts = {"d": 0, "g": 0}
    opt_g, opt_d = module.configure_optimizers()
    for key, opt in (("g", opt_g), ("d", opt_d)):
        opt.register_step_post_hook(lambda *_, key=key: counts.__setitem__(key, counts[key] + 1))
    module.configure_optimizers = lambda: (opt_g, opt_d)
    trainer = pl.Trainer(max_epochs=epochs, limit_train_batches=batches, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    images, _ = prepared.load(data_path)
    trainer.fit(module, prepared.dataloader(images, 16, 0))
    assert counts == {"d": d_steps, "g": g_steps}
