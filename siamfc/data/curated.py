"""Curated SiamFC crops: a GOT-10k-style folder whose images are search-region crops, not frames.

Each ``<root>/<subset>/<Name>/`` holds square crops centred on the target (``00000001.jpg`` ...), the
box in crop pixels (``groundtruth.txt``) and ``meta.csv`` (``index, original_frame, x0, y0, scale``:
crop = (frame - (x0, y0)) * scale). A crop spans ``margin`` (287/255 by default) times the search
region, so the crop cache takes the centred search region out of it instead of re-cropping it as a
frame: see :func:`siamfc.data.crop_cache.build_crop_cache`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .sequences import DatasetError, Sequence, got10k_sequences


def _read_meta(path: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(original frame numbers, crop pixels per frame pixel) from ``meta.csv``."""
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
    if len(rows) != n:
        raise DatasetError(f"{path}: {len(rows)} rows for {n} crops")
    try:
        frames = np.array([int(r["original_frame"]) for r in rows])
        scales = np.array([float(r["scale"]) for r in rows])
    except (KeyError, TypeError, ValueError):
        raise DatasetError(f"{path}: expected columns index,original_frame,x0,y0,scale with numbers") from None
    if not np.all(np.isfinite(scales) & (scales > 0)):
        raise DatasetError(f"{path}: scale must be positive")
    return frames, scales


def curated_sequences(root: str | Path, subset: str = "train") -> list[Sequence]:
    """Read ``root/subset`` as the GOT-10k reader does, plus each sequence's ``meta.csv``: the
    sequences come back marked curated, with their original frame numbers and scales."""
    sequences = got10k_sequences(root, subset)
    for seq in sequences:
        seq.frame_numbers, seq.frame_scale = _read_meta(Path(root) / subset / seq.name / "meta.csv", len(seq))
        seq.curated = True
    return sequences
