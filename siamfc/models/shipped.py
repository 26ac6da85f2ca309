"""Where the model shipped inside the package lives (no PyTorch needed to find it)."""

from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_WEIGHTS = "siamfc_mobile_lite.pth"


def default_weights_path() -> Path:
    """The model shipped inside the package (its ONNX export sits beside it: see
    :func:`siamfc.tracking.onnx_format.export_beside`)."""
    return WEIGHTS_DIR / DEFAULT_WEIGHTS
