"""VOT, run by the toolkit's own experiment (never downloading): the figures from its one-pass
(``unsupervised``) run, accuracy and robustness from its report."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ...data.registry import get
from ...errors import SiamFCError
from ..specs import BenchmarkSpec
from .base import Benchmark, Truth, box_visible, check_comma_boxes, check_jpg_frames, image_size

#: the versions taken (the toolkit's other ones are not documented or tested here)
VERSIONS: tuple[int | str, ...] = (2013, 2014, 2015, 2016, 2017, 2018, "LT2018")


class VOT(Benchmark):
    name = "vot"
    layout = "ROOT/list.txt + ROOT/<seq>/ (--version 2013..2018, LT2018; default 2018)"
    has_report = True
    has_subsets = False
    extra_columns = (("Acc", "accuracy"), ("Rob", "robustness"))
    box_values = (1, 4, 8)  # the toolkit writes codes (1 init, 2 failure, 0 skipped) and polygons

    def parse_version(self, text: str | None) -> str | int | None:
        text = (text or "2018").strip()
        version = int(text) if text.isdigit() else text.upper()
        if version not in VERSIONS:
            raise SiamFCError(f"--version {text}: VOT versions are {', '.join(map(str, VERSIONS))}", "--version")
        return version

    def check(self, bench: BenchmarkSpec) -> None:
        if bench.repetitions != 1:
            raise SiamFCError("--repetitions: VOT runs are done once per sequence here", "--repetitions")

    def tag(self, bench: BenchmarkSpec) -> str:
        return "VOT-LT2018" if bench.version == "LT2018" else f"VOT{bench.version}"  # the toolkit's folder

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        from ..got10k_compat import vot_experiment

        experiment = vot_experiment(os.path.abspath(bench.root), bench.version, out, reports)
        absent = {s.name: int((~s.visible).sum()) for s in get("vot")(bench.root, "all") if not s.visible.all()}
        if absent:
            name, count = next(iter(absent.items()))
            more = f" (and {len(absent) - 1} more sequence(s))" if len(absent) > 1 else ""
            raise SiamFCError(f"{name}: {count} frame(s) without a box (the target absent){more}; the toolkit's VOT "
                              "experiment needs a box in every frame: evaluate with --dataset folder, which leaves "
                              "absent frames out and reports the long-term F-score", name)
        for name in experiment.dataset.seq_names:  # what the toolkit's reader needs beyond ours
            folder = Path(bench.root) / name
            check_jpg_frames(folder, "VOT")
            check_comma_boxes(folder / "groundtruth.txt", "VOT")
        return experiment

    def truth(self, experiment, name: str) -> Truth:
        from ..got10k_compat import vot_rects

        img_files, anno, _ = experiment.dataset[name]
        anno = vot_rects(experiment.dataset, anno)
        return Truth(anno, box_visible(anno), image_size(img_files[0]))

    def result_files(self, base: Path, seq: str, repetitions: int) -> list[Path]:
        baseline, unsupervised = base / "baseline" / seq, base / "unsupervised" / seq
        return ([baseline / f"{seq}_{r:03d}.txt" for r in range(1, repetitions + 1)] + [baseline / f"{seq}_time.txt"]
                + [unsupervised / f"{seq}_001.txt", unsupervised / f"{seq}_time.txt"])

    def existing_files(self, base: Path, seq: str) -> list[Path]:
        folders = [base / "baseline" / seq, base / "unsupervised" / seq]
        return [p for d in folders if d.is_dir() for p in d.iterdir() if p.name.startswith(f"{seq}_")]

    def box_records(self, files: list[Path]) -> list[Path]:
        return [files[-2]]  # the one-pass (unsupervised) run

    def parse_record(self, row: list[float], first_box: np.ndarray) -> list[float]:
        return first_box.tolist() if len(row) == 1 else row  # "1": the initialisation frame

    def report_figures(self, performance: dict, ours: dict, warn: Callable[[str], None]) -> dict:
        return {k: float(v) for k, v in performance.items()}
