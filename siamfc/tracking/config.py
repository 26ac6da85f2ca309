"""The tracker's settings: what a step computes (:class:`TrackerConfig`) and how it runs
(:class:`RuntimeOptions`). Plain dataclasses: importing them loads no PyTorch."""

from __future__ import annotations

import importlib.util
import math
import numbers
import typing
from dataclasses import dataclass, fields

from .lost_settings import LostOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    import torch

    from ..models.network import SiamFCNet

BACKENDS = ("auto", "torch", "onnxruntime")
CROP_BACKENDS = ("cv2", "torch")
#: torch.compile's modes
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
DTYPE_NAMES = ("float32", "bfloat16", "float16")  # the keys of siamfc.tracking.engines.DTYPES


def device_type(device: str | torch.device) -> str:
    """``"cpu"``, ``"cuda"``, ... of a device name or a ``torch.device``."""
    return getattr(device, "type", None) or str(device).split(":")[0]


#: settings of the box-head family's step (one scale); "box" is its default
BOX_PRESETS: dict[str, dict[str, object]] = {
    "opencv-nano": {"scale_num": 1, "window_influence": 0.455, "scale_lr": 0.37, "penalty_k": 0.055},
    # scale_lr 0.5 (OpenCV: 0.37) was chosen on GOT-10k-mini/train's 18 sequences, never on val (docs/experiments.md)
    "box": {"scale_num": 1, "window_influence": 0.455, "scale_lr": 0.5, "penalty_k": 0.055},
}


@dataclass
class TrackerConfig(LostOptions):
    """Inference hyper-parameters (defaults: the paper's 3-scale SiamFC but a milder scale penalty,
    ``preset("paper")`` is the paper's exactly; the lost state's, the
    re-detection's and the template update's are :class:`siamfc.tracking.lost_settings.LostOptions`)."""

    exemplar_size: int = 127
    search_size: int = 255
    context: float = 0.5
    scale_num: int = 3
    scale_step: float = 1.0375
    # the paper's 0.9745 held the shipped model's scale changes back; 0.995 was chosen on the 12 val sequences
    # (README, "Tracker settings"); preset("paper") restores 0.9745
    scale_penalty: float = 0.995
    scale_lr: float = 0.59
    window_influence: float = 0.176
    response_up: int = 16
    min_scale: float = 0.2
    max_scale: float = 5.0
    penalty_k: float = 0.055  # box-head models only (siamfc.tracking.box_step): the size/aspect change penalty

    @classmethod
    def preset(cls, name: str, **overrides) -> TrackerConfig:
        """``"3s"`` (the default), ``"paper"`` (the paper's 3-scale settings) or ``"5s"`` (five scales,
        finer steps); for box-head models ``"box"`` (their default) and ``"opencv-nano"`` (OpenCV
        TrackerNano's post-processing exactly)."""
        presets = {"3s": {}, "paper": {"scale_penalty": 0.9745},
                   "5s": {"scale_num": 5, "scale_step": 1.025, "scale_penalty": 0.962},
                   **{name: dict(values) for name, values in BOX_PRESETS.items()}}
        if name not in presets:
            raise ValueError(f"unknown tracker preset {name!r}; known: {', '.join(presets)}")
        return cls(**{**presets[name], **overrides})

    @classmethod
    def from_kwargs(cls, **params) -> TrackerConfig:
        """The config with ``params`` changed: unknown names are a TypeError, values of the wrong kind
        (a string for a number, anything but True/False for a switch) a ValueError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise TypeError(f"unknown tracker parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        hints = typing.get_type_hints(cls)
        return cls(**{name: _checked(name, hints[name], value) for name, value in params.items()})

    def check(self) -> None:
        """A one-line ValueError for step settings no tracker can run with (the lost state's are
        checked by :class:`siamfc.tracking.lost_settings.LostSettings`)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):  # NaN passes every comparison below
                raise ValueError(f"{f.name} must be a finite number, got {value}")
        if not 0 < self.exemplar_size <= self.search_size:
            raise ValueError(f"exemplar_size {self.exemplar_size}, search_size {self.search_size}: "
                             "need 0 < exemplar_size <= search_size")
        if self.scale_num < 1 or self.response_up < 1:
            raise ValueError(f"scale_num {self.scale_num}, response_up {self.response_up}: each must be 1 or more")
        if self.penalty_k < 0:
            raise ValueError(f"penalty_k must be 0 or more, got {self.penalty_k}")
        for name in ("scale_step", "scale_penalty", "min_scale", "max_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be more than 0, got {getattr(self, name)}")
        for name in ("scale_lr", "window_influence"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.context < 0 or self.min_scale > self.max_scale:
            raise ValueError(f"context {self.context}, min_scale {self.min_scale}, max_scale {self.max_scale}: "
                             "need context >= 0 and min_scale <= max_scale")


def check_crop_sizes(exemplar_size: int, search_size: int, stride: int) -> None:
    """A one-line ValueError unless the crops are 127 and 255 (the sizes the networks are built
    around) give or take whole strides: otherwise the response map is a cell larger or smaller than
    its geometry (the offsets of the peak, the tiles of the re-detection) assumes."""
    if exemplar_size % stride != 127 % stride or search_size % stride != 255 % stride:
        raise ValueError(f"exemplar_size {exemplar_size}, search_size {search_size}: with a network of stride "
                         f"{stride} they must be 127 and 255 give or take multiples of {stride} (e.g. exemplar_size "
                         f"{127 - stride} or {127 + stride}, search_size {255 + stride}, {255 + 6 * stride})")


def _checked(name: str, kind: type, value: object) -> object:
    """``value`` as a field of type ``kind`` takes it (an int for a float), or a ValueError."""
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and is_int:
        return int(value)
    if kind is float and (is_int or isinstance(value, numbers.Real)) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, str):
        return value
    if kind not in (bool, int, float, str):
        return value
    expected = {bool: "true or false", int: "a whole number", float: "a number", str: "a word"}[kind]
    raise ValueError(f"{name} must be {expected}, got {value!r}")


@dataclass
class RuntimeOptions:
    """How the tracking step runs (never what it computes, up to float rounding).

    ``backend``: ``"auto"`` (the default: ONNX Runtime for the optimized float32 step on the CPU
    when it is installed and the model exports, or for a folder from ``siamfc export``; else
    PyTorch), ``"torch"`` or ``"onnxruntime"``. ``optimize=False`` is the plain eager path
    (the reference the optimized paths are tested against). ``crop_backend``: ``"cv2"`` (crops on
    the host) or ``"torch"`` (crops, peak search and states on the device; ``None``: ``"torch"``
    on CUDA, ``"cv2"`` elsewhere). ``dtype``: autocast the network to ``"bfloat16"`` /
    ``"float16"`` (torch backend). ``compile``: ``torch.compile`` the search branch (``True`` or
    a mode such as ``"reduce-overhead"``, which uses CUDA graphs).
    """

    backend: str = "auto"
    optimize: bool = True
    crop_backend: str | None = None
    dtype: str = "float32"
    compile: bool | str = False

    def onnx_eligible(self, device: str | torch.device) -> bool:
        """Whether ``"auto"`` may run ONNX Runtime here, whatever the model: the CPU, float32, no
        compile, host crops, ONNX Runtime installed."""
        return (self.backend == "auto" and device_type(device) == "cpu" and self.optimize
                and self.dtype == "float32" and not self.compile and self.crop_backend in (None, "cv2")
                and importlib.util.find_spec("onnxruntime") is not None)

    def resolved_backend(self, device: str | torch.device, net: SiamFCNet | None) -> str:
        """What ``"auto"`` means here: ONNX Runtime where it runs this step faster than PyTorch
        (:meth:`onnx_eligible`, and a model it can export), else PyTorch."""
        if self.backend != "auto":
            return self.backend
        if not (self.onnx_eligible(device) and net is not None):
            return "torch"
        from .export import exportable

        return "onnxruntime" if exportable(net) else "torch"

    def resolved_crop_backend(self, device: str | torch.device) -> str:
        if self.crop_backend is not None:
            return self.crop_backend
        return "torch" if device_type(device) == "cuda" and self.backend != "onnxruntime" else "cv2"

    def check(self, device: str | torch.device) -> None:
        if not isinstance(self.optimize, bool):
            raise ValueError(f"optimize must be True or False, got {self.optimize!r}")
        if not (isinstance(self.compile, bool) or self.compile in COMPILE_MODES):
            raise ValueError(f"compile must be True, False or a mode ({', '.join(COMPILE_MODES)}), got "
                             f"{self.compile!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; known: {', '.join(BACKENDS)}")
        if self.crop_backend not in (None, *CROP_BACKENDS):
            raise ValueError(f"unknown crop_backend {self.crop_backend!r}; known: {', '.join(CROP_BACKENDS)}")
        if self.dtype not in DTYPE_NAMES:
            raise ValueError(f"unknown dtype {self.dtype!r}; known: {', '.join(DTYPE_NAMES)}")
        if self.backend == "onnxruntime":
            if device_type(device) != "cpu":
                raise ValueError("the onnxruntime backend runs on the CPU only (device='cpu')")
            if self.resolved_crop_backend(device) != "cv2" or self.dtype != "float32" or self.compile:
                raise ValueError("the onnxruntime backend takes crop_backend='cv2', dtype='float32', compile=False")
