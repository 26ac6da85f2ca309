"""A per-frame confidence in [0, 1]: the probability that the box is on the target, a logistic function
of a raw map's peak-to-sidelobe ratio and its peak height relative to the first frame's (docs/lost_targets.md)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import SiamFCError, first_line
from ..settings import check

PEAK_RADIUS = 2
REL_MAX = 2.0
PSR_MAX = 50.0


@dataclass(frozen=True)
class Calibration:
    """``confidence = sigmoid(bias + w_psr * psr + w_rel * rel)``, its weights finite numbers."""

    bias: float
    w_psr: float
    w_rel: float
    source: str = "built-in"

    def __post_init__(self) -> None:
        check(self)

    def confidence(self, psr: np.ndarray | float, rel: np.ndarray | float) -> np.ndarray:
        z = self.bias + self.w_psr * np.asarray(psr, np.float64) + self.w_rel * np.asarray(rel, np.float64)
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


#: fitted on GOT-10k-mini/train with the default model; the statistics are normalized, so other models
#: start from it too
DEFAULT_CALIBRATION = Calibration(bias=-7.6655, w_psr=0.3917, w_rel=11.4973)


def sidecar_path(weights: str | os.PathLike) -> Path:
    """``<checkpoint>.confidence.json``, or ``<folder>/confidence.json`` for an export folder."""
    path = Path(os.fspath(weights))
    return path / "confidence.json" if path.is_dir() else path.with_name(path.name + ".confidence.json")


def load_calibration(weights: str | os.PathLike | None) -> Calibration:
    """The calibration stored beside ``weights``, else :data:`DEFAULT_CALIBRATION`."""
    path = None if weights is None else sidecar_path(weights)
    if path is None or not path.is_file():
        return DEFAULT_CALIBRATION
    try:
        data = json.loads(path.read_text())
        return Calibration(*(data[k] for k in ("bias", "w_psr", "w_rel")), source=os.fspath(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:  # ValueError: a SettingError (not a finite number) too
        raise SiamFCError(f"{path}: not a confidence calibration ({first_line(exc)})", str(path)) from exc


def map_statistics(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(psr, height = peak - mean, flat peak index) of each of M maps (M, H, W)."""
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


def confidence(maps: np.ndarray, reference: np.ndarray | float, calibration: Calibration = DEFAULT_CALIBRATION
               ) -> np.ndarray:
    """Confidence in [0, 1] of each map (M, H, W), ``reference`` the first-frame height(s)."""
    psr, height, _ = map_statistics(maps)
    rel = np.clip(height / np.maximum(np.asarray(reference, np.float64), 1e-12), 0.0, REL_MAX)  # as the first frame's
    return calibration.confidence(psr, rel)
