"""The registry of benchmarks, one adapter each (:class:`~.adapters.Benchmark`): the only place in
:mod:`siamfc.evaluation` that knows benchmarks by name; and the toolkit experiment a spec opens."""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import SiamFCError
from ..got10k_compat import import_got10k
from ..specs import BenchmarkSpec
from .adapters import OTB, VOT, Benchmark, Folder, GOT10k, LaSOT

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (GOT10k(), OTB(), VOT(), LaSOT(), Folder())}


def benchmark_for(bench: BenchmarkSpec | str) -> Benchmark:
    """The adapter of ``bench`` (a spec or a dataset name: BenchmarkSpec and --dataset take only these)."""
    return BENCHMARKS[bench if isinstance(bench, str) else bench.dataset]


def result_root(bench: BenchmarkSpec) -> Path:
    """``out/<benchmark>``: the toolkit's folder, holding a folder per tracker."""
    return Path(bench.out) / benchmark_for(bench).tag(bench)


def open_experiment(bench: BenchmarkSpec):
    """The toolkit experiment for ``bench``, after checking the options and the data's layout."""
    adapter = benchmark_for(bench)
    import_got10k()
    if bench.more_roots and not adapter.joins_roots:
        raise SiamFCError(f"--root given {1 + len(bench.more_roots)} times: only --dataset folder joins several roots",
                          "--root")
    for root in (bench.root, *bench.more_roots):
        if not Path(root).is_dir():
            raise SiamFCError(f"dataset folder {root} does not exist", root)
    out = os.path.abspath(bench.out)  # the toolkit's paths never depend on the working folder
    experiment = adapter.open(bench, out, os.path.join(out, "reports"))
    experiment.repetitions = bench.repetitions
    return experiment


def select_sequences(bench: BenchmarkSpec, experiment, wanted: list[str] | None) -> list[str]:
    """``wanted`` (checked), else every sequence: then all of a benchmark's sequences must be there."""
    names = list(experiment.dataset.seq_names)
    if not wanted:
        missing = benchmark_for(bench).missing(bench)
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise SiamFCError(f"{bench.root}: {len(missing)} sequence(s) of {result_root(bench).name} missing "
                              f"({shown}); pass --sequences to evaluate those present", bench.root)
        return names
    unknown = [n for n in wanted if n not in names]
    if unknown:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise SiamFCError(f"--sequences: unknown sequence(s) {', '.join(unknown)} (known: {shown})", "--sequences")
    return list(dict.fromkeys(wanted))
