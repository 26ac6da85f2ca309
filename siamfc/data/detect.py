"""Which of the layouts the readers know (:mod:`siamfc.data.sequences`, :mod:`siamfc.data.readers`,
:mod:`siamfc.data.curated`) a folder of tracking data is in, from its files alone: what
``siamfc train --data PATH`` uses, so that training on one's own data needs no config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .sequences import DatasetError

KNOWN = ("a GOT-10k root or subset (list.txt), OTB (<Name>/img/ + groundtruth_rect.txt), LaSOT "
         "(<class>/<class>-N/img/ + groundtruth.txt), VOT (sequences/ or <name>/color/), a folder of sequence "
         "folders (frames + groundtruth.txt) or one such sequence")


@dataclass(frozen=True)
class Layout:
    """A dataset as the training config names it (``data.datasets[i]``): ``kind``, ``root``, ``subset``."""

    kind: str
    root: str
    subset: str

    def describe(self) -> str:
        return f"{self.kind} layout (root {self.root}, subset {self.subset})"


def _children(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir())


def _listed(folder: Path) -> list[Path]:
    """The sequence folders that ``folder/list.txt`` names (those that exist)."""
    names = [n.strip() for n in (folder / "list.txt").read_text().replace(",", "\n").splitlines() if n.strip()]
    return [folder / n for n in names if (folder / n).is_dir()]


def _got10k(subset_dir: Path) -> Layout | None:
    """``subset_dir/list.txt`` naming sequence folders with ``groundtruth.txt``: GOT-10k (curated
    crops when they hold ``meta.csv``)."""
    if not (subset_dir / "list.txt").is_file():
        return None
    listed = _listed(subset_dir)
    if not listed or not (listed[0] / "groundtruth.txt").is_file():
        return None
    kind = "curated" if (listed[0] / "meta.csv").is_file() else "got10k"
    return Layout(kind, str(subset_dir.parent), subset_dir.name)


def _is_otb(children: list[Path]) -> bool:
    return any((c / "img").is_dir() and any(c.glob("groundtruth_rect*.txt")) for c in children)


def _is_lasot(children: list[Path]) -> bool:
    return any((s / "groundtruth.txt").is_file() and (s / "img").is_dir() and s.name.startswith(f"{c.name}-")
               for c in children for s in _children(c))


def detect_layout(path: str | Path) -> Layout:
    """The layout of the tracking data in ``path``; a :class:`DatasetError` naming the layouts known
    when it is none of them."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: {'not a folder' if path.exists() else 'no such folder'}")
    if (path / "groundtruth.txt").is_file():  # one sequence
        return Layout("vot" if (path / "color").is_dir() else "folder", str(path), "all")
    found = _got10k(path / "train") or _got10k(path)
    if found is not None:
        return found
    children = _children(path)
    if _is_otb(children):
        return Layout("otb", str(path), "all")
    if _is_lasot(children):
        # LaSOT's own split: training_set.txt when there is one; without it the reader refuses, naming 'all'
        return Layout("lasot", str(path), "train")
    if (path / "sequences").is_dir() or any((c / "color").is_dir() for c in children):
        return Layout("vot", str(path), "all")
    if any((c / "groundtruth.txt").is_file() for c in children):
        return Layout("folder", str(path), "all")
    raise DatasetError(f"{path}: no tracking data layout recognised; known: {KNOWN}. Name the layout with "
                       "--data KIND:PATH[:SUBSET] (kinds: got10k, otb, lasot, vot, folder, curated, yolo, coco)")
