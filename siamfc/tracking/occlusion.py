"""A relative loss-of-confidence test (as LMCF's): a frame's value below ``drop_ratio`` times its running
mean holds the box where it was, or coasting (``drop_coast``), for at most ``drop_max_hold`` frames."""

from __future__ import annotations

VELOCITY_RATE = 0.2  # the velocity's exponential mean: about the last 5 frames not held


class DropWatch:
    """One target's running mean and hold; ``settings``: a :class:`siamfc.tracking.config.LostSettings`."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.mean = 0.0
        self.count = 0  # frames in the mean
        self.held = 0  # consecutive frames held so far
        # the centre's recent motion a frame and the centre on the last frame not held, when it was the
        # one before: arrays, or tensors on the pipeline's device (nothing moves to the host for this)
        self.velocity = None
        self._last = None

    def judge(self, value: float) -> bool:
        """True when this frame's ``value`` is a sharp drop: the box is to be held."""
        s = self.settings
        if self.count >= s.drop_warmup and value < s.drop_ratio * self.mean:
            if self.held < s.drop_max_hold:
                self.held += 1
                return True
            self.mean, self.count = 0.0, 0  # a drop that lasts is the new level: start again from it
        if self.held:
            self._last = None  # the jump from the held box back to the target is no motion of it
        self.held = 0
        self.count += 1
        self.mean += (value - self.mean) / min(self.count, s.drop_memory)
        return False

    def follow(self, center) -> None:
        """The box centre (a copy) on a frame not held: the velocity is an exponential mean of its steps."""
        if self._last is not None:
            step = center - self._last
            self.velocity = VELOCITY_RATE * step if self.velocity is None else \
                self.velocity + VELOCITY_RATE * (step - self.velocity)
        self._last = center

    def coasted(self, center, image_shape: tuple[int, int]):
        """``center`` (where the hold began) moved on by the velocity for each frame held, inside the image."""
        if self.velocity is None:
            return center
        moved = center + self.velocity * self.held
        for axis, side in enumerate(image_shape):
            moved[axis] = moved[axis].clip(0, side - 1)
        return moved

    def release(self) -> None:
        """End a hold from outside (a re-detection moved the box)."""
        self.held, self._last = 0, None
