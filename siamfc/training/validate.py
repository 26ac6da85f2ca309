"""Validation by tracking: run the tracker over annotated sequences; the figures are those of
``siamfc eval`` (:mod:`siamfc.evaluation.metrics`): the mean over sequences of the OTB success AUC,
with a 95% bootstrap interval over sequences, and the mean over sequences of the mean IoU."""

from __future__ import annotations

import copy

import cv2
import numpy as np
from tqdm import tqdm

from .. import geometry
from ..data.sequences import Sequence
from ..evaluation.bootstrap import bootstrap_mean
from ..evaluation.metrics import success_auc
from ..models.network import SiamFCNet
from ..tracking.tracker import MultiTracker


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


def sequence_scores(boxes: np.ndarray, seq: Sequence) -> dict[str, float]:
    """Mean IoU, share of IoU > 0.5 and success AUC over frames 2.. where the target is visible."""
    n = len(boxes)
    mask = seq.visible[:n].copy()
    mask[0] = False
    if not mask.any():
        return {"ao": float("nan"), "sr50": float("nan"), "auc": float("nan")}
    ious = geometry.iou(boxes[mask], seq.boxes[:n][mask])
    return {"ao": float(ious.mean()), "sr50": float((ious > 0.5).mean()), "auc": success_auc(ious)}


def validate(model: SiamFCNet, sequences: list[Sequence], max_frames: int = 0, quiet: bool = True) -> dict:
    """Figures of ``model`` tracking ``sequences``: ``auc`` (mean over sequences) with ``auc_low`` and
    ``auc_high`` (95% bootstrap interval over sequences), ``ao_seq_mean`` and ``sr50`` (means over
    sequences), and ``sequences`` (each one's figures)."""
    tracker = MultiTracker(model=copy.deepcopy(model), device=next(model.parameters()).device)
    per_sequence = {}
    for seq in tqdm(sequences, desc="validating", disable=quiet, leave=False):
        per_sequence[seq.name] = sequence_scores(track_sequence(tracker, seq, max_frames), seq)
    auc = bootstrap_mean([v["auc"] for v in per_sequence.values()])
    aos = [v["ao"] for v in per_sequence.values() if np.isfinite(v["ao"])]
    srs = [v["sr50"] for v in per_sequence.values() if np.isfinite(v["sr50"])]
    return {"auc": auc.mean, "auc_low": auc.low, "auc_high": auc.high, "ao_seq_mean": float(np.mean(aos)),
            "sr50": float(np.mean(srs)), "sequences": per_sequence}
