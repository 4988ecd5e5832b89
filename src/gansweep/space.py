"""A study's search space (params.yaml `search.space`): dotted params keys -> a choice list or a
range {low, high, log, step}. Checked once against params.yaml (`check`), then sampled per trial
(`suggest`).

Only model, loss, regularization and train keys can be searched: data and the metrics protocol are
the ground every trial of a study is measured on. A loss's own options are keyed
`loss.options.<loss>.<option>` and are sampled only in trials whose `loss.name` is that loss.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gansweep.losses import LOSSES, build_loss
from gansweep.overrides import with_overrides
from gansweep.registry import Registry

SEARCHABLE = ("model", "loss", "regularization", "train")
OPTIONS = "loss.options."

# search.sampler and search.pruner, by name (optuna is imported only when a study makes one).
SAMPLERS: Registry = Registry("sampler")
PRUNERS: Registry = Registry("pruner")


def _quiet(make):
    """Optuna's experimental-feature warnings (multivariate TPE, the brute-force sampler) are not the user's business."""
    def made(*args):
        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return make(optuna, *args)
    return made


SAMPLERS.register("tpe")(_quiet(lambda optuna, seed: optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)))
SAMPLERS.register("random")(_quiet(lambda optuna, seed: optuna.samplers.RandomSampler(seed=seed)))
# every point of a finite space once, conditional options included
SAMPLERS.register("grid")(_quiet(lambda optuna, seed: optuna.samplers.BruteForceSampler(seed=seed)))
# The pruner's resource is the epoch: a trial reports at every periodic evaluation.
PRUNERS.register("hyperband")(_quiet(lambda optuna, train: optuna.pruners.HyperbandPruner(
    min_resource=train.eval_every_n_epochs or train.epochs, max_resource=train.epochs, reduction_factor=3)))
PRUNERS.register("median")(_quiet(lambda optuna, train: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)))
PRUNERS.register("none")(_quiet(lambda optuna, train: optuna.pruners.NopPruner()))


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
    low: float
    high: float
    log: bool = False
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _ordered(self):
        if self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got {self.low:g}")
        if self.log and self.step is not None:
            raise ValueError("a log range takes no step")
        return self


Spec = list | Range


def _is_int(run_config_class, key: str) -> bool:
    """Whether a dotted key's field holds integers, or a one-line error (as `check` says it) naming the valid keys."""
    section, _, name = key.partition(".")
    if section not in SEARCHABLE:
        raise ValueError(f"search.space.{key}: only {', '.join(SEARCHABLE)} keys can be searched "
                         "(data and metrics are the study's fixed ground)")
    model = run_config_class.model_fields[section].annotation
    if name not in model.model_fields or name == "options":
        valid = [f"{section}.{n}" for n in model.model_fields if n != "options"]
        raise ValueError(f"search.space.{key}: unknown key; valid keys here: {', '.join(valid)}"
                         + (", loss.options.<loss>.<option>" if section == "loss" else ""))
    annotation = model.model_fields[name].annotation
    kinds = set(get_args(annotation)) or {annotation}
    return int in kinds and float not in kinds


def check(space: dict[str, Spec], base, sampler: str) -> None:
    """Raises ValueError naming the first bad entry: an unknown key, an empty choice list, a choice
    that params.yaml's validation rejects on its own, a reversed range, a range the grid cannot
    enumerate. `base` is the run config (params.yaml without `search`) that trials start from."""
    if not space:
        raise ValueError("search.space: empty; give at least one key")
    run_class, dump = type(base), base.model_dump()
    for key, spec in space.items():
        where = f"search.space.{key}"
        if isinstance(spec, list):
            if not spec:
                raise ValueError(f"{where}: empty choice list")
            if bad := [v for v in spec if not isinstance(v, (str, int, float, bool)) and v is not None]:
                raise ValueError(f"{where}: choices must be names, numbers, booleans or null, got {bad[0]!r}")
        values = spec if isinstance(spec, list) else [spec.low, spec.high]
        integer = not key.startswith(OPTIONS) and _is_int(run_class, key)  # a loss's options are floats
        if key.startswith(OPTIONS):
            loss, _, option = key.removeprefix(OPTIONS).partition(".")
            if loss not in LOSSES:
                raise ValueError(f"{where}: {LOSSES.unknown_message(loss)}")
            if loss not in (space["loss.name"] if isinstance(space.get("loss.name"), list) else ()):  # suggest samples it only then
                raise ValueError(f"{where}: sampled only in trials whose loss.name is {loss}: add {loss} to search.space's "
                                 f"loss.name choices (a one-item list [{loss}] keeps the loss fixed)")
            try:
                for value in values:
                    build_loss(loss, {option: value})
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from None
        else:
            if isinstance(spec, Range) and integer and not all(float(v).is_integer() for v in (spec.low, spec.high, spec.step or 1)):
                raise ValueError(f"{where}: {key} is an integer; give integer low, high and step")
            for value in values:
                _check_value(run_class, dump, key, value, integer, where)
        if sampler == "grid" and isinstance(spec, Range) and spec.step is None and not integer:
            raise ValueError(f"{where}: the grid sampler enumerates its points: give a choice list or a range with a step")


def _check_value(run_class, dump: dict, key: str, value, integer: bool, where: str) -> None:
    if integer and isinstance(value, float) and not value.is_integer():  # int() would truncate 2.5, fail on inf, nan
        raise ValueError(f"{where}: {key} is an integer, got {value!r}")
    try:
        run_class.model_validate(with_overrides(dump, {key: int(value) if integer and isinstance(value, float) else value}))
    except ValidationError as err:
        for error in err.errors():
            if ".".join(str(p) for p in error["loc"]) == key:  # the value itself is wrong, not its combination
                message = error["msg"].removeprefix("Value error, ")
                shown = "got" in message or "unknown" in message or "expected" in message
                raise ValueError(f"{where}: {message}" if shown else f"{where}: {message}, got {value!r}") from None
    except ValueError:
        pass  # a combination the trial will record as failed (e.g. a penalty with a batch-norm critic)


def suggest(trial, space: dict[str, Spec], run_class) -> dict[str, Any]:
    """Dotted params.yaml overrides for one trial. A loss's options are suggested only when that
    loss is the trial's (so TPE never spends trials on options that do nothing), and its
    `loss.options.<loss>.<option>` keys become the whole `loss.options` mapping of the trial's loss
    (replacing params.yaml's, which may belong to another loss)."""
    params = {key: _suggest(trial, key, spec, _is_int(run_class, key)) for key, spec in space.items() if not key.startswith(OPTIONS)}
    if "loss.name" in params:
        prefix = f"{OPTIONS}{params['loss.name']}."
        params["loss.options"] = {key.removeprefix(prefix): _suggest(trial, key, spec, False)
                                  for key, spec in space.items() if key.startswith(prefix)}
    return params


def _suggest(trial, name: str, spec: Spec, integer: bool):
    if isinstance(spec, list):
        return trial.suggest_categorical(name, spec)
    if integer:
        return trial.suggest_int(name, int(spec.low), int(spec.high), step=int(spec.step or 1), log=spec.log)
    return trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)


def grid_size(space: dict[str, Spec]) -> int:
    """The points of a grid over `space`: every choice and every step of a stepped range, a loss's
    own options only with that loss (as `suggest` samples them)."""
    def points(spec) -> int:
        return len(spec) if isinstance(spec, list) else int((spec.high - spec.low) / (spec.step or 1) + 1e-9) + 1

    total = math.prod(points(spec) for key, spec in space.items() if not key.startswith(OPTIONS) and key != "loss.name")
    per_loss = [math.prod(points(spec) for key, spec in space.items() if key.startswith(f"{OPTIONS}{loss}."))
                for loss in space.get("loss.name", [])]  # a choice list: check refuses a range of names
    return total * (sum(per_loss) if per_loss else 1)


def as_data(space: dict[str, Spec]) -> dict[str, Any]:
    """The space as plain data (JSON, YAML, MLflow params): choice lists, and ranges as mappings."""
    return {key: spec if isinstance(spec, list) else spec.model_dump(exclude_none=True) for key, spec in space.items()}
