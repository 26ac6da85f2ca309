"""Errors that the command line reports as one line and exit code 2 (no traceback)."""


class UserError(ValueError):
    """Bad input from the user: a missing file, a malformed box, an unknown device, ..."""


class CheckpointError(ValueError):
    """A file that cannot be turned into a model; the message names the file and the problem."""


class NonFiniteError(UserError):
    """A NaN or an infinity where numbers must be finite: in weights, response maps or a training
    loss. Reported as one line, like bad input (it usually comes from broken weights or settings)."""


class FrameSizeError(UserError):
    """A frame of another size than the frames before it in one sequence (a tracker's or a video's):
    its boxes would be read in the wrong frame's pixels (see :func:`siamfc.geometry.check_frame_size`)."""


class MissingExtraError(UserError, ImportError):
    """A command or API path that needs an optional part of the package which is not installed
    (PyTorch, the training or the evaluation libraries): the message names the
    ``pip install "siamfc[EXTRA]"`` that gives it. ``module`` is the missing module, ``extra`` the
    extra (see :mod:`siamfc.extras`)."""

    def __init__(self, message: str, module: str, extra: str) -> None:
        super().__init__(message)
        self.module, self.extra = module, extra


class UnknownModelError(UserError):
    """A model name that no shipped model has (``--model NAME``, ``SiamFCTracker(model="NAME")``);
    ``known`` lists the names there are (``siamfc models``)."""

    def __init__(self, message: str, known: tuple[str, ...]) -> None:
        super().__init__(message)
        self.known = known
