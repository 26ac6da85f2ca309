"""The figures, computed from the result files the same way for every benchmark:

- IoU of the box with the ground truth clipped to the image, frame 1 and frames where the target
  is absent excluded (the GOT-10k toolkit's rule); repetitions pooled.
- AO = mean IoU over all frames of all sequences; SR0.5, SR0.75 = share of frames with IoU above
  0.5, 0.75 (points of the success curve); AUC = mean over sequences of the OTB success score
  (mean over thresholds 0, 0.05, ..., 1); P@20 = share of frames whose centre error is at most
  20 pixels (averaged over sequences, as OTB does); fps = frames / total tracking time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from .experiments import Truth

SUCCESS_THRESHOLDS = np.linspace(0, 1, 101)
AUC_THRESHOLDS = np.linspace(0, 1, 21)
PRECISION_THRESHOLDS = np.arange(0, 51)


@dataclass
class SequenceFigures:
    ious: np.ndarray
    center_errors: np.ndarray
    frames: int
    seconds: float

    def summary(self) -> dict:
        return {
            "ao": _mean(self.ious),
            "sr50": _mean(self.ious > 0.5),
            "sr75": _mean(self.ious > 0.75),
            "auc": success_auc(self.ious),
            "precision20": _mean(self.center_errors <= 20),
            "fps": self.frames / self.seconds if self.seconds > 0 else math.nan,
            "frames": self.frames,
            "evaluated_frames": int(self.ious.size),
        }


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if np.size(values) else math.nan


def success_auc(ious: np.ndarray) -> float:
    """OTB success score: mean over thresholds 0, 0.05, ..., 1 of the share of IoUs above each."""
    if not np.size(ious):
        return math.nan
    return float(np.mean(ious[:, None] > AUC_THRESHOLDS[None, :]))


def sequence_figures(boxes: list[np.ndarray], truth: Truth, frames: int, seconds: float) -> SequenceFigures:
    from got10k.utils.metrics import center_error, rect_iou

    keep = truth.visible[1:]
    ious, errors = [], []
    for b in boxes:
        if b.shape != truth.anno.shape:
            raise UserError(f"a result file has {len(b)} boxes for {len(truth.anno)} frames; rerun with --overwrite")
        # rect_iou clips its arguments in place: give it copies
        ious.append(rect_iou(b[1:].copy(), truth.anno[1:].copy(), bound=truth.bound)[keep])
        errors.append(center_error(b[1:], truth.anno[1:])[keep])
    return SequenceFigures(np.concatenate(ious), np.concatenate(errors), frames, seconds)


def overall_figures(per_seq: dict[str, SequenceFigures]) -> dict:
    ious = np.concatenate([f.ious for f in per_seq.values()]) if per_seq else np.zeros(0)
    frames = sum(f.frames for f in per_seq.values())
    seconds = sum(f.seconds for f in per_seq.values())
    aucs = [success_auc(f.ious) for f in per_seq.values() if f.ious.size]
    seq_aos = [float(np.mean(f.ious)) for f in per_seq.values() if f.ious.size]
    precision = [np.mean(f.center_errors[:, None] <= PRECISION_THRESHOLDS[None, :], axis=0)
                 for f in per_seq.values() if f.center_errors.size]
    precision_curve = np.mean(precision, axis=0) if precision else np.full(len(PRECISION_THRESHOLDS), np.nan)
    success_curve = (np.mean(ious[:, None] > SUCCESS_THRESHOLDS[None, :], axis=0) if ious.size
                     else np.full(len(SUCCESS_THRESHOLDS), np.nan))
    return {
        "ao": _mean(ious),
        "ao_seq_mean": float(np.mean(seq_aos)) if seq_aos else math.nan,
        "sr50": _mean(ious > 0.5),
        "sr75": _mean(ious > 0.75),
        "auc": float(np.mean(aucs)) if aucs else math.nan,
        "precision20": float(precision_curve[20]),
        "fps": frames / seconds if seconds > 0 else math.nan,
        "frames": frames,
        "seconds": seconds,
        "success_curve": success_curve.tolist(),
        "precision_curve": precision_curve.tolist(),
    }
