"""params.yaml -> typed, frozen config. The only place that reads params and rejects bad values.

params.yaml is the single source of truth: the sections below have no defaults of their own, so a
missing key is an error, not a silent fallback. Code that needs a config in-process (tests, study
trials) loads params.yaml and applies overrides (`load_config(path, overrides)`).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from gansweep.augment import AUGMENTS
from gansweep.data.sources import DATASETS
from gansweep.losses import LOSSES, OPTIMIZERS, build_loss
from gansweep.metrics.inception import CONVENTIONS, RUNTIMES
from gansweep.nn.activations import ACTIVATIONS
from gansweep.nn.outputs import OUTPUTS
from gansweep.nn.networks import ARCHITECTURES, check_architecture
from gansweep.nn.norms import NORMS
from gansweep import space
from gansweep.overrides import parse_yaml, with_overrides  # with_overrides: also the config's public API
from gansweep.registry import ConfigError, Registry


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def one_of(registry: Registry):
    """A name of `registry`'s: an unknown one is refused with the registry's own list of names."""
    return Annotated[str, BeforeValidator(lambda value: _check(registry, value))]


def exactly(*values):
    """Literal[values], refusing True for 1 and 1 for True (pydantic's Literal compares with ==, strict or not)."""
    def check(value):
        if any(value == v and type(value) is not type(v) for v in values):
            raise ValueError(f"Input should be {', '.join(map(repr, values[:-1]))} or {values[-1]!r}, got {value!r}")
        return value
    return Annotated[Literal[values], BeforeValidator(check)]


class DataConfig(Section):
    dataset: one_of(DATASETS)
    seed: int = Field(ge=0)
    # Only the folder dataset reads these three; dvc.yaml makes data.path a dependency of `prepare`.
    path: str = Field(min_length=1)
    image_size: Optional[int] = Field(ge=8)  # the side of the square images
    channels: Optional[exactly(1, 3)]  # 1: grayscale, 3: RGB

    @model_validator(mode="after")
    def _folder_keys(self):
        folder = self.dataset == "folder"
        for key in ("image_size", "channels"):
            if folder and getattr(self, key) is None:
                raise ValueError(f".{key}: the folder dataset needs it (the side of the square images / 1 or 3 channels)")
            if not folder and getattr(self, key) is not None:
                shape = "x".join(map(str, DATASETS.get(self.dataset).image_shape))
                raise ValueError(f".{key}: only the folder dataset takes it ({self.dataset} images are {shape}); set null")
        return self

    def image_shape(self) -> tuple[int, int, int]:
        return tuple(DATASETS.get(self.dataset)(self).image_shape)


class ModelConfig(Section):
    architecture: one_of(ARCHITECTURES)
    latent_dim: int = Field(gt=0)
    g_width: int = Field(gt=0)
    d_width: int = Field(gt=0)
    g_activation: one_of(ACTIVATIONS)
    d_activation: one_of(ACTIVATIONS)
    leaky_relu_slope: float = Field(ge=0)
    elu_alpha: float = Field(gt=0)
    g_output: one_of(OUTPUTS)
    g_norm: one_of(NORMS)
    d_norm: Optional[one_of(NORMS)]  # None: the loss's recipe
    batch_norm_momentum: float = Field(gt=0, lt=1)
    g_dropout: float = Field(ge=0, lt=1)
    d_dropout: float = Field(ge=0, lt=1)


class LossConfig(Section):
    name: one_of(LOSSES)
    options: dict[str, Any]

    @model_validator(mode="after")
    def _build(self):
        build_loss(self.name, self.options)  # raises ConfigError naming the key
        return self


class TrainConfig(Section):
    epochs: int = Field(gt=0)
    batch_size: int = Field(gt=0)
    limit_batches: Optional[int] = Field(gt=0)
    seed: int = Field(ge=0)
    # None: take the loss's recipe (its paper's setting).
    n_critic: Optional[int] = Field(gt=0)
    lr_g: Optional[float] = Field(gt=0)
    lr_d: Optional[float] = Field(gt=0)
    beta1: Optional[float] = Field(ge=0, lt=1)
    beta2: Optional[float] = Field(ge=0, lt=1)
    optimizer: Optional[one_of(OPTIMIZERS)]
    sample_grid_size: int = Field(gt=0)
    # Periodic KID/FID of a few generated images picks the best generator (GANs often collapse late),
    # against real images and latents that the reported scores never use (see gansweep.selection).
    eval_every_n_epochs: int = Field(ge=0)  # 0: off, the last generator is the best
    eval_images: int = Field(gt=1)
    eval_reference_images: int = Field(gt=1)
    # Generator EMA (gansweep.ema): the decay per generator step, null = off; its warm-up caps the
    # average's half-life at ema_rampup x the steps so far (null = no warm-up).
    ema: Optional[float] = Field(gt=0, lt=1)
    ema_rampup: Optional[float] = Field(gt=0)


class RegularizationConfig(Section):
    d_spectral_norm: bool
    g_l1: float = Field(ge=0)
    g_l2: float = Field(ge=0)
    d_l1: float = Field(ge=0)
    d_l2: float = Field(ge=0)
    g_weight_decay: float = Field(ge=0)
    d_weight_decay: float = Field(ge=0)
    gradient_penalty: Optional[float] = Field(ge=0)  # None: the loss's recipe (10 for wgan_gp)
    r1: float = Field(ge=0)
    augment: list[str]  # DiffAugment policy (gansweep.augment), applied before every discriminator call

    @field_validator("augment", mode="before")
    @classmethod
    def _augment(cls, value):
        if isinstance(value, str):  # "translation,cutout" (DiffAugment's own form; a search space needs one string), "none"
            value = [] if value.strip() in ("", "none") else [part.strip() for part in value.split(",")]
        if not isinstance(value, list):
            raise ValueError(f"expected a list of augmentations (or 'none'), got {value!r}; choose from: {', '.join(AUGMENTS.names())}")
        value = [_check(AUGMENTS, name) for name in value]
        if len(set(value)) != len(value):
            raise ValueError(f"each augmentation at most once, got {value!r}")
        return value


# Published evaluation protocols: a preset fixes these keys, whatever params.yaml says for them.
PROTOCOLS = {
    # Lucic et al. 2018, "Are GANs Created Equal?", Sec. 5: FID of 10,000 generated vs 10,000 test images.
    "lucic2018": {"reference_split": "test", "reference_images": 10_000, "generated_images": 10_000},
}


class MetricsConfig(Section):
    protocol: Optional[str]  # None: the values below
    convention: one_of(CONVENTIONS)
    reference_split: Literal["train", "test"]
    reference_images: int = Field(gt=1)
    generated_images: int = Field(gt=1)
    kid_subsets: int = Field(gt=0)
    kid_subset_size: int = Field(gt=1)
    precision_recall_k: int = Field(gt=0)
    inception_score: bool  # needs a one-time download of the Inception logits layer
    seed: int = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _apply_protocol(cls, data):
        if isinstance(data, dict) and data.get("protocol") is not None:
            if not isinstance(data["protocol"], str) or data["protocol"] not in PROTOCOLS:  # a list is unhashable
                raise ValueError(f"protocol: unknown {data['protocol']!r}; choose one of: {', '.join(PROTOCOLS)} (or null)")
            data = {**data, **PROTOCOLS[data["protocol"]]}
        return data

    @model_validator(mode="after")
    def _samples_are_large_enough(self):
        smallest = min(self.reference_images, self.generated_images)
        if self.kid_subset_size > smallest:
            raise ValueError(f"kid_subset_size ({self.kid_subset_size}) must not exceed reference_images and generated_images ({smallest})")
        if self.precision_recall_k >= smallest:
            raise ValueError(f"precision_recall_k ({self.precision_recall_k}) must be below reference_images and generated_images "
                             f"({smallest}): each image needs k other images for its k-NN radius")
        return self


class ComputeConfig(Section):
    """How a run uses the hardware. The defaults keep every result what float32 computes;
    precision and compile are opt-in because they change the trained weights."""

    accelerator: Literal["auto", "cpu", "gpu"]  # auto: a GPU when there is one
    devices: int = Field(gt=0)  # GPUs for one training; > 1 runs Lightning DDP
    precision: Literal["32-true", "bf16-mixed"]  # the training's arithmetic
    compile: bool  # torch.compile both networks
    channels_last: exactly("auto", True, False)  # NHWC convolutions; auto: on a GPU
    data_on_device: bool  # the prepared images live on the accelerator (when they fit): no DataLoader copies
    inception: one_of(RUNTIMES)  # auto: OpenVINO on the CPU, TorchScript on a GPU
    selection_scorer: Literal["fast", "exact"]  # fast: bf16 Inception where the hardware has it, for ranking only

    @model_validator(mode="after")
    def _devices_need_gpus(self):
        if self.devices > 1 and self.accelerator == "cpu":
            raise ValueError("devices: more than one device needs GPUs (accelerator auto or gpu); on the CPU use 1")
        return self


class TrackingConfig(Section):
    experiment: str = Field(min_length=1)


class RunConfig(Section):
    """Everything one training and its evaluation read (params.yaml but its `search` section)."""

    data: DataConfig
    model: ModelConfig
    loss: LossConfig
    regularization: RegularizationConfig
    train: TrainConfig
    metrics: MetricsConfig
    compute: ComputeConfig
    tracking: TrackingConfig

    @model_validator(mode="after")
    def _sections_agree(self):
        """The checks across sections, in the order they are reported: the first that fails is the error."""
        splits = DATASETS.get(self.data.dataset).splits
        if self.metrics.reference_split not in splits:
            split, preset = self.metrics.reference_split, self.metrics.protocol  # the user's split, or the protocol's
            raise ValueError(f"metrics.protocol: {preset} scores on the {split!r} split, which {self.data.dataset} does not have; set "
                             "metrics.protocol: null" if preset else
                             f"metrics.reference_split: {self.data.dataset} has no {split!r} split; choose one of: {', '.join(splits)}")
        check_architecture(self.resolved_model(), self.data.image_shape())
        if self.train.batch_size % self.compute.devices:
            raise ValueError(f"train.batch_size ({self.train.batch_size}) must be a multiple of compute.devices ({self.compute.devices}): "
                             "each device trains on an equal share of every batch")
        recipe = self.recipe()  # the per-image penalties: gradient_penalty (the loss's recipe when null) and r1
        penalties = [name for name, weight in (("gradient_penalty", recipe.gradient_penalty), ("r1", self.regularization.r1)) if weight]
        if penalties and recipe.d_norm == "batch":
            raise ValueError(f"the discriminator uses batch norm (model.d_norm, or the loss's recipe when null) but regularization.{penalties[0]} "
                             "penalises per-image critic gradients, which batch norm couples across the batch (Gulrajani et al. 2017, Sec. 4): "
                             "set model.d_norm to layer, instance or none")
        return self

    def recipe(self):
        """The loss's recipe, with the values that params.yaml sets (not null) in its place."""
        overrides = {"d_norm": self.model.d_norm, "gradient_penalty": self.regularization.gradient_penalty,
                     **{key: getattr(self.train, key) for key in ("n_critic", "lr_g", "lr_d", "beta1", "beta2", "optimizer")}}
        return dataclasses.replace(LOSSES.get(self.loss.name).recipe, **{k: v for k, v in overrides.items() if v is not None})

    def resolved_model(self) -> ModelConfig:
        """The model section with the recipe's choices filled in (what the networks are built from)."""
        return self.model.model_copy(update={"d_norm": self.recipe().d_norm})

    def check_budget(self, n_images: int) -> None:
        """Refuses a run whose generator would never be updated."""
        t, n_critic = self.train, self.recipe().n_critic
        batches = min(n_images // t.batch_size, t.limit_batches or n_images)  # limit_batches: None or > 0
        if batches == 0:
            raise ConfigError(f"train.batch_size ({t.batch_size}) is larger than the training set ({n_images} images)")
        if t.epochs * batches < n_critic:
            raise ConfigError(f"train: the whole run has {t.epochs * batches} critic steps ({t.epochs} epochs x {batches} batches), "
                              f"fewer than n_critic = {n_critic} ({self.loss.name}): the generator would never be updated; "
                              "raise train.epochs or train.limit_batches, or lower train.n_critic")

    def flat(self) -> dict[str, Any]:
        """Dotted keys -> values, as logged to MLflow."""
        return flatten(self.model_dump())


class SearchConfig(Section):
    """An Optuna study over the run config (see gansweep.study and gansweep.space)."""

    study: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # also a folder name under studies/
    n_trials: int = Field(gt=0)
    timeout: Optional[float] = Field(gt=0)  # seconds; null: no limit
    sampler: one_of(space.SAMPLERS)
    pruner: one_of(space.PRUNERS)
    objective: Literal["fid", "kid"]
    workers: Union[Literal["auto"], int]
    workers_per_gpu: Union[Literal["auto"], int]  # one GAN trial uses a few percent of a GPU: several share one
    storage: Optional[str]  # null: a journal file under studies/<study>/; or postgresql://user@host:port/db
    heartbeat: int = Field(gt=0)  # seconds between a worker's signs of life (PostgreSQL storage)
    seed: int = Field(ge=0)
    # Lucic et al. 2018's budget-fair comparison of this factor's levels (gansweep.budget)
    budget_factor: Optional[str]
    space: dict[str, Any]

    @model_validator(mode="after")
    def _budget_study(self):
        key = self.budget_factor
        if key is not None and not isinstance(self.space.get(key), list):
            raise ValueError(f".budget_factor: {key} must be a key of search.space with a choice list (its levels), "
                             f"got {'a range' if key in self.space else 'no such key'}")
        if key is not None and (self.sampler != "random" or self.pruner != "none"):
            raise ValueError(".budget_factor: a budget-fair study draws the other keys at random and trains every trial to the end: "
                             f"set search.sampler: random and search.pruner: none (got {self.sampler}, {self.pruner})")
        return self

    @field_validator("workers", "workers_per_gpu")
    @classmethod
    def _workers(cls, value):
        if isinstance(value, int) and value < 1:
            raise ValueError(f"must be auto or a positive number, got {value}")
        return value

    @field_validator("space", mode="before")
    @classmethod
    def _space(cls, value):
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping of dotted params keys to choice lists or ranges, got {value!r}")
        parsed = {}
        for key, spec in value.items():
            if isinstance(spec, dict):
                try:
                    spec = space.Range.model_validate(spec)
                except ValidationError as err:
                    first = min(err.errors(), key=lambda e: e["type"] != "extra_forbidden")  # a typo explains the rest
                    field = "".join(f".{p}" for p in first["loc"])
                    message = first["msg"].removeprefix("Value error, ")
                    if first["type"] == "extra_forbidden":
                        message = "unknown key; a range has low, high, log, step"
                    elif first["type"] != "value_error":
                        message = f"{message}, got {first['input']!r}"
                    raise ValueError(f".{key}{field}: {message}") from None  # "." : _describe appends it to the key
            elif not isinstance(spec, list):
                raise ValueError(f".{key}: expected a choice list or a range {{low, high, log, step}}, got {spec!r}")
            parsed[key] = spec
        return parsed


class Config(RunConfig):
    """All of params.yaml."""

    search: SearchConfig

    @model_validator(mode="after")
    def _space_fits_the_params(self):
        space.check(self.search.space, self.run_config(), self.search.sampler)
        return self

    def run_config(self) -> RunConfig:
        return RunConfig.model_validate(self.model_dump(exclude={"search"}))


def _check(registry: Registry, value: Any) -> str:
    if not isinstance(value, str) or value not in registry:
        raise ValueError(registry.unknown_message(value))
    return value


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# pydantic error types whose message names a bound or a type but not the rejected value.
_SHOW_INPUT = ("_type", "greater_than", "less_than", "finite_number", "literal_error", "too_short", "parsing")


def _describe(error: dict) -> str:
    key = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        section = Config
        for part in error["loc"][:-1]:
            section = section.model_fields[part].annotation
        message = f"unknown key; valid keys here: {', '.join(section.model_fields)}"
    elif error["type"] == "missing":
        message = "missing: params.yaml must set every key (it is the single source of truth)"
    elif any(kind in error["type"] for kind in _SHOW_INPUT):
        message = f"{message}, got {error['input']!r}"
    if not key or message.startswith(f"{key}."):  # the message already names the key
        return message
    if message.startswith("."):  # the message names a key below this one
        return key + message
    return f"{key}: {message}"


def explain(err: ValidationError) -> str:
    """A validation error as one line: each problem with its key, the rejected value and the valid ones."""
    return "; ".join(_describe(e) for e in err.errors())


def parse_config(raw: Any, source: str = "params.yaml") -> Config:
    if not isinstance(raw, dict):
        kind = "an empty file" if raw is None else type(raw).__name__
        raise ConfigError(f"{source}: expected a mapping of sections ({', '.join(Config.model_fields)}), got {kind}")
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"{source}: " + explain(err)) from None


def read_params(path: str | Path = "params.yaml") -> dict:
    """The raw mapping in a params file, with YAML errors reported by line and column."""
    try:
        return parse_yaml(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (run from the project root, where dvc.yaml is)") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        cause = " ".join(part for part in (getattr(err, "context", None), getattr(err, "problem", None)) if part)
        raise ConfigError(f"{path}: not valid YAML{where}: {cause or err}") from None


def load_config(path: str | Path = "params.yaml", overrides: dict[str, Any] | None = None) -> Config:
    raw = read_params(path)
    if overrides:
        raw = with_overrides(raw if isinstance(raw, dict) else {}, overrides)
    return parse_config(raw, str(path))
