"""The figures, the same for every benchmark (defined in docs/evaluation.md and ``comparison.json``): IoU clipped to the
image, frame 1 and absent frames excluded, repetitions pooled; the long-term measures of VOT-LT (Lukezic et al., 2018):
tracking precision, recall and their best F-score over confidence thresholds, from the frames where the target is absent
too; and percentile-bootstrap intervals over sequences, of a mean and of a paired difference (a tracker is better only
when that interval excludes 0)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import SettingError

SUCCESS_THRESHOLDS = np.linspace(0, 1, 101)
AUC_THRESHOLDS = np.linspace(0, 1, 21)
PRECISION_THRESHOLDS = np.arange(0, 51)


@dataclass
class Truth:
    anno: np.ndarray  # N x 4, x, y, w, h
    visible: np.ndarray  # N bools: the target is in the frame
    bound: tuple[int, int]  # image width, height


@dataclass
class SequenceFigures:
    ious: np.ndarray
    center_errors: np.ndarray
    frames: int
    seconds: float

    def summary(self) -> dict:
        return {"ao": _mean(self.ious), "sr50": _mean(self.ious > 0.5), "sr75": _mean(self.ious > 0.75),
                "auc": success_auc(self.ious), "precision20": _mean(self.center_errors <= 20),
                "fps": self.frames / self.seconds if self.seconds > 0 else math.nan, "frames": self.frames,
                "evaluated_frames": int(self.ious.size)}


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if np.size(values) else math.nan


def success_auc(ious: np.ndarray) -> float:
    """OTB success score: mean over thresholds 0, 0.05, ..., 1 of the share of IoUs above each."""
    return _mean(ious[:, None] > AUC_THRESHOLDS[None, :])


def clipped_iou(boxes: np.ndarray, anno: np.ndarray, bound: tuple[int, int]) -> np.ndarray:
    """IoU of each box with its ground truth, both cut to the image ``bound`` (width, height) first:
    the GOT-10k toolkit's ``rect_iou`` with a bound."""
    a, b = _clip(boxes, bound), _clip(anno, bound)
    w = np.maximum(np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0)
    h = np.maximum(np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0)
    inter = w * h
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)


def _clip(boxes: np.ndarray, bound: tuple[int, int]) -> np.ndarray:
    out = np.array(boxes, dtype=np.float64, copy=True).reshape(-1, 4)
    out[:, :2] = np.clip(out[:, :2], 0, bound)
    out[:, 2:] = np.clip(out[:, 2:], 0, np.asarray(bound) - out[:, :2])
    return out


def center_error(boxes: np.ndarray, anno: np.ndarray) -> np.ndarray:
    """Distance in pixels between the boxes' centres (OTB's precision; pixel centres at +-0.5)."""
    a = boxes[:, :2] + (boxes[:, 2:] - 1) / 2
    b = anno[:, :2] + (anno[:, 2:] - 1) / 2
    return np.sqrt(np.sum((a - b) ** 2, axis=-1))


def sequence_figures(boxes: list[np.ndarray], truth: Truth, frames: int = 0, seconds: float = 0.0) -> SequenceFigures:
    """The figures of a sequence's runs (``boxes``: one N x 4 array per repetition) against ``truth``."""
    keep = truth.visible[1:]
    ious, errors = [], []
    for b in boxes:  # as many as the truth's: read_boxes and the training's validation see to it
        ious.append(clipped_iou(b[1:], truth.anno[1:], truth.bound)[keep])
        errors.append(center_error(b[1:], truth.anno[1:])[keep])
    return SequenceFigures(np.concatenate(ious), np.concatenate(errors), frames, seconds)


def overall_figures(per_seq: dict[str, SequenceFigures]) -> dict:
    ious = np.concatenate([f.ious for f in per_seq.values()]) if per_seq else np.zeros(0)
    frames, seconds = sum(f.frames for f in per_seq.values()), sum(f.seconds for f in per_seq.values())
    aucs = [success_auc(f.ious) for f in per_seq.values() if f.ious.size]
    seq_aos = [float(np.mean(f.ious)) for f in per_seq.values() if f.ious.size]
    precision = [np.mean(f.center_errors[:, None] <= PRECISION_THRESHOLDS[None, :], axis=0)
                 for f in per_seq.values() if f.center_errors.size]
    precision_curve = np.mean(precision, axis=0) if precision else np.full(len(PRECISION_THRESHOLDS), np.nan)
    success_curve = (np.mean(ious[:, None] > SUCCESS_THRESHOLDS[None, :], axis=0) if ious.size
                     else np.full(len(SUCCESS_THRESHOLDS), np.nan))
    return {"ao": _mean(ious), "ao_seq_mean": _mean(seq_aos), "sr50": _mean(ious > 0.5), "sr75": _mean(ious > 0.75),
            "auc": _mean(aucs), "precision20": float(precision_curve[20]),
            "fps": frames / seconds if seconds > 0 else math.nan, "frames": frames, "seconds": seconds,
            "success_curve": success_curve.tolist(), "precision_curve": precision_curve.tolist()}


LT_THRESHOLDS = np.linspace(0, 1, 101)  # the confidence thresholds of the long-term measures


@dataclass
class LongTermCurves:
    precision: np.ndarray  # (T,) NaN where no sequence reports anything
    recall: np.ndarray


def sequence_curves(ious: np.ndarray, present: np.ndarray, scores: np.ndarray,
                    thresholds: np.ndarray = LT_THRESHOLDS) -> LongTermCurves:
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


def f_score(curves: list[LongTermCurves], thresholds: np.ndarray = LT_THRESHOLDS) -> dict:
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
    ious = np.zeros(len(anno))
    ious[visible] = clipped_iou(boxes[visible], anno[visible], bound)
    return sequence_curves(ious[1:], visible[1:], scores[1:])


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def bootstrap_mean(values: Sequence[float], level: float = 0.95, resamples: int = 10000, seed: int = 0) -> Interval:
    """The mean of ``values`` and its percentile-bootstrap interval (NaN values are left out)."""
    data = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    if not 0 < level < 1:
        raise SettingError(f"level must be in (0, 1), got {level}", "level")
    if data.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    means = data[np.random.default_rng(seed).integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(data.mean()), float(low), float(high), int(data.size))


def paired_difference(ours: Mapping[str, float], theirs: Mapping[str, float], level: float = 0.95,
                      resamples: int = 10000, seed: int = 0) -> Interval:
    """Mean over the sequences both have of ``ours[s] - theirs[s]``, with its bootstrap interval."""
    return bootstrap_mean([ours[s] - theirs[s] for s in ours if s in theirs], level, resamples, seed)
