"""The long-term measures of VOT-LT (Lukezic et al., "Now you see me", 2018): tracking precision,
recall and F-score over confidence thresholds, using the frames where the target is absent.

For a threshold tau a frame counts as "the tracker reports the target" when its confidence is
at least tau. Per sequence (frame 1 excluded):

- precision Pr(tau) = mean IoU over the frames reported (IoU 0 where the target is absent);
- recall Re(tau) = mean over the frames where the target is present of the IoU, counted as 0
  where the tracker did not report it.

Pr and Re are averaged over sequences (a sequence with no reported frame at tau has no
precision there and is left out of that point's mean), F(tau) = 2 Pr Re / (Pr + Re), and the
F-score is the maximum of F over tau (with Pr and Re at that tau).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

THRESHOLDS = np.linspace(0, 1, 101)


@dataclass
class LongTermCurves:
    precision: np.ndarray  # (T,) NaN where no sequence reports anything
    recall: np.ndarray


def sequence_curves(ious: np.ndarray, present: np.ndarray, scores: np.ndarray,
                    thresholds: np.ndarray = THRESHOLDS) -> LongTermCurves:
    """One sequence's Pr(tau), Re(tau): per-frame ``ious`` (any value where absent), ``present``
    (the target is in the frame, from the ground truth) and the tracker's ``scores``."""
    ious = np.where(present, np.nan_to_num(np.asarray(ious, np.float64)), 0.0)
    reported = np.asarray(scores)[None, :] >= thresholds[:, None]  # (T, frames)
    count = reported.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(count > 0, (reported * ious).sum(axis=1) / count, np.nan)
    visible = int(np.sum(present))
    recall = (reported * ious).sum(axis=1) / visible if visible else np.full(len(thresholds), np.nan)
    return LongTermCurves(precision, recall)


def f_score(curves: list[LongTermCurves], thresholds: np.ndarray = THRESHOLDS) -> dict:
    """``{"f_score", "precision", "recall", "threshold"}`` at the best threshold of the curves
    averaged over sequences (NaN when no curve is given)."""
    if not curves:
        return {"f_score": math.nan, "precision": math.nan, "recall": math.nan, "threshold": math.nan}
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no sequence reports there
        pr = np.nanmean(np.stack([c.precision for c in curves]), axis=0)
        re = np.nanmean(np.stack([c.recall for c in curves]), axis=0)
        f = np.where(pr + re > 0, 2 * pr * re / (pr + re), 0.0)
    f = np.where(np.isfinite(f), f, -1.0)
    best = int(np.argmax(f))
    if f[best] < 0:
        return {"f_score": math.nan, "precision": math.nan, "recall": math.nan, "threshold": math.nan}
    return {"f_score": float(f[best]), "precision": float(pr[best]), "recall": float(re[best]),
            "threshold": float(thresholds[best])}


def truth_curves(boxes: np.ndarray, anno: np.ndarray, visible: np.ndarray, bound: tuple[int, int],
                 scores: np.ndarray) -> LongTermCurves:
    """:func:`sequence_curves` of one run from its boxes and scores (N frames each) and the
    ground truth (``Truth`` fields); frame 1 excluded."""
    from .metrics import clipped_iou

    ious = np.zeros(len(anno))
    ious[visible] = clipped_iou(boxes[visible], anno[visible], bound)
    return sequence_curves(ious[1:], visible[1:], scores[1:])


def format_longterm(overall: dict[str, dict]) -> str:
    """One line per tracker that has the long-term figures (``overall[name]["longterm"]``)."""
    lines = []
    for name, row in overall.items():
        lt = row.get("longterm")
        if lt:
            lines.append(f"  {name}: F-score {lt['f_score']:.3f} (precision {lt['precision']:.3f}, recall "
                         f"{lt['recall']:.3f} at confidence >= {lt['threshold']:.2f})")
    if not lines:
        return ""
    return "\n".join(["Long-term (VOT-LT) measures, from the trackers' confidence and the absent frames:", *lines])
