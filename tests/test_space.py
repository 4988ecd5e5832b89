"""The size of a grid over a search space: what a grid study runs, and never more; what a space refuses."""
import optuna
import pytest

from gansweep.config import RunConfig, load_config
from gansweep.registry import ConfigError
from gansweep.space import grid_size, suggest
from helpers import ROOT


def space_of(space):
    return load_config(ROOT / "params.yaml", {"search.sampler": "grid", "search.space": space}).search.space


def test_a_grid_counts_every_choice_and_step_and_a_loss_option_only_with_its_loss():
    assert grid_size(space_of({"model.d_activation": ["leaky_relu", "elu"], "train.seed": [0, 1, 2]})) == 6
    assert grid_size(space_of({"train.epochs": {"low": 2, "high": 8, "step": 2}})) == 4
    assert grid_size(space_of({"train.lr_g": {"low": 1.0e-4, "high": 3.0e-4, "step": 1.0e-4}})) == 3
    with_options = {"model.d_activation": ["leaky_relu", "elu"], "loss.name": ["non_saturating", "lsgan", "ebgan"],
                    "loss.options.ebgan.margin": {"low": 5.0, "high": 15.0, "step": 5.0}, "loss.options.lsgan.a": [-1, 0],
                    "train.seed": [0, 1, 2]}
    assert grid_size(space_of(with_options)) == 2 * 3 * (1 + 2 + 3)


def test_the_recipe_keys_are_searchable_and_checked_like_any_other():
    import optuna
    import pytest

    from gansweep.config import RunConfig, with_overrides
    from gansweep.registry import ConfigError
    from gansweep.space import suggest

    space = {"model.architecture": ["dcgan", "infogan", "resnet"], "regularization.augment": ["none", "translation", "translation,cutout"],
             "train.ema": [None, 0.999]}
    assert grid_size(space_of(space)) == 18
    cfg = load_config(ROOT / "params.yaml", {"search.space": space})
    trial = optuna.trial.FixedTrial({"model.architecture": "infogan", "regularization.augment": "translation,cutout", "train.ema": 0.999})
    overrides = suggest(trial, cfg.search.space, RunConfig)
    run = RunConfig.model_validate(with_overrides(cfg.run_config().model_dump(), overrides))
    assert (run.model.architecture, run.regularization.augment, run.train.ema) == ("infogan", ["translation", "cutout"], 0.999)
    with pytest.raises(ConfigError, match="search.space.regularization.augment: unknown 'flip' augmentation"):
        space_of({"regularization.augment": ["none", "flip"]})
    with pytest.raises(ConfigError, match="search.space.model.architecture: unknown 'vit' architecture"):
        space_of({"model.architecture": ["dcgan", "vit"]})


@pytest.mark.parametrize("space, message", [
    ({"train.epochs": [2, 2.5]}, "search.space.train.epochs: train.epochs is an integer, got 2.5"),  # not trained as 2
    ({"train.epochs": [float("inf")]}, "search.space.train.epochs: train.epochs is an integer, got inf"),
    ({"train.epochs": [float("nan")]}, "search.space.train.epochs: train.epochs is an integer, got nan"),
    ({"loss.options.lsgan.a": [-1.0, 0.0]}, "search.space.loss.options.lsgan.a: sampled only in trials whose loss.name is lsgan"),
    ({"loss.name": ["hinge", "ebgan"], "loss.options.lsgan.a": [-1.0]},
     "search.space.loss.options.lsgan.a: sampled only in trials whose loss.name is lsgan: add lsgan to search.space's loss.name"),
])
def test_a_space_refuses_choices_no_trial_would_train_as_written(space, message):
    with pytest.raises(ConfigError) as refused:
        load_config(ROOT / "params.yaml", {"search.space": space})
    assert message in str(refused.value)


def test_a_loss_option_with_its_loss_fixed_by_a_one_item_list_is_sampled():
    space = load_config(ROOT / "params.yaml", {"search.space": {"loss.name": ["lsgan"], "loss.options.lsgan.a": [-1.0, 0.0]}}).search.space
    assert grid_size(space) == 2
    overrides = suggest(optuna.trial.FixedTrial({"loss.name": "lsgan", "loss.options.lsgan.a": 0.0}), space, RunConfig)
    assert overrides == {"loss.name": "lsgan", "loss.options": {"a": 0.0}}
