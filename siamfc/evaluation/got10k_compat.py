"""The got10k toolkit (0.1.3), patched only where called (nothing here edits site-packages or NumPy on import), and what
its run loop needs from us: our sequences behind its dataset interface, and trackers timed without frame decoding."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from unittest import mock

import numpy as np
from PIL import Image

from ..data.sequences import Sequence as DataSequence
from ..data.sequences import read_names
from ..errors import SiamFCError


class AtomicRecords:
    """Mixin for the toolkit's experiments: a run's files are written in a temporary folder, then
    renamed into place, the box record (the toolkit's sign that a run is done) last."""

    def _record(self, record_file: str, boxes, times) -> None:
        folder = Path(record_file).parent
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".record.", dir=folder) as staging:
            for time_file in folder.glob("*_time.txt"):  # the toolkit adds a repetition's column to it
                shutil.copyfile(time_file, Path(staging) / time_file.name)
            super()._record(os.path.join(staging, Path(record_file).name), boxes, times)
            written = [p for p in Path(staging).rglob("*") if p.is_file()]
            for path in sorted(written, key=lambda p: p.name == Path(record_file).name):
                target = folder / path.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)


def import_got10k() -> None:
    """Import the toolkit, naming what is missing (it imports ``six`` without declaring it)."""
    try:
        import got10k.datasets  # noqa: F401  (imports six)
    except ModuleNotFoundError as exc:
        if exc.name == "six":
            raise SiamFCError("the got10k toolkit needs the 'six' package: pip install six", "six") from exc
        raise SiamFCError(f"the got10k toolkit is not importable ({exc}): pip install got10k==0.1.3", "got10k") from exc


def numpy_nan_alias() -> contextlib.AbstractContextManager:
    """``np.NaN`` (gone in NumPy 2; the toolkit's VOT code uses it) for the block only."""
    return mock.patch.object(np, "NaN", np.nan, create=True)


def float_ious(boxes: list, anno: np.ndarray, bound, burnin: int = 0) -> np.ndarray:
    """``ExperimentVOT._calc_iou`` with plain floats (its arrays fail since NumPy 1.24): NaN where a record is a code
    (``[1]`` init, ``[2]`` failure, ``[0]`` skipped); ``burnin`` frames after each re-initialisation count 0."""
    from got10k.utils.metrics import poly_iou

    if burnin:
        boxes = list(boxes)
        for ind in [i for i, box in enumerate(boxes) if list(box) == [1.0]]:
            boxes[ind:ind + burnin] = [[0]] * burnin
    return np.array([float(poly_iou(np.array(a), b, bound)[0]) if len(a) > 1 else np.nan
                     for a, b in zip(boxes, anno, strict=False)])


def otb_versions() -> dict:
    """OTB version -> its sequence names (the toolkit's private list)."""
    import_got10k()
    from got10k.datasets import OTB

    return OTB._OTB__version_dict


def otb_experiment(root_dir: str, version, result_dir: str, report_dir: str):
    """``ExperimentOTB`` whose dataset is read from ``root_dir`` and never downloaded."""
    import_got10k()
    from got10k.datasets import OTB
    from got10k.experiments import ExperimentOTB, otb

    class LocalExperimentOTB(AtomicRecords, ExperimentOTB):
        pass

    with (contextlib.redirect_stdout(io.StringIO()),  # the toolkit's __init__, never downloading
          mock.patch.object(otb, "OTB", lambda root, version, download: OTB(root, version, download=False))):
        return LocalExperimentOTB(root_dir, version, result_dir, report_dir)


def vot_experiment(root_dir: str, version, result_dir: str, report_dir: str):
    """``ExperimentVOT`` that never downloads, with :func:`float_ious` (its ``run`` and ``report`` need
    :func:`numpy_nan_alias` around them)."""
    import_got10k()
    from got10k.experiments import ExperimentVOT

    class LocalExperimentVOT(AtomicRecords, ExperimentVOT):
        def _calc_iou(self, boxes, anno, bound, burnin=False):
            return float_ious(boxes, anno, bound, self.burnin if burnin else 0)

    # VOT(..., download=True) downloads only when list.txt or a sequence folder is missing
    list_file = Path(root_dir) / "list.txt"
    if not list_file.is_file():
        raise SiamFCError(f"{root_dir}: wrong layout for VOT: no list.txt (expected ROOT/list.txt and ROOT/<seq>/)",
                          str(list_file))
    for name in read_names(list_file):
        if not (Path(root_dir) / name).is_dir():
            raise SiamFCError(f"{list_file} names sequence {name!r}, but {Path(root_dir) / name} does not exist",
                              str(Path(root_dir) / name))
    with contextlib.redirect_stdout(io.StringIO()):
        return LocalExperimentVOT(root_dir, version, read_image=True, experiments=("supervised", "unsupervised"),
                                  result_dir=result_dir, report_dir=report_dir)  # not its real-time experiment


def vot_rects(dataset, anno: np.ndarray) -> np.ndarray:
    """VOT ground truth as the toolkit's report turns polygons into boxes."""
    return dataset._corner2rect(anno) if anno.shape[1] == 8 else anno


def _quiet_got10k_class() -> type:
    """``ExperimentGOT10k`` whose ``run`` on the test subset does not print a notice and sleep 2 s a sequence."""
    import_got10k()
    from got10k.experiments import ExperimentGOT10k

    class QuietExperimentGOT10k(AtomicRecords, ExperimentGOT10k):
        def run(self, tracker, visualize=False):
            with mock.patch.object(self, "subset", "val"):
                return super().run(tracker, visualize)

    return QuietExperimentGOT10k


def got10k_experiment(root_dir: str, subset: str, result_dir: str, report_dir: str):
    with contextlib.redirect_stdout(io.StringIO()):
        return _quiet_got10k_class()(root_dir, subset=subset, result_dir=result_dir, report_dir=report_dir)


def sequence_experiment(dataset, result_dir: str, tag: str, repetitions: int = 1):
    """The toolkit's GOT-10k run loop over ``dataset``, writing under ``result_dir/tag`` (no report: no meta files)."""
    experiment = object.__new__(_quiet_got10k_class())  # the toolkit's __init__ would read GOT10k()
    folders = {"result_dir": os.path.join(result_dir, tag), "report_dir": os.path.join(result_dir, "reports", tag)}
    vars(experiment).update(subset="val", dataset=dataset, repetitions=repetitions, nbins_iou=101, **folders)
    return experiment


def only_sequences(dataset, names: Sequence[str]) -> contextlib.AbstractContextManager:
    """Keep only ``names`` (in that order) in a toolkit dataset's per-sequence lists for the block."""
    index = {name: i for i, name in enumerate(dataset.seq_names)}
    lists = [attr for attr in ("seq_names", "seq_dirs", "anno_files") if hasattr(dataset, attr)]
    return mock.patch.multiple(dataset, **{attr: [getattr(dataset, attr)[index[n]] for n in names] for attr in lists})


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


class SequenceDataset:
    """The toolkit's dataset interface (``seq_names``, ``[i] -> (frame paths, boxes)``) over our sequences."""

    def __init__(self, sequences: Sequence[DataSequence]) -> None:
        names = [s.name for s in sequences]
        clash = sorted(name for name, count in Counter(names).items() if count > 1)
        if clash:
            raise SiamFCError(f"sequence name {clash[0]!r} is in more than one root", "--root")
        self.return_meta, self.sequences, self.seq_names = False, {s.name: s for s in sequences}, names

    def __len__(self) -> int:
        return len(self.seq_names)

    def __getitem__(self, index: int | str):
        seq = self.sequences[index if isinstance(index, str) else self.seq_names[index]]
        return [os.fspath(p) for p in seq.frames], seq.boxes  # the toolkit takes strings
