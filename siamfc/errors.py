"""Errors that the command line reports as one line and exit code 2 (no traceback)."""


class UserError(ValueError):
    """Bad input from the user: a missing file, a malformed box, an unknown device, ..."""


class CheckpointError(ValueError):
    """A file that cannot be turned into a model; the message names the file and the problem."""
