"""The models shipped in ``siamfc/weights/``, by name: one table (:data:`SHIPPED`) read by ``siamfc models``,
``--model NAME``, ``SiamFCTracker(model="NAME")`` and the README's table, without PyTorch. A checkpoint
``NAME.pth`` ships with its ONNX export ``NAME.onnx/`` beside it (what the base install tracks with). To
add a model, put its files there and add a row named ``NAME``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import SiamFCError, UnknownModelError

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


@dataclass(frozen=True)
class Auc:
    """A success AUC, its 95% bootstrap interval over sequences, and the sequences."""

    value: float
    low: float
    high: float
    sequences: str

    def text(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}] ({self.sequences})"


#: the project's val: GOT-10k-mini/val + extra/val of ../shared (its README.md)
_VAL16 = "16 val seq."
_SEED3_RUN = "siamfc bench, OpenCV 5.1, 2 idle cores (docs/experiments.md, 'A third seed')"
_MODEL_CARD = "docs/model_card.md; ../shared/README.md (16 val sequences)"


@dataclass(frozen=True)
class ShippedModel:
    """``NAME.pth`` under siamfc/weights/; ``fps_vs_nanotrack``: its frames/s over OpenCV NanoTrack's in the
    run ``speed_run``; ``pretrained``: the third-party weights inside it and their licence; ``source``: where
    the figures are written up."""

    name: str
    summary: str
    auc: Auc | None
    fps_vs_nanotrack: float | None
    speed_run: str
    source: str
    pretrained: str = "none: trained from scratch here (response maps distilled from fdsiamfc_30, MIT)"

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.pth"

    def size_bytes(self) -> int:
        """The bytes of the checkpoint and of its ONNX export."""
        onnx = self.path.with_suffix(".onnx")
        return sum(f.stat().st_size for f in {self.path, onnx, *onnx.rglob("*")} if f.is_file())


SHIPPED: tuple[ShippedModel, ...] = (
    ShippedModel("siamfc_box", "the default: box-head family, NanoTrack v2's network fine-tuned here, the average "
                 "of three fine-tuning seeds (box map, one scale, 0.33 M parameters)",
                 Auc(0.653, 0.584, 0.710, _VAL16), 1.14, "siamfc bench, OpenCV 5.1, 2 idle cores, three runs: 1.17x, "
                 "1.14x, 1.18x (five more: 1.14-1.26x; docs/speed.md, the default model's speed)",
                 "docs/model_card.md; docs/experiments.md (the box-head family)",
                 "NanoTrack v2 (Apache-2.0, siamfc/weights/NOTICE-NanoTrack.md), fine-tuned on ../shared's data"),
    ShippedModel("siamfc_mobile_lite", "the fast SiamFC model: depthwise-separable backbone, 0.05 M parameters",
                 Auc(0.579, 0.486, 0.662, _VAL16), 1.03, _SEED3_RUN, _MODEL_CARD),
    ShippedModel("siamfc_mobile", "the accurate alternative: SiamFC, wider depthwise-separable backbone, 0.12 M "
                 "parameters", Auc(0.588, 0.522, 0.653, _VAL16), 0.77, _SEED3_RUN, _MODEL_CARD),
    ShippedModel("siamfc_alexnet_w30", "an earlier default: SiamFC, the paper's AlexNet at 30% width",
                 Auc(0.567, 0.468, 0.658, _VAL16), 0.27,
                 "got10k toolkit run, 2 workers: 69 vs 253 fps (docs/experiments.md)",
                 "docs/models.md (its 16-sequence AUC, one siamfc eval run beside the default's)"),
)
NANOTRACK_AUC = Auc(0.630, 0.549, 0.700, _VAL16)
DEFAULT_MODEL = "siamfc_box"


def model_names() -> tuple[str, ...]:
    return tuple(m.name for m in SHIPPED)


def model_path(name: str) -> Path:
    known = model_names()
    if name not in known:
        raise UnknownModelError(f"unknown model {name!r}; shipped: {', '.join(known)} (siamfc models lists them)",
                                known, key="model")
    return WEIGHTS_DIR / f"{name}.pth"


def default_weights_path() -> Path:
    return model_path(DEFAULT_MODEL)


def weights_of(weights: object, model: object) -> tuple[object, object]:
    """A tracker's ``(weights, model)`` with ``model="NAME"`` turned into that model's weights, and
    neither into the default model's weights (the family, SiamFC or box head, is then read from its file)."""
    if model is None and weights is None:
        default = default_weights_path()
        return (default if default.is_file() else None), None
    if not isinstance(model, str):
        return weights, model
    if model not in model_names() and (len(Path(model).parts) > 1 or Path(model).suffix or Path(model).exists()):
        raise TypeError(f"model must be a SiamFCNet or a shipped model's name ({', '.join(model_names())}); a "
                        f"checkpoint's path goes in weights=, got {model!r}")
    if weights is not None:
        raise SiamFCError(f"give weights= (a path) or model={model!r} (a shipped model's name), not both", "model")
    return model_path(model), None

