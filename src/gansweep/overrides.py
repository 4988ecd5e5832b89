"""Overrides on top of a params mapping (`-S key=value`, a trial's sampled values)."""
from __future__ import annotations

import copy
import re
from typing import Any

import yaml

from gansweep.registry import ConfigError


class Loader(yaml.SafeLoader):
    """YAML 1.1 as PyYAML reads it, but 1e-05 and 5e-4 are numbers (YAML 1.2, and what DVC writes for -S)."""


Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def parse_yaml(text: str):
    return yaml.load(text, Loader=Loader)


def with_overrides(raw: dict, overrides: dict[str, Any]) -> dict:
    """A copy of `raw` with `overrides` applied: dotted keys (`model.g_activation`), or sections
    (`{"model": {"g_activation": "elu"}}`) whose values replace those of the section one by one (a
    mapping value such as `loss.options` or `search.space`, whose keys may hold dots, is replaced whole;
    `search.space.<dotted key>` sets one key of the space)."""
    merged = copy.deepcopy(raw)
    for key, value in overrides.items():
        if isinstance(value, dict) and "." not in key and isinstance(merged.get(key), dict):
            value = {**merged[key], **value}  # a section: its values replaced one by one
        # search.space.train.lr_g: the space's key is train.lr_g (its own keys are dotted params keys)
        *parents, leaf = key.split(".", 2 if key.startswith("search.space.") else -1)
        node = merged
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {key}: {part} is not a section")
        node[leaf] = copy.deepcopy(value)
    return merged


def lookup(tree: dict, key: str):
    """A dotted key's value in a params mapping, None where it is absent."""
    for part in key.split("."):
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree


def changed_keys(old: dict, new: dict, whole: tuple[str, ...] = (), prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two params mappings; a key in `whole` is compared as one value."""
    keys = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict) and key not in whole:
            keys += changed_keys(a, b, whole, f"{prefix}{key}.")
        elif a != b:
            keys.append(f"{prefix}{key}")
    return keys
