"""Small helpers about files: the mode of outputs written under a temporary name and renamed into
place, and names for checkpoints that share a file name."""

from __future__ import annotations

import os
from pathlib import Path


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file: 0o666 less the umask. ``tempfile.mkstemp`` makes 0o600
    files, and the rename keeps that mode, so outputs would be unreadable by anyone else."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def distinct_stems(paths: list[str | os.PathLike], sep: str) -> list[str]:
    """The file stem of each path, led by its folder's name and ``sep`` where another of the paths (a
    different file) has the same stem: ``run_a/model_e030`` and ``run_b/model_e030`` for two runs'
    ``model_e030.pth``. Tables and result folders are keyed by these names, so equal ones would mix
    two models up."""
    resolved = [Path(p).resolve() for p in paths]

    def clashes(path: Path) -> bool:
        return any(other.stem == path.stem and other != path for other in resolved)

    return [f"{path.parent.name}{sep}{path.stem}" if clashes(path) else path.stem for path in resolved]
