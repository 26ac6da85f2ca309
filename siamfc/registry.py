"""The one registry of named builders: network parts (``backbone``, ``head``), dataset layouts' readers
(``dataset``, filled by :mod:`siamfc.data.registry`) and experiment loss terms (``term``). A builder takes
its keyword arguments from a config by name (:func:`build`), so it declares only what it reads."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

from .errors import SettingError

_BUILDERS: dict[str, dict[str, Callable]] = {"backbone": {}, "head": {}, "dataset": {}, "term": {}}


def register(kind: str, name: str) -> Callable[[Callable], Callable]:
    """Decorator adding a builder of ``kind`` under ``name``."""
    def add(builder: Callable) -> Callable:
        if name in _BUILDERS[kind]:
            raise ValueError(f"{kind} {name!r} is registered twice")
        _BUILDERS[kind][name] = builder
        return builder

    return add


def names(kind: str) -> list[str]:
    return sorted(_BUILDERS[kind])


def get(kind: str, name: str, key: str | None = None) -> Callable:
    """The builder of ``kind`` registered as ``name``; a :class:`SettingError` (key ``key`` or ``kind``) otherwise."""
    if name not in _BUILDERS[kind]:
        raise SettingError(f"unknown {kind} {name!r}; known: {', '.join(names(kind)) or 'none'}", key or kind)
    return _BUILDERS[kind][name]


def build(kind: str, name: str, config: object = None, key: str | None = None, **kwargs: object) -> object:
    """The ``kind`` built by ``name``'s builder from ``kwargs`` and the fields of dataclass ``config`` it takes."""
    builder = get(kind, name, key)
    fields = dataclasses.asdict(config) if config is not None else {}
    taken = {k: v for k, v in fields.items() if k in inspect.signature(builder).parameters}
    return builder(**{**taken, **kwargs})
