"""Settings declared once: a dataclass field's type, default and range (:func:`setting`), checked by
that declaration wherever the value comes from (Python keywords, a YAML config, ``--set``, a
command-line option). Plain dataclasses and no third-party import, so ``--help`` stays fast."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
import operator
import re
import types
import typing
from collections.abc import Callable, Mapping

from .errors import SettingError

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: rule name -> (test that passes, words of the rule)
_RULES = {"gt": (operator.gt, "more than"), "ge": (operator.ge, "at least"), "lt": (operator.lt, "less than"),
          "le": (operator.le, "at most"), "choices": (lambda value, choices: value in choices, "one of")}
#: a plain type -> (whether a value is one, in words); NumPy's numbers are numbers, a bool is not
_TYPES: dict[object, tuple[Callable[[object], bool], str]] = {
    type(None): (lambda v: v is None, "null"),
    bool: (lambda v: isinstance(v, bool), "true or false"),
    int: (lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool), "a whole number"),
    float: (lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v), "a finite number"),
    str: (lambda v: isinstance(v, str), "a string"),
}


def setting(default: object = dataclasses.MISSING, *, factory: Callable[[], object] | None = None,
            gt: float | str | None = None, ge: float | str | None = None, lt: float | str | None = None,
            le: float | str | None = None, choices: tuple | None = None) -> typing.Any:
    """A dataclass field with its range: ``gt``/``ge``/``lt``/``le`` a number or the name of another field
    (``le="lr"``); ``choices`` the values it takes (``None`` always passes for an optional field)."""
    meta = {k: v for k, v in {"gt": gt, "ge": ge, "lt": lt, "le": le, "choices": choices}.items() if v is not None}
    return dataclasses.field(default=default, default_factory=factory or dataclasses.MISSING, metadata=meta)


def convert(hint: object, value: object) -> object:
    """``value`` as a field of type ``hint`` takes it (an int for a float, a number written as the
    string ``"1e-5"``, which YAML reads as a string); a TypeError where ``hint`` does not take it."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            with contextlib.suppress(TypeError):
                return convert(option, value)
        raise TypeError
    if origin is list and isinstance(value, (list, tuple)):
        return [convert(args[0], v) for v in value]
    if hint is float and isinstance(value, str) and _NUMBER.match(value.strip()):
        value = float(value)
    # a list type takes a list only (above); dict, tuple, ...: anything but None
    takes = _TYPES[hint][0] if hint in _TYPES else (lambda v: v is not None and origin is not list)
    if not takes(value):
        raise TypeError
    return hint(value) if hint in (int, float) else value


def describe(hint: object) -> str:
    """``hint`` in words, for errors."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(map(describe, args))
    if origin is list:
        return f"a list of {describe(args[0])}s"
    return _TYPES[hint][1] if hint in _TYPES else getattr(hint, "__name__", str(hint))


def check(section: object) -> None:
    """Convert and check every field of dataclass ``section`` in place; a :class:`SettingError` naming the
    first bad one. Call it in ``__post_init__``: each section checks its own fields."""
    hints = typing.get_type_hints(type(section))
    for f in dataclasses.fields(section):
        key, value = f.name, getattr(section, f.name)
        try:
            value = convert(hints[key], value)
        except TypeError:
            raise SettingError(f"{key} = {value!r}: expected {describe(hints[key])}", key) from None
        for item in value if isinstance(value, list) else [value]:  # None always passes
            for rule, (passes, words) in _RULES.items():
                bound = f.metadata.get(rule)
                limit = getattr(section, bound, None) if isinstance(bound, str) else bound
                if item is not None and limit is not None and not passes(item, limit):
                    shown = ", ".join(map(str, limit)) if rule == "choices" else repr(limit)
                    raise SettingError(f"{key} = {value!r}: must be {words} "
                                       f"{f'{bound} ({shown})' if isinstance(bound, str) else shown}", key)
        object.__setattr__(section, key, value)


def build(cls: type, data: Mapping | None, prefix: str = "") -> typing.Any:
    """Dataclass ``cls`` from plain (YAML) data, its sections recursively; unknown keys and bad values
    are a :class:`SettingError` naming the dotted key."""
    if data is None:
        return cls()
    if not isinstance(data, Mapping):
        key = prefix.rstrip(".") or "config"
        raise SettingError(f"{key}: expected a mapping, got {type(data).__name__}", key)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(f"{prefix}{name}" for name in set(data) - set(names))
    if unknown:
        raise SettingError(f"{unknown[0]}: no such setting; known: {', '.join(names)}", unknown[0])
    values = dict(data)
    for name, value in data.items():
        hint, key = hints[name], f"{prefix}{name}"
        item = typing.get_args(hint)[0] if typing.get_origin(hint) is list else None
        if dataclasses.is_dataclass(item) and isinstance(value, (list, tuple, type(None))):  # else check() complains
            values[name] = [build(item, v, f"{key}[{i}].") for i, v in enumerate(value or [])]
        elif dataclasses.is_dataclass(hint):
            values[name] = build(hint, value, f"{key}.")
    try:
        return cls(**values)
    except SettingError as exc:  # the section checked itself with its own names: say where it sits
        raise SettingError(f"{prefix}{exc}", exc.key and f"{prefix}{exc.key}") from exc


def option(cls: type, name: str) -> Callable[[str], object]:
    """An argparse ``type=`` that reads a command-line string as field ``name`` of ``cls`` is declared
    (so the option and the setting share one range)."""
    import argparse

    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    hint = typing.get_type_hints(cls)[name]
    # the field alone: a bound naming another field is the settings' to check
    alone = dataclasses.make_dataclass(cls.__name__, [(name, hint, dataclasses.field(metadata=f.metadata))],
                                       namespace={"__post_init__": check})

    def parse(text: str) -> object:
        whole = hint is int and re.fullmatch(r"[+-]?\d+", text.strip())
        try:
            return getattr(alone(int(text) if whole else text), name)
        except SettingError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return parse
