"""The one interface every dataset reader produces: a ``Sequence`` of frame paths and boxes.

Still images with boxes (COCO, YOLO) become one-frame sequences; pairs are then two augmented
views of the same object.

This module also holds the package's one frame lister (:func:`frame_files`, natural order:
``2.jpg`` before ``10.jpg``) and its one ground-truth parser (:func:`read_boxes`); training,
evaluation, ``bench``, ``track`` on folders and the tools all use them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import SiamFCError

#: the image files a folder of frames may hold (lower case; ``.JPG`` counts too)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class DatasetError(SiamFCError):
    """A dataset that cannot be read; the message names the file (and line) at fault.

    A :class:`~siamfc.errors.SiamFCError` (so a ``ValueError``): the command line reports it as one line."""


@dataclass
class Sequence:
    """Frames of one annotated video (or one still image) and one object's boxes.

    ``boxes`` is (N, 4) ``x, y, w, h``; ``visible`` is False where the target is absent, and
    ``cut`` True where its box runs past the image border (both length N).

    Curated crops (``curated=True``, see :func:`siamfc.data.readers.curated_sequences`) are not
    frames: each image is already a square search-region crop centred on the target, and
    ``frame_scale`` gives its pixels per pixel of the original frame. ``frame_numbers`` gives each
    image's frame in the original video (default 0, 1, ...), so pair gaps count real frames.
    """

    name: str
    frames: list[Path]
    boxes: np.ndarray
    visible: np.ndarray
    cut: np.ndarray | None = None
    frame_numbers: np.ndarray | None = None
    curated: bool = False
    frame_scale: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.frames)
        if len(self.boxes) != n or len(self.visible) != n:
            raise DatasetError(
                f"{self.name}: {n} frames but {len(self.boxes)} boxes and {len(self.visible)} visibility flags")
        check_boxes(self.boxes, self.name)
        if self.cut is None:
            self.cut = np.zeros(n, dtype=bool)
        if self.frame_numbers is None:
            self.frame_numbers = np.arange(n)
        if self.frame_scale is None:
            self.frame_scale = np.ones(n)
        if len(self.frame_numbers) != n or len(self.frame_scale) != n:
            raise DatasetError(f"{self.name}: {n} frames but {len(self.frame_numbers)} frame numbers")

    def __len__(self) -> int:
        return len(self.frames)


#: the smallest box side (pixels) taken for a target; a positive side below it is numerically
#: degenerate (no annotation means a thousandth of a pixel), 0 marks an absent target
MIN_SIDE = 1e-3


def check_boxes(boxes: np.ndarray, where: str) -> None:
    """A DatasetError naming ``where`` and the row for (N, 4+) ``x, y, w, h`` boxes that cannot be
    meant: booleans for numbers, or a side that is positive but vanishing (below :data:`MIN_SIDE`)."""
    boxes = np.asarray(boxes)
    if boxes.dtype.kind not in "fiu":
        raise DatasetError(f"{where}: boxes must be numbers, found {boxes.dtype} values")
    if boxes.ndim != 2 or boxes.shape[1] < 4 or not len(boxes):
        return
    sides = boxes[:, 2:4].astype(np.float64)
    with np.errstate(invalid="ignore"):
        tiny = np.flatnonzero(np.all(sides > 0, axis=1) & np.any(sides < MIN_SIDE, axis=1))
    if tiny.size:
        row = int(tiny[0])
        raise DatasetError(f"{where}: box {row + 1} ({', '.join(f'{v:g}' for v in boxes[row, :4])}) has a side "
                           f"under {MIN_SIDE:g} px: not a target (0 marks an absent one)")


def read_boxes(path: str | os.PathLike, min_values: int = 4, columns: tuple[int, ...] | None = None) -> np.ndarray:
    """Read one box a line as float (N, k): ground truth and label files.

    Values are separated by commas, tabs or spaces; ``nan`` marks an absent target; blank lines are
    skipped. Every line must hold the same number of values, at least ``min_values`` (or one of
    ``columns``, e.g. ``(4, 8)`` for ``x,y,w,h`` or a polygon). Errors are one
    :class:`DatasetError` line naming ``file:line``.
    """
    rows: list[list[float]] = []
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        parts = text.replace(",", " ").replace("\t", " ").split()
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise DatasetError(f"{path}:{number}: not a list of numbers: {text[:60]!r}") from None
        if rows:
            if len(values) != len(rows[0]):
                raise DatasetError(f"{path}:{number}: expected {len(rows[0])} values, found {len(values)}")
        elif columns is not None and len(values) not in columns:
            wanted = " or ".join(str(c) for c in columns)
            raise DatasetError(f"{path}:{number}: expected {wanted} values, found {len(values)}")
        elif len(values) < min_values:
            raise DatasetError(f"{path}:{number}: expected {min_values} values, found {len(values)}")
        rows.append(values)
    if not rows:
        raise DatasetError(f"{path}: no boxes")
    return np.array(rows, dtype=np.float64)


def checked_name(name: str, source: str | os.PathLike) -> str:
    """``name``, read from the dataset file ``source`` (a list file, a JSON), as a path below the
    folder it is read in; an absolute name, one that climbs out with ``..`` or one with a NUL byte
    is a DatasetError naming ``source``: training would read frames from wherever it points, and
    ``siamfc eval`` would write its results outside ``--out``."""
    parts = PurePosixPath(name).parts
    if "\0" in name or not parts or PurePosixPath(name).is_absolute() or ".." in parts:
        raise DatasetError(f"{source}: the name {name[:80]!r} is not a path inside the dataset's folder "
                           "(absolute names and names with '..' are refused)")
    return name


def read_names(listing: Path) -> list[str]:
    """The names in a list file (``list.txt``, LaSOT's ``testing_set.txt``): one a line, or
    comma-separated; each one checked by :func:`checked_name`."""
    try:
        text = listing.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{listing}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return [checked_name(line.strip(), listing) for line in text.replace(",", "\n").splitlines() if line.strip()]


def listed_folders(base: Path, names: list[str], listing: Path) -> list[Path]:
    """``base/<name>`` for every name ``listing`` gave; one that does not exist is an error."""
    folders = [base / name for name in names]
    for name, folder in zip(names, folders, strict=True):
        if not folder.is_dir():
            raise DatasetError(f"{listing}: names {name!r}, but {folder} does not exist")
    return folders


def read_flags(path: Path, n: int, default: bool) -> np.ndarray:
    """Read a 0/1 (or integer level) label file of ``n`` lines; absent file -> ``default``."""
    if not path.is_file():
        return np.full(n, default, dtype=bool)
    values = read_boxes(path, min_values=1)[:, 0]
    if len(values) != n:
        raise DatasetError(f"{path}: {len(values)} lines, expected {n}")
    return values


def natural_key(path: str | os.PathLike) -> tuple[list[int | str], str]:
    """Sort key for file names in natural order: numbers inside the name compare as numbers
    (``2.jpg`` before ``10.jpg``), text without case; the full path breaks ties (``01`` vs ``1``)."""
    text = os.fspath(path)
    parts = re.split(r"(\d+)", os.path.basename(text))
    return [int(p) if i % 2 else p.lower() for i, p in enumerate(parts)], text


def frame_files(folder: str | os.PathLike) -> list[Path]:
    """The image files (:data:`IMAGE_EXTENSIONS`) directly in ``folder``, in natural order."""
    folder = Path(folder)
    try:
        files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    except OSError as exc:
        raise DatasetError(f"{folder}: cannot list the frames ({exc.strerror or exc})") from None
    return sorted(files, key=natural_key)


def sequence_frames(seq_dir: str | os.PathLike) -> list[Path]:
    """The frames of a sequence folder: its own images, or those of its ``img/`` subfolder when it
    holds none itself (OTB, LaSOT); ``[]`` when neither has any."""
    for folder in (Path(seq_dir), Path(seq_dir) / "img"):
        if folder.is_dir():
            frames = frame_files(folder)
            if frames:
                return frames
    return []


def got10k_sequences(root: str | Path, subset: str = "train") -> list[Sequence]:
    """GOT-10k layout: ``root/subset/list.txt`` and ``root/subset/<name>/{*.jpg, groundtruth.txt,
    absence.label, cover.label, cut_by_image.label}``; ``groundtruth.txt`` holds 4 values a line
    (``x,y,w,h``; ``nan`` when absent): another count is an error naming ``file:line``."""
    base = Path(root) / subset
    listing = base / "list.txt"
    if not listing.is_file():
        raise DatasetError(f"{listing}: missing (is {root} a GOT-10k root with a {subset!r} subset?)")
    names = read_names(listing)
    sequences = []
    for name, folder in zip(names, listed_folders(base, names, listing), strict=True):
        frames = frame_files(folder)
        boxes = read_boxes(folder / "groundtruth.txt", columns=(4,))  # x,y,w,h: never a polygon cut short
        if len(boxes) != len(frames):
            raise DatasetError(f"{folder / 'groundtruth.txt'}: {len(boxes)} boxes for {len(frames)} frames")
        absent = read_flags(folder / "absence.label", len(frames), False).astype(bool)
        cover = read_flags(folder / "cover.label", len(frames), True)
        cut = read_flags(folder / "cut_by_image.label", len(frames), False).astype(bool)
        visible = ~absent & (cover > 0) & np.all(np.isfinite(boxes), axis=1)
        sequences.append(Sequence(name, frames, boxes, visible, cut))
    return sequences


def yolo_images(root: str | Path, split: str = "train2017") -> list[Sequence]:
    """YOLO layout: ``root/images/<split>/*.jpg`` and ``root/labels/<split>/*.txt`` with lines
    ``class cx cy w h`` normalised by image size. Each object becomes a one-frame sequence."""
    from PIL import Image

    images = Path(root) / "images" / split
    labels = Path(root) / "labels" / split
    if not images.is_dir():
        raise DatasetError(f"{images}: missing (is {root} a YOLO dataset with split {split!r}?)")
    sequences = []
    for image in frame_files(images):
        label = labels / (image.stem + ".txt")
        if not label.is_file() or not label.read_text().strip():
            continue
        rows = read_boxes(label, min_values=5)
        with Image.open(image) as img:  # reads the header only
            width, height = img.size
        for k, (_, cx, cy, w, h) in enumerate(rows[:, :5]):
            box = np.array([[(cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height]])
            sequences.append(Sequence(f"{image.stem}#{k}", [image], box, np.ones(1, dtype=bool)))
    return sequences
