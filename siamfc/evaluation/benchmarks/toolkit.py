"""The benchmarks the got10k toolkit runs and reports with its own experiments: GOT-10k (test: the
submission zips), OTB and VOT (never downloading; VOT's figures from its one-pass, ``unsupervised``,
run, accuracy and robustness from its report)."""

from __future__ import annotations

import ast
import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ...data.registry import get
from ...data.sequences import _read_text, check_boxes, got10k_sequences, listed_folders, read_boxes, read_names
from ...errors import SiamFCError
from ...files import replacing
from ..metrics import Truth
from ..specs import BenchmarkSpec
from .base import Benchmark, check_first_box, check_toolkit_files

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

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        """After checking every sequence: val read whole by the data layer, test's first box (the rest
        is withheld); then what the toolkit's reader and report need."""
        from ..got10k_compat import got10k_experiment

        root = Path(bench.root)
        listing = root / bench.subset / "list.txt"
        if not listing.is_file():
            raise SiamFCError(f"{root}: wrong layout for GOT-10k: no {bench.subset}/list.txt "
                              "(expected ROOT/{val,test}/list.txt; --dataset folder reads plain folders)", str(root))
        if bench.subset == "val":
            folders = [root / "val" / seq.name for seq in got10k_sequences(root, "val")]
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
            frames, lines = check_toolkit_files(folder, "GOT-10k")
            if lines not in (1, frames):
                raise SiamFCError(f"{gt}: {lines} lines for {frames} frames (the test subset gives the first box "
                                  "only, or one a frame)", str(gt))
        return got10k_experiment(os.path.abspath(root), bench.subset, out, reports)

    def truth(self, experiment, name: str) -> Truth:
        dataset = experiment.dataset
        dataset.return_meta = True
        _, anno, meta = dataset[name]
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
    subsets = ()
    has_report = True
    versions = (2015, 2013, "otb2013", "otb2015", "tb50", "tb100")  # the toolkit's
    box_records = slice(0, 1)

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        """The toolkit reads each sequence (frames ``img/*.jpg``, one ``x,y,w,h`` a line): its failures
        as one line naming the file (the boxes read by ours first)."""
        from ..got10k_compat import otb_experiment

        root = Path(bench.root)
        if not any(root.iterdir()):  # the toolkit's own error here advises download=True
            raise SiamFCError(f"{root}: wrong layout for OTB: the folder is empty "
                              "(expected ROOT/<Sequence>/img/ + groundtruth_rect.txt)", str(root))
        experiment = otb_experiment(os.path.abspath(root), bench.version, out, reports)
        dataset = experiment.dataset
        if not dataset.seq_names:
            raise SiamFCError(f"{root}: wrong layout for OTB: no <Sequence>/groundtruth_rect.txt of "
                              f"OTB{bench.version}", str(root))
        for index, name in enumerate(dataset.seq_names):
            folder = root / name.split(".")[0]
            read_boxes(folder / Path(dataset.anno_files[index]).name, columns=(4,))  # names a line at fault
            try:
                dataset[index]
            except AssertionError as exc:
                why = ("no img/*.jpg frames (the toolkit's OTB reader takes .jpg only; --dataset folder reads other "
                       "images)" if not any((folder / "img").glob("*.jpg")) else "frames and ground-truth lines differ "
                       "in number")
                raise SiamFCError(f"{folder}: {why}", str(folder)) from exc
        return experiment

    def missing(self, bench: BenchmarkSpec) -> list[str]:
        from ..got10k_compat import otb_versions

        return [n for n in otb_versions()[bench.version] if not (Path(bench.root) / n).is_dir()]

    def result_files(self, base: Path, seq: str, repetitions: int) -> list[Path]:
        return [base / f"{seq}.txt", base / "times" / f"{seq}_time.txt"]

    def report_figures(self, performance: dict, ours: dict, warn: Callable[[str], None]) -> dict:
        return {key: float(performance["overall"][key]) for key in ("success_score", "precision_score", "speed_fps")}


class VOT(Benchmark):
    name = "vot"
    layout = "ROOT/list.txt + ROOT/<seq>/ (--version 2013..2018, LT2018; default 2018)"
    subsets = ()
    has_report = True
    versions = (2018, 2013, 2014, 2015, 2016, 2017, "LT2018")  # the toolkit's documented and tested here
    extra_columns = (("Acc", "accuracy"), ("Rob", "robustness"))
    box_values = (1, 4, 8)  # the toolkit writes codes (1 init, 2 failure, 0 skipped) and polygons
    box_records = slice(-2, -1)  # the one-pass (unsupervised) run

    def tag(self, bench: BenchmarkSpec) -> str:
        return "VOT-LT2018" if bench.version == "LT2018" else f"VOT{bench.version}"  # the toolkit's folder

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        from ..got10k_compat import vot_experiment

        if bench.repetitions != 1:
            raise SiamFCError("--repetitions: VOT runs are done once per sequence here", "--repetitions")
        experiment = vot_experiment(os.path.abspath(bench.root), bench.version, out, reports)
        absent = {s.name: int((~s.visible).sum()) for s in get("vot")(bench.root, "all") if not s.visible.all()}
        if absent:
            name, count = next(iter(absent.items()))
            more = f" (and {len(absent) - 1} more sequence(s))" if len(absent) > 1 else ""
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
