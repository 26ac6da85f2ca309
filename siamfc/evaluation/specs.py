"""What ``siamfc eval`` is asked to do: the trackers, the benchmark, and the run's options."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import SiamFCError
from ..files import distinct_stems
from ..settings import check, setting

#: OpenCV's trackers by kind, with their names in tables (csrt and kcf need OpenCV's contrib build)
OPENCV_TRACKERS: dict[str, str] = {"csrt": "CSRT", "kcf": "KCF", "mil": "MIL", "nano": "NanoTrack"}


@dataclass(frozen=True)
class TrackerSpec:
    """One tracker to evaluate; ``params`` are TrackerConfig fields (siamfc only), e.g. ``(("redetect", False),)``."""

    kind: str = setting(choices=("siamfc", *OPENCV_TRACKERS))
    name: str = setting()
    weights: str | None = None
    params: tuple[tuple[str, object], ...] = ()

    __post_init__ = check

    @property
    def has_confidence(self) -> bool:
        """It writes a per-frame confidence beside its results (for the long-term measures)."""
        return self.kind == "siamfc"


@dataclass(frozen=True)
class BenchmarkSpec:
    """Which data, where the results go, and how the toolkit runs (hashable: cached in workers)."""

    dataset: str = setting(choices=("got10k", "otb", "vot", "lasot", "folder"))  # benchmarks.BENCHMARKS
    root: str
    subset: str = "val"
    version: str | int | None = None
    out: str = "results"
    repetitions: int = setting(1, ge=1)
    more_roots: tuple[str, ...] = ()  # folder benchmarks: further roots whose sequences join ``root``'s

    __post_init__ = check


@dataclass
class EvalConfig:
    benchmark: BenchmarkSpec
    trackers: list[TrackerSpec]
    sequences: list[str] | None = None
    overwrite: bool = False
    resume: bool = False
    workers: int = setting(1, ge=1)
    device: str = "cpu"
    nano_dir: str | None = None
    progress: bool = True
    baseline: str | None = None  # tracker name: every other one gets its AUC difference, paired by sequence

    __post_init__ = check


def parse_value(text: str) -> bool | int | float | str:
    """A tracker option's value as typed: true/false, an integer, a float, else the text."""
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(text)
    return {"true": True, "false": False}.get(text.strip().lower(), text.strip())


def parse_params(text: str) -> dict[str, bool | int | float | str]:
    """``key=value,key=value`` (TrackerConfig fields) -> a dict."""
    items = [[part.strip() for part in item.partition("=")] for item in text.split(",") if item.strip()]
    if not all(key and value for key, _, value in items):
        raise SiamFCError(f"tracker options {text!r}: expected key=value,...", "--tracker")
    return {key: parse_value(value) for key, _, value in items}


def parse_tracker(text: str, weights: str | None = None) -> TrackerSpec:
    """``siamfc[:WEIGHTS][@key=value,...]`` (the options end its name too), ``csrt``, ``kcf``, ``mil`` or
    ``nano``; a bare ``siamfc`` uses ``weights`` (``--weights``), else the shipped model."""
    given = str(text).strip()
    text, at, options = given.partition("@")
    kind, _, path = text.partition(":")
    kind = kind.lower()
    if kind in OPENCV_TRACKERS and not (path or at):
        return TrackerSpec(kind, OPENCV_TRACKERS[kind])
    params = parse_params(options) if kind == "siamfc" else {}
    if kind != "siamfc" or at and not params:
        why = (f"{kind} takes no options (only siamfc takes :WEIGHTS and @key=value)" if kind in OPENCV_TRACKERS
               else "give options as key=value,..." if kind == "siamfc" else
               f"unknown tracker; choose from siamfc, siamfc:WEIGHTS, {', '.join(OPENCV_TRACKERS)}")
        raise SiamFCError(f"--tracker {given!r}: {why}", "--tracker")
    path, options = path or weights, ",".join(f"{k}={v}" for k, v in params.items())
    name = ("SiamFC" if not path else f"SiamFC-{Path(path).stem}") + (f"@{options}" if options else "")
    return TrackerSpec("siamfc", name, path or None, tuple(params.items()))


def find_tracker(name: str, names: Sequence[str]) -> str | None:
    """The one of ``names`` that ``name`` means: the same text, else the same but for case, spaces and the
    order of options (``SiamFC@redetect=False`` is ``siamfc@REDETECT=false``)."""
    def key(text: str) -> tuple[str, list[str]]:
        base, _, options = text.replace(" ", "").lower().partition("@")
        return base, sorted(filter(None, options.split(",")))

    matches = [n for n in names if key(n) == key(name)]
    return name if name in names else matches[0] if len(matches) == 1 else None


def parse_trackers(texts: Sequence[str] | None, weights: str | None = None) -> list[TrackerSpec]:
    """Every ``--tracker`` (default: siamfc); checkpoints of one file name are named by their folders
    too (``SiamFC-run_a-model_e030``), since a name is a results folder."""
    specs = [parse_tracker(t, weights) for t in (texts or ["siamfc"])]
    stems = iter(distinct_stems([s.weights for s in specs if s.weights], "-"))
    specs = [replace(s, name=s.name.replace(f"SiamFC-{Path(s.weights).stem}", f"SiamFC-{next(stems)}", 1))
             if s.weights else s for s in specs]
    duplicates = sorted(name for name, count in Counter(s.name for s in specs).items() if count > 1)
    if duplicates:
        raise SiamFCError(f"--tracker: {', '.join(duplicates)} given more than once", "--tracker")
    return specs
