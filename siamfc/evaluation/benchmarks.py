"""The benchmarks, one adapter each (:class:`Benchmark`), registered by name in :data:`BENCHMARKS` (the
only place in :mod:`siamfc.evaluation` that knows them by name), and the toolkit experiment a spec opens.
The layouts our data layer reads (any folder, LaSOT) are run by the toolkit's GOT-10k loop; the got10k
toolkit runs and reports GOT-10k (test: the submission zips), OTB and VOT (never downloading; VOT's
figures from its one-pass, ``unsupervised``, run) with its own experiments. What the toolkit's readers
need beyond ours (``*.jpg`` frames, commas between values) is checked before anything runs."""

from __future__ import annotations

import ast
import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image

from ..data.registry import _visible, get
from ..data.sequences import Sequence, _read_text, check_boxes, frame_files, listed_folders, read_boxes, read_names
from ..errors import SiamFCError
from ..files import replacing
from . import got10k_compat as toolkit
from .metrics import Truth
from .specs import BenchmarkSpec

FOLDER_HINT = "--dataset folder reads it as it is"


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image, from its header."""
    with Image.open(path) as image:
        return image.size


def check_first_box(box: np.ndarray, where: str) -> None:
    if not (np.all(np.isfinite(box)) and box[2] > 0 and box[3] > 0):
        raise SiamFCError(f"{where}: the first box must be the target's (x,y,w,h, w,h > 0), got {box.tolist()}", where)


def check_toolkit_files(folder: Path, what: str) -> None:
    """The toolkit reads ``*.jpg`` frames only and boxes separated by commas, one a frame (or the first only)."""
    jpgs, other = list(folder.glob("*.jpg")), next((p for p in frame_files(folder) if p.suffix != ".jpg"), None)
    if not jpgs or other:
        why = (f"no .jpg frames in the folder itself (the toolkit's {what} reader takes <seq>/*.jpg only)" if not jpgs
               else f"frame {other.name}: the toolkit's {what} reader takes only .jpg frames")
        raise SiamFCError(f"{folder}: {why}; {FOLDER_HINT}", str(other if jpgs else folder))
    path = folder / "groundtruth.txt"
    lines = [(number, line.strip()) for number, line in enumerate(_read_text(path).splitlines(), 1) if line.strip()]
    # our reader has read every value as a number (commas, tabs or spaces): the toolkit's splits at commas only
    bad = next(((n, line) for n, line in lines if line.count(",") + 1 != len(line.replace(",", " ").split())), None)
    if bad:
        raise SiamFCError(f"{path}:{bad[0]}: the toolkit's {what} reader takes values separated by commas (x,y,w,h), "
                          f"found {bad[1][:40]!r}; {FOLDER_HINT}", str(path))
    if len(lines) not in (1, len(jpgs)):
        raise SiamFCError(f"{path}: {len(lines)} lines for {len(jpgs)} frames (the toolkit's {what} reader takes one "
                          "box a frame, or the first only)", str(path))


class Benchmark:
    """One benchmark's rules; the defaults are the toolkit's GOT-10k loop's (a folder per sequence
    holding ``<seq>_001.txt`` ... and ``<seq>_time.txt``)."""

    name: ClassVar[str]
    layout: ClassVar[str]  # the expected files, for --dataset's help
    tag_format: ClassVar[str] = ""  # the results folder's name under --out (``{version}`` filled in)
    default_subset: ClassVar[str] = "val"
    subsets: ClassVar[tuple[str, ...] | None] = None  # the --subset values taken besides the default (None: any)
    versions: ClassVar[tuple[str | int, ...]] = ()  # the first is the default; none: --version is an error
    joins_roots: ClassVar[bool] = False  # several --root evaluated as one set
    repeats: ClassVar[bool] = True  # --repetitions above 1 taken
    listing: ClassVar[str] = ""  # the list of sequences the root must hold (``{subset}`` filled in), if any
    has_report: ClassVar[bool] = False  # the toolkit has a report of its own
    extra_columns: ClassVar[tuple[tuple[str, str], ...]] = ()  # (header, key) from that report
    box_values: ClassVar[tuple[int, ...]] = (4,)  # numbers a line of a box record may hold
    box_records: ClassVar[slice] = slice(0, -1)  # which of :meth:`result_files` hold the boxes figures come from

    def parse_version(self, text: str | None) -> str | int | None:
        """``text`` as one of :attr:`versions`, case aside (the first when left out; else as it is, refused later)."""
        return next((v for v in self.versions if text is None or str(v).lower() == text.strip().lower()), text)

    def parse_subset(self, text: str | None, roots: list[str]) -> str:
        return text or self.default_subset

    def tag(self, bench: BenchmarkSpec) -> str:
        return self.tag_format.format(version=bench.version)

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        """The toolkit experiment that runs the trackers, after checking the data's layout."""
        raise NotImplementedError

    def missing(self, bench: BenchmarkSpec) -> list[str]:
        """Sequences of the benchmark that the root lacks (an error unless --sequences is given)."""
        return []

    def truth(self, experiment, name: str) -> Truth:
        """The ground truth as the toolkit reads it (VOT's polygons turned into boxes as its report does)."""
        img_files, anno = experiment.dataset[name][:2]
        anno = toolkit.vot_rects(experiment.dataset, anno)
        return Truth(anno, _visible(anno), image_size(img_files[0]))

    def result_files(self, base: Path, seq: str, repetitions: int) -> list[Path]:
        """The files of a complete result (box records first, then the time file)."""
        return [base / seq / f"{seq}_{r:03d}.txt" for r in range(1, repetitions + 1)] + [base / seq / f"{seq}_time.txt"]

    def submissions(self, experiment, names: list[str]) -> dict[str, str] | None:
        """Files for an evaluation server instead of figures (None: figures are computed here)."""
        return None

    def report_figures(self, performance: dict, ours: dict, warn: Callable[[str], None]) -> dict:
        """One tracker's figures from the toolkit's report, checked against ``ours`` where both have one."""
        return {}


class SequenceBenchmark(Benchmark):
    """A layout of the data registry (:mod:`siamfc.data.registry`) run by the toolkit's GOT-10k loop."""

    def sequences(self, bench: BenchmarkSpec) -> list[Sequence]:
        return get(self.name)(bench.root, bench.subset)

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        sequences = self.sequences(bench)
        for seq in sequences:
            check_first_box(seq.boxes[0], seq.name)
        return toolkit.sequence_experiment(toolkit.SequenceDataset(sequences), out, self.tag(bench), bench.repetitions)

    def truth(self, experiment, name: str) -> Truth:
        seq = experiment.dataset.sequences[name]
        return Truth(seq.boxes, seq.visible.copy(), image_size(seq.frames[0]))


class Folder(SequenceBenchmark):
    """Any folder of sequences (:attr:`layout`, or one sequence folder); several roots are evaluated as one set."""

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


LABELS = ("cover.label", "absence.label", "cut_by_image.label")  # all read by the toolkit's reader


def resolution(text: str) -> tuple[int, int] | None:
    """``meta_info.ini``'s ``(width, height)``, or None when it is not one."""
    try:
        size = ast.literal_eval(text)
        ok = len(size) == 2 and all(isinstance(v, (int, float)) and v > 0 for v in size)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        ok = False
    return (int(size[0]), int(size[1])) if ok else None


def check_got10k_meta(folder: Path) -> None:
    """What the toolkit's GOT-10k reader and report need beyond our reader: labels, a ``meta_info.ini`` resolution."""
    for meta in ("meta_info.ini", *LABELS):
        if not (folder / meta).is_file():
            raise SiamFCError(f"{folder}: no {meta} (the GOT-10k report needs meta_info.ini and "
                              f"{', '.join(LABELS)}; --dataset folder reads plain sequences)", str(folder / meta))
    path = folder / "meta_info.ini"
    lines = _read_text(path).strip().split("\n")[1:]
    meta = dict(line.split(": ", 1) for line in lines if ": " in line)
    bad = next((f"line {line[:40]!r} is not 'key: value' (the toolkit's GOT-10k reader needs it)"
                for line in lines if ": " not in line), None)
    if bad or resolution(meta.get("resolution", "")) is None:
        why = bad or (f"resolution {meta['resolution'][:40]!r} is not (width, height)" if "resolution" in meta else
                      "no 'resolution: (width, height)' line (the GOT-10k report needs it)")
        raise SiamFCError(f"{path}: {why}", str(path))


class GOT10k(Benchmark):
    name = "got10k"
    layout = "ROOT/{val,test}/list.txt + ROOT/<subset>/<seq>/ (frames, groundtruth.txt; val: meta_info.ini)"
    tag_format = "GOT-10k"
    subsets = ("val", "test")
    has_report = True
    listing = "{subset}/list.txt"

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        """After checking every sequence: val read whole by the data layer, test's first box (the rest
        is withheld); then what the toolkit's reader and report need."""
        root = Path(bench.root)
        listing = root / bench.subset / "list.txt"
        if bench.subset == "val":
            folders = [root / "val" / seq.name for seq in get("got10k")(root, "val")]
        else:
            folders = listed_folders(listing.parent, read_names(listing), listing)
        for folder in folders:
            gt = folder / "groundtruth.txt"
            if bench.subset == "val":
                check_got10k_meta(folder)
            else:
                first = read_boxes(gt, columns=(4,))[0]
                check_boxes(first[None], str(gt))
                check_first_box(first, str(gt))
            check_toolkit_files(folder, "GOT-10k")
        return toolkit.got10k_experiment(os.path.abspath(root), bench.subset, out, reports)

    def truth(self, experiment, name: str) -> Truth:
        experiment.dataset.return_meta = True
        _, anno, meta = experiment.dataset[name]
        return Truth(anno, np.asarray(meta["cover"]) > 0, resolution(meta["resolution"]))

    def submissions(self, experiment, names: list[str]) -> dict[str, str] | None:
        """A zip per tracker for the evaluation server, laid out as the toolkit's test report writes it,
        written whole (a temporary file renamed into place)."""
        if experiment.subset != "test":
            return None
        zips = {}
        for name in names:
            folder = Path(experiment.result_dir).absolute() / name
            zips[name] = os.fspath(folder.with_name(f"{name}.zip"))
            with replacing(zips[name]) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
                for seq in experiment.dataset.seq_names:
                    archive.write(folder / seq, f"{seq}/")
                    for path in self.result_files(folder, seq, experiment.repetitions):
                        archive.write(path, f"{seq}/{path.name}")
        return zips

    def report_figures(self, performance: dict, ours: dict, warn: Callable[[str], None]) -> dict:
        overall = performance["overall"]
        figures = {"ao": float(overall["ao"]), "sr50": float(overall["sr"]),
                   "sr75": float(overall["succ_curve"][75]), "speed_fps": float(overall["speed_fps"])}
        if not math.isclose(figures["ao"], ours["ao"], abs_tol=1e-9):
            warn(f"the toolkit's AO {figures['ao']:.6f} differs from ours {ours['ao']:.6f}")
        return figures


class OTB(Benchmark):
    name = "otb"
    layout = "ROOT/<Seq>/img/ + groundtruth_rect.txt (--version 2013, 2015, tb50, tb100; default 2015)"
    tag_format = "OTB{version}"
    subsets, default_subset = (), ""
    has_report = True
    versions = (2015, 2013, "otb2013", "otb2015", "tb50", "tb100")  # the toolkit's
    box_records = slice(0, 1)

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        """The toolkit reads each sequence (frames ``img/*.jpg``, one ``x,y,w,h`` a line): its failures
        as one line naming the file (the boxes read by ours first)."""
        root = Path(bench.root)
        found = any(root.iterdir())  # an empty folder: the toolkit's own error advises download=True
        experiment = toolkit.otb_experiment(os.path.abspath(root), bench.version, out, reports) if found else None
        if not found or not experiment.dataset.seq_names:
            why = (f"no <Sequence>/groundtruth_rect.txt of OTB{bench.version}" if found else "the folder is empty "
                   "(expected ROOT/<Sequence>/img/ + groundtruth_rect.txt)")
            raise SiamFCError(f"{root}: wrong layout for OTB: {why}", str(root))
        dataset = experiment.dataset
        for index, name in enumerate(dataset.seq_names):
            folder = root / name.split(".")[0]
            read_boxes(folder / Path(dataset.anno_files[index]).name, columns=(4,))  # names a line at fault
            try:
                dataset[index]
            except AssertionError as exc:
                why = "frames and ground-truth lines differ in number" if any((folder / "img").glob("*.jpg")) else (
                    f"no img/*.jpg frames (the toolkit's OTB reader takes .jpg only; {FOLDER_HINT})")
                raise SiamFCError(f"{folder}: {why}", str(folder)) from exc
        return experiment

    def missing(self, bench: BenchmarkSpec) -> list[str]:
        return [n for n in toolkit.otb_versions()[bench.version] if not (Path(bench.root) / n).is_dir()]

    def result_files(self, base: Path, seq: str, repetitions: int) -> list[Path]:
        return [base / f"{seq}.txt", base / "times" / f"{seq}_time.txt"]

    def report_figures(self, performance: dict, ours: dict, warn: Callable[[str], None]) -> dict:
        return {key: float(performance["overall"][key]) for key in ("success_score", "precision_score", "speed_fps")}


class VOT(Benchmark):
    name = "vot"
    layout = "ROOT/list.txt + ROOT/<seq>/ (--version 2013..2018, LT2018; default 2018)"
    subsets, default_subset = (), ""
    has_report = True
    versions = (2018, 2013, 2014, 2015, 2016, 2017, "LT2018")  # the toolkit's documented and tested here
    extra_columns = (("Acc", "accuracy"), ("Rob", "robustness"))
    repeats = False
    box_values = (1, 4, 8)  # the toolkit writes codes (1 init, 2 failure, 0 skipped) and polygons
    box_records = slice(-2, -1)  # the one-pass (unsupervised) run

    def tag(self, bench: BenchmarkSpec) -> str:
        return "VOT-LT2018" if bench.version == "LT2018" else f"VOT{bench.version}"  # the toolkit's folder

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        experiment = toolkit.vot_experiment(os.path.abspath(bench.root), bench.version, out, reports)
        absent = [(s.name, int((~s.visible).sum())) for s in get("vot")(bench.root, "all") if not s.visible.all()]
        if absent:
            (name, count), more = absent[0], f" (and {len(absent) - 1} more sequence(s))" * (len(absent) > 1)
            raise SiamFCError(f"{name}: {count} frame(s) without a box (the target absent){more}; the toolkit's VOT "
                              "experiment needs a box in every frame: evaluate with --dataset folder, which leaves "
                              "absent frames out and reports the long-term F-score", name)
        for name in experiment.dataset.seq_names:  # what the toolkit's reader needs beyond ours
            check_toolkit_files(Path(bench.root) / name, "VOT")
        return experiment

    def result_files(self, base: Path, seq: str, repetitions: int) -> list[Path]:
        return (super().result_files(base / "baseline", seq, repetitions)
                + super().result_files(base / "unsupervised", seq, 1))

    def report_figures(self, performance: dict, ours: dict, warn: Callable[[str], None]) -> dict:
        return {k: float(v) for k, v in performance.items()}


BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (GOT10k(), OTB(), VOT(), LaSOT(), Folder())}


def benchmark_for(bench: BenchmarkSpec | str) -> Benchmark:
    """The adapter of ``bench`` (a spec or a dataset name: BenchmarkSpec and --dataset take only these)."""
    return BENCHMARKS[bench if isinstance(bench, str) else bench.dataset]


def result_root(bench: BenchmarkSpec) -> Path:
    """``out/<benchmark>``: the toolkit's folder, holding a folder per tracker."""
    return Path(bench.out) / benchmark_for(bench).tag(bench)


def open_experiment(bench: BenchmarkSpec):
    """The toolkit experiment for ``bench``, after checking the options and the data's layout."""
    adapter, roots = benchmark_for(bench), (bench.root, *bench.more_roots)
    toolkit.import_got10k()
    absent = next((root for root in roots if not Path(root).is_dir()), None)
    listing = adapter.listing.format(subset=bench.subset)
    taken = f"subsets {', '.join(adapter.subsets)}" if adapter.subsets else "no subsets (--sequences picks sequences)"
    versions = f"{adapter.name.upper()} versions are {', '.join(sorted(map(str, adapter.versions)))}"
    refusals = [  # (refused, message, key): the first refused is raised
        (adapter.subsets is not None and bench.subset not in (*adapter.subsets, adapter.default_subset),
         f"--subset {bench.subset}: the {adapter.name} benchmark has {taken}", "--subset"),
        (bench.version is not None and bench.version not in adapter.versions, f"--version {bench.version}: "
         + (versions if adapter.versions else f"the {adapter.name} benchmark has no versions"), "--version"),
        (len(roots) > 1 and not adapter.joins_roots, f"--root given {len(roots)} times: only --dataset folder joins "
         "several roots", "--root"),
        (absent, f"dataset folder {absent} does not exist", absent),
        (listing and not (Path(bench.root) / listing).is_file(), f"{Path(bench.root)}: wrong layout for "
         f"{adapter.tag(bench)}: no {listing} (expected {adapter.layout}; {FOLDER_HINT})", str(Path(bench.root))),
        (bench.repetitions > 1 and not adapter.repeats, f"--repetitions: {adapter.name.upper()} runs are done once "
         "per sequence here", "--repetitions")]
    for refused, message, key in refusals:
        if refused:
            raise SiamFCError(message, key)
    out = os.path.abspath(bench.out)  # the toolkit's paths never depend on the working folder
    experiment = adapter.open(bench, out, os.path.join(out, "reports"))
    experiment.repetitions = bench.repetitions
    return experiment


def select_sequences(bench: BenchmarkSpec, experiment, wanted: list[str] | None) -> list[str]:
    """``wanted`` (checked), else every sequence: then all of a benchmark's sequences must be there."""
    names = list(experiment.dataset.seq_names)
    missing = [] if wanted else benchmark_for(bench).missing(bench)
    unknown = [n for n in wanted or () if n not in names]
    for refused, message, key in (  # the first refused is raised
            (missing, f"{bench.root}: {len(missing)} sequence(s) of {result_root(bench).name} missing ("
             f"{', '.join(missing[:5])}{', ...' * (len(missing) > 5)}); pass --sequences to evaluate those present",
             bench.root),
            (unknown, f"--sequences: unknown sequence(s) {', '.join(unknown)} (known: {', '.join(names[:8])}"
             f"{', ...' * (len(names) > 8)})", "--sequences")):
        if refused:
            raise SiamFCError(message, key)
    return list(dict.fromkeys(wanted or names))
