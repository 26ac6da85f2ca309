"""OTB, run and reported by the toolkit's own experiment (never downloading)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ...data.sequences import read_boxes
from ...errors import SiamFCError
from ..specs import BenchmarkSpec
from .base import Benchmark, Truth, box_visible, image_size


class OTB(Benchmark):
    name = "otb"
    layout = "ROOT/<Seq>/img/ + groundtruth_rect.txt (--version 2013, 2015, tb50, tb100; default 2015)"
    has_report = True
    has_subsets = False

    def parse_version(self, text: str | None) -> str | int | None:
        text = text or "2015"
        return int(text) if text.isdigit() else text.lower()

    def tag(self, bench: BenchmarkSpec) -> str:
        return f"OTB{bench.version}"

    def open(self, bench: BenchmarkSpec, out: str, reports: str):
        from ..got10k_compat import otb_experiment, otb_versions

        root = Path(bench.root)
        versions = otb_versions()
        if bench.version not in versions:
            raise SiamFCError(f"--version {bench.version}: OTB versions are {', '.join(map(str, versions))}",
                              "--version")
        if not any(root.iterdir()):  # the toolkit's own error here advises download=True
            raise SiamFCError(f"{root}: wrong layout for OTB: the folder is empty "
                              "(expected ROOT/<Sequence>/img/ + groundtruth_rect.txt)", str(root))
        experiment = otb_experiment(os.path.abspath(root), bench.version, out, reports)
        if not experiment.dataset.seq_names:
            raise SiamFCError(f"{root}: wrong layout for OTB: no <Sequence>/groundtruth_rect.txt of "
                              f"OTB{bench.version}", str(root))
        for index, name in enumerate(experiment.dataset.seq_names):
            _check_sequence(experiment.dataset, index, root / name.split(".")[0])
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


def _check_sequence(dataset, index: int, folder: Path) -> None:
    """The toolkit reads the sequence (frames ``img/*.jpg``, one ``x,y,w,h`` a line): its failures
    as one line naming the file."""
    try:
        dataset[index]
    except AssertionError as exc:
        if not any((folder / "img").glob("*.jpg")):
            raise SiamFCError(f"{folder}: no img/*.jpg frames (the toolkit's OTB reader takes .jpg only; "
                              "--dataset folder reads other images)", str(folder)) from exc
        raise SiamFCError(f"{folder}: frames and ground-truth lines differ in number, or lines are not "
                          "x,y,w,h", str(folder)) from exc
    except ValueError as exc:
        anno = folder / Path(dataset.anno_files[index]).name
        read_boxes(anno, columns=(4,))  # names the line at fault
        raise SiamFCError(f"{anno}: not one x,y,w,h box a line", str(anno)) from exc
