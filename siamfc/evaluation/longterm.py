"""The long-term measures of VOT-LT (Lukezic et al., 2018): tracking precision, recall and their best
F-score over confidence thresholds, from the frames where the target is absent too (docs/evaluation.md)."""

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
    """One sequence's precision and recall at each threshold, from per-frame ``ious`` (any value where
    absent), ``present`` and the tracker's ``scores`` (a frame is reported when its score reaches it)."""
    ious = np.where(present, np.nan_to_num(np.asarray(ious, np.float64)), 0.0)
    reported = np.asarray(scores)[None, :] >= thresholds[:, None]  # (T, frames)
    count = reported.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(count > 0, (reported * ious).sum(axis=1) / count, np.nan)
    visible = int(np.sum(present))
    recall = (reported * ious).sum(axis=1) / visible if visible else np.full(len(thresholds), np.nan)
    return LongTermCurves(precision, recall)


def f_score(curves: list[LongTermCurves], thresholds: np.ndarray = THRESHOLDS) -> dict:
    """``{"f_score", "precision", "recall", "threshold"}`` at the best threshold of the curves averaged
    over sequences (a sequence without a reported frame left out of that threshold's precision)."""
    if not curves:
        return dict.fromkeys(("f_score", "precision", "recall", "threshold"), math.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no sequence reports there
        pr = np.nanmean(np.stack([c.precision for c in curves]), axis=0)
        re = np.nanmean(np.stack([c.recall for c in curves]), axis=0)
        f = np.where(pr + re > 0, 2 * pr * re / (pr + re), 0.0)  # finite: 0 where either is NaN
    best = int(np.argmax(f))
    return {"f_score": float(f[best]), "precision": float(pr[best]), "recall": float(re[best]),
            "threshold": float(thresholds[best])}


def truth_curves(boxes: np.ndarray, anno: np.ndarray, visible: np.ndarray, bound: tuple[int, int],
                 scores: np.ndarray) -> LongTermCurves:
    """:func:`sequence_curves` of one run (frame 1 excluded) from its boxes, the truth and its scores."""
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
