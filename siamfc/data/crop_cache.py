"""Search-region crops (``size`` square, centred on the target, padded with the frame's mean colour)
cut once per usable frame into one memory-mapped array, so training never decodes a full frame."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .. import geometry
from ..errors import first_line
from ..files import exclusive_lock, replacing, write_text_atomic
from ..io.video import read_image
from ..settings import check, setting
from .sequences import Sequence


@dataclass
class PairFilter:
    """Which annotated frames are usable (the paper's and pysot's plausibility rules)."""

    min_size: float = setting(20.0, gt=0)  # sqrt(w * h), frame pixels
    max_size: float = setting(500.0, gt=0)
    min_area_ratio: float = setting(0.01, ge=0)
    max_area_ratio: float = setting(0.5, gt=0)
    min_aspect: float = setting(0.25, gt=0)
    max_aspect: float = setting(4.0, gt=0)
    skip_cut: bool = True

    def __post_init__(self) -> None:
        check(self)

    def usable(self, box: np.ndarray, image_wh: tuple[int, int] | None) -> bool:
        """``box`` in frame pixels; ``image_wh`` None (a curated crop's unknown frame) skips the area rule."""
        w, h = float(box[2]), float(box[3])
        area_ok = image_wh is None or self.min_area_ratio <= w * h / (image_wh[0] * image_wh[1]) <= self.max_area_ratio
        return (0 < w < np.inf and 0 < h < np.inf and area_ok and self.min_size <= np.sqrt(w * h) <= self.max_size
                and self.min_aspect <= w / h <= self.max_aspect)


@dataclass
class CropCache:
    """``crops[i]`` (uint8 RGB), the target's (h, w) in it, its sequence (``groups``) and frame."""

    crops: np.ndarray
    sizes: np.ndarray
    groups: np.ndarray
    frame_ids: np.ndarray
    unreadable: int = 0  # frames left out because their image could not be read
    first_unreadable: str = ""


def _cache_key(sequences: list[Sequence], size: int, context: float, exemplar_size: int, filt: PairFilter,
               frame_stride: int) -> str:
    """A hash of the settings and of every sequence's name, boxes and frame files (its folder's name)."""
    digest = hashlib.sha1()
    settings = [size, context, exemplar_size, vars(filt)] + ([frame_stride] if frame_stride != 1 else [])
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for seq in sequences:
        digest.update(seq.name.encode())
        digest.update(str(seq.frames[0]).encode())
        digest.update(np.ascontiguousarray(seq.boxes).tobytes())
        for frame in seq.frames[::frame_stride]:  # a replaced frame changes its size or modification time
            try:
                stat = os.stat(frame)
                digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
            except OSError:
                digest.update(b"-")
        if seq.curated:
            digest.update(np.ascontiguousarray(seq.frame_scale, dtype=np.float64).tobytes())
            digest.update(np.ascontiguousarray(seq.frame_numbers, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def build_crop_cache(sequences: list[Sequence], cache_dir: str | Path, size: int = 255, exemplar_size: int = 127,
                     context: float = 0.5, filt: PairFilter | None = None, workers: int = 2, quiet: bool = False,
                     frame_stride: int = 1) -> CropCache:
    """Cut (or reuse from ``cache_dir``) the crops of every usable, ``frame_stride``-th frame (>= 1, as its
    setting declares); a second run waits on the folder's lock, then reuses them, and a cache another run has
    mapped is never truncated."""
    filt = filt or PairFilter()
    folder = Path(cache_dir) / _cache_key(sequences, size, context, exemplar_size, filt, frame_stride)
    folder.mkdir(parents=True, exist_ok=True)

    with exclusive_lock(folder, on_wait=None if quiet else lambda: print(
            f"waiting for another run that is building the crop cache {folder}", file=sys.stderr, flush=True)):
        cache = None
        try:
            cache = _open(folder) if (folder / "done").is_file() else None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            warnings.warn(f"crop cache {folder} is damaged ({first_line(exc, 80)}): building it again", stacklevel=2)
            (folder / "done").unlink()
        if cache is None:
            _build(sequences, folder, size, exemplar_size, context, filt, workers, quiet, frame_stride)
            cache = _open(folder)
    if cache.unreadable:
        warnings.warn(f"{cache.unreadable} frame(s) cannot be read as images and are left out, e.g. "
                      f"{cache.first_unreadable}", stacklevel=2)
    return cache


def _build(sequences: list[Sequence], folder: Path, size: int, exemplar_size: int, context: float,
           filt: PairFilter, workers: int, quiet: bool, frame_stride: int) -> None:
    """Write ``crops.npy``, ``meta.npz``, then ``done``; under the lock, so temporary files are a killed run's."""
    for stale in folder.glob(".*.part*"):
        stale.unlink(missing_ok=True)
    jobs = [(g, i) for g, seq in enumerate(sequences) for i in range(len(seq))
            if i % frame_stride == 0 and seq.visible[i] and not (filt.skip_cut and seq.cut[i])]
    sizes, keep, unreadable = np.zeros((len(jobs), 2), np.float32), np.zeros(len(jobs), bool), np.zeros(len(jobs), bool)
    with replacing(folder / "crops.npy") as crops_path:
        crops = np.lib.format.open_memmap(crops_path, mode="w+", dtype=np.uint8, shape=(len(jobs), size, size, 3))

        def cut(k: int) -> None:
            g, i = jobs[k]
            seq = sequences[g]
            image, _ = read_image(str(seq.frames[i]))  # a truncated JPEG is unreadable, not half grey
            if image is None:
                unreadable[k] = True
                return
            box = seq.boxes[i]
            # a curated crop is judged by the target's size in its original frame (its size unknown)
            if not filt.usable(box / seq.frame_scale[i], None if seq.curated else (image.shape[1], image.shape[0])):
                return
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            center, target = geometry.box_to_center(box)
            x_size = geometry.exemplar_size(target, context) * size / exemplar_size
            geometry.crop(image, center, x_size, size, geometry.mean_color(image), out=crops[k])
            sizes[k] = target * size / x_size
            keep[k] = True

        with ThreadPoolExecutor(workers) as pool:
            list(tqdm(pool.map(cut, range(len(jobs))), total=len(jobs), desc="caching crops", disable=quiet))
        crops.flush()
    bad = "".join(str(sequences[jobs[k][0]].frames[jobs[k][1]]) for k in np.flatnonzero(unreadable)[:1])
    with replacing(folder / "meta.npz") as meta_path:
        np.savez(meta_path, sizes=sizes, keep=keep, groups=np.array([g for g, _ in jobs], np.int32),
                 frame_ids=np.array([sequences[g].frame_numbers[i] for g, i in jobs], np.int32),
                 first_unreadable=np.array(bad), unreadable=int(unreadable.sum()))
    write_text_atomic(folder / "done", "ok\n")


def _open(folder: Path) -> CropCache:
    meta = np.load(folder / "meta.npz")
    keep = meta["keep"]
    crops = np.load(folder / "crops.npy", mmap_mode="r")
    if crops.shape[0] != len(keep):
        raise ValueError(f"crops.npy holds {crops.shape[0]} crops, meta.npz {len(keep)}")
    index = np.flatnonzero(keep)
    unreadable = int(meta["unreadable"]) if "unreadable" in meta.files else 0  # older caches lack it
    return CropCache(crops=crops if keep.all() else _Indexed(crops, index), sizes=meta["sizes"][index],
                     groups=meta["groups"][index], frame_ids=meta["frame_ids"][index], unreadable=unreadable,
                     first_unreadable=str(meta["first_unreadable"]) if unreadable else "")


class _Indexed:
    """The memory-mapped crops without the unusable frames."""

    def __init__(self, crops: np.ndarray, index: np.ndarray) -> None:
        self.crops, self.index = crops, index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> np.ndarray:
        return self.crops[self.index[k]]
