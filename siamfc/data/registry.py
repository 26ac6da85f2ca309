"""The dataset layouts' readers in the package's registry (a config's ``kind`` -> a reader of ``root`` and
``subset``), and :func:`detect_layout`, which names a folder's layout from its files (``siamfc train --data PATH``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from .. import registry
from .readers import coco_images, curated_sequences, folder_sequences, lasot_sequences, otb_sequences, vot_sequences
from .sequences import DatasetError, Sequence, got10k_sequences, read_names, yolo_images

Reader = Callable[..., list[Sequence]]
for _name, _reader in {
    "got10k": got10k_sequences, "yolo": yolo_images, "otb": otb_sequences, "vot": vot_sequences,
    "lasot": lasot_sequences, "folder": folder_sequences, "coco": coco_images, "curated": curated_sequences,
}.items():
    registry.register("dataset", _name)(_reader)


def get(name: str) -> Reader:
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
