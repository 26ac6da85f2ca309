"""A relative loss-of-confidence test: hold the box through a sharp drop of the response.

The lost state (:mod:`siamfc.tracking.lost`) judges the confidence against a fixed threshold,
which cannot tell a target hidden for a few frames (the box drifts on background and the response
falls) from one that is tracked well but always scores low (a small target seen from a drone). Like
LMCF (Wang et al., CVPR 2017), which judges a response map against the historical mean of its peak,
this judges each frame's value against the running mean of the same target's recent frames: a value
below ``ratio`` times that mean is a sharp drop, read as "occluded": the box is held where it was
before the drop (neither moved nor rescaled) until the value comes back above the line. A steady
level, high or low, never holds the box; nor does a drop that lasts: after ``max_hold`` frames the
new level is taken as the mean and the box is released. With ``coast``, the held box moves on at
the target's recent velocity instead of standing still (a target hidden behind something keeps
moving; so does one whose response fell while it turns or jumps), as trackers of several objects
predict a box through an occlusion; its size still does not change.

The value is the peak's height relative to the first frame's (``"height"``, the map statistic
``rel`` of :mod:`siamfc.tracking.confidence`, linear in the peak like LMCF's) or the calibrated
confidence (``"confidence"``).
"""

from __future__ import annotations

from dataclasses import dataclass

DROP_SIGNALS = ("height", "confidence")
VELOCITY_RATE = 0.2  # the velocity's exponential mean: about the last 5 frames not held


@dataclass
class DropSettings:
    """``ratio``: a frame below ``ratio`` x the running mean holds the box (0 turns the test off);
    ``memory``: frames in the running mean (a plain mean until then, an exponential one after);
    ``warmup``: frames of history before a drop is judged; ``max_hold``: the longest hold;
    ``coast``: the held box moves on at the recent velocity."""

    ratio: float = 0.0
    signal: str = "height"
    memory: int = 30
    warmup: int = 5
    max_hold: int = 25
    coast: bool = False

    @property
    def enabled(self) -> bool:
        return self.ratio > 0.0

    def check(self) -> None:
        if not 0.0 <= self.ratio < 1.0:
            raise ValueError(f"drop_ratio must be in [0, 1), got {self.ratio}")
        if self.signal not in DROP_SIGNALS:
            raise ValueError(f"drop_signal must be one of {', '.join(DROP_SIGNALS)}, got {self.signal!r}")
        for name in ("memory", "warmup", "max_hold"):
            if getattr(self, name) < 1:
                raise ValueError(f"drop_{name} must be 1 or more, got {getattr(self, name)}")


class DropWatch:
    """One target's running mean and hold (feed it every frame's value with :meth:`judge`)."""

    def __init__(self, settings: DropSettings) -> None:
        self.settings = settings
        self.mean = 0.0
        self.count = 0  # frames in the mean
        self.held = 0  # consecutive frames held so far
        # The box centre's recent motion a frame (frames not held) and the centre on the last frame
        # not held, when it was the one before: NumPy arrays or tensors on the pipeline's device
        # (computed there: the device path moves nothing to the host for this).
        self.velocity = None
        self._last = None

    def judge(self, value: float) -> bool:
        """True when this frame's ``value`` is a sharp drop: the box is to be held."""
        s = self.settings
        if self.count >= s.warmup and value < s.ratio * self.mean:
            if self.held < s.max_hold:
                self.held += 1
                return True
            self.mean, self.count = 0.0, 0  # a drop that lasts is the new level: start again from it
        if self.held:
            self._last = None  # the jump from the held box back to the target is no motion of it
        self.held = 0
        self.count += 1
        self.mean += (value - self.mean) / min(self.count, s.memory)
        return False

    def follow(self, center) -> None:
        """The box centre (a copy) on a frame not held, after :meth:`judge` said so: the velocity
        is an exponential mean of its steps (from zero)."""
        if self._last is not None:
            step = center - self._last
            self.velocity = VELOCITY_RATE * step if self.velocity is None else \
                self.velocity + VELOCITY_RATE * (step - self.velocity)
        self._last = center

    def coasted(self, center, image_shape: tuple[int, int]):
        """Where the held box's centre goes: ``center`` (where the hold began) moved on by the
        velocity for each frame held, kept inside the image (an array or a tensor, as ``center``)."""
        if self.velocity is None:
            return center
        moved = center + self.velocity * self.held
        for axis, side in enumerate(image_shape):
            moved[axis] = moved[axis].clip(0, side - 1)
        return moved

    def release(self) -> None:
        """End a hold from outside (the box was moved elsewhere, e.g. by a re-detection)."""
        self.held, self._last = 0, None
