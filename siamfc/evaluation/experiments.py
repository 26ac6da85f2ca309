"""The toolkit's experiment for a benchmark (data layout checked first by its adapter), its
ground truth, and the sequences to evaluate; the same for every benchmark."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import SiamFCError
from .benchmarks import Truth, benchmark_for
from .got10k_compat import import_got10k
from .specs import BenchmarkSpec


def result_root(bench: BenchmarkSpec) -> Path:
    """``out/<benchmark>``: the toolkit's folder, holding a folder per tracker."""
    return Path(bench.out) / benchmark_for(bench).tag(bench)


def open_experiment(bench: BenchmarkSpec):
    """The toolkit experiment for ``bench``, after checking the options and the data's layout
    (one-line errors)."""
    adapter = benchmark_for(bench)
    import_got10k()
    if bench.more_roots and not adapter.joins_roots:
        raise SiamFCError(f"--root given {1 + len(bench.more_roots)} times: only --dataset folder joins several roots")
    for root in (bench.root, *bench.more_roots):
        if not Path(root).is_dir():
            raise SiamFCError(f"dataset folder {root} does not exist")
    adapter.check(bench)
    out = os.path.abspath(bench.out)  # the toolkit's paths never depend on the working folder
    experiment = adapter.open(bench, out, os.path.join(out, "reports"))
    experiment.repetitions = bench.repetitions
    return experiment


def sequence_truth(bench: BenchmarkSpec, experiment, name: str) -> Truth:
    return benchmark_for(bench).truth(experiment, name)


def select_sequences(bench: BenchmarkSpec, experiment, wanted: list[str] | None) -> list[str]:
    """``wanted`` (checked) or every sequence; all of a benchmark's sequences must be there unless
    ``--sequences`` names some."""
    names = list(experiment.dataset.seq_names)
    if not wanted:
        missing = benchmark_for(bench).missing(bench)
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise SiamFCError(f"{bench.root}: {len(missing)} sequence(s) of {result_root(bench).name} missing "
                            f"({shown}); pass --sequences to evaluate those present")
        return names
    unknown = [n for n in wanted if n not in names]
    if unknown:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise SiamFCError(f"--sequences: unknown sequence(s) {', '.join(unknown)} (known: {shown})")
    return list(dict.fromkeys(wanted))
