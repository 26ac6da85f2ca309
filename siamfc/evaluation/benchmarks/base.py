"""What an evaluation asks of a benchmark (:class:`Benchmark`); the layouts read by our data layer
(any folder, LaSOT); and what the got10k toolkit's own readers need beyond ours (``*.jpg`` frames,
commas between values), checked before anything runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from ...data.registry import get
from ...data.sequences import Sequence, _read_text, frame_files
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


def check_first_box(box: np.ndarray, where: str) -> None:
    if not (np.all(np.isfinite(box)) and box[2] > 0 and box[3] > 0):
        raise SiamFCError(f"{where}: the first box must be the target's (x,y,w,h with w,h > 0), got {box.tolist()}",
                          where)


def check_toolkit_files(folder: Path, what: str) -> tuple[int, int]:
    """The toolkit reads ``*.jpg`` frames only and boxes separated by commas; returns the frames' and boxes' counts."""
    jpgs, other = list(folder.glob("*.jpg")), next((p for p in frame_files(folder) if p.suffix != ".jpg"), None)
    if not jpgs or other:
        why = (f"no .jpg frames in the folder itself (the toolkit's {what} reader takes <seq>/*.jpg only)" if not jpgs
               else f"frame {other.name}: the toolkit's {what} reader takes only .jpg frames")
        raise SiamFCError(f"{folder}: {why}; {FOLDER_HINT}", str(other if jpgs else folder))
    path = folder / "groundtruth.txt"
    lines = [(number, line.strip()) for number, line in enumerate(_read_text(path).splitlines(), 1) if line.strip()]
    for number, line in lines:
        try:
            [float(v) for v in line.split(",")]
        except ValueError as exc:
            raise SiamFCError(f"{path}:{number}: the toolkit's {what} reader takes values separated by commas "
                              f"(x,y,w,h), found {line[:40]!r}; {FOLDER_HINT}", str(path)) from exc
    return len(jpgs), len(lines)


class Benchmark:
    """One benchmark's rules; the defaults are the toolkit's GOT-10k loop's (a folder per sequence
    holding ``<seq>_001.txt`` ... and ``<seq>_time.txt``)."""

    name: ClassVar[str]
    layout: ClassVar[str]  # the expected files, for --dataset's help
    tag_format: ClassVar[str] = ""  # the results folder's name under --out (``{version}`` filled in)
    default_subset: ClassVar[str] = "val"
    subsets: ClassVar[tuple[str, ...] | None] = None  # the --subset values taken (None: any; (): none)
    versions: ClassVar[tuple[str | int, ...]] = ()  # the first is the default; none: --version is an error
    joins_roots: ClassVar[bool] = False  # several --root evaluated as one set
    has_report: ClassVar[bool] = False  # the toolkit has a report of its own
    extra_columns: ClassVar[tuple[tuple[str, str], ...]] = ()  # (header, key) from that report
    box_values: ClassVar[tuple[int, ...]] = (4,)  # numbers a line of a box record may hold
    box_records: ClassVar[slice] = slice(0, -1)  # which of :meth:`result_files` hold the boxes figures come from

    def parse_version(self, text: str | None) -> str | int | None:
        """``text`` as one of :attr:`versions`, case aside (the first when left out)."""
        found = [v for v in self.versions if text is None or str(v).lower() == text.strip().lower()]
        if text is not None and not found:
            known = f"{self.name.upper()} versions are {', '.join(sorted(map(str, self.versions)))}"
            raise SiamFCError(f"--version {text}: " + (known if self.versions else f"the {self.name} benchmark has "
                              "no versions"), "--version")
        return found[0] if found else None

    def parse_subset(self, text: str | None, roots: list[str]) -> str:
        if text is not None and self.subsets is not None and text not in self.subsets:
            taken = f"subsets {', '.join(self.subsets)}" if self.subsets else "no subsets (--sequences picks sequences)"
            raise SiamFCError(f"--subset {text}: the {self.name} benchmark has {taken}", "--subset")
        return text or self.default_subset

    def tag(self, bench: BenchmarkSpec) -> str:
        return self.tag_format.format(version=bench.version)

    def title(self, bench: BenchmarkSpec) -> str:
        return f"{self.tag(bench)} {bench.subset}" if self.subsets != () else self.tag(bench)

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        """The toolkit experiment that runs the trackers, after checking the data's layout."""
        raise NotImplementedError

    def missing(self, bench: BenchmarkSpec) -> list[str]:
        """Sequences of the benchmark that the root lacks (an error unless --sequences is given)."""
        return []

    def truth(self, experiment, name: str) -> Truth:
        """The ground truth as the toolkit reads it (VOT's polygons turned into boxes as its report does)."""
        from ..got10k_compat import vot_rects

        img_files, anno = experiment.dataset[name][:2]
        anno = vot_rects(experiment.dataset, anno)
        return Truth(anno, box_visible(anno), image_size(img_files[0]))

    def result_files(self, base: Path, seq: str, repetitions: int) -> list[Path]:
        """The files of a complete result (box records first, then the time file)."""
        return [base / seq / f"{seq}_{r:03d}.txt" for r in range(1, repetitions + 1)] + [base / seq / f"{seq}_time.txt"]

    def existing_files(self, base: Path, seq: str) -> list[Path]:
        """Every result file of ``seq`` present (more repetitions included)."""
        folders = {p.parent for p in self.result_files(base, seq, 1)}
        return sorted(p for d in folders if d.is_dir() for p in d.iterdir()
                      if p.name.startswith(f"{seq}_") or p.name == f"{seq}.txt")

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
        return get(self.name)(bench.root, bench.subset)

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        from ..got10k_compat import SequenceDataset, sequence_experiment

        sequences = self.sequences(bench)
        for seq in sequences:
            check_first_box(seq.boxes[0], seq.name)
        return sequence_experiment(SequenceDataset(sequences), out, self.tag(bench), bench.repetitions)

    def truth(self, experiment, name: str) -> Truth:
        seq = experiment.dataset.sequences[name]
        return Truth(seq.boxes, seq.visible.copy(), image_size(seq.frames[0]))


class Folder(SequenceBenchmark):
    """A GOT-10k-layout root, a folder with ``list.txt``, a plain folder of sequence folders or one
    sequence folder; several roots are evaluated as one set."""

    name = "folder"
    layout = ("a GOT-10k-layout root, a folder with list.txt, or a plain folder of sequence folders "
              "(frames + groundtruth.txt); repeat --root to join several")
    joins_roots = True

    def parse_subset(self, text: str | None, roots: list[str]) -> str:
        """A folder every root has (or is), or ``all``; left out, each root's ``val/`` where it has one, else all."""
        lacking = [r for r in roots if text not in (None, "all") and Path(r).is_dir() and not (Path(r) / text).is_dir()
                   and Path(r).resolve().name != text]
        if lacking:
            raise SiamFCError(f"--subset {text}: {lacking[0]} has no {text}/ folder (leave --subset out to read "
                              "every sequence of a root without one)", "--subset")
        return text or self.default_subset

    def tag(self, bench: BenchmarkSpec) -> str:
        """Each root's name, with its parent's when it is a subset folder (``folder-GOT-10k-mini-val``)."""
        paths = [Path(r).resolve() for r in (bench.root, *bench.more_roots)]
        return "+".join(f"folder-{p.parent.name}-{p.name}" if p.name in (bench.subset, "val", "test", "train")
                        else f"folder-{p.name}" for p in paths)

    def sequences(self, bench: BenchmarkSpec) -> list[Sequence]:
        return [seq for root in (bench.root, *bench.more_roots)
                for seq in get("folder")(root, bench.subset if (Path(root) / bench.subset).is_dir() else "all")]


class LaSOT(SequenceBenchmark):
    """LaSOT: a frame counts where the target is neither fully occluded nor out of view."""

    name = "lasot"
    layout = ("ROOT/<class>/<class>-N/ (img/, groundtruth.txt, full_occlusion.txt, out_of_view.txt); "
              "--subset test (default) reads testing_set.txt, all every sequence")
    tag_format = "LaSOT"
    default_subset = "test"
