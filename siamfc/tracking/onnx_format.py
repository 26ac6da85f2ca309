"""The ONNX export folders (written by :mod:`siamfc.tracking.export`, run by
:mod:`siamfc.tracking.engines.onnx_engines`): file names, manifests and their checks, the export that
may sit beside a checkpoint (``model.pth`` -> ``model.onnx/``), and the correlation added to the search
graph. Imports neither PyTorch nor, until a graph is extended, the ``onnx`` package."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

from ..errors import CheckpointError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import numpy as np

MANIFEST = "siamfc_onnx.json"
FORMAT = "siamfc-onnx"
VERSION = 2
#: what ``siamfc export`` writes; ``search_taps``: the search graph already extended by
#: :func:`with_tap_products` (loading needs no ``onnx`` package; older folders are extended at load)
FILES = {"exemplar": "exemplar.onnx", "search": "search.onnx", "head": "head.onnx",
         "search_taps": "search_taps.onnx"}
REQUIRED_FILES = ("exemplar", "search", "head")
CHECKPOINT_HASH = "checkpoint_sha256"  # the manifest's SHA-256 of the checkpoint exported
GRAPH_HASHES = "files_sha256"  # the manifest's SHA-256 of each graph file (keys as in FILES)
EXPORT_SUFFIX = ".onnx"
BOX_MANIFEST = "siamfc_box_onnx.json"  # a box-head model's export
BOX_GRAPHS = ("exemplar", "search")


class StaleExportWarning(UserWarning):
    """An export beside a checkpoint is not its own (another version's, or other graphs than its
    manifest records) and is not used."""


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
    """The export beside ``checkpoint`` when its manifest and graphs are this checkpoint's (by their
    SHA-256) and take crops of ``sizes``; else None (the caller exports in memory), with a
    :class:`StaleExportWarning` saying how to refresh one that is not the checkpoint's own."""
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
    """Why the graphs in ``folder`` are not those its manifest ``info`` records (by their SHA-256, or it
    records none); None when they are."""
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
    """The manifest of an export folder, every field checked (file entries inside the folder); a
    missing, foreign or damaged one is a CheckpointError."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise CheckpointError(f"{folder}: not a siamfc ONNX export (no {MANIFEST} in it; `siamfc export` writes one)",
                              str(folder))
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a siamfc ONNX export ({exc.__class__.__name__})", str(path)) from exc
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        found = info.get("format") if isinstance(info, dict) else type(info).__name__
        raise CheckpointError(f"{path}: not a siamfc ONNX export (format {found!r})", str(path))
    if info.get("version") != VERSION:
        raise CheckpointError(f"{path}: ONNX export version {info.get('version')!r}, this siamfc reads version "
                              f"{VERSION}: export the checkpoint again with `siamfc export`", str(path))
    for key in ("stride", "exemplar_size", "search_size"):
        value = info.get(key)
        if key in info or key == "stride":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise CheckpointError(f"{path}: {key!r} is {value!r}, expected a whole number more than 0", str(path))
    files = info.get("files")
    if not isinstance(files, dict) or set(files) not in (set(REQUIRED_FILES), set(FILES)):
        found = f"{files!r}"[:200]
        raise CheckpointError(f"{path}: 'files' should map {', '.join(FILES)} to file names, found {found}", str(path))
    for key, name in files.items():
        _check_entry(path, key, name)
    missing = [name for name in files.values() if not (Path(folder) / name).is_file()]
    if missing:
        raise CheckpointError(f"{path}: export incomplete (missing {', '.join(missing)})", str(path))
    return info


def export_sizes(info: dict) -> tuple[int, int]:
    """The exemplar and search crop sides an export's graphs take (older manifests: the defaults)."""
    return int(info.get("exemplar_size", 127)), int(info.get("search_size", 255))


def _check_entry(manifest: Path, key: str, name: object) -> None:
    if not isinstance(name, str) or not name:
        raise CheckpointError(f"{manifest}: files.{key} is {name!r}, expected a file name", str(manifest))
    folder = manifest.parent.resolve()
    target = (folder / name).resolve()
    if Path(name).is_absolute() or ".." in Path(name).parts or not target.is_relative_to(folder):
        raise CheckpointError(f"{manifest}: files.{key} {name!r} points outside the export folder (refused)",
                              str(manifest))


def box_export_beside(weights: str | os.PathLike | None) -> Path | None:
    """The export folder beside box-head checkpoint ``weights`` when it is complete and was written from
    this very file (by its manifest's checkpoint hash), else None."""
    if weights is None or not Path(weights).is_file():
        return None
    folder = Path(weights).with_suffix(EXPORT_SUFFIX)
    try:
        manifest = json.loads((folder / BOX_MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    complete = all((folder / f"{name}.onnx").is_file() for name in BOX_GRAPHS)
    if not complete or not isinstance(manifest, dict) or manifest.get(CHECKPOINT_HASH) != file_sha256(weights):
        return None
    return folder


def siamfc_export_beside(weights: str | os.PathLike) -> bool:
    """Whether a SiamFC export of this very checkpoint sits beside it (by its manifest's hash)."""
    manifest = export_beside(weights) / MANIFEST
    if not manifest.is_file() or not Path(weights).is_file():
        return False
    try:
        return json.loads(manifest.read_text()).get(CHECKPOINT_HASH) == file_sha256(weights)
    except (OSError, ValueError, AttributeError):
        return False


def with_tap_products(search_model: bytes | str) -> bytes:
    """The search graph extended to correlate: it also takes ``kernels`` (N, C, T), each target's kernel
    with its T = kh * kw taps flattened, and gives ``taps`` (N * k, T, H, W), every feature vector of a
    target's k crops times every tap (one batched MatMul, on ONNX Runtime's threads straight from its
    blocked layout: docs/speed.md); :func:`sum_taps` adds them into maps."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_model_from_string(search_model) if isinstance(search_model, bytes) else onnx.load(search_model)
    graph = model.graph
    (features,) = [o.name for o in graph.output]
    graph.input.append(helper.make_tensor_value_info("kernels", TensorProto.FLOAT, ["targets", "channels", "taps"]))
    graph.initializer.append(helper.make_tensor("minus_one", TensorProto.INT64, [1], [-1]))
    graph.node.extend([
        helper.make_node("Shape", ["kernels"], ["kernel_n"], start=0, end=1),
        helper.make_node("Shape", ["kernels"], ["kernel_c"], start=1, end=2),
        helper.make_node("Shape", ["kernels"], ["kernel_t"], start=2, end=3),
        helper.make_node("Shape", [features], ["feature_hw"], start=1, end=3),
        helper.make_node("Concat", ["kernel_n", "minus_one", "kernel_c"], ["per_target"], axis=0),
        helper.make_node("Reshape", [features, "per_target"], ["target_features"]),  # (N, k*H*W, C)
        helper.make_node("MatMul", ["target_features", "kernels"], ["target_taps"]),  # (N, k*H*W, T)
        helper.make_node("Concat", ["minus_one", "feature_hw", "kernel_t"], ["per_crop"], axis=0),
        helper.make_node("Reshape", ["target_taps", "per_crop"], ["crop_taps"]),  # (N*k, H, W, T)
        helper.make_node("Transpose", ["crop_taps"], ["taps"], perm=[0, 3, 1, 2]),
    ])
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("taps", TensorProto.FLOAT, ["crops", "taps", "height", "width"]))
    return model.SerializeToString()


def sum_taps(taps: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Maps (M, H - kh + 1, W - kw + 1) from the tap products (M, kh * kw, H, W): tap (i, j) of the
    kernel meets the features shifted by (i, j)."""
    _, _, h, w = taps.shape
    oh, ow = h - kh + 1, w - kw + 1
    out = taps[:, 0, :oh, :ow].copy()
    for i in range(kh):
        for j in range(kw):
            if i or j:
                out += taps[:, i * kw + j, i:i + oh, j:j + ow]
    return out
