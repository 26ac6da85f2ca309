"""A conservative template update: the first frame's kernel with a recent one mixed in.

The recent kernel is cut only on a frame whose confidence is at least ``template_threshold`` (at most
every ``template_interval`` frames) and replaces the previous one (nothing accumulates); the first
kernel keeps ``1 - template_weight`` of the mix, and a lost target goes back to it alone. The
correlation is linear in the kernel, so the mix costs nothing per frame."""

from __future__ import annotations

import numpy as np

from .. import geometry
from .engines import engine_input


def mix(first: object, recent: object, weight: float) -> object:
    """``(1 - weight) * first + weight * recent`` for an engine's kernel (tensors, arrays, None, tuples)."""
    if first is None:
        return None
    if isinstance(first, tuple):
        return tuple(mix(a, b, weight) for a, b in zip(first, recent, strict=True))
    return (1.0 - weight) * first + weight * recent


class TemplateUpdater:
    """Keeps each target's first kernel and puts the mixed one into the pipeline (same order)."""

    def __init__(self, pipeline, engine, settings, exemplar_size: int, context: float, device: object) -> None:
        """``settings``: a :class:`siamfc.tracking.config.LostSettings`."""
        self.pipeline = pipeline
        self.engine = engine
        self.settings = settings
        self.exemplar_size = exemplar_size
        self.context = context
        self.device = device
        self.first: list[object] = []
        self.since: list[int] = []  # frames since the last update
        self.mixed: list[bool] = []

    def add(self) -> None:
        self.first.append(self.pipeline.kernels[len(self.first)])
        self.since.append(0)
        self.mixed.append(False)

    def remove(self, index: int) -> None:
        del self.first[index], self.since[index], self.mixed[index]

    def after_step(self, image: np.ndarray, index: int, score: float, lost: bool) -> None:
        """After target ``index``'s lost-state update on ``image`` (confidence ``score``)."""
        s = self.settings
        if not s.template_update:
            return
        if lost:
            if self.mixed[index]:
                self.pipeline.set_kernel(index, self.first[index])
                self.mixed[index] = False
            self.since[index] = 0
            return
        self.since[index] += 1
        if score < s.template_threshold or self.since[index] < s.template_interval:
            return
        center, size, _ = self.pipeline.target(index)
        z = geometry.crop(image, center, geometry.exemplar_size(size, self.context), self.exemplar_size,
                          self.pipeline.target_color(index))
        recent = self.engine.exemplar(engine_input(self.engine, z[None], self.device))
        self.pipeline.set_kernel(index, mix(self.first[index], recent, s.template_weight))
        self.since[index], self.mixed[index] = 0, True
