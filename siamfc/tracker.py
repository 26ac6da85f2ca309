"""The paper's inference (scale pyramid, cosine window, scale penalty, damping) for any number
of targets at once (``MultiTracker``), and ``SiamFCTracker``, one target behind the got10k
toolkit's ``Tracker`` interface."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np
import torch
from got10k.trackers import Tracker
from PIL import Image

from . import ops
from .checkpoint import CheckpointError, default_weights_path, load_model
from .model import SiamFCNet


@dataclass
class TrackerConfig:
    """Inference hyper-parameters (defaults: the paper's 3-scale SiamFC)."""

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
class TargetState:
    """What the tracker knows of one target between frames."""

    center: np.ndarray  # (cy, cx)
    target_size: np.ndarray  # (h, w)
    x_size: float  # side of the search region at scale 1, in image pixels
    x_size_range: tuple[float, float]
    size_range: tuple[np.ndarray, np.ndarray]
    avg_color: tuple[float, ...]
    kernel: torch.Tensor  # (1, C, 6, 6) exemplar embedding

    @property
    def box(self) -> np.ndarray:
        return ops.center_to_box(self.center, self.target_size)


class MultiTracker:
    """Tracks any number of targets in one video with one batched forward pass per frame.

    ``add(image, box) -> id`` at any frame, ``remove(id)``, ``update(image) -> {id: box}``.
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        model: SiamFCNet | None = None,
        **params,
    ) -> None:
        self.cfg = TrackerConfig.from_kwargs(**params)
        self.device = torch.device(device)
        self.net = model.to(self.device).eval() if model is not None else load_model(
            resolve_weights(weights), self.device)
        cfg = self.cfg
        self.stride = self.net.stride
        self.response_size = (cfg.search_size - cfg.exemplar_size) // self.stride + 1
        self.upscale_size = cfg.response_up * self.response_size
        self.window = ops.hann_window(self.upscale_size)
        offsets = np.arange(cfg.scale_num) - (cfg.scale_num - 1) / 2
        self.scale_factors = cfg.scale_step ** offsets
        self.scale_penalties = (cfg.scale_penalty ** np.abs(offsets)).astype(np.float32)
        self.targets: dict[int, TargetState] = {}
        self._next_id = 0
        self._kernels: torch.Tensor | None = None  # targets' kernels stacked, rebuilt on add/remove
        self._crops = np.empty((0, cfg.search_size, cfg.search_size, 3), np.uint8)

    def __len__(self) -> int:
        return len(self.targets)

    def _to_tensor(self, crops: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2).float()

    @torch.inference_mode()
    def add(self, image: np.ndarray | Image.Image, box: np.ndarray) -> int:
        """Start tracking the object in ``box`` (x, y, w, h) of ``image``; returns its id."""
        image = as_rgb_array(image)
        box = check_box(box)
        cfg = self.cfg
        center, target_size = ops.box_to_center(box)
        z_size = ops.exemplar_size(target_size, cfg.context)
        x_size = z_size * cfg.search_size / cfg.exemplar_size
        avg_color = ops.mean_color(image)
        z = ops.crop(image, center, z_size, cfg.exemplar_size, avg_color)
        kernel = self.net.embed_exemplar(self._to_tensor(z[None]))
        target_id = self._next_id
        self._next_id += 1
        self.targets[target_id] = TargetState(
            center=center, target_size=target_size, x_size=x_size,
            x_size_range=(cfg.min_scale * x_size, cfg.max_scale * x_size),
            size_range=(cfg.min_scale * target_size, cfg.max_scale * target_size),
            avg_color=avg_color, kernel=kernel,
        )
        self._on_targets_changed()
        return target_id

    def remove(self, target_id: int) -> None:
        if target_id not in self.targets:
            raise KeyError(f"no target with id {target_id}")
        del self.targets[target_id]
        self._on_targets_changed()

    def _on_targets_changed(self) -> None:
        states = list(self.targets.values())
        self._kernels = torch.cat([s.kernel for s in states]) if states else None
        n = len(states) * self.cfg.scale_num
        self._crops = np.empty((n, self.cfg.search_size, self.cfg.search_size, 3), np.uint8)

    @torch.inference_mode()
    def update(self, image: np.ndarray | Image.Image) -> dict[int, np.ndarray]:
        """Locate every target in the next frame; returns ``{id: box}``."""
        if not self.targets:
            return {}
        image = as_rgb_array(image)
        cfg = self.cfg
        states = list(self.targets.values())
        k = cfg.scale_num
        for t, state in enumerate(states):
            for i, factor in enumerate(self.scale_factors):
                ops.crop(image, state.center, state.x_size * factor, cfg.search_size, state.avg_color,
                         out=self._crops[t * k + i])
        x = self.net.embed_search(self._to_tensor(self._crops))
        responses = self.net.correlate(self._kernels, x).squeeze(1).float().cpu().numpy()
        for t, state in enumerate(states):
            scale_id, peak = self._locate_peak(responses[t * k:(t + 1) * k])
            self._move(state, peak, scale_id, image.shape[:2])
        return {target_id: state.box for target_id, state in self.targets.items()}

    def _locate_peak(self, responses: np.ndarray) -> tuple[int, np.ndarray]:
        """Upsample one target's responses, pick the best scale and the windowed peak in it."""
        cfg = self.cfg
        size = (self.upscale_size, self.upscale_size)
        up = np.stack([cv2.resize(r, size, interpolation=cv2.INTER_CUBIC) for r in responses])
        up *= self.scale_penalties[:, None, None]
        scale_id = int(np.argmax(up.max(axis=(1, 2))))
        response = up[scale_id]
        response -= response.min()
        response /= response.sum() + 1e-16
        response = (1 - cfg.window_influence) * response + cfg.window_influence * self.window
        peak = np.array(np.unravel_index(int(response.argmax()), response.shape), dtype=np.float64)
        return scale_id, peak

    def _move(self, state: TargetState, peak: np.ndarray, scale_id: int, image_shape: tuple[int, int]) -> None:
        """Shift the centre to the peak and damp the scale change; clamp to the image and limits."""
        cfg = self.cfg
        disp_search = (peak - (self.upscale_size - 1) / 2) * self.stride / cfg.response_up
        factor = self.scale_factors[scale_id]
        center = state.center + disp_search * state.x_size * factor / cfg.search_size
        state.center = np.clip(center, 0, np.array(image_shape, dtype=np.float64) - 1)
        scale = (1 - cfg.scale_lr) + cfg.scale_lr * factor
        state.x_size = float(np.clip(state.x_size * scale, *state.x_size_range))
        state.target_size = np.clip(state.target_size * scale, *state.size_range)


class SiamFCTracker(Tracker):
    """Single-object SiamFC tracker with the got10k toolkit's interface.

    ``init(image, box)`` then ``update(image) -> box``; boxes are ``x, y, w, h`` in 0-based
    pixels, images RGB numpy arrays (H, W, 3) or PIL images.
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        name: str = "SiamFC",
        model: SiamFCNet | None = None,
        **params,
    ) -> None:
        super().__init__(name=name, is_deterministic=True)
        self.tracker = MultiTracker(weights, device, model=model, **params)
        self._target: int | None = None

    @property
    def cfg(self) -> TrackerConfig:
        return self.tracker.cfg

    @property
    def net(self) -> SiamFCNet:
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
        self._target = self.tracker.add(image, box)

    def update(self, image: np.ndarray | Image.Image) -> np.ndarray:
        if self._target is None:
            raise RuntimeError("call init(image, box) before update(image)")
        return self.tracker.update(image)[self._target]
