"""Name -> factory tables, so every choice in params.yaml is a plain string."""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """Bad input in params.yaml: the message is one line naming the key."""


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self._entries:
                raise KeyError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = entry
            return entry

        return add

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str, key: str | None = None) -> T:
        if name not in self._entries:
            raise ConfigError(self.unknown_message(name, key))
        return self._entries[name]

    def unknown_message(self, name: object, key: str | None = None) -> str:
        if not isinstance(name, str):
            return f"expected a {self.kind} name{' for ' + key if key else ''}, got {name!r}; choose one of: {', '.join(self.names())}"
        return f"unknown {name!r}{f' for {key}' if key else f' {self.kind}'}; choose one of: {', '.join(self.names())}"
