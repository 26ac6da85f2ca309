"""What an evaluation needs to know about a benchmark, asked of one adapter object.

The rest of :mod:`siamfc.evaluation` (running, result files, figures, tables) is the same for every
benchmark and never branches on its name: it asks the benchmark's :class:`Benchmark` for the
toolkit experiment that runs the trackers, the ground truth, where the toolkit writes its result
files and how to read them, and the toolkit's own report where there is one.

:class:`SequenceBenchmark` is the adapter for layouts the toolkit has no dataset for: the data
layer (:mod:`siamfc.data`) reads the sequences and the toolkit's GOT-10k loop runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from ...data.sequences import Sequence
from ...errors import SiamFCError
from ..metrics import Truth
from ..specs import BenchmarkSpec


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image, from its header."""
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def box_visible(anno: np.ndarray) -> np.ndarray:
    """Frames whose box is finite and not empty."""
    return np.all(np.isfinite(anno), axis=1) & (np.nan_to_num(anno[:, 2]) > 0) & (np.nan_to_num(anno[:, 3]) > 0)


def no_subsets(name: str, text: str | None, default: str) -> str:
    """``--subset`` of a benchmark without subsets: an error when given."""
    if text is not None:
        raise SiamFCError(f"--subset {text}: the {name} benchmark has no subsets (--sequences picks sequences)")
    return default


class Benchmark:
    """One benchmark's rules. The defaults are those of the toolkit's GOT-10k loop (a folder per
    sequence holding ``<seq>_001.txt`` ... and ``<seq>_time.txt``)."""

    name: ClassVar[str]
    layout: ClassVar[str]  # the expected files, for --dataset's help
    default_subset: ClassVar[str] = "val"
    joins_roots: ClassVar[bool] = False  # several --root evaluated as one set
    has_report: ClassVar[bool] = False  # the toolkit has a report of its own
    extra_columns: ClassVar[tuple[tuple[str, str], ...]] = ()  # (header, key) from that report
    box_values: ClassVar[tuple[int, ...]] = (4,)  # numbers a line of a box record may hold

    def parse_version(self, text: str | None) -> str | int | None:
        if text is not None:
            raise SiamFCError(f"--version: the {self.name} benchmark has no versions")
        return None

    def parse_subset(self, text: str | None, roots: list[str]) -> str:
        """``--subset`` (None: not given) as this benchmark reads it from ``roots``."""
        return text or self.default_subset

    def check(self, bench: BenchmarkSpec) -> None:
        """One-line errors for options this benchmark does not take."""

    def tag(self, bench: BenchmarkSpec) -> str:
        """The results folder's name under ``--out``."""
        raise NotImplementedError

    def title(self, bench: BenchmarkSpec) -> str:
        return f"{self.tag(bench)} {bench.subset}"

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        """The toolkit experiment that runs the trackers, after checking the data's layout."""
        raise NotImplementedError

    def missing(self, bench: BenchmarkSpec) -> list[str]:
        """Sequences of the benchmark that the root lacks (an error unless --sequences is given)."""
        return []

    def truth(self, experiment, name: str) -> Truth:
        raise NotImplementedError

    def result_files(self, base: Path, seq: str, repetitions: int) -> list[Path]:
        """The files of a complete result (box records first, then the time file)."""
        return [base / seq / f"{seq}_{r:03d}.txt" for r in range(1, repetitions + 1)] + [base / seq / f"{seq}_time.txt"]

    def existing_files(self, base: Path, seq: str) -> list[Path]:
        folder = base / seq
        return [p for p in folder.iterdir() if p.name.startswith(f"{seq}_")] if folder.is_dir() else []

    def box_records(self, files: list[Path]) -> list[Path]:
        """Which of :meth:`result_files` hold the boxes the figures are computed from."""
        return files[:-1]

    def parse_record(self, row: list[float], first_box: np.ndarray) -> list[float]:
        """One line of a box record as ``x, y, w, h``."""
        return row

    def submissions(self, experiment, names: list[str]) -> dict[str, str] | None:
        """Files for an evaluation server instead of figures (None: figures are computed here)."""
        return None

    def report_figures(self, performance: dict, ours: dict, warn: Callable[[str], None]) -> dict:
        """One tracker's figures from the toolkit's report (``performance``), checked against
        ``ours`` where both have the same figure."""
        return {}


class SequenceBenchmark(Benchmark):
    """A layout read by :mod:`siamfc.data` and run by the toolkit's GOT-10k loop; the ground truth
    (boxes, absent frames) is the data layer's :class:`~siamfc.data.sequences.Sequence`."""

    def sequences(self, bench: BenchmarkSpec) -> list[Sequence]:
        raise NotImplementedError

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        from ..got10k_compat import sequence_experiment
        from ..toolkit import SequenceDataset

        sequences = self.sequences(bench)
        for seq in sequences:
            first = seq.boxes[0]
            if not (np.all(np.isfinite(first)) and first[2] > 0 and first[3] > 0):
                raise SiamFCError(f"{seq.name}: the first box must be the target's (x,y,w,h with w,h > 0), "
                                f"got {first.tolist()}")
        return sequence_experiment(SequenceDataset(sequences), out, self.tag(bench), bench.repetitions)

    def truth(self, experiment, name: str) -> Truth:
        seq = experiment.dataset.sequences[name]
        return Truth(seq.boxes, seq.visible.copy(), image_size(seq.frames[0]))
