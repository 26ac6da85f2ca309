"""A ``Sequence`` (frame paths and one object's boxes), what every dataset reader produces, and the
package's one frame lister (:func:`frame_files`) and ground-truth parser (:func:`read_boxes`)."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import SiamFCError, os_error

#: the image files a folder of frames may hold (lower case; ``.JPG`` counts too)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: the smallest positive box side (pixels) taken for a target; 0 marks an absent one
MIN_SIDE = 1e-3


class DatasetError(SiamFCError):
    """A dataset that cannot be read; ``key`` is the file (or sequence) at fault."""


@dataclass
class Sequence:
    """One annotated video (or still image), as many boxes (N, 4) ``x, y, w, h`` and flags as frames (its
    reader checks); ``cut`` where the box runs past the border; a curated sequence's ``frame_scale`` (crop
    pixels per frame pixel) and ``frame_numbers``."""

    name: str
    frames: list[Path]
    boxes: np.ndarray
    visible: np.ndarray
    cut: np.ndarray | None = None
    frame_numbers: np.ndarray | None = None
    curated: bool = False
    frame_scale: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_boxes(self.boxes, self.name)
        n = len(self.frames)
        self.cut = np.zeros(n, dtype=bool) if self.cut is None else self.cut
        self.frame_numbers = np.arange(n) if self.frame_numbers is None else self.frame_numbers
        self.frame_scale = np.ones(n) if self.frame_scale is None else self.frame_scale

    def __len__(self) -> int:
        return len(self.frames)


def check_boxes(boxes: np.ndarray, where: str, key: str | None = None) -> None:
    """A DatasetError for (N, 4+) boxes with a positive side below :data:`MIN_SIDE` (not a target)."""
    with np.errstate(invalid="ignore"):
        tiny = np.flatnonzero(np.all(boxes[:, 2:4] > 0, axis=1) & np.any(boxes[:, 2:4] < MIN_SIDE, axis=1))
    if tiny.size:
        row = int(tiny[0])
        raise DatasetError(f"{where}: box {row + 1} ({', '.join(f'{v:g}' for v in boxes[row, :4])}) has a side "
                           f"under {MIN_SIDE:g} px: not a target (0 marks an absent one)", key or where)


def _read_text(path: str | os.PathLike) -> str:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})", str(path)) from exc


def read_boxes(path: str | os.PathLike, min_values: int = 4, columns: tuple[int, ...] | None = None) -> np.ndarray:
    """The rows of a ground-truth file (commas, tabs or spaces; ``nan`` for absent), as long as the first,
    which holds one of ``columns`` or at least ``min_values``; else a DatasetError naming ``file:line``."""
    rows: list[list[float]] = []
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        text, values = line.strip(), None
        with contextlib.suppress(ValueError):  # not numbers: refused below
            values = [float(p) for p in text.replace(",", " ").split()]
        allowed = (len(rows[0]),) if rows else columns
        reason = (f"not a list of numbers: {text[:60]!r}" if values is None else
                  f"expected {' or '.join(map(str, allowed or (min_values,)))} values, found {len(values)}"
                  if text and ((len(values) not in allowed) if allowed else len(values) < min_values) else None)
        if reason is not None:
            raise DatasetError(f"{path}:{number}: {reason}", str(path))
        rows += [values] if text else []
    if not rows:
        raise DatasetError(f"{path}: no boxes", str(path))
    return np.array(rows, dtype=np.float64)


def frames_for(boxes: np.ndarray, frames: list[Path], gt: Path, where: Path, exact: bool = True) -> list[Path]:
    """The frames the boxes of ``gt`` describe: as many as there are boxes (or fewer, unless ``exact``)."""
    if len(boxes) > len(frames) or (exact and len(boxes) != len(frames)):
        raise DatasetError(f"{gt}: {len(boxes)} boxes {'for' if exact else 'but only'} {len(frames)} frames "
                           f"in {where}", str(gt))
    return frames[:len(boxes)]


def checked_name(name: str, source: str | os.PathLike, key: str | None = None) -> str:
    """``name`` from file ``source``; one that would leave the dataset's folder (absolute, ``..``, NUL) is refused."""
    parts = PurePosixPath(name).parts
    if "\0" in name or not parts or PurePosixPath(name).is_absolute() or ".." in parts:
        raise DatasetError(f"{source}: the name {name[:80]!r} is not a path inside the dataset's folder "
                           "(absolute names and names with '..' are refused)", key or str(source))
    return name


def read_names(listing: Path) -> list[str]:
    """The names in a list file (``list.txt``, ``testing_set.txt``): one a line, or comma-separated."""
    text = _read_text(listing)
    return [checked_name(line.strip(), listing) for line in text.replace(",", "\n").splitlines() if line.strip()]


def listed_folders(base: Path, names: list[str], listing: Path) -> list[Path]:
    """``base/<name>`` for every name ``listing`` gave; one that does not exist is an error."""
    missing = [name for name in names if not (base / name).is_dir()]
    if missing:
        raise DatasetError(f"{listing}: names {missing[0]!r}, but {base / missing[0]} does not exist", str(listing))
    return [base / name for name in names]


def read_flags(path: Path, n: int, default: bool = False, top: int = 1) -> np.ndarray:
    """``n`` per-frame whole numbers from 0 to ``top``: 0/1 flags (``absence.label``, LaSOT's) or GOT-10k's
    ``cover.label`` levels (0 to 8), comma-separated on one line or one a line; ``default`` everywhere when absent."""
    if not path.is_file():
        return np.full(n, default)
    parts = [(number, part) for number, line in enumerate(_read_text(path).splitlines(), 1)
             for part in line.replace(",", " ").split()]
    bad = next(((number, part) for number, part in parts if not (part.isdecimal() and int(part) <= top)), None)
    if bad or len(parts) != n:  # isdecimal: no sign, no decimal point
        raise DatasetError(f"{path}:{bad[0]}: expected {'0 or 1' if top == 1 else f'0 to {top}'}, found {bad[1][:20]!r}"
                           if bad else f"{path}: {len(parts)} flags for {n} frames", str(path))
    return np.array([int(part) for _, part in parts])


def natural_key(path: str | os.PathLike) -> tuple[list[int | str], str]:
    """Sort key for natural order (``2.jpg`` before ``10.jpg``, case ignored); the full path breaks ties."""
    text = os.fspath(path)
    parts = re.split(r"(\d+)", os.path.basename(text))
    return [int(p) if i % 2 else p.lower() for i, p in enumerate(parts)], text


def frame_files(folder: str | os.PathLike) -> list[Path]:
    """The image files (:data:`IMAGE_EXTENSIONS`) directly in ``folder``, in natural order."""
    with os_error(folder, failed="cannot list the frames", kind=DatasetError):
        files = [p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    return sorted(files, key=natural_key)


def got10k_sequences(root: str | Path, subset: str = "train") -> list[Sequence]:
    """GOT-10k: ``root/subset/{list.txt, <name>/{*.jpg, groundtruth.txt, absence/cover/cut_by_image.label}}``."""
    base = Path(root) / subset
    listing = base / "list.txt"
    names = read_names(listing)  # a missing one: "ROOT/SUBSET/list.txt: cannot read (No such file or directory)"
    sequences = []
    for name, folder in zip(names, listed_folders(base, names, listing), strict=True):
        boxes = read_boxes(folder / "groundtruth.txt", columns=(4,))
        frames = frames_for(boxes, frame_files(folder), folder / "groundtruth.txt", folder)
        absent, cover, cut = (read_flags(folder / f"{label}.label", len(frames), label == "cover", top)
                              for label, top in (("absence", 1), ("cover", 8), ("cut_by_image", 1)))  # no cover: seen
        visible = (absent == 0) & (cover > 0) & np.all(np.isfinite(boxes), axis=1)
        sequences.append(Sequence(name, frames, boxes, visible, cut.astype(bool)))
    return sequences


def yolo_images(root: str | Path, split: str = "train2017") -> list[Sequence]:
    """YOLO: ``root/{images,labels}/<split>/``; each object is a one-frame sequence."""
    from PIL import Image

    images, labels = Path(root) / "images" / split, Path(root) / "labels" / split
    sequences = []
    for image in frame_files(images):  # a missing folder: "ROOT/images/SPLIT: cannot list the frames (...)"
        label = labels / (image.stem + ".txt")
        if not label.is_file() or not _read_text(label).strip():
            continue
        rows = read_boxes(label, min_values=5)
        with os_error(image, failed="not a readable image", kind=DatasetError), Image.open(image) as img:
            width, height = img.size  # the header only
        for k, (_, cx, cy, w, h) in enumerate(rows[:, :5]):
            box = np.array([[(cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height]])
            sequences.append(Sequence(f"{image.stem}#{k}", [image], box, np.ones(1, dtype=bool)))
    return sequences
