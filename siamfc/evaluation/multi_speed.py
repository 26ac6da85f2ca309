"""The candidates of ``siamfc bench --targets N``: one MultiTracker against N SiamFCTrackers."""

from __future__ import annotations

import numpy as np

from .speed import Candidate, Frames


def device_sync(device) -> object:
    """A CUDA device's synchronize, so that timings include the queued work; None on the CPU."""
    import torch

    return (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else None


def multi_target_candidates(model: tuple[str, object], targets: int, frames: Frames, device) -> list[Candidate]:
    """``targets`` targets: one MultiTracker vs as many SiamFCTrackers (``model``: a label and a
    checkpoint path or a model; the default backend)."""
    from ..tracking.tracker import MultiTracker, SiamFCTracker

    label, source = model
    h, w = frames.rgb[0].shape[:2]
    x, y, bw, bh = frames.box
    boxes = []
    for k in range(targets):  # the first box and shifted copies, kept inside the frame
        dx, dy = (k % 3 - 1) * bw * 0.5, (k // 3 % 3 - 1) * bh * 0.5
        boxes.append(np.array([min(max(x + dx, 0), w - bw), min(max(y + dy, 0), h - bh), bw, bh]))
    kwargs = {"model": source} if not isinstance(source, str) else {"weights": source}
    multi: dict = {}
    single: dict = {}

    def start_multi(i: int) -> None:
        if "t" not in multi:
            multi["t"] = MultiTracker(device=device, **kwargs)
        for t in list(multi["t"].targets):
            multi["t"].remove(t)
        for b in boxes:
            multi["t"].add(frames.rgb[i], b)

    def start_single(i: int) -> None:
        if "t" not in single:
            single["t"] = [SiamFCTracker(device=device, **kwargs) for _ in boxes]
        for t, b in zip(single["t"], boxes, strict=True):
            t.init(frames.rgb[i], b)

    def step_single(i: int) -> None:
        for t in single["t"]:
            t.update(frames.rgb[i])

    n = targets
    return [
        Candidate(f"ours {label} x{n} targets: one MultiTracker", start_multi,
                  lambda i: multi["t"].update(frames.rgb[i]), {"targets": n}, device_sync(device)),
        Candidate(f"ours {label} x{n} targets: {n} SiamFCTrackers", start_single, step_single, {"targets": n},
                  device_sync(device)),
    ]
