"""``MultiTracker`` (any number of targets, one batched step a frame), ``SiamFCTracker`` (one target) and
what they take: RGB frames, boxes and devices, checked."""

from __future__ import annotations

import functools
import itertools
import os
import sys
import threading
from contextlib import nullcontext
from dataclasses import asdict

import numpy as np

from ..devices import resolve_device_name
from ..errors import SiamFCError
from ..extras import hint_missing_extra
from ..geometry import box_problem, check_frame_size
from ..models.shipped import weights_of
from .confidence import load_calibration
from .config import BOX_PRESETS, RuntimeOptions, TrackerConfig, check_crop_sizes
from .engines.choose import check_finite, choose_backend, is_box_model, load_box_model, resolve_weights
from .lost import LostMonitor, TileSearch
from .onnx_format import is_export
from .pipeline import make_pipeline
from .step import TargetState

TYPE_CHECKING = False
if TYPE_CHECKING:
    import torch
    from PIL import Image

    from ..models.network import SiamFCNet

__all__ = ["MultiTracker", "RuntimeOptions", "SiamFCTracker", "TargetState", "TrackerConfig", "resolve_weights"]


def as_rgb_array(image: np.ndarray | Image.Image) -> np.ndarray:
    """An RGB uint8 array (H, W, 3) or a PIL image, as such an array."""
    pil = sys.modules.get("PIL.Image")  # a PIL image can only exist once PIL is loaded
    if pil is not None and isinstance(image, pil.Image):
        image = np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
        shape = getattr(image, "shape", type(image).__name__)
        raise SiamFCError(f"expected an RGB image of shape (H, W, 3), got {shape}", "image")
    if image.dtype != np.uint8:  # every backend reads 0..255 bytes; others would be misread or refused
        raise SiamFCError(f"expected an RGB image of dtype uint8 (0..255), got {image.dtype}; convert it first, "
                          "e.g. (image * 255).round().astype(np.uint8) for floats in 0..1", "image")
    return image


def check_box(box: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``box`` as float x, y, w, h, checked, that can start tracking in ``image``."""
    try:
        box = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SiamFCError(f"box must be four numbers x, y, w, h, got {box!r}", "box") from exc
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise SiamFCError(f"box must be finite x, y, w, h with w, h > 0, got {box.tolist()}", "box")
    if problem := box_problem(box, image.shape[1], image.shape[0]):
        raise SiamFCError(f"box {box.tolist()} {problem}", "box")
    return box


def _locked(method):
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return run


class MultiTracker:
    """``add(image, box) -> id`` at any frame, ``remove(id)``, ``update(image) -> {id: box}``; the
    keywords are :class:`RuntimeOptions`, ``config`` (a :class:`TrackerConfig`) and its fields (over
    ``config``'s). Every call holds the tracker's lock (docs/tracking.md)."""

    @hint_missing_extra("torch")  # a path that needs PyTorch, which is not installed: one line naming siamfc[torch]
    def __init__(self, weights: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                 model: SiamFCNet | str | None = None, *, backend: str = "auto", optimize: bool = True,
                 crop_backend: str | None = None, dtype: str = "float32", config: TrackerConfig | None = None,
                 **params) -> None:
        self._lock = threading.RLock()
        self._frame_size: tuple[int, int] | None = None  # (height, width) of the frames the targets are in
        weights, model = weights_of(weights, model)  # model="NAME": a shipped model (siamfc models)
        if config is not None and not isinstance(config, TrackerConfig):
            raise TypeError(f"config must be a TrackerConfig (e.g. TrackerConfig.preset('paper')), got "
                            f"{type(config).__name__}")
        self._boxes = boxes = is_box_model(weights, model)  # the box-head family: its own step, its own defaults
        base = asdict(config) if config else (dict(BOX_PRESETS["box"]) if boxes else {})
        self.cfg = TrackerConfig.from_kwargs(**{**base, **params})
        if not boxes and model is not None and not hasattr(model, "embed_search"):
            raise TypeError(f"model must be a SiamFCNet (a checkpoint's path goes in weights=), got "
                            f"{type(model).__name__}")
        if not boxes and model is None and weights is not None and is_export(weights):
            if backend not in ("auto", "onnxruntime"):
                raise SiamFCError(f"{os.fspath(weights)}: an ONNX export folder runs only with ONNX Runtime, not "
                                  f"backend={backend!r}; give its checkpoint for PyTorch", "backend")
            backend = "onnxruntime"
        if boxes and crop_backend is None:
            crop_backend = "cv2"  # the box family cuts its crops on the host, whatever the device
        self.options = RuntimeOptions(backend, optimize, crop_backend, dtype)
        self.options.check_device(device, boxes)
        torch = sys.modules.get("torch")  # a torch.device can only exist once PyTorch is loaded
        if not (isinstance(device, str) or (torch is not None and isinstance(device, torch.device))):
            raise TypeError(f"device must be a name ('cpu', 'cuda', 'cuda:1', 'auto') or a torch.device, got "
                            f"{device!r}")
        resolved = resolve_device_name(str(device))  # a torch.device without its GPU too
        device = resolved if isinstance(device, str) else device
        self.engine, self.device, self._net, self._checkpoint = choose_backend(
            weights, device, model, self.options, (self.cfg.exemplar_size, self.cfg.search_size), boxes)
        torch_engine = self.engine.input_format == "float_nchw"  # PyTorch's: inference mode around a step
        self._inference = sys.modules["torch"].inference_mode if torch_engine else nullcontext
        check_crop_sizes(self.cfg.exemplar_size, self.cfg.search_size, self.engine.stride)
        self.pipeline = make_pipeline(self.engine, self.cfg, self.engine.stride, self.device, self.options, boxes)
        self.geometry = self.pipeline.geo
        self._ids: list[int] = []
        self._new_ids = itertools.count()
        calibration = load_calibration(None if model is not None else resolve_weights(weights))
        self.monitor = LostMonitor(self.pipeline, self.cfg, calibration, TileSearch(self.pipeline))

    @property
    def net(self) -> SiamFCNet | None:
        """The PyTorch model (loaded, with PyTorch, on first use when the engine runs an export)."""
        if self._net is None and self._checkpoint is not None:
            from ..models.checkpoint import load_model

            self._net = load_box_model(self._checkpoint) if self._boxes else load_model(self._checkpoint, "cpu")
        return self._net

    @property
    @_locked
    def targets(self) -> dict[int, TargetState]:
        """A snapshot of every target's state, by id."""
        return {target_id: self.pipeline.state(i) for i, target_id in enumerate(self._ids)}

    @_locked
    def __len__(self) -> int:
        return len(self._ids)

    @_locked
    def add(self, image: np.ndarray | Image.Image, box: np.ndarray) -> int:
        """Start tracking the object in ``box`` (x, y, w, h) of ``image``; returns its id."""
        image = as_rgb_array(image)
        box = check_box(box, image)
        size = check_frame_size(self._frame_size if self._ids else None, image.shape, "image given to add()")
        with self._inference():
            self.pipeline.add(image, box)
            self.monitor.add(image)
        self._frame_size = size
        self._ids.append(next(self._new_ids))
        return self._ids[-1]

    @_locked
    def remove(self, target_id: int) -> None:
        if target_id not in self._ids:
            raise KeyError(f"no target with id {target_id!r}")
        index = self._ids.index(target_id)
        self.pipeline.remove(index)
        self.monitor.remove(index)
        del self._ids[index]

    @_locked
    def update(self, image: np.ndarray | Image.Image) -> dict[int, np.ndarray]:
        """Locate every target in the next frame; returns ``{id: box}``."""
        image = as_rgb_array(image)
        if not self._ids:
            return {}
        check_frame_size(self._frame_size, image.shape, "image given to update()")
        with self._inference():
            boxes = self.pipeline.update(image)
            check_finite(self.pipeline.maps)  # NaN weights or graphs: an error, never a box stuck in place
            if self.monitor.after_step(image, self.pipeline.maps):
                boxes = self.pipeline.boxes()  # a lost target's box moved to a re-detection
        return dict(zip(self._ids, boxes, strict=True))

    @property
    @_locked
    def scores(self) -> dict[int, float]:
        """Each target's confidence in [0, 1] on the last frame."""
        return {target_id: w.score for target_id, w in zip(self._ids, self.monitor.watches, strict=True)}

    @property
    @_locked
    def present(self) -> dict[int, bool]:
        """Whether each target is reported present (False while lost)."""
        return {target_id: not w.lost for target_id, w in zip(self._ids, self.monitor.watches, strict=True)}


class SiamFCTracker:
    """``init(image, box)`` then ``update(image) -> box``; keywords as for :class:`MultiTracker`."""

    def __init__(self, weights: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                 name: str = "SiamFC", model: SiamFCNet | str | None = None, **params) -> None:
        self.name = name
        self.tracker = MultiTracker(weights, device, model=model, **params)
        self.cfg: TrackerConfig = self.tracker.cfg
        self._lock = self.tracker._lock  # init (remove, then add) and update are one step each
        self._target: int | None = None

    @property
    def net(self) -> SiamFCNet | None:
        return self.tracker.net

    def config(self) -> dict:
        return asdict(self.cfg)

    def _target_id(self, what: str) -> int:
        if self._target is None:
            raise RuntimeError(f"call init(image, box) before {what}")
        return self._target

    @property
    @_locked
    def state(self) -> TargetState:
        return self.tracker.targets[self._target_id("update(image)")]

    @_locked
    def init(self, image: np.ndarray | Image.Image, box: np.ndarray) -> None:
        image = as_rgb_array(image)
        check_box(box, image)  # bad input leaves the target being tracked as it was
        if self._target is not None:
            self.tracker.remove(self._target)
            self._target = None
        self._target = self.tracker.add(image, box)

    @_locked
    def update(self, image: np.ndarray | Image.Image) -> np.ndarray:
        target = self._target_id("update(image)")
        return self.tracker.update(image)[target]

    @property
    @_locked
    def score(self) -> float:
        """The confidence in [0, 1] of the last ``update`` (1.0 right after ``init``)."""
        return self.tracker.scores[self._target_id("reading the score")]

    @property
    @_locked
    def present(self) -> bool:
        """False while the target is lost."""
        return self.tracker.present[self._target_id("reading present")]
