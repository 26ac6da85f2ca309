"""Layouts the toolkit has no dataset for, run by its GOT-10k loop: any folder of sequences, and LaSOT."""

from __future__ import annotations

from pathlib import Path

from ...data.registry import get
from ...data.sequences import Sequence
from ...errors import SiamFCError
from ..specs import BenchmarkSpec
from .base import SequenceBenchmark


class Folder(SequenceBenchmark):
    """A GOT-10k-layout root, a folder with ``list.txt``, a plain folder of sequence folders or one
    sequence folder; several roots are evaluated as one set."""

    name = "folder"
    layout = ("a GOT-10k-layout root, a folder with list.txt, or a plain folder of sequence folders "
              "(frames + groundtruth.txt); repeat --root to join several")
    joins_roots = True

    def parse_subset(self, text: str | None, roots: list[str]) -> str:
        """A folder every root has (or a root that is that folder), or ``all``; left out, each root's
        ``val/`` where it has one, else the whole root."""
        if text is None or text == "all":
            return text or self.default_subset
        for root in roots:
            path = Path(root)
            if path.is_dir() and not (path / text).is_dir() and path.resolve().name != text:
                raise SiamFCError(f"--subset {text}: {root} has no {text}/ folder (leave --subset out to read "
                                  "every sequence of a root without one)", "--subset")
        return text

    def tag(self, bench: BenchmarkSpec) -> str:
        return "+".join(f"folder-{_root_tag(r, bench.subset)}" for r in (bench.root, *bench.more_roots))

    def sequences(self, bench: BenchmarkSpec) -> list[Sequence]:
        found = []
        for root in (bench.root, *bench.more_roots):
            found += get("folder")(root, bench.subset if (Path(root) / bench.subset).is_dir() else "all")
        return found


def _root_tag(root: str, subset: str) -> str:
    """A folder's name, with its parent's when it is a subset folder (``GOT-10k-mini-val``)."""
    path = Path(root).resolve()
    return f"{path.parent.name}-{path.name}" if path.name in (subset, "val", "test", "train") else path.name


class LaSOT(SequenceBenchmark):
    """LaSOT: a frame counts where the target is neither fully occluded nor out of view."""

    name = "lasot"
    layout = ("ROOT/<class>/<class>-N/ (img/, groundtruth.txt, full_occlusion.txt, out_of_view.txt); "
              "--subset test (default) reads testing_set.txt, all every sequence")
    default_subset = "test"

    def tag(self, bench: BenchmarkSpec) -> str:
        return "LaSOT"
