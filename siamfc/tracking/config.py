"""The tracker's settings, each declared once (:mod:`siamfc.settings`; no PyTorch): what a step computes
(:class:`TrackerConfig`, with the lost state's :class:`LostSettings`) and how it runs (:class:`RuntimeOptions`)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from ..errors import SettingError
from ..settings import build, check, setting

TYPE_CHECKING = False
if TYPE_CHECKING:
    import torch

    from ..models.network import SiamFCNet

BACKENDS = ("auto", "torch", "onnxruntime")
CROP_BACKENDS = ("cv2", "torch")
DTYPE_NAMES = ("float32", "bfloat16", "float16")

#: the box-head family's step (one scale); "box" is its default. Its scale_lr 0.5 (OpenCV: 0.37) was
#: chosen on GOT-10k-mini/train, never on val (docs/experiments.md)
BOX_PRESETS: dict[str, dict[str, object]] = {
    "opencv-nano": {"scale_num": 1, "window_influence": 0.455, "scale_lr": 0.37, "penalty_k": 0.055},
    "box": {"scale_num": 1, "window_influence": 0.455, "scale_lr": 0.5, "penalty_k": 0.055},
}
PRESETS = {"3s": {}, "paper": {"scale_penalty": 0.9745},
           "5s": {"scale_num": 5, "scale_step": 1.025, "scale_penalty": 0.962}, **BOX_PRESETS}


@dataclass
class LostSettings:
    """The lost state and re-detection; defaults chosen on the val sequences (docs/lost_targets.md)."""

    lost_threshold: float = setting(0.5, ge=0, le=1)  # 0 turns the lost state off
    lost_patience: int = setting(5, ge=1)
    redetect: bool = True
    redetect_threshold: float = setting(0.7, ge=0, le=1)
    redetect_delay: int = setting(10, ge=0)
    redetect_tiles: int = setting(9, ge=1)  # tiles searched a frame, at the first frame's size
    redetect_confirm: int = setting(3, ge=1)  # confident frames in a row that end the lost state

    def __post_init__(self) -> None:
        check(self)


@dataclass
class TrackerConfig(LostSettings):
    """The paper's 3-scale SiamFC with a milder scale penalty (docs/tracker_settings.md)."""

    exemplar_size: int = setting(127, gt=0)
    search_size: int = setting(255, ge="exemplar_size")
    context: float = setting(0.5, ge=0)
    scale_num: int = setting(3, ge=1)
    scale_step: float = setting(1.0375, gt=0)
    scale_penalty: float = setting(0.995, gt=0)  # the paper's 0.9745 held the shipped model's scale changes back
    scale_lr: float = setting(0.59, ge=0, le=1)
    window_influence: float = setting(0.176, ge=0, le=1)
    response_up: int = setting(16, ge=1)
    min_scale: float = setting(0.2, gt=0)
    max_scale: float = setting(5.0, ge="min_scale")
    penalty_k: float = setting(0.055, ge=0)  # box-head models only: the size/aspect change penalty

    @classmethod
    def preset(cls, name: str, **overrides) -> TrackerConfig:
        """One of :data:`PRESETS` (``"box"``: box-head models' default) with ``overrides``."""
        if name not in PRESETS:
            raise SettingError(f"unknown tracker preset {name!r}; known: {', '.join(PRESETS)}", "preset")
        return cls.from_kwargs(**{**PRESETS[name], **overrides})

    @classmethod
    def from_kwargs(cls, **params) -> TrackerConfig:
        return build(cls, params)


def check_crop_sizes(exemplar_size: int, search_size: int, stride: int) -> None:
    """Crops of 127 and 255 give or take whole strides, else the maps are a cell off their geometry."""
    if exemplar_size % stride != 127 % stride or search_size % stride != 255 % stride:
        raise SettingError(f"exemplar_size {exemplar_size}, search_size {search_size}: with a network of stride "
                           f"{stride} they must be 127 and 255 give or take multiples of {stride} (e.g. exemplar_size "
                           f"{127 - stride} or {127 + stride}, search_size {255 + stride}, {255 + 6 * stride})",
                           "exemplar_size" if exemplar_size % stride != 127 % stride else "search_size")


@dataclass
class RuntimeOptions:
    """How the step runs, never what it computes (up to float rounding): docs/tracker_settings.md."""

    backend: str = setting("auto", choices=BACKENDS)
    optimize: bool = True  # False: the plain eager path, the reference the others are tested against
    crop_backend: str | None = setting(None, choices=CROP_BACKENDS)  # None: "torch" on CUDA, else "cv2"
    dtype: str = setting("float32", choices=DTYPE_NAMES)  # autocast (torch backend)

    def __post_init__(self) -> None:
        check(self)

    def onnx_eligible(self, device: str | torch.device) -> bool:
        return (self.backend == "auto" and str(device).startswith("cpu") and self.optimize
                and self.dtype == "float32" and self.crop_backend in (None, "cv2")
                and importlib.util.find_spec("onnxruntime") is not None)

    def resolved_backend(self, device: str | torch.device, net: SiamFCNet | None) -> str:
        if self.backend != "auto":
            return self.backend
        if not (self.onnx_eligible(device) and net is not None):
            return "torch"
        from .export import exportable

        return "onnxruntime" if exportable(net) else "torch"

    def resolved_crop_backend(self, device: str | torch.device) -> str:
        on_device = str(device).startswith("cuda") and self.backend != "onnxruntime"
        return self.crop_backend or ("torch" if on_device else "cv2")

    def check_device(self, device: str | torch.device, boxes: bool = False) -> None:
        """The rules between the options and the device (``boxes``: a box-head model)."""
        plain = self.resolved_crop_backend(device) == "cv2" and self.dtype == "float32"
        if self.backend == "onnxruntime" and not (plain and str(device).startswith("cpu")):
            raise SettingError("the onnxruntime backend runs on the CPU only (device='cpu'), with crop_backend='cv2' "
                               "and dtype='float32'", "backend")
        if boxes and not plain:
            raise SettingError("box-head models run with crop_backend='cv2' and dtype='float32'", "crop_backend")
