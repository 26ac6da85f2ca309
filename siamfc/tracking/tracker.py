"""Trackers: ``MultiTracker`` (any number of targets at once, one batched forward pass per frame)
and ``SiamFCTracker`` (one target: ``init`` then ``update``; :mod:`siamfc.evaluation.trackers`
puts it behind the got10k toolkit's ``Tracker`` interface).

The step itself (crops, network, peak search, moves) is in :mod:`siamfc.tracking.pipeline`; the network
backends in :mod:`siamfc.tracking.engines` (PyTorch) and :mod:`siamfc.tracking.onnx_engine` (ONNX Runtime)."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..models.checkpoint import CheckpointError, default_weights_path, load_model
from ..models.network import SiamFCNet
from .engines import DTYPES, TorchEngine, check_finite
from .export import exportable
from .lost import LostMonitor, LostOptions
from .pipeline import DevicePipeline, Geometry, HostPipeline, TargetState

__all__ = ["MultiTracker", "RuntimeOptions", "SiamFCTracker", "TargetState", "TrackerConfig"]


@dataclass
class TrackerConfig(LostOptions):
    """Inference hyper-parameters (defaults: the paper's 3-scale SiamFC; the lost state's, the
    re-detection's and the template update's are :class:`siamfc.tracking.lost.LostOptions`)."""

    exemplar_size: int = 127
    search_size: int = 255
    context: float = 0.5
    scale_num: int = 3
    scale_step: float = 1.0375
    scale_penalty: float = 0.9745
    scale_lr: float = 0.59
    window_influence: float = 0.176
    response_up: int = 16
    min_scale: float = 0.2
    max_scale: float = 5.0

    @classmethod
    def preset(cls, name: str, **overrides) -> TrackerConfig:
        """``"3s"`` (the default) or ``"5s"`` (five scales, finer steps)."""
        presets = {"3s": {}, "5s": {"scale_num": 5, "scale_step": 1.025, "scale_penalty": 0.962}}
        if name not in presets:
            raise ValueError(f"unknown tracker preset {name!r}; known: {', '.join(presets)}")
        return cls(**{**presets[name], **overrides})

    @classmethod
    def from_kwargs(cls, **params) -> TrackerConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise TypeError(f"unknown tracker parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**params)


def as_rgb_array(image: np.ndarray | Image.Image) -> np.ndarray:
    """Accept an RGB numpy array (H, W, 3, uint8) or a PIL image."""
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("expected an RGB image of shape (H, W, 3)")
    if image.dtype != np.uint8:  # every backend reads 0..255 bytes; others would be misread or refused
        raise ValueError(f"expected an RGB image of dtype uint8 (0..255), got {image.dtype}; convert it first, "
                         "e.g. (image * 255).round().astype(np.uint8) for floats in 0..1")
    return image


def resolve_weights(weights: str | os.PathLike | None) -> str:
    """``None`` means the model shipped inside the package."""
    if weights is not None:
        return os.fspath(weights)
    path = default_weights_path()
    if not path.is_file():
        raise CheckpointError(f"{path}: the package ships no trained model yet; pass weights=PATH")
    return os.fspath(path)


def check_box(box: np.ndarray) -> np.ndarray:
    box = np.asarray(box, dtype=np.float64)
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"box must be finite x, y, w, h with w, h > 0, got {np.asarray(box).tolist()}")
    return box


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

    def resolved_backend(self, device: torch.device, net: SiamFCNet | None) -> str:
        """What ``"auto"`` means here: ONNX Runtime where it runs this step faster than PyTorch
        (the CPU, float32, no compile, host crops, a model it can export), else PyTorch."""
        if self.backend != "auto":
            return self.backend
        eligible = (device.type == "cpu" and self.optimize and self.dtype == "float32" and not self.compile
                    and self.crop_backend in (None, "cv2") and net is not None and exportable(net))
        return "onnxruntime" if eligible and importlib.util.find_spec("onnxruntime") is not None else "torch"

    def resolved_crop_backend(self, device: torch.device) -> str:
        if self.crop_backend is not None:
            return self.crop_backend
        return "torch" if device.type == "cuda" and self.backend != "onnxruntime" else "cv2"

    def check(self, device: torch.device) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; known: {', '.join(BACKENDS)}")
        if self.crop_backend not in (None, *CROP_BACKENDS):
            raise ValueError(f"unknown crop_backend {self.crop_backend!r}; known: {', '.join(CROP_BACKENDS)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; known: {', '.join(DTYPES)}")
        if self.backend == "onnxruntime":
            if device.type != "cpu":
                raise ValueError("the onnxruntime backend runs on the CPU only (device='cpu')")
            if self.resolved_crop_backend(device) != "cv2" or self.dtype != "float32" or self.compile:
                raise ValueError("the onnxruntime backend takes crop_backend='cv2', dtype='float32', compile=False")


BACKENDS = ("auto", "torch", "onnxruntime")

CROP_BACKENDS = ("cv2", "torch")


def _is_onnx_export(weights: str | os.PathLike) -> bool:
    """A folder written by ``siamfc export`` (or its manifest), rather than a checkpoint."""
    from .export import MANIFEST

    path = Path(os.fspath(weights))
    return path.is_dir() or path.name == MANIFEST


class MultiTracker:
    """Tracks any number of targets in one video with one batched forward pass per frame.

    ``add(image, box) -> id`` at any frame, ``remove(id)``, ``update(image) -> {id: box}``.
    Keyword options (see :class:`RuntimeOptions`): ``backend``, ``optimize``, ``crop_backend``,
    ``dtype``, ``compile``; every other keyword is a :class:`TrackerConfig` field. With
    ``backend="onnxruntime"``, ``weights`` may also be a folder written by ``siamfc export``.
    The network is copied (BatchNorm folded) when the tracker is built: later changes to
    ``model``'s weights are not seen by an optimized tracker.
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        model: SiamFCNet | None = None,
        *,
        backend: str = "auto",
        optimize: bool = True,
        crop_backend: str | None = None,
        dtype: str = "float32",
        compile: bool | str = False,
        **params,
    ) -> None:
        self.cfg = TrackerConfig.from_kwargs(**params)
        self.device = torch.device(device)
        if backend == "auto" and model is None and weights is not None and _is_onnx_export(weights):
            backend = "onnxruntime"  # only ONNX Runtime reads an export folder
        self.options = RuntimeOptions(backend, optimize, crop_backend, dtype, compile)
        self.options.check(self.device)
        self.net: SiamFCNet | None = None
        if backend == "onnxruntime":
            from .onnx_engine import OnnxEngine

            engine: TorchEngine | OnnxEngine = OnnxEngine.create(
                weights=None if model is not None else resolve_weights(weights), model=model)
            stride = engine.stride
        else:
            self.net = model.to(self.device).eval() if model is not None else load_model(
                resolve_weights(weights), self.device)
            stride = self.net.stride
            if self.options.resolved_backend(self.device, self.net) == "onnxruntime":
                from .onnx_engine import OnnxEngine

                engine = OnnxEngine.create(model=self.net)
            else:
                engine = TorchEngine(self.net, self.device, optimize=optimize, dtype=dtype, compile=compile)
        self.engine = engine
        self.geometry = Geometry(self.cfg, stride)
        if self.options.resolved_crop_backend(self.device) == "torch":
            self.pipeline: HostPipeline | DevicePipeline = DevicePipeline(engine, self.geometry, self.device)
        else:
            self.pipeline = HostPipeline(engine, self.geometry, self.device, reference=not optimize)
        self._ids: list[int] = []
        self._next_id = 0
        self.monitor = LostMonitor.create(self.pipeline, self.engine, self.cfg, self.geometry, self.device,
                                          None if model is not None else resolve_weights(weights))

    @property
    def stride(self) -> int:
        return self.geometry.stride

    @property
    def targets(self) -> dict[int, TargetState]:
        """A snapshot of every target's state, by id."""
        return {target_id: self.pipeline.state(i) for i, target_id in enumerate(self._ids)}

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, image: np.ndarray | Image.Image, box: np.ndarray) -> int:
        """Start tracking the object in ``box`` (x, y, w, h) of ``image``; returns its id."""
        image = as_rgb_array(image)
        box = check_box(box)
        with torch.inference_mode():
            self.pipeline.add(image, box)
            self.monitor.add(image)
        target_id = self._next_id
        self._next_id += 1
        self._ids.append(target_id)
        return target_id

    def remove(self, target_id: int) -> None:
        if target_id not in self._ids:
            raise KeyError(f"no target with id {target_id}")
        index = self._ids.index(target_id)
        self.pipeline.remove(index)
        self.monitor.remove(index)
        del self._ids[index]

    def update(self, image: np.ndarray | Image.Image) -> dict[int, np.ndarray]:
        """Locate every target in the next frame; returns ``{id: box}``."""
        if not self._ids:
            return {}
        image = as_rgb_array(image)
        with torch.inference_mode():
            boxes = self.pipeline.update(image)
            check_finite(self.pipeline.maps)  # NaN weights or graphs: an error, never a box stuck in place
            if self.monitor.after_step(image, self.pipeline.maps):
                boxes = self.pipeline.boxes()  # a lost target's box held or moved to a re-detection
        return dict(zip(self._ids, boxes, strict=True))

    @property
    def scores(self) -> dict[int, float]:
        """Each target's confidence in [0, 1] on the last frame (see :mod:`siamfc.tracking.confidence`)."""
        return {target_id: w.score for target_id, w in zip(self._ids, self.monitor.watches, strict=True)}

    @property
    def present(self) -> dict[int, bool]:
        """Whether each target is reported present (False while lost, see :mod:`siamfc.tracking.lost`)."""
        return {target_id: not w.lost for target_id, w in zip(self._ids, self.monitor.watches, strict=True)}


class SiamFCTracker:
    """Single-object SiamFC tracker.

    ``init(image, box)`` then ``update(image) -> box``; boxes are ``x, y, w, h`` in 0-based
    pixels, images RGB numpy arrays (H, W, 3) or PIL images. Keywords as for :class:`MultiTracker`.
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        name: str = "SiamFC",
        model: SiamFCNet | None = None,
        **params,
    ) -> None:
        self.name = name
        self.tracker = MultiTracker(weights, device, model=model, **params)
        self._target: int | None = None

    @property
    def cfg(self) -> TrackerConfig:
        return self.tracker.cfg

    @property
    def net(self) -> SiamFCNet | None:
        return self.tracker.net

    @property
    def state(self) -> TargetState:
        if self._target is None:
            raise RuntimeError("call init(image, box) before update(image)")
        return self.tracker.targets[self._target]

    def config(self) -> dict:
        return asdict(self.cfg)

    def init(self, image: np.ndarray | Image.Image, box: np.ndarray) -> None:
        if self._target is not None:
            self.tracker.remove(self._target)
            self._target = None
        self._target = self.tracker.add(image, box)

    def update(self, image: np.ndarray | Image.Image) -> np.ndarray:
        if self._target is None:
            raise RuntimeError("call init(image, box) before update(image)")
        return self.tracker.update(image)[self._target]

    @property
    def score(self) -> float:
        """The confidence in [0, 1] of the last ``update`` (1.0 right after ``init``)."""
        if self._target is None:
            raise RuntimeError("call init(image, box) before reading the score")
        return self.tracker.scores[self._target]

    @property
    def present(self) -> bool:
        """False while the target is lost (its box keeps following the peak, or stays where it was
        last confident with ``lost_hold``)."""
        if self._target is None:
            raise RuntimeError("call init(image, box) before reading present")
        return self.tracker.present[self._target]

