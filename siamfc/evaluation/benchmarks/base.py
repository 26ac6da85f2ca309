"""What an evaluation asks of a benchmark (:class:`Benchmark`), and what the got10k toolkit's own
readers need beyond ours (``*.jpg`` frames, commas between values, a ``meta_info.ini`` resolution),
checked before anything runs."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from ...data.sequences import Sequence, frame_files
from ...errors import SiamFCError
from ..metrics import Truth
from ..specs import BenchmarkSpec

FOLDER_HINT = "--dataset folder reads it as it is"


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image, from its header."""
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def box_visible(anno: np.ndarray) -> np.ndarray:
    """Frames whose box is finite and not empty."""
    return np.all(np.isfinite(anno), axis=1) & (np.nan_to_num(anno[:, 2]) > 0) & (np.nan_to_num(anno[:, 3]) > 0)


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SiamFCError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or type(exc).__name__})",
                          str(path)) from exc


def check_jpg_frames(folder: Path, what: str) -> int:
    """The toolkit lists a sequence's frames as ``folder/*.jpg`` only; returns their count."""
    jpgs = list(folder.glob("*.jpg"))
    if not jpgs:
        raise SiamFCError(f"{folder}: no .jpg frames in the folder itself (the toolkit's {what} reader takes "
                          f"<seq>/*.jpg only); {FOLDER_HINT}", str(folder))
    images = frame_files(folder)
    if len(jpgs) != len(images):
        other = next(p for p in images if p.suffix != ".jpg")
        raise SiamFCError(f"{folder}: frame {other.name}: the toolkit's {what} reader takes only .jpg frames; "
                          f"{FOLDER_HINT}", str(other))
    return len(jpgs)


def check_comma_boxes(path: Path, what: str) -> int:
    """The toolkit reads ``groundtruth.txt`` with commas between the values; returns its line count."""
    count = 0
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            [float(v) for v in line.strip().split(",")]
        except ValueError as exc:
            raise SiamFCError(f"{path}:{number}: the toolkit's {what} reader takes values separated by commas "
                              f"(x,y,w,h), found {line.strip()[:40]!r}; {FOLDER_HINT}", str(path)) from exc
        count += 1
    return count


def check_got10k_meta(folder: Path) -> None:
    """``meta_info.ini`` as the toolkit's GOT-10k reader parses it, with the ``resolution`` its report needs."""
    path = folder / "meta_info.ini"
    meta = {}
    for line in _read_text(path).strip().split("\n")[1:]:
        key, sep, value = line.partition(": ")
        if not sep:
            raise SiamFCError(f"{path}: line {line[:40]!r} is not 'key: value' (the toolkit's GOT-10k reader "
                              "needs it)", str(path))
        meta[key] = value
    if "resolution" not in meta:
        raise SiamFCError(f"{path}: no 'resolution: (width, height)' line (the GOT-10k report needs it)", str(path))
    try:
        size = ast.literal_eval(meta["resolution"])
        ok = len(size) == 2 and all(isinstance(v, (int, float)) and v > 0 for v in size)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        ok = False
    if not ok:
        raise SiamFCError(f"{path}: resolution {meta['resolution'][:40]!r} is not (width, height)", str(path))


class Benchmark:
    """One benchmark's rules; the defaults are the toolkit's GOT-10k loop's (a folder per sequence
    holding ``<seq>_001.txt`` ... and ``<seq>_time.txt``)."""

    name: ClassVar[str]
    layout: ClassVar[str]  # the expected files, for --dataset's help
    default_subset: ClassVar[str] = "val"
    has_subsets: ClassVar[bool] = True  # else --subset is an error, and the title is the tag alone
    joins_roots: ClassVar[bool] = False  # several --root evaluated as one set
    has_report: ClassVar[bool] = False  # the toolkit has a report of its own
    extra_columns: ClassVar[tuple[tuple[str, str], ...]] = ()  # (header, key) from that report
    box_values: ClassVar[tuple[int, ...]] = (4,)  # numbers a line of a box record may hold

    def parse_version(self, text: str | None) -> str | int | None:
        if text is not None:
            raise SiamFCError(f"--version: the {self.name} benchmark has no versions", "--version")
        return None

    def parse_subset(self, text: str | None, roots: list[str]) -> str:
        if text is not None and not self.has_subsets:
            raise SiamFCError(f"--subset {text}: the {self.name} benchmark has no subsets (--sequences picks "
                              "sequences)", "--subset")
        return text or self.default_subset

    def check(self, bench: BenchmarkSpec) -> None:
        """Errors for options this benchmark does not take."""

    def tag(self, bench: BenchmarkSpec) -> str:
        """The results folder's name under ``--out``."""
        raise NotImplementedError

    def title(self, bench: BenchmarkSpec) -> str:
        return f"{self.tag(bench)} {bench.subset}" if self.has_subsets else self.tag(bench)

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
        """One tracker's figures from the toolkit's report, checked against ``ours`` where both have one."""
        return {}


class SequenceBenchmark(Benchmark):
    """A layout read by the data registry (:mod:`siamfc.data.registry`, under the benchmark's name)
    and run by the toolkit's GOT-10k loop."""

    def sequences(self, bench: BenchmarkSpec) -> list[Sequence]:
        from ...data.registry import get

        return get(self.name)(bench.root, bench.subset)

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        from ..got10k_compat import SequenceDataset, sequence_experiment

        sequences = self.sequences(bench)
        for seq in sequences:
            first = seq.boxes[0]
            if not (np.all(np.isfinite(first)) and first[2] > 0 and first[3] > 0):
                raise SiamFCError(f"{seq.name}: the first box must be the target's (x,y,w,h with w,h > 0), "
                                  f"got {first.tolist()}", seq.name)
        return sequence_experiment(SequenceDataset(sequences), out, self.tag(bench), bench.repetitions)

    def truth(self, experiment, name: str) -> Truth:
        seq = experiment.dataset.sequences[name]
        return Truth(seq.boxes, seq.visible.copy(), image_size(seq.frames[0]))
