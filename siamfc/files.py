"""File modes for outputs written under a temporary name and renamed into place."""

from __future__ import annotations

import os


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file: 0o666 less the umask. ``tempfile.mkstemp`` makes 0o600
    files, and the rename keeps that mode, so outputs would be unreadable by anyone else."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
