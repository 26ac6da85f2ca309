"""OTB: ``ROOT/<Seq>/img/`` + ``groundtruth_rect.txt``; run and reported by the toolkit's own
experiment (never downloading), with its per-version sequence lists."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ...errors import UserError
from ..specs import BenchmarkSpec
from .base import Benchmark, Truth, box_visible, image_size


class OTB(Benchmark):
    name = "otb"
    layout = "ROOT/<Seq>/img/ + groundtruth_rect.txt (--version 2013, 2015, tb50, tb100; default 2015)"
    has_report = True

    def parse_version(self, text: str | None) -> str | int | None:
        text = text or "2015"
        return int(text) if text.isdigit() else text.lower()

    def tag(self, bench: BenchmarkSpec) -> str:
        return f"OTB{bench.version}"

    def title(self, bench: BenchmarkSpec) -> str:
        return self.tag(bench)

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        from ..got10k_compat import otb_experiment, otb_versions

        root = Path(bench.root)
        versions = otb_versions()
        if bench.version not in versions:
            raise UserError(f"--version {bench.version}: OTB versions are {', '.join(map(str, versions))}")
        try:
            experiment = otb_experiment(os.fspath(root), bench.version, out, reports)
        except Exception as exc:  # the toolkit raises a bare Exception for an empty folder
            raise UserError(f"{root}: wrong layout for OTB ({exc})") from None
        if not experiment.dataset.seq_names:
            raise UserError(f"{root}: wrong layout for OTB: no <Sequence>/groundtruth_rect.txt of OTB{bench.version}")
        for name in experiment.dataset.seq_names:
            try:
                experiment.dataset[name]
            except AssertionError:
                folder = root / name.split(".")[0]
                raise UserError(f"{folder}: frames and ground-truth lines differ in number") from None
        return experiment

    def missing(self, bench: BenchmarkSpec) -> list[str]:
        from ..got10k_compat import otb_versions

        return [n for n in otb_versions()[bench.version] if not (Path(bench.root) / n).is_dir()]

    def truth(self, experiment, name: str) -> Truth:
        img_files, anno = experiment.dataset[name]
        return Truth(anno, box_visible(anno), image_size(img_files[0]))

    def result_files(self, base: Path, seq: str, repetitions: int) -> list[Path]:
        return [base / f"{seq}.txt", base / "times" / f"{seq}_time.txt"]

    def existing_files(self, base: Path, seq: str) -> list[Path]:
        return [p for p in self.result_files(base, seq, 1) if p.exists()]

    def box_records(self, files: list[Path]) -> list[Path]:
        return [files[0]]

    def report_figures(self, performance: dict, ours: dict, warn: Callable[[str], None]) -> dict:
        overall = performance["overall"]
        return {"success_score": float(overall["success_score"]),
                "precision_score": float(overall["precision_score"]),
                "speed_fps": float(overall["speed_fps"])}
