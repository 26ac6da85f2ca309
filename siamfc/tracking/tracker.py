"""Trackers: ``MultiTracker`` (any number of targets, one batched step per frame) and ``SiamFCTracker``
(one target: ``init`` then ``update``). The step is in :mod:`siamfc.tracking.pipeline`, the network's
engines in :mod:`siamfc.tracking.engines`, the lost state in :mod:`siamfc.tracking.lost`."""

from __future__ import annotations

import functools
import os
import sys
import threading
from contextlib import nullcontext
from dataclasses import asdict

import numpy as np

from ..devices import resolve_device_name
from ..errors import SiamFCError
from ..extras import needs_extra
from ..geometry import box_problem, check_frame_size
from ..models.shipped import weights_of
from .config import BACKENDS, BOX_PRESETS, CROP_BACKENDS, RuntimeOptions, TrackerConfig, check_crop_sizes
from .engines import check_finite
from .engines.choose import box_backend, choose_backend, is_box_model, resolve_weights
from .lost import LostMonitor
from .onnx_format import is_export
from .pipeline import BoxPipeline, BoxSettings, HostPipeline
from .step import Geometry, TargetState

TYPE_CHECKING = False
if TYPE_CHECKING:
    import torch
    from PIL import Image

    from ..models.network import SiamFCNet

__all__ = ["BACKENDS", "CROP_BACKENDS", "MultiTracker", "RuntimeOptions", "SiamFCTracker", "TargetState",
           "TrackerConfig", "resolve_weights"]


def as_rgb_array(image: np.ndarray | Image.Image) -> np.ndarray:
    """An RGB uint8 array (H, W, 3) or a PIL image, as an array."""
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


def check_box(box: np.ndarray, image: np.ndarray | None = None) -> np.ndarray:
    """``box`` as float x, y, w, h, checked (with ``image``: that it can start tracking there)."""
    try:
        box = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SiamFCError(f"box must be four numbers x, y, w, h, got {box!r}", "box") from exc
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise SiamFCError(f"box must be finite x, y, w, h with w, h > 0, got {np.asarray(box).tolist()}", "box")
    problem = None if image is None else box_problem(box, image.shape[1], image.shape[0])
    if problem:
        raise SiamFCError(f"box {box.tolist()} {problem}", "box")
    return box


def _locked(method):
    """``method`` run holding its tracker's lock: one call of a shared tracker at a time."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return run


def _checked_device(device: object) -> object:
    """A device name or ``torch.device`` that can be had here, else a SiamFCError."""
    torch = sys.modules.get("torch")  # a torch.device can only exist once PyTorch is loaded
    if not (isinstance(device, str) or (torch is not None and isinstance(device, torch.device))):
        raise TypeError(f"device must be a name ('cpu', 'cuda', 'cuda:1', 'auto') or a torch.device, got {device!r}")
    resolved = resolve_device_name(str(device))
    return resolved if isinstance(device, str) else device


def _inference_mode():
    import torch

    return torch.inference_mode()


class MultiTracker:
    """Tracks any number of targets in one video: ``add(image, box) -> id`` at any frame,
    ``remove(id)``, ``update(image) -> {id: box}``.

    Keywords: the :class:`RuntimeOptions`; ``config``, a whole :class:`TrackerConfig` (e.g.
    ``TrackerConfig.preset("paper")``); any other keyword a :class:`TrackerConfig` field (over
    ``config``'s). ``weights``: a checkpoint, an export folder (ONNX Runtime) or a NanoTrack v2 folder;
    ``model``: a network or a shipped model's name. The network is copied when the tracker is built.
    Every frame must have the targets' size (else :class:`~siamfc.errors.FrameSizeError`). Each call
    holds the tracker's lock: threads sharing one take turns, one whole step at a time.
    """

    @needs_extra("torch")  # a path that needs PyTorch, which is not installed: one line naming siamfc[torch]
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
        if not boxes:
            self._check_score_map_inputs(weights, model, backend)
            if model is None and weights is not None and is_export(weights):
                backend = "onnxruntime"  # only ONNX Runtime reads an export folder
        self.options = RuntimeOptions(backend, optimize, crop_backend, dtype, compile)
        self.options.check_device(device, boxes)
        device = _checked_device(device)
        sizes = (self.cfg.exemplar_size, self.cfg.search_size)
        chosen = (box_backend if boxes else choose_backend)(weights, device, model, self.options, sizes)
        self.engine, self.device = chosen.engine, chosen.device
        self._net, self._checkpoint, self._boxes = chosen.net, chosen.checkpoint, boxes
        self._inference = _inference_mode if chosen.uses_torch else nullcontext
        check_crop_sizes(self.cfg.exemplar_size, self.cfg.search_size, chosen.stride)
        if boxes:
            self.geometry = BoxSettings(self.cfg, chosen.stride)
            self.pipeline = BoxPipeline(self.engine, self.geometry, self.device)
        else:
            self.geometry = Geometry(self.cfg, chosen.stride)
            if self.options.resolved_crop_backend(device) == "torch":
                from .device_pipeline import DevicePipeline

                self.pipeline = DevicePipeline(self.engine, self.geometry, self.device)
            else:
                self.pipeline = HostPipeline(self.engine, self.geometry, self.device, reference=not optimize)
        self._ids: list[int] = []
        self._next_id = 0
        self.monitor = LostMonitor.create(self.pipeline, self.engine, self.cfg, self.geometry, self.device,
                                          None if model is not None else resolve_weights(weights))

    @staticmethod
    def _check_score_map_inputs(weights, model, backend: str) -> None:
        """A model object that is no SiamFCNet, or an export folder with a backend other than ONNX Runtime."""
        if model is not None and not hasattr(model, "embed_search"):
            raise TypeError(f"model must be a SiamFCNet (a checkpoint's path goes in weights=), got "
                            f"{type(model).__name__}")
        if model is None and weights is not None and is_export(weights) and backend not in ("auto", "onnxruntime"):
            raise SiamFCError(f"{os.fspath(weights)}: an ONNX export folder runs only with ONNX Runtime, not "
                              f"backend={backend!r}; give its checkpoint for PyTorch", "backend")

    @property
    def net(self) -> SiamFCNet | None:
        """The PyTorch model (loaded on first use when the network runs from an ONNX export: this
        imports PyTorch); None for a model given as an export folder."""
        if self._net is None and self._checkpoint is not None:
            if self._boxes:
                from .engines.choose import load_box_model

                self._net = load_box_model(self._checkpoint)
            else:
                from ..models.checkpoint import load_model

                self._net = load_model(self._checkpoint, "cpu")
        return self._net

    @property
    def stride(self) -> int:
        return self.geometry.stride

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
                boxes = self.pipeline.boxes()  # a lost target's box held or moved to a re-detection
        return dict(zip(self._ids, boxes, strict=True))

    @property
    @_locked
    def scores(self) -> dict[int, float]:
        """Each target's confidence in [0, 1] on the last frame (:mod:`siamfc.tracking.confidence`)."""
        return {target_id: w.score for target_id, w in zip(self._ids, self.monitor.watches, strict=True)}

    @property
    @_locked
    def present(self) -> dict[int, bool]:
        """Whether each target is reported present (False while lost)."""
        return {target_id: not w.lost for target_id, w in zip(self._ids, self.monitor.watches, strict=True)}


class SiamFCTracker:
    """One target: ``init(image, box)`` then ``update(image) -> box``; boxes ``x, y, w, h`` in 0-based
    pixels, images RGB arrays (H, W, 3) or PIL images; keywords as for :class:`MultiTracker`."""

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
