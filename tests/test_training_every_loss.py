"""Every loss trains real Lightning steps on real digits with two activation/normalization
combinations: losses stay finite and both networks' parameters change."""
import lightning.pytorch as pl
import pytest
import torch

from helpers import make_config
from gansweep.data import prepared
from gansweep.data.sources import EmbeddedMnist5k
from gansweep.losses import LOSSES
from gansweep.module import GAN

COMBINATIONS = [
    {"g_activation": "relu", "d_activation": "leaky_relu", "g_norm": "batch", "d_norm": "layer"},
    # instance norm normalizes pixels: the DCGAN (infogan refuses it, its FC layers have one pixel per feature)
    {"architecture": "dcgan", "g_activation": "elu", "d_activation": "selu", "g_norm": "instance", "d_norm": "none", "d_dropout": 0.1},
]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    source = EmbeddedMnist5k()
    source.fetch(folder)
    images, _ = source.load(folder)["train"]
    return images[:48]


@pytest.mark.parametrize("model", COMBINATIONS, ids=["relu-lrelu-batch-layer", "elu-selu-instance-none"])
@pytest.mark.parametrize("loss", LOSSES.names())
def test_a_few_steps_change_both_networks(loss, model, digits):
    cfg = make_config(
        model={"latent_dim": 8, "g_width": 8, "d_width": 8, **model}, loss={"name": loss}, train={"batch_size": 8}
    )
    pl.seed_everything(0, verbose=False)
    module = GAN(cfg, digits.shape[1:])
    before = {k: v.clone() for k, v in module.state_dict().items()}
    batches = 2 * cfg.recipe().n_critic  # two generator steps
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=batches, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, deterministic=True)
    trainer.fit(module, prepared.dataloader(digits, 8, 0))  # a NaN or inf loss would raise here

    after = module.state_dict()
    for prefix in ("generator.", "discriminator."):
        changed = [k for k in before if k.startswith(prefix) and not torch.equal(before[k], after[k])]
        assert changed, f"{loss}: no {prefix[:-1]} parameter changed"
    for name in ("d_loss", "g_loss"):
        assert torch.isfinite(trainer.callback_metrics[f"{name}_epoch"])


@pytest.mark.parametrize(
    "loss, model, regularization",
    [
        ("non_saturating", {"d_norm": "layer"}, {"r1": 10.0}),
        ("hinge", {"architecture": "resnet", "d_norm": "instance"}, {"gradient_penalty": 5.0, "d_spectral_norm": True}),
        ("ebgan", {"d_norm": "none"}, {"r1": 1.0}),
        ("lsgan", {"g_dropout": 0.2, "g_output": "sigmoid", "g_activation": "prelu"},
         {"g_l1": 1e-4, "d_l2": 1e-3, "g_weight_decay": 0.01, "d_weight_decay": 0.01}),
    ],
    ids=["r1", "gp+spectral", "ebgan+r1", "l1-l2-decay-dropout-sigmoid"],
)
def test_regularizers_train_with_any_loss(loss, model, regularization, digits):
    cfg = make_config(
        model={"latent_dim": 8, "g_width": 8, "d_width": 8, **model},
        loss={"name": loss, "options": {"pt_weight": 0.1} if loss == "ebgan" else {}},
        regularization=regularization,
        train={"batch_size": 8},
    )
    pl.seed_everything(0, verbose=False)
    module = GAN(cfg, digits.shape[1:])
    before = {k: v.clone() for k, v in module.state_dict().items()}
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=2, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, prepared.dataloader(digits, 8, 0))
    after = module.state_dict()
    for prefix in ("generator.", "discriminator."):
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(prefix))
    assert torch.isfinite(trainer.callback_metrics["d_loss_epoch"])
