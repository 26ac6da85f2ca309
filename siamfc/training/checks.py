"""Type and range checks of config values (YAML or ``--set``), so that a wrong value is one line
naming its key (``lr: "fast"``, ``batch_size: 0``, ``amp: "no"``) instead of a traceback or,
worse, a value taken for what it is not (a non-empty string is true)."""

from __future__ import annotations

import math
import re
import types
import typing

#: fields (by name, in any section) that must be > 0
POSITIVE = frozenset({
    "width", "bn_eps", "out_scale", "channels", "max_gap", "frame_stride", "min_size", "max_size",
    "max_area_ratio", "min_aspect", "max_aspect", "exemplar_size", "search_size", "cache_size",
    "pairs_per_epoch", "lr", "final_lr", "batch_size", "epochs", "positive_radius", "every",
    "checkpoint_minutes",
})
#: fields that must be >= 0
NON_NEGATIVE = frozenset({
    "weight", "num_workers", "momentum", "weight_decay", "grad_clip", "backbone_lr_scale", "distill_weight",
    "feature_weight",
    "hard_negatives", "max_frames", "threads", "seed", "stretch", "shift", "rotate", "aspect", "min_area_ratio",
})
#: probabilities: 0 to 1
PROBABILITY = frozenset({"flip", "grayscale", "color_jitter", "blur", "low_light", "negative_prob"})
#: upper bounds: a network far wider than any real one would only exhaust memory
AT_MOST = {"width": 4.0, "channels": 4096}
#: fields (by dotted key) bounded by another field of their section: (that field, "at most" or
#: "at least", why); a value past it is valid alone but cannot be meant
BOUNDED_BY = {
    "optim.final_lr": ("lr", "at most", "the learning rate decays from lr to final_lr, it never climbs"),
    "data.cache_size": ("search_size", "at least", "a cached crop must hold a whole search view"),
}
#: fields (by name, or by dotted key) that take one of a few words
CHOICES = {"distill": ("mse", "bce"), "optim.name": ("sgd", "adamw"),
           "loss.name": ("logistic", "contrastive", "triplet")}

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class _Mismatch(Exception):
    pass


def check_value(field: str, hint: object, value: object, label: str, key: str = "") -> object:
    """``value`` as the type ``hint`` asks (a float field takes an int, or a number written as
    ``1e-5``, which YAML reads as a string), range-checked by ``field`` name (and by its dotted
    ``key`` for :data:`CHOICES`); a ValueError naming ``label`` (file and key) otherwise."""
    try:
        value = _typed(hint, value)
    except _Mismatch:
        raise ValueError(f"{label} = {value!r}: expected {_describe(hint)}") from None
    choices = CHOICES.get(key) or CHOICES.get(field)
    if choices and value not in choices:
        raise ValueError(f"{label} = {value!r}: one of {', '.join(choices)}")
    _check_range(field, value, label)
    return value


def _typed(hint: object, value: object) -> object:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in args:
            if option is not type(None):
                try:
                    return _typed(option, value)
                except _Mismatch:
                    continue
        raise _Mismatch
    if origin is list:
        if not isinstance(value, list):
            raise _Mismatch
        return [_typed(args[0], v) for v in value] if args else value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if hint is float:
        return _float(value)
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    return value  # a type this checker does not know: left to the code that uses it


def _float(value: object) -> float:
    if isinstance(value, bool):
        raise _Mismatch
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        value = float(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Mismatch
    return float(value)


def _describe(hint: object) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _describe(a) for a in args)
    if origin is list:
        return f"a list of {_describe(args[0])}s" if args else "a list"
    names = {bool: "true or false", int: "a whole number", float: "a finite number", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _check_range(field: str, value: object, label: str) -> None:
    numbers = value if isinstance(value, list) else [value]
    for number in numbers:
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            continue
        if field in POSITIVE and number <= 0:
            raise ValueError(f"{label} = {value!r}: must be more than 0")
        if field in NON_NEGATIVE and number < 0:
            raise ValueError(f"{label} = {value!r}: must be 0 or more")
        if field in AT_MOST and number > AT_MOST[field]:
            raise ValueError(f"{label} = {value!r}: must be at most {AT_MOST[field]}")
        if field in PROBABILITY and not 0 <= number <= 1:
            raise ValueError(f"{label} = {value!r}: a probability, must be between 0 and 1")


def check_bounds(section: object, prefix: str, label: typing.Callable[[str], str]) -> None:
    """The :data:`BOUNDED_BY` rules of the fields of ``section`` (a dataclass at dotted ``prefix``,
    e.g. ``optim.``); a ValueError naming ``label(key)`` (file and key) otherwise."""
    for key, (other, how, why) in BOUNDED_BY.items():
        head, _, name = key.rpartition(".")
        if f"{head}." != prefix:
            continue
        value, bound = getattr(section, name), getattr(section, other)
        if (value > bound) if how == "at most" else (value < bound):
            raise ValueError(f"{label(key)} = {value!r}: must be {how} {head}.{other} ({bound!r}): {why}")
