"""Trackers: ``MultiTracker`` (any number of targets at once, one batched forward pass per frame)
and ``SiamFCTracker`` (one target: ``init`` then ``update``; :mod:`siamfc.evaluation.trackers`
puts it behind the got10k toolkit's ``Tracker`` interface).

The step itself (crops, network, peak search, moves) is in :mod:`siamfc.tracking.pipeline`; the network
backends in :mod:`siamfc.tracking.engines` (PyTorch) and :mod:`siamfc.tracking.onnx_engine` (ONNX Runtime)."""

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
from .backend import choose_backend, resolve_weights
from .box_backend import is_box_model
from .config import BACKENDS, BOX_PRESETS, CROP_BACKENDS, RuntimeOptions, TrackerConfig, check_crop_sizes
from .engine_io import check_finite
from .lost import LostMonitor
from .onnx_format import is_export
from .pipeline import Geometry, HostPipeline, TargetState

TYPE_CHECKING = False
if TYPE_CHECKING:
    import torch
    from PIL import Image

    from ..models.network import SiamFCNet
    from .box_pipeline import BoxPipeline, BoxSettings
    from .device_pipeline import DevicePipeline

__all__ = ["BACKENDS", "CROP_BACKENDS", "MultiTracker", "RuntimeOptions", "SiamFCTracker", "TargetState",
           "TrackerConfig", "resolve_weights"]


def as_rgb_array(image: np.ndarray | Image.Image) -> np.ndarray:
    """Accept an RGB numpy array (H, W, 3, uint8) or a PIL image."""
    pil = sys.modules.get("PIL.Image")  # a PIL image can only exist once PIL is loaded
    if pil is not None and isinstance(image, pil.Image):
        image = np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("expected an RGB image of shape (H, W, 3)")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got an empty one {image.shape}")
    if image.dtype != np.uint8:  # every backend reads 0..255 bytes; others would be misread or refused
        raise ValueError(f"expected an RGB image of dtype uint8 (0..255), got {image.dtype}; convert it first, "
                         "e.g. (image * 255).round().astype(np.uint8) for floats in 0..1")
    return image


def check_box(box: np.ndarray, image: np.ndarray | None = None) -> np.ndarray:
    """``box`` as float x, y, w, h; a ValueError when it is not one, or (with ``image``) when it
    cannot start tracking there (:func:`siamfc.geometry.box_problem`)."""
    try:
        box = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"box must be four numbers x, y, w, h, got {box!r}") from None
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"box must be finite x, y, w, h with w, h > 0, got {np.asarray(box).tolist()}")
    problem = None if image is None else box_problem(box, image.shape[1], image.shape[0])
    if problem:
        raise ValueError(f"box {box.tolist()} {problem}")
    return box


def _locked(method):
    """``method`` run holding its tracker's lock: one call of a shared tracker at a time."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return run


def _checked_device(device: object) -> object:
    """A device name or ``torch.device`` that can be had here (a one-line ValueError otherwise; torch's
    own errors list 20 device types, or run 14 frames deep for a GPU without a driver)."""
    torch = sys.modules.get("torch")  # a torch.device can only exist once PyTorch is loaded
    if torch is not None and isinstance(device, torch.device):
        name = str(device)
    elif isinstance(device, str):
        name = device
    else:
        raise TypeError(f"device must be a name ('cpu', 'cuda', 'cuda:1', 'auto') or a torch.device, got {device!r}")
    try:
        resolved = resolve_device_name(name)
    except SiamFCError as exc:
        raise ValueError(str(exc).replace("--device", "device")) from None
    return resolved if isinstance(device, str) else device


class MultiTracker:
    """Tracks any number of targets in one video with one batched forward pass per frame.

    ``add(image, box) -> id`` at any frame, ``remove(id)``, ``update(image) -> {id: box}``.
    Keyword options (see :class:`RuntimeOptions`): ``backend``, ``optimize``, ``crop_backend``,
    ``dtype``, ``compile``; ``config``: a whole :class:`TrackerConfig` (e.g.
    ``TrackerConfig.preset("paper")``); every other keyword is a :class:`TrackerConfig` field (and
    wins over ``config``'s). With
    ``backend="onnxruntime"``, ``weights`` may also be a folder written by ``siamfc export``; a
    checkpoint with a fresh export beside it (the shipped model) runs from that export on the CPU
    without importing PyTorch (:mod:`siamfc.tracking.backend`; ``device`` is then the name
    ``"cpu"``, else a ``torch.device``). The network is copied (BatchNorm folded) when the tracker
    is built: later changes to ``model``'s weights are not seen by an optimized tracker.

    Every frame of one sequence must have one size: ``add`` and ``update`` refuse a frame of another
    size than the targets' (:class:`~siamfc.errors.FrameSizeError`) while any target is tracked.
    Thread safety: each call (``add``, ``remove``, ``update``, ``scores``, ...) holds the tracker's
    lock, so threads sharing one tracker take turns, one whole step at a time; the order of their
    frames is theirs to keep (one tracker follows one sequence). Separate trackers run in parallel.
    """

    @needs_extra("torch")  # a path that needs PyTorch, which is not installed: one line naming siamfc[torch]
    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        model: SiamFCNet | str | None = None,
        *,
        backend: str = "auto",
        optimize: bool = True,
        crop_backend: str | None = None,
        dtype: str = "float32",
        compile: bool | str = False,
        config: TrackerConfig | None = None,
        **params,
    ) -> None:
        self._lock = threading.RLock()
        self._frame_size: tuple[int, int] | None = None  # (height, width) of the frames the targets are in
        weights, model = weights_of(weights, model)  # model="NAME": a shipped model (siamfc models)
        if config is not None and not isinstance(config, TrackerConfig):
            raise TypeError(f"config must be a TrackerConfig (e.g. TrackerConfig.preset('paper')), got "
                            f"{type(config).__name__}")
        boxes = is_box_model(weights, model)  # the box-head family: its own step, its own defaults
        base = asdict(config) if config else (dict(BOX_PRESETS["box"]) if boxes else {})
        self.cfg = TrackerConfig.from_kwargs(**{**base, **params})
        self.cfg.check()
        if not boxes:
            self._check_score_map_inputs(weights, model, backend)
            if model is None and weights is not None and is_export(weights):
                backend = "onnxruntime"  # only ONNX Runtime reads an export folder
        self.options = RuntimeOptions(backend, optimize, crop_backend, dtype, compile)
        self.options.check(device)
        if boxes and (self.options.resolved_crop_backend(device) != "cv2" or dtype != "float32" or compile):
            raise ValueError("box-head models run with crop_backend='cv2', dtype='float32', compile=False")
        device = _checked_device(device)
        sizes = (self.cfg.exemplar_size, self.cfg.search_size)
        if boxes:
            from .box_backend import box_backend

            chosen = box_backend(weights, device, model, self.options, sizes)
        else:
            chosen = choose_backend(weights, device, model, self.options, sizes)
        self.engine = chosen.engine
        self.device = chosen.device
        self._net, self._checkpoint, self._boxes = chosen.net, chosen.checkpoint, boxes
        self._inference = _inference_mode if chosen.uses_torch else nullcontext
        check_crop_sizes(self.cfg.exemplar_size, self.cfg.search_size, chosen.stride)
        if boxes:
            from .box_pipeline import BoxPipeline, BoxSettings

            self.geometry: Geometry | BoxSettings = BoxSettings(self.cfg, chosen.stride)
            self.pipeline: HostPipeline | DevicePipeline | BoxPipeline = BoxPipeline(
                self.engine, self.geometry, self.device)
        elif self.options.resolved_crop_backend(device) == "torch":
            from .device_pipeline import DevicePipeline

            self.geometry = Geometry(self.cfg, chosen.stride)
            self.pipeline = DevicePipeline(self.engine, self.geometry, self.device)
        else:
            self.geometry = Geometry(self.cfg, chosen.stride)
            self.pipeline = HostPipeline(self.engine, self.geometry, self.device, reference=not optimize)
        self._ids: list[int] = []
        self._next_id = 0
        self.monitor = LostMonitor.create(self.pipeline, self.engine, self.cfg, self.geometry, self.device,
                                          None if model is not None else resolve_weights(weights))

    @staticmethod
    def _check_score_map_inputs(weights, model, backend: str) -> None:
        """A one-line error for a model object that is no SiamFCNet, or an export folder with a backend
        other than ONNX Runtime."""
        if model is not None and not hasattr(model, "embed_search"):
            raise TypeError(f"model must be a SiamFCNet (a checkpoint's path goes in weights=), got "
                            f"{type(model).__name__}")
        if model is None and weights is not None and is_export(weights) and backend not in ("auto", "onnxruntime"):
            raise ValueError(f"{os.fspath(weights)}: an ONNX export folder runs only with ONNX Runtime, not "
                             f"backend={backend!r}; give its checkpoint for PyTorch")

    @property
    def net(self) -> SiamFCNet | None:
        """The PyTorch model (loaded on first use when the network runs from an ONNX export: this
        imports PyTorch); None for a model exported to ONNX Runtime or an export folder."""
        if self._net is None and self._checkpoint is not None:
            if self._boxes:
                from .box_backend import load_box_model

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
        target_id = self._next_id
        self._next_id += 1
        self._ids.append(target_id)
        return target_id

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
        """Each target's confidence in [0, 1] on the last frame (see :mod:`siamfc.tracking.confidence`)."""
        return {target_id: w.score for target_id, w in zip(self._ids, self.monitor.watches, strict=True)}

    @property
    @_locked
    def present(self) -> dict[int, bool]:
        """Whether each target is reported present (False while lost, see :mod:`siamfc.tracking.lost`)."""
        return {target_id: not w.lost for target_id, w in zip(self._ids, self.monitor.watches, strict=True)}


class SiamFCTracker:
    """Single-object SiamFC tracker.

    ``init(image, box)`` then ``update(image) -> box``; boxes are ``x, y, w, h`` in 0-based
    pixels, images RGB numpy arrays (H, W, 3) or PIL images. Keywords as for :class:`MultiTracker`
    (frames of one size, and threads sharing a tracker take turns: see there).
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        name: str = "SiamFC",
        model: SiamFCNet | str | None = None,
        **params,
    ) -> None:
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

    @property
    @_locked
    def state(self) -> TargetState:
        if self._target is None:
            raise RuntimeError("call init(image, box) before update(image)")
        return self.tracker.targets[self._target]

    def config(self) -> dict:
        return asdict(self.cfg)

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
        if self._target is None:
            raise RuntimeError("call init(image, box) before update(image)")
        return self.tracker.update(image)[self._target]

    @property
    @_locked
    def score(self) -> float:
        """The confidence in [0, 1] of the last ``update`` (1.0 right after ``init``)."""
        if self._target is None:
            raise RuntimeError("call init(image, box) before reading the score")
        return self.tracker.scores[self._target]

    @property
    @_locked
    def present(self) -> bool:
        """False while the target is lost (its box keeps following the peak, or stays where it was
        last confident with ``lost_hold``)."""
        if self._target is None:
            raise RuntimeError("call init(image, box) before reading present")
        return self.tracker.present[self._target]


def _inference_mode():
    import torch

    return torch.inference_mode()
