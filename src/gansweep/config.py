"""params.yaml -> typed, frozen config. The only place that reads params and rejects bad values."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gansweep.data.sources import DATASETS
from gansweep.losses import LOSSES, build_loss
from gansweep.metrics.inception import CONVENTIONS
from gansweep.nn.activations import ACTIVATIONS
from gansweep.nn.networks import OUTPUTS
from gansweep.nn.norms import NORMS
from gansweep.registry import ConfigError, Registry


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DataConfig(Section):
    dataset: str = "mnist-5k"
    seed: int = 0

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value):
        return _check(DATASETS, value)


class ModelConfig(Section):
    latent_dim: int = Field(64, gt=0)
    g_width: int = Field(64, gt=0)
    d_width: int = Field(64, gt=0)
    g_activation: str = "relu"
    d_activation: str = "leaky_relu"
    leaky_relu_slope: float = Field(0.2, ge=0)
    elu_alpha: float = Field(1.0, gt=0)
    g_output: str = "tanh"
    g_norm: str = "batch"
    d_norm: Optional[str] = None  # None: the loss's recipe
    batch_norm_momentum: float = Field(0.1, gt=0, lt=1)
    g_dropout: float = Field(0.0, ge=0, lt=1)
    d_dropout: float = Field(0.0, ge=0, lt=1)

    @field_validator("g_activation", "d_activation")
    @classmethod
    def _activation(cls, value):
        return _check(ACTIVATIONS, value)

    @field_validator("g_norm", "d_norm")
    @classmethod
    def _norm(cls, value):
        return value if value is None else _check(NORMS, value)

    @field_validator("g_output")
    @classmethod
    def _output(cls, value):
        if value not in OUTPUTS:
            raise ValueError(f"unknown {value!r} output; choose one of: {', '.join(sorted(OUTPUTS))}")
        return value


class LossConfig(Section):
    name: str = "non_saturating"
    options: dict[str, Any] = {}

    @field_validator("name")
    @classmethod
    def _loss(cls, value):
        return _check(LOSSES, value)

    @model_validator(mode="after")
    def _build(self):
        build_loss(self.name, self.options)  # raises ConfigError naming the key
        return self


class TrainConfig(Section):
    epochs: int = Field(15, gt=0)
    batch_size: int = Field(64, gt=0)
    limit_batches: Optional[int] = Field(None, gt=0)
    seed: int = 0
    # None: take the loss's recipe (its paper's setting).
    n_critic: Optional[int] = Field(None, gt=0)
    lr_g: Optional[float] = Field(None, gt=0)
    lr_d: Optional[float] = Field(None, gt=0)
    beta1: Optional[float] = Field(None, ge=0, lt=1)
    beta2: Optional[float] = Field(None, ge=0, lt=1)
    optimizer: Optional[Literal["adam", "rmsprop"]] = None
    sample_grid_size: int = Field(64, gt=0)
    # Periodic KID/FID of a few generated images picks the best generator (GANs often collapse late).
    eval_every_n_epochs: int = Field(4, ge=0)  # 0: off, the last generator is the best
    eval_images: int = Field(100, gt=1)


class RegularizationConfig(Section):
    d_spectral_norm: bool = False
    g_l1: float = Field(0.0, ge=0)
    g_l2: float = Field(0.0, ge=0)
    d_l1: float = Field(0.0, ge=0)
    d_l2: float = Field(0.0, ge=0)
    g_weight_decay: float = Field(0.0, ge=0)
    d_weight_decay: float = Field(0.0, ge=0)
    gradient_penalty: Optional[float] = Field(None, ge=0)  # None: the loss's recipe (10 for wgan_gp)
    r1: float = Field(0.0, ge=0)


# Published evaluation protocols: a preset fixes these keys, whatever params.yaml says for them.
PROTOCOLS = {
    # Lucic et al. 2018, "Are GANs Created Equal?", Sec. 5: FID of 10,000 generated vs 10,000 test images.
    "lucic2018": {"reference_split": "test", "reference_images": 10_000, "generated_images": 10_000},
}


class MetricsConfig(Section):
    protocol: Optional[str] = None  # None: the values below
    convention: str = "legacy_tensorflow"
    reference_split: Literal["train", "test"] = "train"
    reference_images: int = Field(500, gt=1)
    generated_images: int = Field(500, gt=1)
    kid_subsets: int = Field(10, gt=0)
    kid_subset_size: int = Field(100, gt=1)
    precision_recall_k: int = Field(3, gt=0)
    inception_score: bool = False  # needs a one-time download of the Inception logits layer
    seed: int = 0

    @model_validator(mode="before")
    @classmethod
    def _apply_protocol(cls, data):
        if isinstance(data, dict) and data.get("protocol") is not None:
            if data["protocol"] not in PROTOCOLS:
                raise ValueError(f"protocol: unknown {data['protocol']!r}; choose one of: {', '.join(PROTOCOLS)} (or null)")
            data = {**data, **PROTOCOLS[data["protocol"]]}
        return data

    @field_validator("convention")
    @classmethod
    def _convention(cls, value):
        return _check(CONVENTIONS, value)

    @model_validator(mode="after")
    def _subset_fits(self):
        smallest = min(self.reference_images, self.generated_images)
        if self.kid_subset_size > smallest:
            raise ValueError(
                f"kid_subset_size ({self.kid_subset_size}) must not exceed reference_images and generated_images ({smallest})"
            )
        return self


class TrackingConfig(Section):
    experiment: str = Field("gansweep", min_length=1)


class Config(Section):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    regularization: RegularizationConfig = RegularizationConfig()
    train: TrainConfig = TrainConfig()
    metrics: MetricsConfig = MetricsConfig()
    tracking: TrackingConfig = TrackingConfig()

    @model_validator(mode="after")
    def _split_exists(self):
        splits = DATASETS.get(self.data.dataset).splits
        if self.metrics.reference_split not in splits:
            raise ValueError(
                f"metrics.reference_split: {self.data.dataset} has no {self.metrics.reference_split!r} split; "
                f"choose one of: {', '.join(splits)}"
            )
        return self

    @model_validator(mode="after")
    def _penalties_need_per_image_critics(self):
        recipe = self.recipe()
        penalties = [name for name, weight in (("gradient_penalty", recipe.gradient_penalty), ("r1", self.regularization.r1)) if weight]
        if penalties and recipe.d_norm == "batch":
            raise ValueError(
                f"the discriminator uses batch norm (model.d_norm, or the loss's recipe when null) but "
                f"regularization.{penalties[0]} penalises per-image critic gradients, "
                "which batch norm couples across the batch (Gulrajani et al. 2017, Sec. 4): "
                "set model.d_norm to layer, instance or none"
            )
        return self

    def recipe(self):
        """The loss's recipe with every value that params.yaml sets (train.*, model.d_norm,
        regularization.gradient_penalty)."""
        overrides = {
            "d_norm": self.model.d_norm,
            "gradient_penalty": self.regularization.gradient_penalty,
            **{key: getattr(self.train, key) for key in ("n_critic", "lr_g", "lr_d", "beta1", "beta2", "optimizer")},
        }
        recipe = LOSSES.get(self.loss.name).recipe
        return dataclasses.replace(recipe, **{k: v for k, v in overrides.items() if v is not None})

    def resolved_model(self) -> ModelConfig:
        """The model section with the recipe's choices filled in (what the networks are built from)."""
        return self.model.model_copy(update={"d_norm": self.recipe().d_norm})

    def flat(self) -> dict[str, Any]:
        """Dotted keys -> values, as logged to MLflow."""
        return flatten(self.model_dump())


def _check(registry: Registry, value: str) -> str:
    if value not in registry:
        raise ValueError(registry.unknown_message(value))
    return value


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _describe(error: dict) -> str:
    key = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        section = Config
        for part in error["loc"][:-1]:
            section = section.model_fields[part].annotation
        message = f"unknown key; valid keys here: {', '.join(section.model_fields)}"
    elif error["type"] in ("int_type", "float_type", "string_type", "bool_type", "dict_type"):
        message = f"{message}, got {error['input']!r}"
    return f"{key}: {message}" if key else message


def parse_config(raw: Any, source: str = "params.yaml") -> Config:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        # One line per problem, the first is what the user fixes first.
        raise ConfigError(f"{source}: " + "; ".join(_describe(e) for e in err.errors())) from None
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None


def load_config(path: str | Path = "params.yaml") -> Config:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found (run from the project root, where dvc.yaml is)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {str(err).splitlines()[0]}") from None
    return parse_config(raw, str(path))
