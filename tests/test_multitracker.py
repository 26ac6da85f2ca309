"""MultiTracker: N targets in one batch per frame give the boxes of N separate trackers, with
targets added and removed at any frame, on every crop/peak path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siamfc import MultiTracker, SiamFCTracker, geometry


def eight_boxes(box: np.ndarray, shape: tuple[int, ...]) -> list[np.ndarray]:
    """The first box and seven shifted and resized copies, inside the frame."""
    h, w = shape[:2]
    out = []
    for k in range(8):
        dx, dy = (k % 3 - 1) * 0.6 * box[2], (k // 3 - 1) * 0.6 * box[3]
        size = box[2:] * (1.0 + 0.1 * (k % 2))
        x = float(np.clip(box[0] + dx, 0, w - size[0]))
        y = float(np.clip(box[1] + dy, 0, h - size[1]))
        out.append(np.array([x, y, *size]))
    return out


def alone(tracker: SiamFCTracker, frames: list[np.ndarray], box: np.ndarray) -> np.ndarray:
    """The boxes of one target tracked alone. One tracker serves every target of a test: ``init``
    starts it afresh (building one per target cost 0.7 s each, exporting the model again)."""
    tracker.init(frames[0], box)
    return np.array([tracker.update(f) for f in frames[1:]])


def assert_same_boxes(got: np.ndarray, want: np.ndarray) -> None:
    # Batch size may change the float rounding of the convolutions, never the result beyond it.
    np.testing.assert_allclose(got, want, atol=1e-3)


@pytest.mark.parametrize("options", [{}, {"crop_backend": "torch"}], ids=["optimized", "torch-crop"])
def test_eight_targets_track_like_eight_trackers(got10k_sequence, fdsiamfc_weights: Path, options: dict) -> None:
    seq = got10k_sequence("val", "bag", max_frames=6)
    boxes = eight_boxes(seq.groundtruth[0], seq.frames[0].shape)
    multi = MultiTracker(fdsiamfc_weights, **options)
    ids = [multi.add(seq.frames[0], b) for b in boxes]
    outputs = [multi.update(f) for f in seq.frames[1:]]
    assert all(set(out) == set(ids) for out in outputs)
    single = SiamFCTracker(fdsiamfc_weights, **options)
    for target_id, box in zip(ids, boxes, strict=True):
        together = np.array([out[target_id] for out in outputs])
        assert_same_boxes(together, alone(single, seq.frames, box))
    # the targets stay apart: a batch is not eight copies of one answer
    finals = np.array([outputs[-1][i] for i in ids])
    assert len(np.unique(finals.round(3), axis=0)) == 8


def test_add_and_remove_at_any_frame(got10k_sequence, fdsiamfc_weights: Path) -> None:
    seq = got10k_sequence("val", "Crossing", max_frames=12)
    gt = seq.groundtruth
    # (frame it starts on, box, frame it is removed on or None)
    plan = [(0, gt[0], None), (0, gt[0] + [40, 0, 0, 0], 5), (2, gt[2], 8), (5, gt[5] + [0, 20, 0, 0], None),
            (8, gt[8], None)]
    multi = MultiTracker(fdsiamfc_weights)
    ids: dict[int, int] = {}
    tracked: dict[int, list[np.ndarray]] = {k: [] for k in range(len(plan))}
    for frame_index, frame in enumerate(seq.frames):
        for k, (_, _, stop) in enumerate(plan):
            if stop == frame_index:  # gone before this frame is tracked
                multi.remove(ids[k])
                with pytest.raises(KeyError):
                    multi.remove(ids[k])
        out = multi.update(frame)
        for k, target_id in ids.items():
            if target_id in out:
                tracked[k].append(out[target_id])
        for k, (start, box, _) in enumerate(plan):
            if start == frame_index:
                ids[k] = multi.add(frame, box)
        live = {ids[k] for k, (start, _, stop) in enumerate(plan) if start <= frame_index and (stop is None or
                                                                                               stop > frame_index)}
        assert set(multi.targets) == live and len(multi) == len(live)
    single = SiamFCTracker(fdsiamfc_weights)
    for k, (start, box, stop) in enumerate(plan):
        end = stop if stop is not None else len(seq.frames)
        want = alone(single, seq.frames[start:end], box)
        got = np.array(tracked[k])
        assert got.shape == want.shape, (k, got.shape, want.shape)
        assert_same_boxes(got, want)
    # it still tracks: the first target (never removed) stays on the walker
    assert geometry.iou(np.array(tracked[0]), gt[1:]).mean() > 0.6


def test_same_target_eight_times_gives_eight_equal_boxes(got10k_sequence, fdsiamfc_weights: Path) -> None:
    seq = got10k_sequence("val", "Crossing", max_frames=5)
    multi = MultiTracker(fdsiamfc_weights)
    ids = [multi.add(seq.frames[0], seq.groundtruth[0]) for _ in range(8)]
    single = alone(SiamFCTracker(fdsiamfc_weights), seq.frames, seq.groundtruth[0])
    for frame_index, frame in enumerate(seq.frames[1:]):
        out = multi.update(frame)
        for target_id in ids:
            assert_same_boxes(out[target_id], single[frame_index])
