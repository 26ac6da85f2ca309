"""Readers for the other common tracking layouts (OTB, VOT, LaSOT, a plain folder) and COCO-JSON
still images; each returns ``Sequence`` objects like ``got10k_sequences`` and ``yolo_images``.

``subset`` selects sequences where a layout has no split of its own: ``all`` (or empty) takes
every sequence; otherwise a list file in ``root`` names them (``<subset>``, ``<subset>.txt`` or
LaSOT's ``<subset>ing_set.txt``, e.g. ``training_set.txt``), or ``<subset>`` is a subfolder of
``root`` to read instead. Without such a file, ``train`` (the config's default) means all
sequences for OTB, VOT and plain folders, which have no official split, but is an error for
LaSOT, whose test sequences must not be trained on by accident.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .sequences import (
    DatasetError,
    Sequence,
    check_boxes,
    checked_name,
    frame_files,
    listed_folders,
    read_boxes,
    read_flags,
    read_names,
)


def _select(root: Path, subset: str, found: list[str], strict_train: bool = False) -> tuple[Path, list[str] | None]:
    """Resolve ``subset`` to (folder to read, names to keep or None for all)."""
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    if subset in ("", "all"):
        return root, None
    for candidate in (root / subset, root / f"{subset}.txt", root / f"{subset}_set.txt", root / f"{subset}ing_set.txt"):
        if candidate.is_file():
            return root, read_names(candidate)
    if (root / subset).is_dir():
        return root / subset, None
    if subset == "train" and not strict_train:
        return root, None
    raise DatasetError(f"{root}: no list file or folder for subset {subset!r} "
                       f"(use subset 'all' to read every sequence{f'; {len(found)} found' if found else ''})")


def _keep(names: list[str], wanted: list[str] | None, where: Path) -> list[str]:
    if wanted is None:
        return names
    missing = sorted(set(wanted) - set(names))
    if missing:
        raise DatasetError(f"{where}: the list names {len(missing)} sequence(s) that are not there, "
                           f"e.g. {missing[0]!r}")
    return list(wanted)


def _visible(boxes: np.ndarray) -> np.ndarray:
    return np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)


def _match(frames: list[Path], boxes: np.ndarray, gt: Path, start: int = 1) -> list[Path]:
    """Frames ``start..`` that the ``len(boxes)`` boxes describe; more boxes than frames is an error."""
    frames = frames[start - 1:]
    if len(boxes) > len(frames):
        raise DatasetError(f"{gt}: {len(boxes)} boxes but only {len(frames)} frames in {gt.parent}")
    return frames[:len(boxes)]


def polygons_to_boxes(values: np.ndarray) -> np.ndarray:
    """(N, 4) boxes as they are, (N, 8) polygons ``x1,y1,...,x4,y4`` -> their enclosing axis-aligned box."""
    if values.shape[1] == 4:
        return values
    xs, ys = values[:, 0::2], values[:, 1::2]
    x0, y0 = xs.min(axis=1), ys.min(axis=1)
    return np.stack([x0, y0, xs.max(axis=1) - x0, ys.max(axis=1) - y0], axis=1)


# ---- OTB -------------------------------------------------------------------------------------------
# Sequences whose annotation starts later than the first image (the benchmark's own cfg).
_OTB_START = {"david": 300}


def otb_sequences(root: str | Path, subset: str = "all") -> list[Sequence]:
    """OTB layout: ``root/<Name>/img/*.jpg`` and ``groundtruth_rect.txt`` (comma, space or tab
    separated); sequences with two targets (``groundtruth_rect.1.txt``, ``.2.txt``) give two
    sequences ``Name.1``, ``Name.2``; where the annotation covers fewer frames than ``img/``
    holds (David, Football1, Freeman3/4, Diving), only the annotated frames are used."""
    root = Path(root)
    found = sorted(p.name for p in root.iterdir() if (p / "img").is_dir()) if root.is_dir() else []
    base, wanted = _select(root, subset, found)
    if base != root:
        found = sorted(p.name for p in base.iterdir() if (p / "img").is_dir())
    names = _keep(found, wanted, root)
    if not names:
        raise DatasetError(f"{base}: no OTB sequence (a folder with img/ and groundtruth_rect.txt)")
    sequences = []
    for name in names:
        folder = base / name
        frames = frame_files(folder / "img")
        files = sorted(folder.glob("groundtruth_rect*.txt"))
        if not files:
            raise DatasetError(f"{folder}: no groundtruth_rect.txt")
        files = [f for f in files if f.read_text().strip()]  # OTB ships an empty groundtruth_rect.1.txt (Human4)
        for gt in files:
            boxes = read_boxes(gt)
            if boxes.shape[1] != 4:
                raise DatasetError(f"{gt}:1: expected 4 values (x, y, w, h), found {boxes.shape[1]}")
            label = name if len(files) == 1 else f"{name}{gt.name[len('groundtruth_rect'):-len('.txt')]}"
            seq_frames = _match(frames, boxes, gt, _OTB_START.get(name.lower(), 1))
            sequences.append(Sequence(label, seq_frames, boxes, _visible(boxes)))
    return sequences


# ---- VOT and plain folders ----------------------------------------------------------------------------
def _sequence_dirs(base: Path) -> list[str]:
    listing = base / "list.txt"
    if listing.is_file():
        return read_names(listing)
    return sorted(p.name for p in base.iterdir() if (p / "groundtruth.txt").is_file())


def _folder_sequence(folder: Path, name: str, polygons: bool) -> Sequence:
    gt = folder / "groundtruth.txt"
    if not gt.is_file():
        raise DatasetError(f"{gt}: missing")
    frames_dir = next((d for d in (folder / "color", folder / "img") if d.is_dir()), folder)
    frames = frame_files(frames_dir)
    values = read_boxes(gt)
    if values.shape[1] not in ((4, 8) if polygons else (4,)):
        raise DatasetError(f"{gt}:1: expected {'4 or 8' if polygons else '4'} values, found {values.shape[1]}")
    boxes = polygons_to_boxes(values)
    if len(boxes) != len(frames):
        raise DatasetError(f"{gt}: {len(boxes)} boxes for {len(frames)} frames in {frames_dir}")
    visible = _visible(boxes)
    absence = folder / "absence.label"
    if absence.is_file():
        visible &= ~read_flags(absence, len(frames), False).astype(bool)
    return Sequence(name, frames, boxes, visible)


def _folders(root: str | Path, subset: str, polygons: bool, what: str) -> list[Sequence]:
    root = Path(root)
    if (root / "groundtruth.txt").is_file():  # root is itself one sequence
        return [_folder_sequence(root, root.name, polygons)]
    base, wanted = _select(root, subset, [])
    if (base / "sequences").is_dir() and not (base / "list.txt").is_file():  # VOT toolkit workspace
        base = base / "sequences"
    names = _keep(_sequence_dirs(base), wanted, root)
    if not names:
        raise DatasetError(f"{base}: no {what} sequence (a folder with groundtruth.txt and frames)")
    folders = listed_folders(base, names, base / "list.txt")
    return [_folder_sequence(folder, name, polygons) for name, folder in zip(names, folders, strict=True)]


def vot_sequences(root: str | Path, subset: str = "all") -> list[Sequence]:
    """VOT layout: ``root[/sequences]/<name>/groundtruth.txt`` with ``x,y,w,h`` or 8-value
    polygons (-> their enclosing axis-aligned box), frames in the folder or in ``color/``;
    ``list.txt`` names the sequences where present. ``nan`` or zero-size boxes are absent."""
    return _folders(root, subset, polygons=True, what="VOT")


def folder_sequences(root: str | Path, subset: str = "all") -> list[Sequence]:
    """A plain folder of sequences: ``root/<name>/`` with frames (or ``img/``) and
    ``groundtruth.txt`` (one ``x,y,w,h`` a line, ``nan`` when absent; an optional
    ``absence.label``). ``root`` may also be a single such sequence."""
    return _folders(root, subset, polygons=False, what="plain-folder")


# ---- LaSOT --------------------------------------------------------------------------------------------
def _lasot_flags(path: Path, n: int) -> np.ndarray:
    """LaSOT writes its per-frame 0/1 flags comma-separated on one line; also accept one a line."""
    if not path.is_file():
        return np.zeros(n, dtype=bool)
    values = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        for part in line.replace(",", " ").split():
            if part not in ("0", "1"):
                raise DatasetError(f"{path}:{number}: expected 0 or 1, found {part[:20]!r}")
            values.append(part == "1")
    if len(values) != n:
        raise DatasetError(f"{path}: {len(values)} flags for {n} frames")
    return np.array(values, dtype=bool)


def lasot_sequences(root: str | Path, subset: str = "all") -> list[Sequence]:
    """LaSOT layout: ``root/<class>/<class>-N/{img/*.jpg, groundtruth.txt, full_occlusion.txt,
    out_of_view.txt}``; a frame is visible unless fully occluded or out of view. ``subset``:
    ``all``, or a list file such as the official ``training_set.txt`` / ``testing_set.txt``
    (``train`` / ``test`` find those), or one class name."""
    root = Path(root)
    found = sorted(p.name for c in root.iterdir() if c.is_dir() for p in c.iterdir()
                   if (p / "groundtruth.txt").is_file()) if root.is_dir() else []
    if subset and (root / subset).is_dir():  # one class
        names = sorted(p.name for p in (root / subset).iterdir() if (p / "groundtruth.txt").is_file())
    else:
        _, wanted = _select(root, subset, found, strict_train=True)
        names = _keep(found, wanted, root)
    if not names:
        raise DatasetError(f"{root}: no LaSOT sequence (<class>/<class>-N/ with img/ and groundtruth.txt)")
    sequences = []
    for name in names:
        folder = root / name.rsplit("-", 1)[0] / name
        gt = folder / "groundtruth.txt"
        boxes = read_boxes(gt)
        if boxes.shape[1] != 4:
            raise DatasetError(f"{gt}:1: expected 4 values (x, y, w, h), found {boxes.shape[1]}")
        frames = frame_files(folder / "img") if (folder / "img").is_dir() else []
        if len(frames) != len(boxes):
            raise DatasetError(f"{gt}: {len(boxes)} boxes for {len(frames)} frames in {folder / 'img'}")
        hidden = _lasot_flags(folder / "full_occlusion.txt", len(boxes)) | _lasot_flags(
            folder / "out_of_view.txt", len(boxes))
        sequences.append(Sequence(name, frames, boxes, _visible(boxes) & ~hidden))
    return sequences


# ---- COCO-JSON still images ----------------------------------------------------------------------------
def _coco_files(root: Path, subset: str) -> tuple[Path, Path]:
    """(instances json, image folder) for ``subset`` (e.g. ``train2017``), or ``root`` a json file."""
    if root.suffix == ".json":  # COCO's own layout: ROOT/annotations/x.json beside ROOT/<subset>/
        top = root.parent.parent
        candidates = [root.parent / "images" / subset, root.parent / subset, top / subset, top / "images" / subset,
                      root.parent / "images", root.parent]
        return root, next((d for d in candidates if subset and d.is_dir()), root.parent)
    json_path = root / "annotations" / f"instances_{subset}.json"
    if not json_path.is_file():
        raise DatasetError(f"{json_path}: missing (is {root} a COCO root with split {subset!r}?)")
    images = next((d for d in (root / subset, root / "images" / subset) if d.is_dir()), None)
    if images is None:
        raise DatasetError(f"{root}: no image folder {subset}/ or images/{subset}/")
    return json_path, images


def _is_id(value: object) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def coco_images(root: str | Path, subset: str = "train2017") -> list[Sequence]:
    """COCO instances JSON (``root/annotations/instances_<subset>.json``, images in
    ``root/<subset>/`` or ``root/images/<subset>/``; or ``root`` the json itself, its images in
    ``<subset>/`` or ``images/<subset>/`` beside it or beside its folder): every
    non-crowd object with a box ``[x, y, w, h]`` becomes a one-frame sequence."""
    json_path, image_dir = _coco_files(Path(root), subset)
    try:
        data = json.loads(json_path.read_text())
    except OSError as exc:
        raise DatasetError(f"{json_path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{json_path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise DatasetError(f"{json_path}: not a COCO instances file (needs 'images' and 'annotations' lists)")
    files = {}
    for k, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise DatasetError(f"{json_path}: images[{k}] lacks 'id' or 'file_name'")
        if not _is_id(image["id"]) or not isinstance(image["file_name"], str):
            raise DatasetError(f"{json_path}: images[{k}]: 'id' must be a number or a string and 'file_name' a "
                               f"string, found {str(image['id'])[:40]} and {str(image['file_name'])[:40]}")
        files[image["id"]] = image_dir / checked_name(image["file_name"], f"{json_path}: images[{k}] 'file_name'")
    sequences = []
    for k, ann in enumerate(data["annotations"]):
        where = f"{json_path}: annotations[{k}] (id {ann.get('id') if isinstance(ann, dict) else '?'})"
        if not isinstance(ann, dict) or not _is_id(ann.get("image_id")) or ann["image_id"] not in files:
            raise DatasetError(f"{where}: no 'image_id' that names an image")
        if ann.get("iscrowd"):
            continue
        bbox = ann.get("bbox")
        try:
            if isinstance(bbox, list) and any(isinstance(v, bool) for v in bbox):
                raise TypeError("true and false are not coordinates")
            box = np.array(bbox, dtype=np.float64).reshape(1, 4)
        except (TypeError, ValueError):
            raise DatasetError(f"{where}: 'bbox' must be 4 numbers [x, y, w, h], found {str(bbox)[:40]}") from None
        check_boxes(box, f"{where}: 'bbox'")
        sequences.append(Sequence(f"{files[ann['image_id']].stem}#{ann.get('id', k)}", [files[ann["image_id"]]],
                                  box, _visible(box)))
    return sequences
