"""Validation by tracking: run the tracker over annotated sequences and compute GOT-10k's AO."""

from __future__ import annotations

import copy

import cv2
import numpy as np
from tqdm import tqdm

from .. import ops
from ..data.sequences import Sequence
from ..model import SiamFCNet
from ..tracker import MultiTracker


def track_sequence(tracker: MultiTracker, seq: Sequence, max_frames: int = 0) -> np.ndarray:
    """Boxes for every frame of ``seq`` (the first is the ground truth it starts from)."""
    n = min(len(seq), max_frames) if max_frames else len(seq)
    for target in list(tracker.targets):
        tracker.remove(target)
    boxes = np.zeros((n, 4))
    for i in range(n):
        bgr = cv2.imread(str(seq.frames[i]))
        if bgr is None:  # an unreadable frame keeps the previous box rather than ending the run
            if i == 0:
                raise ValueError(f"{seq.frames[0]}: cannot read the first frame of {seq.name}")
            boxes[i] = boxes[i - 1]
            continue
        image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if i == 0:
            target = tracker.add(image, seq.boxes[0])
            boxes[0] = seq.boxes[0]
        else:
            boxes[i] = tracker.update(image)[target]
    return boxes


def sequence_scores(boxes: np.ndarray, seq: Sequence) -> tuple[float, float]:
    """Mean IoU and share of IoU > 0.5 over frames 2.. where the target is visible."""
    n = len(boxes)
    mask = seq.visible[:n].copy()
    mask[0] = False
    if not mask.any():
        return float("nan"), float("nan")
    ious = ops.iou(boxes[mask], seq.boxes[:n][mask])
    return float(ious.mean()), float((ious > 0.5).mean())


def validate(model: SiamFCNet, sequences: list[Sequence], max_frames: int = 0, quiet: bool = True) -> dict:
    """AO and SR0.5 (means over sequences) of ``model`` tracking ``sequences``."""
    tracker = MultiTracker(model=copy.deepcopy(model), device=next(model.parameters()).device)
    per_sequence = {}
    for seq in tqdm(sequences, desc="validating", disable=quiet, leave=False):
        ao, sr = sequence_scores(track_sequence(tracker, seq, max_frames), seq)
        per_sequence[seq.name] = {"ao": ao, "sr50": sr}
    aos = [v["ao"] for v in per_sequence.values() if np.isfinite(v["ao"])]
    srs = [v["sr50"] for v in per_sequence.values() if np.isfinite(v["sr50"])]
    return {"ao": float(np.mean(aos)), "sr50": float(np.mean(srs)), "sequences": per_sequence}
