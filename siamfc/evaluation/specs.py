"""What ``siamfc eval`` is asked to do: the trackers, the benchmark, and the run's options."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import SiamFCError
from ..files import distinct_stems


@dataclass(frozen=True)
class TrackerSpec:
    """One tracker to evaluate: ``kind`` is ``siamfc`` or an OpenCV tracker (``csrt``, ...)."""

    kind: str
    name: str
    weights: str | None = None
    params: tuple[tuple[str, object], ...] = ()  # TrackerConfig fields (siamfc), e.g. (("redetect", False),)

    @property
    def has_confidence(self) -> bool:
        """It writes a per-frame confidence beside its results (for the long-term measures)."""
        return self.kind == "siamfc"


@dataclass(frozen=True)
class BenchmarkSpec:
    """Which data, where the results go, and how the toolkit runs (hashable: cached in workers)."""

    dataset: str
    root: str
    subset: str = "val"
    version: str | int | None = None
    out: str = "results"
    repetitions: int = 1
    more_roots: tuple[str, ...] = ()  # folder benchmarks: further roots whose sequences join ``root``'s


@dataclass
class EvalConfig:
    benchmark: BenchmarkSpec
    trackers: list[TrackerSpec]
    sequences: list[str] | None = None
    overwrite: bool = False
    resume: bool = False
    workers: int = 1
    device: str = "cpu"
    nano_dir: str | None = None
    progress: bool = True
    baseline: str | None = None  # tracker name: every other one gets its AUC difference, paired by sequence


def parse_value(text: str) -> bool | int | float | str:
    """A tracker option's value as typed: true/false, an integer, a float, else the text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_params(text: str) -> dict[str, bool | int | float | str]:
    """``key=value,key=value`` (TrackerConfig fields) -> a dict; a malformed item is a SiamFCError."""
    params: dict[str, bool | int | float | str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SiamFCError(f"tracker option {item!r}: expected key=value")
        params[key.strip()] = parse_value(value)
    return params


def parse_tracker(text: str, weights: str | None = None) -> TrackerSpec:
    """``siamfc``, ``siamfc:WEIGHTS``, ``csrt``, ``kcf``, ``mil`` or ``nano``; a siamfc tracker
    may end with ``@key=value,...`` (TrackerConfig fields, e.g. ``siamfc@redetect=false``), which
    then ends its name too (variants of one model compared in one run).

    A bare ``siamfc`` uses ``weights`` (``--weights``) when given, else the shipped model.
    """
    from .baselines import OPENCV_TRACKERS

    given = str(text).strip()
    text, at, options = given.partition("@")
    kind, _, arg = text.partition(":")
    kind = kind.lower()
    if kind == "siamfc":
        path = arg or weights
        name = "SiamFC" if not path else f"SiamFC-{Path(path).stem}"
        params = parse_params(options)
        if at and not params:
            raise SiamFCError(f"--tracker {text}@: give options as key=value,...")
        if params:
            name += "@" + ",".join(f"{k}={v}" for k, v in params.items())
        return TrackerSpec("siamfc", name, path or None, tuple(params.items()))
    if kind in OPENCV_TRACKERS:
        if arg or at:
            raise SiamFCError(f"--tracker {given!r}: {kind} takes no options (only siamfc takes :WEIGHTS and "
                            "@key=value)")
        return TrackerSpec(kind, OPENCV_TRACKERS[kind])
    known = ", ".join(["siamfc", "siamfc:WEIGHTS", *OPENCV_TRACKERS])
    raise SiamFCError(f"--tracker {text!r}: unknown tracker; choose from {known}")


def name_key(name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A tracker's name as :func:`parse_tracker` reads it: the part before ``@`` without case,
    and its options (keys without case, values as parsed, in any order); ``SiamFC@redetect=False``
    and ``siamfc@REDETECT=false`` are the same tracker."""
    base, _, options = str(name).strip().partition("@")
    try:
        params = parse_params(options)
    except SiamFCError:
        return base.lower(), (("", options.strip().lower()),)
    return base.lower(), tuple(sorted((k.lower(), str(v).lower()) for k, v in params.items()))


def find_tracker(name: str, names: Sequence[str]) -> str | None:
    """The one of ``names`` that ``name`` means: the same text, else the same :func:`name_key`."""
    if name in names:
        return name
    matches = [n for n in names if name_key(n) == name_key(name)]
    return matches[0] if len(matches) == 1 else None


def parse_trackers(texts: Sequence[str] | None, weights: str | None = None) -> list[TrackerSpec]:
    specs = _distinct_names([parse_tracker(t, weights) for t in (texts or ["siamfc"])])
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SiamFCError(f"--tracker: {', '.join(duplicates)} given more than once")
    return specs


def _distinct_names(specs: list[TrackerSpec]) -> list[TrackerSpec]:
    """Checkpoints with the same file name are named ``SiamFC-run_a-model_e030``...: a name is a
    results folder, so equal names would mix two models' results."""
    stems = iter(distinct_stems([s.weights for s in specs if s.weights], "-"))
    return [replace(s, name=s.name.replace(f"SiamFC-{Path(s.weights).stem}", f"SiamFC-{next(stems)}", 1))
            if s.weights else s for s in specs]
