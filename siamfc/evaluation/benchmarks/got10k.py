"""GOT-10k, run and reported by the toolkit's own experiment (test: the submission zips)."""

from __future__ import annotations

import ast
import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ...data.sequences import check_boxes, frame_files, got10k_sequences, listed_folders, read_boxes, read_names
from ...errors import SiamFCError
from ..specs import BenchmarkSpec
from .base import Benchmark, Truth, check_comma_boxes, check_got10k_meta, check_jpg_frames

LABELS = ("cover.label", "absence.label", "cut_by_image.label")  # all read by the toolkit's reader


class GOT10k(Benchmark):
    name = "got10k"
    layout = "ROOT/{val,test}/list.txt + ROOT/<subset>/<seq>/ (frames, groundtruth.txt; val: meta_info.ini)"
    has_report = True

    def check(self, bench: BenchmarkSpec) -> None:
        if bench.subset not in ("val", "test"):
            raise SiamFCError(f"--subset {bench.subset}: GOT-10k evaluation runs on val or test", "--subset")

    def tag(self, bench: BenchmarkSpec) -> str:
        return "GOT-10k"

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        from ..got10k_compat import got10k_experiment

        root = Path(bench.root)
        base = root / bench.subset
        if not (base / "list.txt").is_file():
            raise SiamFCError(f"{root}: wrong layout for GOT-10k: no {bench.subset}/list.txt "
                              "(expected ROOT/{val,test}/list.txt; --dataset folder reads plain folders)", str(root))
        if bench.subset == "val":
            _check_val_subset(root)
        else:
            _check_test_subset(base)
        return got10k_experiment(os.path.abspath(root), bench.subset, out, reports)

    def truth(self, experiment, name: str) -> Truth:
        dataset = experiment.dataset
        dataset.return_meta = True
        _, anno, meta = dataset[name]
        bound = tuple(int(v) for v in ast.literal_eval(meta["resolution"]))
        return Truth(anno, np.asarray(meta["cover"]) > 0, bound)

    def submissions(self, experiment, names: list[str]) -> dict[str, str] | None:
        """A zip per tracker for the evaluation server, laid out as the toolkit's test report writes it."""
        if experiment.subset != "test":
            return None
        zips = {}
        for name in names:
            folder = Path(experiment.result_dir).absolute() / name
            zips[name] = os.fspath(_write_zip(folder, experiment.dataset.seq_names, experiment.repetitions))
        return zips

    def report_figures(self, performance: dict, ours: dict, warn: Callable[[str], None]) -> dict:
        overall = performance["overall"]
        figures = {"ao": float(overall["ao"]), "sr50": float(overall["sr"]),
                   "sr75": float(overall["succ_curve"][75]),
                   "speed_fps": float(overall["speed_fps"])}
        if not math.isclose(figures["ao"], ours["ao"], abs_tol=1e-9):
            warn(f"the toolkit's AO {figures['ao']:.6f} differs from ours {ours['ao']:.6f}")
        return figures


def _check_val_subset(root: Path) -> None:
    """GOT-10k val: every sequence read by the data layer, then what the toolkit's reader and report need."""
    for seq in got10k_sequences(root, "val"):
        folder = root / "val" / seq.name
        for meta in ("meta_info.ini", *LABELS):
            if not (folder / meta).is_file():
                raise SiamFCError(f"{folder}: no {meta} (the GOT-10k report needs meta_info.ini and "
                                  f"{', '.join(LABELS)}; --dataset folder reads plain sequences)", str(folder / meta))
        check_jpg_frames(folder, "GOT-10k")
        check_comma_boxes(folder / "groundtruth.txt", "GOT-10k")
        check_got10k_meta(folder)


def _check_test_subset(base: Path) -> None:
    """GOT-10k test: every listed sequence has frames and its first box (the rest is withheld)."""
    listing = base / "list.txt"
    for folder in listed_folders(base, read_names(listing), listing):
        if not frame_files(folder):
            raise SiamFCError(f"{folder}: no frames", str(folder))
        gt = folder / "groundtruth.txt"
        first = read_boxes(gt, columns=(4,))[0]
        check_boxes(first[None], str(gt))
        if not (np.all(np.isfinite(first)) and first[2] > 0 and first[3] > 0):
            raise SiamFCError(f"{gt}: the first line must be the target's box (x,y,w,h)", str(gt))
        frames = check_jpg_frames(folder, "GOT-10k")
        lines = check_comma_boxes(gt, "GOT-10k")
        if lines not in (1, frames):
            raise SiamFCError(f"{gt}: {lines} lines for {frames} frames (the test subset gives the first box only, "
                              "or one a frame)", str(gt))


def _write_zip(folder: Path, sequences: list[str], repetitions: int) -> Path:
    """``folder.zip`` beside ``folder`` with each sequence's result files, written whole."""
    target = folder.with_name(f"{folder.name}.zip")
    tmp = target.with_name(f".{target.name}.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for seq in sequences:
            archive.write(folder / seq, f"{seq}/")
            for path in GOT10k().result_files(folder, seq, repetitions):
                archive.write(path, f"{seq}/{path.name}")
    os.replace(tmp, target)
    return target
