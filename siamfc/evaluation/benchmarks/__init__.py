"""One adapter per benchmark (:class:`~.base.Benchmark`), in a registry like the backbones': the
only place in :mod:`siamfc.evaluation` that knows benchmarks by name."""

from __future__ import annotations

from ...errors import SiamFCError
from ..specs import BenchmarkSpec
from .base import Benchmark, SequenceBenchmark, Truth
from .folders import Folder, LaSOT
from .got10k import GOT10k
from .otb import OTB
from .vot import VOT

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (GOT10k(), OTB(), VOT(), LaSOT(), Folder())}
DATASETS = tuple(BENCHMARKS)


def benchmark_for(bench: BenchmarkSpec | str) -> Benchmark:
    """The adapter of ``bench`` (a spec or a dataset name); one-line error for an unknown name."""
    name = bench if isinstance(bench, str) else bench.dataset
    if name not in BENCHMARKS:
        raise SiamFCError(f"--dataset {name!r}: choose one of {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


__all__ = ["BENCHMARKS", "DATASETS", "Benchmark", "SequenceBenchmark", "Truth", "benchmark_for"]
