"""The dataset layouts: a reader of each (OTB, VOT, LaSOT, plain folders, curated crops, COCO-JSON here; GOT-10k
and YOLO in :mod:`.sequences`) in the package's registry (a config's ``kind`` -> a reader of ``root`` and
``subset``), and :func:`detect_layout`, which names a folder's layout from its files (``siamfc train --data PATH``).
``subset``: ``all`` (or empty), a list file in ``root`` (``<subset>[.txt|_set.txt|ing_set.txt]``) or a subfolder;
without either, ``train`` means all, except for LaSOT (whose test sequences must not be trained on by accident)."""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import registry
from .sequences import (
    DatasetError,
    Sequence,
    _read_text,
    check_boxes,
    checked_name,
    frame_files,
    frames_for,
    got10k_sequences,
    listed_folders,
    read_boxes,
    read_flags,
    read_names,
    yolo_images,
)


def _select(root: Path, subset: str, found: list[str], strict_train: bool = False) -> tuple[Path, list[str] | None]:
    """(the folder to read, the names to keep or None for all) for ``subset``."""
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder", str(root))
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
                       f"(use subset 'all' to read every sequence{f'; {len(found)} found' if found else ''})",
                       str(root))


def _keep(names: list[str], wanted: list[str] | None, where: Path, base: Path, what: str) -> list[str]:
    """``wanted`` (None: all ``names``), each of them found; a DatasetError when one is not, or none is left."""
    missing = sorted(set(wanted or ()) - set(names))
    kept = names if wanted is None else list(wanted)
    if missing or not kept:
        raise DatasetError(f"{where}: the list names {len(missing)} sequence(s) that are not there, e.g. "
                           f"{missing[0]!r}" if missing else f"{base}: no {what}", str(where if missing else base))
    return kept


def _holding(folder: Path, marker: str) -> list[str]:
    """The names of ``folder``'s subfolders that hold ``marker`` (none when ``folder`` is not a folder)."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and (p / marker).exists()) if folder.is_dir() else []


def _visible(boxes: np.ndarray) -> np.ndarray:
    return np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)


def polygons_to_boxes(values: np.ndarray) -> np.ndarray:
    """(N, 4) boxes as they are; (N, 8) polygons ``x1,y1,...,x4,y4`` as their enclosing box."""
    if values.shape[1] == 4:
        return values
    xs, ys = values[:, 0::2], values[:, 1::2]
    x0, y0 = xs.min(axis=1), ys.min(axis=1)
    return np.stack([x0, y0, xs.max(axis=1) - x0, ys.max(axis=1) - y0], axis=1)


def otb_sequences(root: str | Path, subset: str = "all") -> list[Sequence]:
    """OTB: ``root/<Name>/{img/, groundtruth_rect[.1|.2].txt}``; a second target is a sequence ``Name.2``."""
    root = Path(root)
    base, wanted = _select(root, subset, _holding(root, "img"))
    names = _keep(_holding(base, "img"), wanted, root, base,
                  "OTB sequence (a folder with img/ and groundtruth_rect.txt)")
    sequences = []
    for name in names:
        files = sorted((base / name).glob("groundtruth_rect*.txt"))
        if not files:
            raise DatasetError(f"{base / name}: no groundtruth_rect.txt", str(base / name))
        files = [f for f in files if _read_text(f).strip()]  # OTB ships an empty groundtruth_rect.1.txt (Human4)
        start = 299 if name.lower() == "david" else 0  # David's boxes start at frame 300 (the benchmark's own cfg)
        sequences += [_sequence(name if len(files) == 1 else f"{name}{gt.name[len('groundtruth_rect'):-len('.txt')]}",
                                gt, start=start) for gt in files]
    return sequences


def _sequence(name: str, gt: Path, hidden: tuple[str, ...] = (), polygons: bool = False,
              start: int | None = None) -> Sequence:
    """The boxes of ``gt`` and as many frames beside it (``color/``, ``img/`` or its folder; OTB's: from ``start``,
    and there may be more), visible unless flagged in a file of ``hidden`` beside ``gt``."""
    boxes = polygons_to_boxes(read_boxes(gt, columns=(4, 8) if polygons else (4,)))
    frames_dir = next((d for d in (gt.parent / "color", gt.parent / "img") if d.is_dir()), gt.parent)
    frames = frames_for(boxes, frame_files(frames_dir)[start or 0:], gt, frames_dir, exact=start is None)
    flagged = [read_flags(gt.parent / name, len(boxes)) for name in hidden]
    return Sequence(name, frames, boxes, _visible(boxes) & ~np.any(flagged, axis=0))


def folder_sequences(root: str | Path, subset: str = "all", polygons: bool = False) -> list[Sequence]:
    """``root/<name>/`` (or ``root`` itself) with frames (or ``img/``), ``groundtruth.txt``, ``absence.label``;
    ``polygons``: VOT's (``root[/sequences]/<name>/``, frames or ``color/``), whose ground truth may be polygons."""
    root = Path(root)
    if (root / "groundtruth.txt").is_file():  # root is itself one sequence
        names, folders = [root.name], [root]
    else:
        base, wanted = _select(root, subset, [])
        if (base / "sequences").is_dir() and not (base / "list.txt").is_file():  # VOT toolkit workspace
            base = base / "sequences"
        listing = base / "list.txt"
        found = read_names(listing) if listing.is_file() else _holding(base, "groundtruth.txt")
        names = _keep(found, wanted, root, base, f"{'VOT' if polygons else 'plain-folder'} sequence (a folder with "
                      "groundtruth.txt and frames)")
        folders = listed_folders(base, names, listing)
    return [_sequence(name, folder / "groundtruth.txt", ("absence.label",), polygons)
            for name, folder in zip(names, folders, strict=True)]


vot_sequences = partial(folder_sequences, polygons=True)


def lasot_sequences(root: str | Path, subset: str = "all") -> list[Sequence]:
    """LaSOT: ``root/<class>/<class>-N/{img/, groundtruth.txt, full_occlusion.txt, out_of_view.txt}``."""
    root = Path(root)
    found = sorted(name for c in _holding(root, ".") for name in _holding(root / c, "groundtruth.txt"))
    if subset and (root / subset).is_dir():  # one class
        found, wanted = _holding(root / subset, "groundtruth.txt"), None
    else:
        wanted = _select(root, subset, found, strict_train=True)[1]
    names = _keep(found, wanted, root, root, "LaSOT sequence (<class>/<class>-N/ with img/ and groundtruth.txt)")
    return [_sequence(name, root / name.rsplit("-", 1)[0] / name / "groundtruth.txt",
                      ("full_occlusion.txt", "out_of_view.txt")) for name in names]


def _coco_files(root: Path, subset: str) -> tuple[Path, Path | None]:
    """(instances json, image folder or None) for ``subset`` (e.g. ``train2017``); ``root`` may be the json."""
    if root.suffix == ".json":  # COCO's own layout: ROOT/annotations/x.json beside ROOT/<subset>/
        top = root.parent.parent
        candidates = [root.parent / "images" / subset, root.parent / subset, top / subset, top / "images" / subset,
                      root.parent / "images", root.parent]
        return root, next((d for d in candidates if subset and d.is_dir()), root.parent)
    return (root / "annotations" / f"instances_{subset}.json",
            next((d for d in (root / subset, root / "images" / subset) if d.is_dir()), None))


def coco_images(root: str | Path, subset: str = "train2017") -> list[Sequence]:
    """COCO (``root/annotations/instances_<subset>.json``, or ``root`` the json): one sequence per non-crowd box."""
    root = Path(root)
    json_path, image_dir = _coco_files(root, subset)
    key = str(json_path)
    try:
        data = json.loads(_read_text(json_path))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{json_path}:{exc.lineno}: not valid JSON ({exc.msg})", key) from exc
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise DatasetError(f"{json_path}: not a COCO instances file (needs 'images' and 'annotations' lists)", key)
    if image_dir is None:
        raise DatasetError(f"{root}: no image folder {subset}/ or images/{subset}/", str(root))
    files = {}
    for k, image in enumerate(data["images"]):
        if not isinstance(image, dict) or type(image.get("id")) not in (int, str) \
                or not isinstance(image.get("file_name"), str):
            raise DatasetError(f"{json_path}: images[{k}] needs an 'id' (a number or a string) and a 'file_name' "
                               f"(a string), found {str(image)[:80]}", key)
        files[image["id"]] = image_dir / checked_name(image["file_name"], f"{json_path}: images[{k}] 'file_name'", key)
    sequences = []
    for k, ann in enumerate(data["annotations"]):
        ann, box = ann if isinstance(ann, dict) else {"id": "?"}, None
        bbox, where = ann.get("bbox"), f"{json_path}: annotations[{k}] (id {ann.get('id')})"
        with contextlib.suppress(TypeError, ValueError):  # not 4 numbers: refused below (unless a crowd's)
            box = np.array(bbox, dtype=np.float64).reshape(1, 4)
        reason = next((text for test, text in (
            (type(ann.get("image_id")) not in (int, str) or ann["image_id"] not in files,
             "no 'image_id' that names an image"),
            (not ann.get("iscrowd") and (box is None or (isinstance(bbox, list) and any(
                isinstance(v, bool) for v in bbox))),  # true is no coordinate
             f"'bbox' must be 4 numbers [x, y, w, h], found {str(bbox)[:40]}")) if test), None)
        if reason is not None:
            raise DatasetError(f"{where}: {reason}", key)
        if ann.get("iscrowd"):
            continue
        check_boxes(box, f"{where}: 'bbox'", key)
        sequences.append(Sequence(f"{files[ann['image_id']].stem}#{ann.get('id', k)}", [files[ann["image_id"]]],
                                  box, _visible(box)))
    return sequences


def curated_sequences(root: str | Path, subset: str = "train") -> list[Sequence]:
    """Curated SiamFC crops: a GOT-10k folder whose images are square search-region crops centred on the
    target, with ``meta.csv`` (``index, original_frame, x0, y0, scale``: crop = (frame - (x0, y0)) * scale)."""
    sequences = got10k_sequences(root, subset)
    for seq in sequences:
        path = Path(root) / subset / seq.name / "meta.csv"
        rows, scale = list(csv.DictReader(_read_text(path).splitlines())), None
        with contextlib.suppress(KeyError, TypeError, ValueError):  # a column missing or not numbers: refused below
            frame_numbers = np.array([int(r["original_frame"]) for r in rows])
            scale = np.array([float(r["scale"]) for r in rows])  # crop pixels per frame pixel
        reason = ("expected columns index,original_frame,x0,y0,scale with numbers" if scale is None else
                  f"{len(rows)} rows for {len(seq)} crops" if len(rows) != len(seq) else
                  "scale must be positive" if not np.all(np.isfinite(scale) & (scale > 0)) else None)
        if reason is not None:
            raise DatasetError(f"{path}: {reason}", str(path))
        seq.frame_numbers, seq.frame_scale, seq.curated = frame_numbers, scale, True
    return sequences


for _name, _reader in {
    "got10k": got10k_sequences, "yolo": yolo_images, "otb": otb_sequences, "vot": vot_sequences,
    "lasot": lasot_sequences, "folder": folder_sequences, "coco": coco_images, "curated": curated_sequences,
}.items():
    registry.register("dataset", _name)(_reader)


def get(name: str) -> Callable[..., list[Sequence]]:
    """The reader of layout ``name`` (``reader(root=..., subset=...)``); a SettingError (key ``kind``) otherwise."""
    return registry.get("dataset", name, "kind")


def names() -> tuple[str, ...]:
    return tuple(registry.names("dataset"))


class Layout(NamedTuple):
    """A dataset as the training config names it (``data.datasets[i]``)."""

    kind: str
    root: str
    subset: str


def _got10k(subset_dir: Path) -> Layout | None:
    """GOT-10k (curated crops when they hold ``meta.csv``): ``list.txt`` naming folders with ``groundtruth.txt``."""
    if not (subset_dir / "list.txt").is_file():
        return None
    listed = [subset_dir / n for n in read_names(subset_dir / "list.txt") if (subset_dir / n).is_dir()]
    if not listed or not (listed[0] / "groundtruth.txt").is_file():
        return None
    kind = "curated" if (listed[0] / "meta.csv").is_file() else "got10k"
    return Layout(kind, str(subset_dir.parent), subset_dir.name)


def detect_layout(path: str | Path) -> Layout:
    """The layout of the tracking data in ``path``; a :class:`DatasetError` (key ``path``) when none."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: {'not a folder' if path.exists() else 'no such folder'}", str(path))
    if (path / "groundtruth.txt").is_file():  # one sequence
        return Layout("vot" if (path / "color").is_dir() else "folder", str(path), "all")
    found = _got10k(path / "train") or _got10k(path)
    if found is not None:
        return found
    children = sorted(p for p in path.iterdir() if p.is_dir())
    if any((c / "img").is_dir() and any(c.glob("groundtruth_rect*.txt")) for c in children):
        return Layout("otb", str(path), "all")
    if any((s / "groundtruth.txt").is_file() and (s / "img").is_dir() and s.name.startswith(f"{c.name}-")
           for c in children for s in c.iterdir()):
        return Layout("lasot", str(path), "train")  # its own split; without training_set.txt the reader refuses
    if (path / "sequences").is_dir() or any((c / "color").is_dir() for c in children):
        return Layout("vot", str(path), "all")
    if any((c / "groundtruth.txt").is_file() for c in children):
        return Layout("folder", str(path), "all")
    raise DatasetError(f"{path}: no tracking data layout recognised; known: a GOT-10k root or subset "
                       "(list.txt), OTB (<Name>/img/ + groundtruth_rect.txt), LaSOT (<class>/<class>-N/img/ + "
                       "groundtruth.txt), VOT (sequences/ or <name>/color/), a folder of sequence folders (frames + "
                       "groundtruth.txt) or one such sequence. Name the layout with --data KIND:PATH[:SUBSET] "
                       f"(kinds: {', '.join(names())})", str(path))
