"""Adapters that let the got10k toolkit (0.1.3) run on local data, without editing site-packages.

- ``import_got10k()``: the toolkit imports ``six`` without declaring it; say so in one line.
- ``numpy_nan_alias()``: its VOT experiment and report use ``np.NaN``, gone in NumPy 2; the alias
  exists only inside the ``with`` block.
- ``local_experiment_otb()`` / ``local_experiment_vot()``: the toolkit's experiments always call
  ``OTB(..., download=True)`` / ``VOT(..., download=True)``; these never download. The VOT one also
  runs under ``numpy_nan_alias()`` and computes its per-frame IoUs as floats (its ``_calc_iou``
  builds a ragged array, an error since NumPy 1.24).
- ``FolderSequences`` + ``folder_experiment()``: any GOT-10k-layout root or plain folder of sequences
  (frames + ``groundtruth.txt``) behind the toolkit's dataset interface, run by its GOT-10k loop.
- ``restrict_dataset()``: keep only some sequences of a toolkit dataset (``--sequences``, workers).
- ``DecodeBeforeTiming``: the toolkit times ``Image.open`` + ``update``; PIL decodes lazily, so
  JPEG decoding would count as tracking time. This mixin decodes first, then times the tracker.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ..data.sequences import IMAGE_EXTENSIONS, read_boxes, sequence_frames
from ..errors import UserError


def import_got10k():
    """Import the toolkit with a one-line error when it (or its undeclared ``six``) is missing."""
    try:
        import got10k  # noqa: F401
        import got10k.datasets  # noqa: F401  (imports six)
    except ModuleNotFoundError as exc:
        if exc.name == "six":
            raise UserError("the got10k toolkit needs the 'six' package: pip install six") from None
        raise UserError(f"the got10k toolkit is not importable ({exc}): pip install got10k==0.1.3") from None
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


def restrict_dataset(dataset, names: Sequence[str]) -> None:
    """Keep only ``names`` (in that order) in a toolkit dataset (GOT10k, OTB, VOT, FolderSequences)."""
    index = {name: i for i, name in enumerate(dataset.seq_names)}
    keep = [index[n] for n in names]
    dataset.seq_names = [dataset.seq_names[i] for i in keep]
    dataset.seq_dirs = [dataset.seq_dirs[i] for i in keep]
    dataset.anno_files = [dataset.anno_files[i] for i in keep]


class DecodeBeforeTiming:
    """Mixin for a got10k ``Tracker``: same ``track`` loop, but frames are decoded to RGB arrays
    before the clock starts, so the recorded times are the tracker's own."""

    def track(self, img_files, box, visualize=False):
        frame_num = len(img_files)
        boxes = np.zeros((frame_num, 4))
        boxes[0] = box
        times = np.zeros(frame_num)
        for f, img_file in enumerate(img_files):
            image = read_rgb(img_file)
            start = time.perf_counter()
            if f == 0:
                self.init(image, box)
            else:
                boxes[f, :] = self.update(image)
            times[f] = time.perf_counter() - start
        return boxes, times


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _resolve_folder(root: Path, subset: str) -> tuple[Path, list[str]]:
    """(folder holding the sequences, their names) for one root of :class:`FolderSequences`."""
    if not root.is_dir():
        raise UserError(f"dataset folder {root} does not exist")
    if (root / subset / "list.txt").is_file():
        return root / subset, read_list(root / subset / "list.txt")
    if (root / "list.txt").is_file():
        return root, read_list(root / "list.txt")
    if (root / "groundtruth.txt").is_file():
        return root.parent, [root.name]
    names = sorted(p.name for p in root.iterdir() if (p / "groundtruth.txt").is_file())
    if not names:
        raise UserError(f"{root}: wrong layout: no list.txt and no sequence folders with a groundtruth.txt")
    return root, names


class FolderSequences:
    """The toolkit's dataset interface over a folder of sequences.

    ``root`` is a GOT-10k-layout root (``root/<subset>/list.txt``), a folder with ``list.txt``, a
    plain folder of sequence folders (each: frames + ``groundtruth.txt``), or one sequence folder;
    ``more_roots`` (any of those) add their sequences, so several sets are evaluated as one.
    """

    def __init__(self, root: str | os.PathLike, subset: str = "val", more_roots: tuple[str, ...] = ()) -> None:
        self.return_meta = False
        self.seq_names, self.seq_dirs = [], []
        for each in (root, *more_roots):
            base, names = _resolve_folder(Path(each), subset)
            check_sequences(base, names, "full")
            clash = sorted(set(names) & set(self.seq_names))
            if clash:
                raise UserError(f"{each}: sequence name {clash[0]!r} is also in an earlier root")
            self.seq_names += list(names)
            self.seq_dirs += [os.fspath(base / n) for n in names]
        self.root = Path(self.seq_dirs[0]).parent
        self.anno_files = [os.path.join(d, "groundtruth.txt") for d in self.seq_dirs]

    def __len__(self) -> int:
        return len(self.seq_names)

    def __getitem__(self, index: int | str):
        if isinstance(index, str):
            index = self.seq_names.index(index)
        img_files = [os.fspath(p) for p in sequence_frames(self.seq_dirs[index])]  # the toolkit takes strings
        anno = read_boxes(self.anno_files[index], columns=(4, 8))
        if len(anno) > 1:
            anno = anno[: len(img_files)]
        return img_files, anno


def read_list(path: Path) -> list[str]:
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise UserError(f"{path}: lists no sequence")
    return names


def check_sequences(base: Path, names: Sequence[str], groundtruth: str = "full",
                    list_file: Path | None = None) -> None:
    """One-line errors for a sequence that is missing, has no frames or whose ground truth does not fit.

    ``groundtruth``: ``"full"`` (at least a line per frame), ``"exact"`` (a line per frame, as the
    toolkit's GOT-10k reader asserts) or ``"first"`` (GOT-10k test: the first line is enough).
    """
    list_file = list_file or base / "list.txt"
    for name in names:
        seq_dir = base / name
        if not seq_dir.is_dir():
            raise UserError(f"{list_file} names sequence {name!r}, but {seq_dir} does not exist")
        frames = sequence_frames(seq_dir)
        if not frames:
            raise UserError(f"{seq_dir}: no frames ({', '.join(IMAGE_EXTENSIONS[:4])}, ...) in the sequence folder")
        gt_file = seq_dir / "groundtruth.txt"
        if not gt_file.is_file():
            raise UserError(f"{seq_dir}: no groundtruth.txt")
        anno = read_boxes(gt_file, columns=(4, 8))
        if not np.all(np.isfinite(anno[0])) or (anno.shape[1] == 4 and np.any(anno[0, 2:] <= 0)):
            raise UserError(f"{gt_file}: the first line must be the target's box (x,y,w,h), got {anno[0].tolist()}")
        too_few = groundtruth in ("full", "exact") and len(anno) < len(frames)
        if too_few or (groundtruth == "exact" and len(anno) != len(frames)):
            raise UserError(f"{gt_file}: {len(anno)} lines for {len(frames)} frames")


@contextlib.contextmanager
def only_sequences(dataset, names: Sequence[str]) -> Iterator[None]:
    """Restrict a toolkit dataset to ``names`` for the duration of the block."""
    saved = (dataset.seq_names, dataset.seq_dirs, dataset.anno_files)
    restrict_dataset(dataset, names)
    try:
        yield
    finally:
        dataset.seq_names, dataset.seq_dirs, dataset.anno_files = saved


def folder_experiment(dataset: FolderSequences, result_dir: str, tag: str, repetitions: int = 1):
    """The toolkit's GOT-10k run loop (one-pass evaluation, repetitions, result files) over a
    :class:`FolderSequences`. Its report is not used: it needs GOT-10k's meta files."""
    import_got10k()
    from got10k.experiments import ExperimentGOT10k

    class ExperimentFolder(ExperimentGOT10k):
        def __init__(self) -> None:  # the toolkit's __init__ with our dataset instead of GOT10k()
            self.subset = "val"  # run() reads it only to print the test-set notice
            self.dataset = dataset
            self.result_dir = os.path.join(result_dir, tag)
            self.report_dir = os.path.join(result_dir, "reports", tag)
            self.nbins_iou = 101
            self.repetitions = repetitions

    return ExperimentFolder()


def local_experiment_otb(root_dir: str, version, result_dir: str, report_dir: str):
    """``ExperimentOTB`` whose dataset is read from ``root_dir`` and never downloaded."""
    import_got10k()
    from got10k.datasets import OTB
    from got10k.experiments import ExperimentOTB

    class LocalExperimentOTB(ExperimentOTB):
        def __init__(self) -> None:  # the toolkit's __init__ minus download=True
            self.dataset = OTB(root_dir, version, download=False)
            self.result_dir = os.path.join(result_dir, "OTB" + str(version))
            self.report_dir = os.path.join(report_dir, "OTB" + str(version))
            self.nbins_iou = 21
            self.nbins_ce = 51

    return LocalExperimentOTB()


def local_experiment_vot(root_dir: str, version, result_dir: str, report_dir: str,
                         experiments=("supervised", "unsupervised")):
    """``ExperimentVOT`` that never downloads, with ``run``/``report`` under :func:`numpy_nan_alias`."""
    import_got10k()
    from got10k.experiments import ExperimentVOT

    class LocalExperimentVOT(ExperimentVOT):
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
            # The toolkit's version builds one array from 1-element arrays and scalars, which
            # NumPy >= 1.24 refuses ("inhomogeneous shape"); same computation, plain floats.
            from got10k.utils.metrics import poly_iou

            if burnin:
                boxes = list(boxes)
                for ind in [i for i, box in enumerate(boxes) if box == [1.0]]:
                    boxes[ind:ind + self.burnin] = [[0]] * self.burnin
            return np.array([float(poly_iou(np.array(a), b, bound)[0]) if len(a) > 1 else np.nan
                             for a, b in zip(boxes, anno, strict=False)])

    # VOT(..., download=True) downloads only when list.txt or a sequence folder is missing;
    # check that here so it never gets the chance.
    list_file = Path(root_dir) / "list.txt"
    if not list_file.is_file():
        raise UserError(f"{root_dir}: wrong layout for VOT: no list.txt (expected ROOT/list.txt and ROOT/<seq>/)")
    for name in read_list(list_file):
        if not (Path(root_dir) / name).is_dir():
            raise UserError(f"{list_file} names sequence {name!r}, but {Path(root_dir) / name} does not exist")
    return LocalExperimentVOT()
