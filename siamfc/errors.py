"""The package's one error type and its few kinds. Each carries the offending ``key`` (a setting's
dotted name, a command-line flag, a file) and one line of text; the command line prints the line
and exits 2 (``SIAMFC_DEBUG=1`` prints the traceback)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class SiamFCError(ValueError):
    """Bad input from the user: a missing file, a malformed box, an unknown device, ... ``key`` names
    what is at fault where one thing is (tests assert it rather than the wording)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class SettingError(SiamFCError):
    """A setting of the wrong type, out of its range (:mod:`siamfc.settings`) or unknown; ``key``: its dotted name."""


class CheckpointError(SiamFCError):
    """A file that cannot be turned into a model; ``key`` is the file."""


class NonFiniteError(SiamFCError):
    """A NaN or an infinity where numbers must be finite: in weights, response maps or a training loss."""


class FrameSizeError(SiamFCError):
    """A frame of another size than those before it in one sequence: its boxes would be read in the wrong pixels."""


class MissingExtraError(SiamFCError, ImportError):
    """A path needs an extra not installed (:mod:`siamfc.extras`); ``key``: the extra, ``module``: the module."""

    def __init__(self, message: str, module: str, extra: str) -> None:
        super().__init__(message, key=extra)
        self.module, self.extra = module, extra


class UnknownModelError(SiamFCError):
    """A model name that no shipped model has; ``known`` lists the names there are (``siamfc models``)."""

    def __init__(self, message: str, known: tuple[str, ...], key: str | None = None) -> None:
        super().__init__(message, key=key)
        self.known = known


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of ``exc``'s message (at most ``limit`` characters), or its type's name when it has
    none: how a foreign library's error is quoted inside one of ours."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


@contextlib.contextmanager
def os_error(where: object, key: str | None = None, failed: str = "cannot be written", then: str = "",
             kind: type[SiamFCError] = SiamFCError) -> Iterator[None]:
    """An OSError in the block as the one line ``WHERE: FAILED (why)THEN``, a ``kind`` keyed by ``key``
    (default: ``where``): how every file the package writes reports a full disk or a read-only folder."""
    try:
        yield
    except OSError as exc:
        raise kind(f"{where}: {failed} ({exc.strerror or exc}){then}", str(where) if key is None else key) from exc
