"""Saved generators: the network's config, the image shape and the weights, in one file that
`evaluate`, benchmarks and reports load without the training stack."""
from __future__ import annotations

from pathlib import Path

import torch

from gansweep.config import ModelConfig
from gansweep.nn.networks import Generator
from gansweep.paths import reading


def save_generator(path: Path, model: ModelConfig, image_shape, state_dict: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.model_dump(), "image_shape": list(image_shape), "state_dict": state_dict}, path)


def load_generator(path: Path, device: str = "cpu") -> Generator:
    with reading(path, "generator"):
        saved = torch.load(path, map_location=device, weights_only=True)
    generator = Generator(ModelConfig.model_validate(saved["model"]), tuple(saved["image_shape"]))
    generator.load_state_dict(saved["state_dict"])
    return generator.to(device).eval()
