"""Every patch of the got10k toolkit (0.1.3) in one place, each one a function or a subclass that
acts only where it is called: nothing here edits site-packages, and importing this module (or
``siamfc``) changes nothing in NumPy or in the toolkit.

- :class:`AtomicRecords`: the toolkit writes its result files in place; each is renamed into
  place whole instead.
- :func:`import_got10k`: the toolkit imports ``six`` without declaring it; say so in one line.
- :func:`numpy_nan_alias`: its VOT experiment and report use ``np.NaN``, gone in NumPy 2; the
  alias exists only inside the ``with`` block.
- :func:`float_ious`: ``ExperimentVOT._calc_iou`` builds one array from 1-element arrays and
  scalars, an error since NumPy 1.24; the same computation with plain floats.
- :func:`otb_versions`: the toolkit's per-version OTB sequence lists live in the private
  ``OTB._OTB__version_dict``; read them in this one place.
- :func:`otb_experiment` / :func:`vot_experiment`: the toolkit's experiments always call
  ``OTB(..., download=True)`` / ``VOT(..., download=True)``; these never download.
- :func:`vot_rects`: VOT's polygons as the toolkit's report turns them into boxes (its private
  ``VOT._corner2rect``), so our figures use the same boxes.
- :func:`got10k_experiment`: ``ExperimentGOT10k`` whose ``run`` on the test subset does not
  print a notice and sleep 2 s for every sequence task.
- :func:`sequence_experiment`: the toolkit's GOT-10k run loop (one-pass evaluation, repetitions,
  result files) over any dataset object, bypassing ``ExperimentGOT10k.__init__`` (which would
  read GOT-10k's own layout).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..data.sequences import read_names
from ..errors import SiamFCError


class AtomicRecords:
    """Mixin for the toolkit's experiments: its ``_record`` writes a run's files (boxes, times) in
    a private temporary folder beside them, then each is renamed into place, the box record last
    (the toolkit takes it as the sign that a run is done). So an interrupted run never leaves half
    a result, and nothing reads a file half-way through its writing."""

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


def import_got10k():
    """Import the toolkit with a one-line error when it (or its undeclared ``six``) is missing."""
    try:
        import got10k
        import got10k.datasets  # noqa: F401  (imports six)
    except ModuleNotFoundError as exc:
        if exc.name == "six":
            raise SiamFCError("the got10k toolkit needs the 'six' package: pip install six") from None
        raise SiamFCError(f"the got10k toolkit is not importable ({exc}): pip install got10k==0.1.3") from None
    return got10k


@contextlib.contextmanager
def numpy_nan_alias() -> Iterator[None]:
    """Provide ``np.NaN`` (removed in NumPy 2) for the duration of the block only."""
    if "NaN" in np.__dict__:
        yield
        return
    np.NaN = np.nan
    try:
        yield
    finally:
        with contextlib.suppress(AttributeError):
            del np.NaN


def float_ious(boxes: list, anno: np.ndarray, bound, burnin: int = 0) -> np.ndarray:
    """``ExperimentVOT._calc_iou`` with plain floats: per-frame polygon IoU of the VOT records
    ``boxes`` (``[1]`` init, ``[2]`` failure, ``[0]`` skipped, else a box) with ``anno``; NaN
    where the record is a code. ``burnin`` > 0: the frames after each re-initialisation count 0."""
    from got10k.utils.metrics import poly_iou

    if burnin:
        boxes = list(boxes)
        for ind in [i for i, box in enumerate(boxes) if list(box) == [1.0]]:
            boxes[ind:ind + burnin] = [[0]] * burnin
    return np.array([float(poly_iou(np.array(a), b, bound)[0]) if len(a) > 1 else np.nan
                     for a, b in zip(boxes, anno, strict=False)])


def otb_versions() -> dict:
    """OTB version -> its sequence names, as the toolkit lists them (a private attribute)."""
    import_got10k()
    from got10k.datasets import OTB

    return OTB._OTB__version_dict


def otb_experiment(root_dir: str, version, result_dir: str, report_dir: str):
    """``ExperimentOTB`` whose dataset is read from ``root_dir`` and never downloaded."""
    import_got10k()
    from got10k.datasets import OTB
    from got10k.experiments import ExperimentOTB

    class LocalExperimentOTB(AtomicRecords, ExperimentOTB):
        def __init__(self) -> None:  # the toolkit's __init__ minus download=True
            with contextlib.redirect_stdout(io.StringIO()):
                self.dataset = OTB(root_dir, version, download=False)
            self.result_dir = os.path.join(result_dir, "OTB" + str(version))
            self.report_dir = os.path.join(report_dir, "OTB" + str(version))
            self.nbins_iou = 21
            self.nbins_ce = 51

    return LocalExperimentOTB()


def vot_experiment(root_dir: str, version, result_dir: str, report_dir: str,
                   experiments=("supervised", "unsupervised")):
    """``ExperimentVOT`` that never downloads, with ``run``/``report`` under :func:`numpy_nan_alias`
    and its IoUs from :func:`float_ious`."""
    import_got10k()
    from got10k.experiments import ExperimentVOT

    class LocalExperimentVOT(AtomicRecords, ExperimentVOT):
        def __init__(self) -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                super().__init__(root_dir, version, read_image=True, experiments=experiments,
                                 result_dir=result_dir, report_dir=report_dir)

        def run(self, tracker, visualize=False):
            with numpy_nan_alias():
                return super().run(tracker, visualize)

        def report(self, tracker_names):
            with numpy_nan_alias():
                return super().report(tracker_names)

        def _calc_iou(self, boxes, anno, bound, burnin=False):
            return float_ious(boxes, anno, bound, self.burnin if burnin else 0)

    # VOT(..., download=True) downloads only when list.txt or a sequence folder is missing;
    # check that here so it never gets the chance.
    list_file = Path(root_dir) / "list.txt"
    if not list_file.is_file():
        raise SiamFCError(f"{root_dir}: wrong layout for VOT: no list.txt (expected ROOT/list.txt and ROOT/<seq>/)")
    for name in read_names(list_file):
        if not (Path(root_dir) / name).is_dir():
            raise SiamFCError(f"{list_file} names sequence {name!r}, but {Path(root_dir) / name} does not exist")
    return LocalExperimentVOT()


def vot_rects(dataset, anno: np.ndarray) -> np.ndarray:
    """(N, 4) boxes of VOT ground truth: as they are, or the toolkit's boxes of 8-value polygons."""
    return dataset._corner2rect(anno) if anno.shape[1] == 8 else anno


def got10k_experiment(root_dir: str, subset: str, result_dir: str, report_dir: str):
    """``ExperimentGOT10k`` on ``root_dir/subset``; its ``run`` treats the test subset as val
    (the toolkit reads ``subset`` there only to print a notice and sleep 2 s)."""
    import_got10k()
    from got10k.experiments import ExperimentGOT10k

    class QuietExperimentGOT10k(AtomicRecords, ExperimentGOT10k):
        def run(self, tracker, visualize=False):
            subset, self.subset = self.subset, "val"
            try:
                return super().run(tracker, visualize)
            finally:
                self.subset = subset

    with contextlib.redirect_stdout(io.StringIO()):
        return QuietExperimentGOT10k(root_dir, subset=subset, result_dir=result_dir, report_dir=report_dir)


def sequence_experiment(dataset, result_dir: str, tag: str, repetitions: int = 1):
    """The toolkit's GOT-10k run loop over ``dataset`` (``seq_names``, ``[i] -> (frames, anno)``),
    writing under ``result_dir/tag``. Its report is not used: it needs GOT-10k's meta files."""
    import_got10k()
    from got10k.experiments import ExperimentGOT10k

    class SequenceExperiment(AtomicRecords, ExperimentGOT10k):
        def __init__(self) -> None:  # the toolkit's __init__ with our dataset instead of GOT10k()
            self.subset = "val"  # run() reads it only to print the test-set notice
            self.dataset = dataset
            self.result_dir = os.path.join(result_dir, tag)
            self.report_dir = os.path.join(result_dir, "reports", tag)
            self.nbins_iou = 101
            self.repetitions = repetitions

    return SequenceExperiment()
