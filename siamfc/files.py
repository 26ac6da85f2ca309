"""Small helpers about files: outputs written under a temporary name and renamed into place, names
for checkpoints that share a file name, and the one lock between processes."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from .io.writers import AtomicTextFile, temporary_sibling


def distinct_stems(paths: list[str | os.PathLike], sep: str) -> list[str]:
    """Each path's stem, led by its folder's name and ``sep`` where another path has the same stem
    (``run_a/model_e030``, ``run_b/model_e030``): results keyed by these names never mix two models."""
    resolved = [Path(p).resolve() for p in paths]
    stems = Counter(path.stem for path in set(resolved))
    return [f"{path.parent.name}{sep}{path.stem}" if stems[path.stem] > 1 else path.stem for path in resolved]


class LockBusy(Exception):
    """Another process holds the lock :func:`exclusive_lock` was asked not to wait for."""


@contextlib.contextmanager
def exclusive_lock(folder: str | os.PathLike, wait: bool = True,
                   on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """An exclusive ``flock`` on the existing ``folder`` for the block (the kernel drops it when the
    process ends). Held elsewhere: :class:`LockBusy` unless ``wait``, else ``on_wait()`` and wait.
    Where the file system has no locks, the block runs unlocked."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise LockBusy(os.fspath(folder)) from None
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EBADF, errno.EINVAL, errno.EOPNOTSUPP):
                raise
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """A unique temporary name beside ``path`` to write in the block, renamed over ``path`` at its end
    (removed when it raises): ``path`` is never truncated."""
    tmp = temporary_sibling(Path(path))
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # the rename took it, unless the block raised


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """``text`` as the whole of ``path``, written under a temporary name and renamed into place."""
    out = AtomicTextFile(path)
    out.write(text)
    out.close()
