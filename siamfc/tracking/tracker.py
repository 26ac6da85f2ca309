"""``MultiTracker`` (any number of targets, one batched step a frame) and ``SiamFCTracker`` (one target)."""

from __future__ import annotations

import functools
import os
import threading
from contextlib import nullcontext
from dataclasses import asdict

import numpy as np

from ..errors import SiamFCError
from ..extras import hint_missing_extra
from ..geometry import check_frame_size
from ..models.shipped import weights_of
from .config import BOX_PRESETS, RuntimeOptions, TrackerConfig, check_crop_sizes
from .engines import check_finite
from .engines.choose import choose_backend, is_box_model, load_box_model, resolve_weights
from .inputs import as_rgb_array, check_box, checked_device
from .lost import LostMonitor
from .onnx_format import is_export
from .pipeline import make_pipeline
from .step import TargetState

TYPE_CHECKING = False
if TYPE_CHECKING:
    import torch
    from PIL import Image

    from ..models.network import SiamFCNet

__all__ = ["MultiTracker", "RuntimeOptions", "SiamFCTracker", "TargetState", "TrackerConfig", "resolve_weights"]


def _locked(method):
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return run


def _inference_mode():
    import torch

    return torch.inference_mode()


class MultiTracker:
    """``add(image, box) -> id`` at any frame, ``remove(id)``, ``update(image) -> {id: box}``; the
    keywords are :class:`RuntimeOptions`, ``config`` (a :class:`TrackerConfig`) and its fields (over
    ``config``'s). Every call holds the tracker's lock (docs/tracking.md)."""

    @hint_missing_extra("torch")  # a path that needs PyTorch, which is not installed: one line naming siamfc[torch]
    def __init__(self, weights: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                 model: SiamFCNet | str | None = None, *, backend: str = "auto", optimize: bool = True,
                 crop_backend: str | None = None, dtype: str = "float32", compile: bool | str = False,
                 config: TrackerConfig | None = None, **params) -> None:
        self._lock = threading.RLock()
        self._frame_size: tuple[int, int] | None = None  # (height, width) of the frames the targets are in
        weights, model = weights_of(weights, model)  # model="NAME": a shipped model (siamfc models)
        if config is not None and not isinstance(config, TrackerConfig):
            raise TypeError(f"config must be a TrackerConfig (e.g. TrackerConfig.preset('paper')), got "
                            f"{type(config).__name__}")
        boxes = is_box_model(weights, model)  # the box-head family: its own step, its own defaults
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
        self.options = RuntimeOptions(backend, optimize, crop_backend, dtype, compile)
        self.options.check_device(device, boxes)
        device = checked_device(device)
        sizes = (self.cfg.exemplar_size, self.cfg.search_size)
        chosen = choose_backend(weights, device, model, self.options, sizes, boxes)
        self.engine, self.device = chosen.engine, chosen.device
        self._net, self._checkpoint, self._boxes = chosen.net, chosen.checkpoint, boxes
        self._inference = _inference_mode if chosen.uses_torch else nullcontext
        check_crop_sizes(self.cfg.exemplar_size, self.cfg.search_size, chosen.stride)
        self.pipeline = make_pipeline(self.engine, self.cfg, chosen.stride, self.device, self.options, boxes)
        self.geometry = self.pipeline.geo
        self._ids: list[int] = []
        self._next_id = 0
        self.monitor = LostMonitor.create(self.pipeline, self.engine, self.cfg, self.geometry, self.device,
                                          None if model is not None else resolve_weights(weights))

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
        self._ids.append(self._next_id)
        self._next_id += 1
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
        self._target: int | None = None

    @property
    def _lock(self) -> threading.RLock:
        return self.tracker._lock  # init (remove, then add) and update are one step each

    @property
    def cfg(self) -> TrackerConfig:
        return self.tracker.cfg

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
