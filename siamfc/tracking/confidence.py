"""A per-frame confidence in [0, 1] from a response map.

Two statistics of the raw (not upsampled, not windowed) response map, both unchanged by any
positive scale and offset of the map, so they mean the same for every model and head scale:

- ``psr``: peak-to-sidelobe ratio, (peak - mean of the sidelobe) / std of the sidelobe, where the
  sidelobe is the map without a (2 * ``PEAK_RADIUS`` + 1)^2 square around the peak;
- ``rel``: the peak's height above the map's mean, relative to the same height on the first frame
  (the exemplar on its own search region), clipped to [0, 2].

The confidence is a logistic function of the two, fitted on the training sequences
(``tools/calibrate_confidence.py``) so that it estimates the probability that the box is on the
target (IoU >= 0.5 with the ground truth): a frame of confidence 0.5 is right about half the time.
The fitted weights live in :data:`DEFAULT_CALIBRATION`, or beside a checkpoint in
``<checkpoint>.confidence.json`` (written by the tool), which then wins.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

PEAK_RADIUS = 2
REL_MAX = 2.0
PSR_MAX = 50.0


@dataclass(frozen=True)
class Calibration:
    """``confidence = sigmoid(bias + w_psr * psr + w_rel * rel)``."""

    bias: float
    w_psr: float
    w_rel: float
    source: str = "built-in"

    def confidence(self, psr: np.ndarray | float, rel: np.ndarray | float) -> np.ndarray:
        z = self.bias + self.w_psr * np.asarray(psr, np.float64) + self.w_rel * np.asarray(rel, np.float64)
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


#: fitted by ``tools/calibrate_confidence.py`` on GOT-10k-mini/train (6,511 maps) with the default
#: model siamfc_mobile_lite.pth; the statistics are normalized, so other models start from it too
DEFAULT_CALIBRATION = Calibration(bias=-7.6655, w_psr=0.3917, w_rel=11.4973)


def sidecar_path(weights: str | os.PathLike) -> Path:
    """Where a checkpoint's own calibration lives: ``<checkpoint>.confidence.json`` (for an export
    folder: ``<folder>/confidence.json``)."""
    path = Path(os.fspath(weights))
    return path / "confidence.json" if path.is_dir() else path.with_name(path.name + ".confidence.json")


def load_calibration(weights: str | os.PathLike | None) -> Calibration:
    """The calibration stored beside ``weights``, else :data:`DEFAULT_CALIBRATION`. A sidecar that
    cannot be read is a ``ValueError`` naming it."""
    if weights is None:
        return DEFAULT_CALIBRATION
    path = sidecar_path(weights)
    if not path.is_file():
        return DEFAULT_CALIBRATION
    try:
        data = json.loads(path.read_text())
        values = [float(data[k]) for k in ("bias", "w_psr", "w_rel")]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a confidence calibration ({exc.__class__.__name__})") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{path}: not a confidence calibration (non-finite weights)")
    return Calibration(*values, source=os.fspath(path))


def map_statistics(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(psr, height, peak index) of each of M maps (M, H, W): ``height`` = peak - mean (the
    numerator of ``rel``), the peak as a flat index. It runs every frame (its cost: docs/speed.md)."""
    maps = np.asarray(maps, np.float64)
    m, h, w = maps.shape
    flat = maps.reshape(m, h * w)
    peak = flat.argmax(axis=1)
    top = flat[np.arange(m), peak]
    total, squares = flat.sum(axis=1), np.einsum("ij,ij->i", flat, flat)
    low = flat.min(axis=1)
    psr = np.empty(m)
    for i in range(m):  # the sidelobe: the map minus a square around the peak
        py, px = divmod(int(peak[i]), w)
        near = maps[i, max(py - PEAK_RADIUS, 0):py + PEAK_RADIUS + 1, max(px - PEAK_RADIUS, 0):px + PEAK_RADIUS + 1]
        count = h * w - near.size
        mean = (total[i] - near.sum()) / count
        var = max((squares[i] - np.vdot(near, near)) / count - mean * mean, 0.0)
        spread = math.sqrt(var) + 1e-6 * (top[i] - low[i]) + 1e-12
        psr[i] = min(max((top[i] - mean) / spread, 0.0), PSR_MAX)
    return psr, top - total / (h * w), peak


def relative_height(height: np.ndarray | float, reference: np.ndarray | float) -> np.ndarray:
    """``rel``: a peak's height relative to the first frame's, clipped to [0, REL_MAX]."""
    reference = np.maximum(np.asarray(reference, np.float64), 1e-12)
    return np.clip(np.asarray(height, np.float64) / reference, 0.0, REL_MAX)


def confidence(maps: np.ndarray, reference: np.ndarray | float, calibration: Calibration = DEFAULT_CALIBRATION
               ) -> np.ndarray:
    """Confidence in [0, 1] of each map (M, H, W), ``reference`` the first-frame height(s)."""
    psr, height, _ = map_statistics(maps)
    return calibration.confidence(psr, relative_height(height, reference))


def fit_logistic(features: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None,
                 l2: float = 1e-3, steps: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method: (F + 1,) coefficients, the bias first."""
    x = np.hstack([np.ones((len(features), 1)), np.asarray(features, np.float64)])
    y = np.asarray(labels, np.float64)
    sw = np.ones(len(y)) if weights is None else np.asarray(weights, np.float64)
    beta = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -40, 40)))
        grad = x.T @ (sw * (p - y)) + l2 * beta
        hess = (x * (sw * p * (1 - p))[:, None]).T @ x + l2 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta
