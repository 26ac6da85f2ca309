"""Settings declared once: a dataclass field's type, default and range (:func:`setting`), checked by
that declaration wherever the value comes from (Python keywords, a YAML config, ``--set``, a
command-line option). Plain dataclasses and no third-party import, so ``--help`` stays fast."""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import types
import typing
from collections.abc import Callable, Mapping

from .errors import SettingError

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: bound name -> (test that passes, words of the rule)
_BOUNDS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "gt": (lambda v, b: v > b, "more than"), "ge": (lambda v, b: v >= b, "at least"),
    "lt": (lambda v, b: v < b, "less than"), "le": (lambda v, b: v <= b, "at most"),
}


def setting(default: object = dataclasses.MISSING, *, factory: Callable[[], object] | None = None,
            gt: float | str | None = None, ge: float | str | None = None, lt: float | str | None = None,
            le: float | str | None = None, choices: tuple | None = None) -> typing.Any:
    """A dataclass field with its range: ``gt``/``ge``/``lt``/``le`` a number, or the name of another
    field of the same settings (``le="lr"``); ``choices`` the values it takes (``None`` always passes
    for an optional field)."""
    meta = {name: bound for name, bound in (("gt", gt), ("ge", ge), ("lt", lt), ("le", le)) if bound is not None}
    if choices is not None:
        meta["choices"] = tuple(choices)
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class _Mismatch(Exception):
    pass


def convert(hint: object, value: object) -> object:
    """``value`` as a field of type ``hint`` takes it (an int for a float, a number written as the
    string ``"1e-5"``, which YAML reads as a string); :class:`_Mismatch` otherwise."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return convert(option, value)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        return [convert(args[0], v) for v in value] if args else list(value)
    if hint is float:
        if isinstance(value, str) and _NUMBER.match(value.strip()):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise _Mismatch
        return float(value)
    if hint is int:  # NumPy's integers too
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise _Mismatch
        return int(value)
    if hint in (bool, str) and not isinstance(value, hint):
        raise _Mismatch
    if typing.get_origin(hint) is typing.Literal:
        if value not in args:
            raise _Mismatch
    return value


def describe(hint: object) -> str:
    """``hint`` in words, for errors and help."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else describe(a) for a in args)
    if origin is list:
        return f"a list of {describe(args[0])}s" if args else "a list"
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, args))
    names = {bool: "true or false", int: "a whole number", float: "a finite number", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def check_field(section: object, f: dataclasses.Field, hint: object, prefix: str = "") -> object:
    """The value of field ``f`` of ``section``, converted to its type and checked against its range."""
    key, value = f"{prefix}{f.name}", getattr(section, f.name)
    if dataclasses.is_dataclass(hint) or dataclasses.is_dataclass(value):
        return value
    if value is None:  # only where the type admits it
        if hint is type(None) or type(None) in typing.get_args(hint):
            return None
        raise SettingError(f"{key} = None: expected {describe(hint)}", key)
    try:
        value = convert(hint, value)
    except _Mismatch:
        raise SettingError(f"{key} = {value!r}: expected {describe(hint)}", key) from None
    choices = f.metadata.get("choices")
    if choices is not None and value not in choices:
        raise SettingError(f"{key} = {value!r}: one of {', '.join(map(str, choices))}", key)
    for number in value if isinstance(value, list) else [value]:
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            continue
        for rule, (passes, words) in _BOUNDS.items():
            bound = f.metadata.get(rule)
            if bound is None:
                continue
            limit = getattr(section, bound, None) if isinstance(bound, str) else bound
            if limit is not None and not passes(number, limit):
                named = f" {prefix}{bound} ({limit!r})" if isinstance(bound, str) else f" {limit!r}"
                raise SettingError(f"{key} = {value!r}: must be {words}{named}", key)
    return value


def check(section: object, prefix: str = "") -> None:
    """Convert and check every field of dataclass ``section`` (and of the sections it holds) in place;
    a :class:`SettingError` naming the first bad key (``prefix`` + name). Call it in ``__post_init__``."""
    hints = typing.get_type_hints(type(section))
    for f in dataclasses.fields(section):
        value = check_field(section, f, hints[f.name], prefix)
        object.__setattr__(section, f.name, value)
        if isinstance(value, list):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    check(item, f"{prefix}{f.name}[{i}].")
        elif dataclasses.is_dataclass(value):
            check(value, f"{prefix}{f.name}.")


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
    unknown = sorted(set(data) - set(names))
    if unknown:
        key = f"{prefix}{unknown[0]}"
        raise SettingError(f"{key}: no such setting; known: {', '.join(names)}", key)
    values = {}
    for name, value in data.items():
        hint, key = hints[name], f"{prefix}{name}"
        item = typing.get_args(hint)[0] if typing.get_origin(hint) is list and typing.get_args(hint) else None
        if dataclasses.is_dataclass(item):
            if not isinstance(value, (list, type(None))):
                raise SettingError(f"{key} = {value!r}: expected a list", key)
            values[name] = [build(item, v, f"{key}[{i}].") for i, v in enumerate(value or [])]
        elif dataclasses.is_dataclass(hint):
            values[name] = build(hint, value, f"{key}.")
        else:
            values[name] = value
    try:
        return cls(**values)
    except SettingError as exc:  # the section checked itself with its own names: say where it sits
        if not prefix or exc.key is None:
            raise
        raise SettingError(f"{prefix}{exc}", f"{prefix}{exc.key}") from exc


def option(cls: type, name: str) -> Callable[[str], object]:
    """An argparse ``type=`` that reads a command-line string as field ``name`` of ``cls`` is declared
    (so the option and the setting share one range)."""
    import argparse

    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    hint = typing.get_type_hints(cls)[name]

    def parse(text: str) -> object:
        value: object = text
        base = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        if base[0] is int:
            value = int(text) if re.fullmatch(r"[+-]?\d+", text.strip()) else text
        probe = types.SimpleNamespace(**{name: value})
        try:
            return check_field(probe, f, hint)
        except SettingError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    parse.__name__ = name
    return parse
