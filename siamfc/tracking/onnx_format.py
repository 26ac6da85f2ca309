"""The layout of an ONNX export folder (written by :mod:`siamfc.tracking.export`, read by
:mod:`siamfc.tracking.onnx_engine`): file names, the manifest and its checks, and the export that
may sit beside a checkpoint.

This module imports neither PyTorch nor the ``onnx`` package: reading an export to track with
ONNX Runtime needs neither.
"""

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
#: what ``siamfc export`` writes. ``search_taps`` is the search graph already extended with the
#: correlation's matrix product (:func:`siamfc.tracking.onnx_engine.with_tap_products`), so that
#: loading needs no ``onnx`` package; a folder without it (older exports) is extended at load.
FILES = {"exemplar": "exemplar.onnx", "search": "search.onnx", "head": "head.onnx",
         "search_taps": "search_taps.onnx"}
REQUIRED_FILES = ("exemplar", "search", "head")
#: the manifest field holding the SHA-256 of the checkpoint the graphs were exported from
CHECKPOINT_HASH = "checkpoint_sha256"
#: the manifest field holding the SHA-256 of each graph file (keys as in ``FILES``): the checkpoint's
#: hash says which checkpoint the manifest belongs to, these that the graphs beside it are its own
GRAPH_HASHES = "files_sha256"
#: the suffix of the export folder that belongs to a checkpoint: ``model.pth`` -> ``model.onnx/``
EXPORT_SUFFIX = ".onnx"


class StaleExportWarning(UserWarning):
    """An export beside a checkpoint was made from another version of it, or holds graphs that are
    not those its manifest records (and is not used)."""


def is_export(path: str | os.PathLike) -> bool:
    """A folder written by ``siamfc export`` (or its manifest), rather than a checkpoint."""
    path = Path(os.fspath(path))
    return path.is_dir() or path.name == MANIFEST


def export_folder(path: str | os.PathLike) -> Path | None:
    """The folder of ``path`` when it names a ``siamfc export`` folder (or its manifest), else None."""
    if not is_export(path):
        return None
    path = Path(os.fspath(path))
    return path if path.is_dir() else path.parent


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_beside(checkpoint: str | os.PathLike) -> Path:
    """Where the export of ``checkpoint`` lives when it ships with it: ``model.pth`` -> ``model.onnx/``."""
    path = Path(os.fspath(checkpoint))
    return path.with_name(path.stem + EXPORT_SUFFIX)


def fresh_export(checkpoint: str | os.PathLike, sizes: tuple[int, int] = (127, 255)) -> Path | None:
    """The export folder beside ``checkpoint`` when its manifest names this very checkpoint (same
    SHA-256), its graph files are those the manifest records (same SHA-256 each) and they take crops
    of ``sizes`` (exemplar, search); None when there is none or the sizes differ (the caller then
    exports the checkpoint in memory at the tracker's sizes). One that does not belong to the
    checkpoint (the checkpoint changed since, or graphs were copied in from another export, or it
    records no graph hashes) is not used either: a :class:`StaleExportWarning` says so and how to
    refresh it."""
    folder = export_beside(checkpoint)
    if not (folder / MANIFEST).is_file():
        return None
    try:
        info = json.loads((folder / MANIFEST).read_text())
        recorded, recorded_sizes = info.get(CHECKPOINT_HASH), export_sizes(info)
    except (OSError, ValueError, TypeError, AttributeError):
        info, recorded, recorded_sizes = {}, None, None
    if recorded != file_sha256(checkpoint):
        problem = "checkpoint hash differs"
    else:
        problem = graphs_problem(folder, info)
    if problem is None:
        return folder if recorded_sizes == tuple(sizes) else None
    warnings.warn(f"{folder} is not the export of {Path(checkpoint).name} ({problem}); exporting it in memory "
                  f"instead. Refresh it with: siamfc export --weights {checkpoint} --out {folder}",
                  StaleExportWarning, stacklevel=3)
    return None


def graphs_problem(folder: Path, info: dict) -> str | None:
    """Why the graph files in ``folder`` are not those its manifest ``info`` records (a file whose
    SHA-256 differs: copied in from another export), or that it records none; None when they are."""
    hashes, files = info.get(GRAPH_HASHES), info.get("files")
    if not isinstance(hashes, dict) or not isinstance(files, dict):
        return f"its manifest records no hashes of its graphs ({GRAPH_HASHES}; an older siamfc export)"
    for key, name in files.items():
        if key not in hashes:
            return f"its manifest records no hash of {name}"
        try:
            found = file_sha256(folder / str(name))
        except OSError as exc:
            return f"{name}: {exc.strerror or exc}"
        if found != hashes[key]:
            return f"{name} is not the graph this manifest records (its SHA-256 differs)"
    return None


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of an exported folder, every field checked; a missing, foreign or damaged one is
    a CheckpointError. File entries must name files inside the folder (no absolute paths, no ``..``)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise CheckpointError(f"{folder}: not a siamfc ONNX export (no {MANIFEST} in it; `siamfc export` writes one)")
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a siamfc ONNX export ({exc.__class__.__name__})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        found = info.get("format") if isinstance(info, dict) else type(info).__name__
        raise CheckpointError(f"{path}: not a siamfc ONNX export (format {found!r})")
    if info.get("version") != VERSION:
        raise CheckpointError(f"{path}: ONNX export version {info.get('version')!r}, this siamfc reads version "
                              f"{VERSION}: export the checkpoint again with `siamfc export`")
    for key in ("stride", "exemplar_size", "search_size"):
        value = info.get(key)
        if key in info or key == "stride":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise CheckpointError(f"{path}: {key!r} is {value!r}, expected a whole number more than 0")
    files = info.get("files")
    if not isinstance(files, dict) or set(files) not in (set(REQUIRED_FILES), set(FILES)):
        raise CheckpointError(f"{path}: 'files' should map {', '.join(FILES)} to file names, found {files!r}"[:300])
    for key, name in files.items():
        _check_entry(path, key, name)
    missing = [name for name in files.values() if not (Path(folder) / name).is_file()]
    if missing:
        raise CheckpointError(f"{path}: export incomplete (missing {', '.join(missing)})")
    return info


def export_sizes(info: dict) -> tuple[int, int]:
    """The exemplar and search crop sides an export's graphs take (from its manifest; an export
    written before they were recorded took the defaults)."""
    return int(info.get("exemplar_size", 127)), int(info.get("search_size", 255))


def _check_entry(manifest: Path, key: str, name: object) -> None:
    """A file entry of the manifest: a plain relative name that stays inside its folder."""
    if not isinstance(name, str) or not name:
        raise CheckpointError(f"{manifest}: files.{key} is {name!r}, expected a file name")
    folder = manifest.parent.resolve()
    target = (folder / name).resolve()
    if Path(name).is_absolute() or ".." in Path(name).parts or not target.is_relative_to(folder):
        raise CheckpointError(f"{manifest}: files.{key} {name!r} points outside the export folder (refused)")
