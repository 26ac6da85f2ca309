"""A conservative template update: the first frame's kernel with a recent one mixed in.

SiamFC matches every frame against the first frame's exemplar only, so a target that turns or
changes its look drifts away from it. Many SiamFC variants mix in a kernel from a recent frame;
done carelessly this learns the background the tracker has drifted onto. Here it is kept
conservative: the recent kernel is cut only on a frame whose confidence is at least
``template_threshold`` (and at most every ``template_interval`` frames), it replaces the previous
recent kernel (nothing accumulates), the first kernel always keeps ``1 - template_weight`` of the
mix, and a target that is lost goes back to its first kernel alone.

The correlation is linear in the kernel, so the mixed kernel's map is the same mix of the two
kernels' maps: one kernel, no extra cost per frame. Every engine's kernel (tensors or arrays, with
an offset) is mixed part by part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import geometry
from .engine_io import engine_input


@dataclass
class TemplateSettings:
    template_update: bool = False
    template_weight: float = 0.3  # the recent kernel's share of the mix
    template_threshold: float = 0.9  # the confidence a frame needs to give the recent kernel
    template_interval: int = 10  # frames at least between two updates of a target

    def check(self) -> None:
        if not 0.0 <= self.template_weight <= 1.0:
            raise ValueError(f"template_weight must be in [0, 1], got {self.template_weight}")
        if not 0.0 <= self.template_threshold <= 1.0:
            raise ValueError(f"template_threshold must be in [0, 1], got {self.template_threshold}")
        if self.template_interval < 1:
            raise ValueError(f"template_interval must be 1 or more, got {self.template_interval}")


def mix(first: object, recent: object, weight: float) -> object:
    """``(1 - weight) * first + weight * recent`` for an engine's kernel: a tensor, an array, None
    (no offset) or a tuple of these."""
    if first is None:
        return None
    if isinstance(first, tuple):
        return tuple(mix(a, b, weight) for a, b in zip(first, recent, strict=True))
    return (1.0 - weight) * first + weight * recent


class TemplateUpdater:
    """Keeps each target's first kernel and puts the mixed one into the pipeline (same order)."""

    def __init__(self, pipeline, engine, settings: TemplateSettings, exemplar_size: int, context: float,
                 device: object) -> None:
        settings.check()
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
