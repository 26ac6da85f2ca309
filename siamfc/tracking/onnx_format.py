"""ONNX export folders: names, manifests and their checks, the export beside a checkpoint (``model.pth``
-> ``model.onnx/``). No PyTorch, no ``onnx`` package."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

from ..errors import CheckpointError

MANIFEST = "siamfc_onnx.json"
FORMAT = "siamfc-onnx"
VERSION = 2
#: what ``siamfc export`` writes; ``search_taps``: the search graph extended by ``export.with_tap_products``
#: (what ONNX Runtime runs, so that loading needs no ``onnx`` package)
FILES = {"exemplar": "exemplar.onnx", "search": "search.onnx", "head": "head.onnx",
         "search_taps": "search_taps.onnx"}
CHECKPOINT_HASH = "checkpoint_sha256"  # the manifest's SHA-256 of the checkpoint exported
GRAPH_HASHES = "files_sha256"  # the manifest's SHA-256 of each graph file (keys as in FILES)
BOX_MANIFEST = "siamfc_box_onnx.json"  # a box-head model's export
BOX_GRAPHS = ("exemplar", "search")


class StaleExportWarning(UserWarning):
    """An export beside a checkpoint is not its own, and is not used."""


def export_folder(path: str | os.PathLike) -> Path | None:
    """The export folder ``path`` names (a folder written by ``siamfc export``, or its manifest), or None."""
    path = Path(os.fspath(path))
    return path if path.is_dir() else path.parent if path.name == MANIFEST else None


def is_export(path: str | os.PathLike) -> bool:
    """An export folder or its manifest, not a checkpoint."""
    return export_folder(path) is not None


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_beside(checkpoint: str | os.PathLike) -> Path:
    return Path(os.fspath(checkpoint)).with_suffix(".onnx")


def fresh_export(checkpoint: str | os.PathLike, sizes: tuple[int, int] = (127, 255)) -> Path | None:
    """The export beside ``checkpoint`` when it is its own (by the SHA-256 of both and of the graphs) and
    takes crops of ``sizes``, else None; a :class:`StaleExportWarning` for one that is not its own."""
    folder = export_beside(checkpoint)
    if not (folder / MANIFEST).is_file():
        return None
    problem = "checkpoint hash differs" if own_manifest(checkpoint) is None else None
    try:
        info = read_manifest(folder) if problem is None else None
    except CheckpointError as exc:  # not used: warned below
        problem = str(exc)
    if problem is None:
        return folder if (info["exemplar_size"], info["search_size"]) == tuple(sizes) else None
    warnings.warn(f"{folder} is not the export of {Path(checkpoint).name} ({problem}); exporting it in memory "
                  f"instead. Refresh it with: siamfc export --weights {checkpoint} --out {folder}",
                  StaleExportWarning, stacklevel=3)
    return None


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of an export folder, every field and graph checked: each graph is the file ``siamfc
    export`` names, with the SHA-256 the manifest records."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise CheckpointError(f"{folder}: not a siamfc ONNX export (no {MANIFEST} in it; `siamfc export` writes one)",
                              str(folder))
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a siamfc ONNX export ({exc.__class__.__name__})", str(path)) from exc

    def refused(problem: str) -> CheckpointError:
        return CheckpointError(f"{path}: {problem}", str(path))

    if not isinstance(info, dict) or info.get("format") != FORMAT:
        found = info.get("format") if isinstance(info, dict) else type(info).__name__
        raise refused(f"not a siamfc ONNX export (format {found!r})")
    again = "export the checkpoint again with `siamfc export`"
    if info.get("version") != VERSION:
        raise refused(f"ONNX export version {info.get('version')!r}, this siamfc reads version {VERSION}: {again}")
    for key, value in ((key, info.get(key)) for key in ("stride", "exemplar_size", "search_size")):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise refused(f"{key!r} is {value!r}, expected a whole number more than 0")
    if info.get("files") != FILES or not isinstance(info.get(GRAPH_HASHES), dict):
        raise refused(f"'files' should map {FILES} and {GRAPH_HASHES} hold their hashes (an older siamfc export? "
                      f"{again})")
    for key, name in FILES.items():
        try:
            found = file_sha256(path.parent / name)
        except OSError as exc:
            raise refused(f"{name}: {exc.strerror or exc}") from exc
        if found != info[GRAPH_HASHES].get(key):
            raise refused(f"{name} is not the graph this manifest records (its SHA-256 differs)")
    return info


def own_manifest(weights: str | os.PathLike | None, name: str = MANIFEST) -> dict | None:
    """Manifest ``name`` of the export beside checkpoint ``weights`` when it records this very file."""
    if weights is None or not Path(weights).is_file():
        return None
    try:
        info = json.loads((export_beside(weights) / name).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get(CHECKPOINT_HASH) == file_sha256(weights) else None


def box_export_beside(weights: str | os.PathLike | None) -> Path | None:
    """The complete export beside box-head checkpoint ``weights`` written from this very file, or None."""
    if own_manifest(weights, BOX_MANIFEST) is None:
        return None
    folder = export_beside(weights)
    return folder if all((folder / f"{name}.onnx").is_file() for name in BOX_GRAPHS) else None
