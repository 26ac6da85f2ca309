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
