"""Curated SiamFC crops as an input format: read by the data layer, cached without re-cropping them
as frames, filtered by the target's size in its original frame, paired by original frame numbers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.data.crop_cache import PairFilter, build_crop_cache
from siamfc.data.registry import curated_sequences
from siamfc.data.sequences import DatasetError
from siamfc.training.build import read_sequences
from siamfc.training.config import DatasetConfig

CROP = 287  # the search region (255 crop pixels) with 16 px to spare on each side
SIDE = 63.5  # a square target whose search region is exactly 255 crop pixels: 2 * 63.5 * 255 / 127


def make_curated(root: Path, scales: list[float], frames: list[int]) -> None:
    folder = root / "train" / "seq"
    folder.mkdir(parents=True)
    (root / "train" / "list.txt").write_text("seq\n")
    c = (CROP - 1) / 2
    box = [c - SIDE / 2 + 0.5, c - SIDE / 2 + 0.5, SIDE, SIDE]
    rows = ["index,original_frame,x0,y0,scale"]
    for k, (scale, frame) in enumerate(zip(scales, frames, strict=True)):
        image = np.full((CROP, CROP, 3), 30, np.uint8)
        lo, hi = round(box[0]), round(box[0] + SIDE)
        image[lo:hi, lo:hi] = (40 + 60 * k, 200, 90)
        image[:16, :] = 250  # the margin beyond the search region: must not reach the cache
        cv2.imwrite(str(folder / f"{k + 1:08d}.jpg"), image)
        rows.append(f"{k + 1},{frame},0,0,{scale}")
    (folder / "groundtruth.txt").write_text("\n".join(",".join(f"{v:.2f}" for v in box) for _ in scales) + "\n")
    (folder / "meta.csv").write_text("\n".join(rows) + "\n")


def test_reader_keeps_original_frames_and_scales(tmp_path: Path) -> None:
    make_curated(tmp_path, [1.0, 2.0, 0.5], [3, 9, 15])
    (seq,) = read_sequences(DatasetConfig("curated", str(tmp_path), "train"))
    assert seq.curated and len(seq) == 3
    assert seq.frame_numbers.tolist() == [3, 9, 15]
    assert seq.frame_scale.tolist() == [1.0, 2.0, 0.5]
    assert seq.visible.all()


def test_cache_takes_the_centred_search_region(tmp_path: Path) -> None:
    # crop 3 has scale 10: its target is 6 px wide in the original frame, below min_size, so it is left out
    make_curated(tmp_path, [1.0, 2.0, 10.0], [3, 9, 15])
    cache = build_crop_cache(curated_sequences(tmp_path, "train"), tmp_path / "cache", filt=PairFilter(min_size=10),
                             workers=1, quiet=True)
    assert len(cache.sizes) == 2
    assert cache.frame_ids.tolist() == [3, 9]
    np.testing.assert_allclose(cache.sizes, SIDE, atol=0.01)  # 255 of 287 pixels: no rescaling
    crop = np.asarray(cache.crops[0])
    assert crop.shape == (255, 255, 3)
    mask = crop[..., 1] > 150
    mask[:8] = False
    rows, cols = np.nonzero(mask)
    assert rows.mean() == pytest.approx(127, abs=1.0) and cols.mean() == pytest.approx(127, abs=1.0)
    assert rows.max() - rows.min() + 1 == pytest.approx(SIDE, abs=2)
    assert crop[:4].mean() < 100  # the bright margin rows of the curated crop stayed outside


def test_bad_meta_is_one_line_error(tmp_path: Path) -> None:
    make_curated(tmp_path, [1.0, 1.0], [1, 2])
    meta = tmp_path / "train" / "seq" / "meta.csv"
    for text in ("1,1,0,0,1\n", "1,1,0,0,0\n2,2,0,0,1\n"):  # 1 row for 2 crops; a scale of 0
        meta.write_text("index,original_frame,x0,y0,scale\n" + text)
        with pytest.raises(DatasetError) as info:
            curated_sequences(tmp_path, "train")
        assert info.value.key == str(meta) and "\n" not in str(info.value)


def test_real_extra_train(shared_dir: Path) -> None:
    root = shared_dir / "data" / "extra"
    if not (root / "train" / "list.txt").is_file():
        pytest.skip(f"extra/train not found under {root}")
    sequences = curated_sequences(root, "train")
    assert len(sequences) == 19 and sum(len(s) for s in sequences) == 1943
    assert all(s.curated and np.all(np.diff(s.frame_numbers) > 0) for s in sequences)
