"""GOT-10k: ``ROOT/{val,test}/list.txt`` and a folder per sequence; run and reported by the
toolkit's own experiment (val: its AO, SR0.5, SR0.75 next to ours; test: the submission zips)."""

from __future__ import annotations

import ast
import contextlib
import io
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ...data.sequences import frame_files, got10k_sequences, listed_folders, read_boxes, read_names
from ...errors import UserError
from ..specs import BenchmarkSpec
from .base import Benchmark, Truth


class GOT10k(Benchmark):
    name = "got10k"
    layout = "ROOT/{val,test}/list.txt + ROOT/<subset>/<seq>/ (frames, groundtruth.txt; val: meta_info.ini)"
    has_report = True

    def check(self, bench: BenchmarkSpec) -> None:
        if bench.subset not in ("val", "test"):
            raise UserError(f"--subset {bench.subset}: GOT-10k evaluation runs on val or test")

    def tag(self, bench: BenchmarkSpec) -> str:
        return "GOT-10k"

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        from ..got10k_compat import got10k_experiment

        root = Path(bench.root)
        base = root / bench.subset
        if not (base / "list.txt").is_file():
            raise UserError(f"{root}: wrong layout for GOT-10k: no {bench.subset}/list.txt "
                            "(expected ROOT/{val,test}/list.txt; --dataset folder reads plain folders)")
        if bench.subset == "val":
            for seq in got10k_sequences(root, "val"):  # one-line errors naming the file at fault
                for meta in ("meta_info.ini", "cover.label"):
                    if not (base / seq.name / meta).is_file():
                        raise UserError(f"{base / seq.name}: no {meta} (the GOT-10k report needs "
                                        "meta_info.ini and cover.label; --dataset folder reads plain sequences)")
        else:
            _check_test_subset(base)
        return got10k_experiment(os.fspath(root), bench.subset, out, reports)

    def truth(self, experiment, name: str) -> Truth:
        dataset = experiment.dataset
        dataset.return_meta = True
        _, anno, meta = dataset[name]
        bound = tuple(int(v) for v in ast.literal_eval(meta["resolution"]))
        return Truth(anno, np.asarray(meta["cover"]) > 0, bound)

    def submissions(self, experiment, names: list[str]) -> dict[str, str] | None:
        if experiment.subset != "test":
            return None
        with contextlib.redirect_stdout(io.StringIO()):
            experiment.report(names)  # the toolkit's test report: a zip per tracker
        return {name: os.fspath(Path(experiment.result_dir) / f"{name}.zip") for name in names}

    def report_figures(self, performance: dict, ours: dict, warn: Callable[[str], None]) -> dict:
        overall = performance["overall"]
        figures = {"ao": float(overall["ao"]), "sr50": float(overall["sr"]),
                   "sr75": float(overall["succ_curve"][75]),
                   "speed_fps": float(overall["speed_fps"])}
        if not math.isclose(figures["ao"], ours["ao"], abs_tol=1e-9):
            warn(f"the toolkit's AO {figures['ao']:.6f} differs from ours {ours['ao']:.6f}")
        return figures


def _check_test_subset(base: Path) -> None:
    """GOT-10k test: every listed sequence has frames and its first box (the rest is withheld)."""
    listing = base / "list.txt"
    for folder in listed_folders(base, read_names(listing), listing):
        if not frame_files(folder):
            raise UserError(f"{folder}: no frames")
        first = read_boxes(folder / "groundtruth.txt", columns=(4,))[0]
        if not (np.all(np.isfinite(first)) and first[2] > 0 and first[3] > 0):
            raise UserError(f"{folder / 'groundtruth.txt'}: the first line must be the target's box (x,y,w,h)")
