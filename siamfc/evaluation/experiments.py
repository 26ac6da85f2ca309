"""The got10k toolkit's experiment for a benchmark (data layout checked first), its ground truth,
and the sequences to evaluate."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import UserError
from .specs import DATASETS, BenchmarkSpec
from .toolkit import (
    FolderSequences,
    check_sequences,
    folder_experiment,
    import_got10k,
    local_experiment_otb,
    local_experiment_vot,
    read_list,
)


def result_root(bench: BenchmarkSpec) -> Path:
    """``out/<benchmark>``: the toolkit's folder, holding a folder per tracker."""
    if bench.dataset == "got10k":
        tag = "GOT-10k"
    elif bench.dataset == "otb":
        tag = f"OTB{bench.version}"
    elif bench.dataset == "vot":
        tag = f"VOT{bench.version}"
    else:
        tag = "+".join(f"folder-{_root_tag(r, bench.subset)}" for r in (bench.root, *bench.more_roots))
    return Path(bench.out) / tag


def _root_tag(root: str, subset: str) -> str:
    """A folder's name, with its parent's when it is a subset folder (``GOT-10k-mini-val``)."""
    path = Path(root).resolve()
    return f"{path.parent.name}-{path.name}" if path.name in (subset, "val", "test", "train") else path.name


def open_experiment(bench: BenchmarkSpec):
    """The toolkit experiment for ``bench``, after checking the data's layout (one-line errors)."""
    import_got10k()
    root = Path(bench.root)
    if not root.is_dir():
        raise UserError(f"dataset folder {root} does not exist")
    if bench.more_roots and bench.dataset != "folder":
        raise UserError(f"--root given {1 + len(bench.more_roots)} times: only --dataset folder joins several roots")
    out = os.fspath(bench.out)
    reports = os.path.join(out, "reports")
    if bench.dataset == "got10k":
        from got10k.experiments import ExperimentGOT10k

        if bench.subset not in ("val", "test"):
            raise UserError(f"--subset {bench.subset}: GOT-10k evaluation runs on val or test")
        list_file = root / bench.subset / "list.txt"
        if not list_file.is_file():
            raise UserError(f"{root}: wrong layout for GOT-10k: no {bench.subset}/list.txt "
                            "(expected ROOT/{val,test}/list.txt; --dataset folder reads plain folders)")
        names = read_list(list_file)
        check_sequences(root / bench.subset, names, "first" if bench.subset == "test" else "exact")
        if bench.subset == "val":
            for name in names:
                for meta in ("meta_info.ini", "cover.label"):
                    if not (root / bench.subset / name / meta).is_file():
                        raise UserError(f"{root / bench.subset / name}: no {meta} (the GOT-10k report needs "
                                        "meta_info.ini and cover.label; --dataset folder reads plain sequences)")
        with contextlib.redirect_stdout(io.StringIO()):
            experiment = ExperimentGOT10k(os.fspath(root), subset=bench.subset, result_dir=out, report_dir=reports)
    elif bench.dataset == "otb":
        experiment = _open_otb(bench, root, out, reports)
    elif bench.dataset == "vot":
        experiment = local_experiment_vot(os.fspath(root), bench.version, out, reports)
        check_sequences(root, experiment.dataset.seq_names, "exact")
    elif bench.dataset == "folder":
        dataset = FolderSequences(root, bench.subset, bench.more_roots)
        experiment = folder_experiment(dataset, out, result_root(bench).name)
    else:
        raise UserError(f"--dataset {bench.dataset!r}: choose one of {', '.join(DATASETS)}")
    experiment.repetitions = bench.repetitions
    return experiment


def _open_otb(bench: BenchmarkSpec, root: Path, out: str, reports: str):
    from got10k.datasets import OTB

    versions = OTB._OTB__version_dict  # the toolkit's per-version sequence lists
    if bench.version not in versions:
        raise UserError(f"--version {bench.version}: OTB versions are {', '.join(map(str, versions))}")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            experiment = local_experiment_otb(os.fspath(root), bench.version, out, reports)
    except Exception as exc:  # the toolkit raises a bare Exception for an empty folder
        raise UserError(f"{root}: wrong layout for OTB ({exc})") from None
    if not experiment.dataset.seq_names:
        raise UserError(f"{root}: wrong layout for OTB: no <Sequence>/groundtruth_rect.txt of OTB{bench.version}")
    for name in experiment.dataset.seq_names:
        try:
            img_files, anno = experiment.dataset[name]
        except AssertionError:
            raise UserError(f"{root / name.split('.')[0]}: frames and ground-truth lines differ in number") from None
    return experiment


def missing_otb_sequences(bench: BenchmarkSpec) -> list[str]:
    from got10k.datasets import OTB

    names = OTB._OTB__version_dict[bench.version]
    return [n for n in names if not (Path(bench.root) / n).is_dir()]


@dataclass
class Truth:
    """Ground truth of one sequence as the metrics need it."""

    anno: np.ndarray  # N x 4, x, y, w, h
    visible: np.ndarray  # N bools
    bound: tuple[int, int]  # image width, height


def sequence_truth(bench: BenchmarkSpec, experiment, name: str) -> Truth:
    dataset = experiment.dataset
    if bench.dataset == "got10k":
        dataset.return_meta = True
        img_files, anno, meta = dataset[name]
        import ast

        bound = tuple(int(v) for v in ast.literal_eval(meta["resolution"]))
        visible = np.asarray(meta["cover"]) > 0
        return Truth(anno, visible, bound)
    if bench.dataset == "vot":
        img_files, anno, _ = dataset[name]
        if anno.shape[1] == 8:
            anno = dataset._corner2rect(anno)
    else:
        img_files, anno = dataset[name]
    with Image.open(img_files[0]) as image:
        bound = image.size
    visible = np.all(np.isfinite(anno), axis=1) & (np.nan_to_num(anno[:, 2]) > 0) & (np.nan_to_num(anno[:, 3]) > 0)
    seq_dir = Path(dataset.seq_dirs[dataset.seq_names.index(name)])
    for label, keep in (("cover.label", lambda v: v > 0), ("absence.label", lambda v: v == 0)):
        if (seq_dir / label).is_file():
            values = np.loadtxt(seq_dir / label, ndmin=1)
            if len(values) == len(visible):
                visible &= keep(values)
    return Truth(anno, visible, bound)


def select_sequences(bench: BenchmarkSpec, experiment, wanted: list[str] | None) -> list[str]:
    names = list(experiment.dataset.seq_names)
    if bench.dataset == "otb" and not wanted:
        missing = missing_otb_sequences(bench)
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise UserError(f"{bench.root}: {len(missing)} sequence(s) of OTB{bench.version} missing ({shown}); "
                            "pass --sequences to evaluate those present")
    if not wanted:
        return names
    unknown = [n for n in wanted if n not in names]
    if unknown:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise UserError(f"--sequences: unknown sequence(s) {', '.join(unknown)} (known: {shown})")
    return list(dict.fromkeys(wanted))
