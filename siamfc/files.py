"""Small helpers about files: the mode of outputs written under a temporary name and renamed into
place (:func:`replacing`, :func:`write_text_atomic`), names for checkpoints that share a file name,
and the one lock between processes (:func:`exclusive_lock`)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file: 0o666 less the umask. ``tempfile.mkstemp`` makes 0o600
    files, and the rename keeps that mode, so outputs would be unreadable by anyone else."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def distinct_stems(paths: list[str | os.PathLike], sep: str) -> list[str]:
    """The file stem of each path, led by its folder's name and ``sep`` where another of the paths (a
    different file) has the same stem: ``run_a/model_e030`` and ``run_b/model_e030`` for two runs'
    ``model_e030.pth``. Tables and result folders are keyed by these names, so equal ones would mix
    two models up."""
    resolved = [Path(p).resolve() for p in paths]

    def clashes(path: Path) -> bool:
        return any(other.stem == path.stem and other != path for other in resolved)

    return [f"{path.parent.name}{sep}{path.stem}" if clashes(path) else path.stem for path in resolved]


class LockBusy(Exception):
    """Another process holds the lock :func:`exclusive_lock` was asked not to wait for."""


@contextlib.contextmanager
def exclusive_lock(folder: str | os.PathLike, wait: bool = True,
                   on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the existing ``folder`` itself for the block (no lock file to
    create, leave behind or remove). Held by another process: :class:`LockBusy` unless ``wait``,
    else ``on_wait()`` is called and the lock waited for. The kernel drops the lock when the
    process ends, however it ends. Where the file system has no such locks (some network file
    systems), the block runs unlocked: what it writes is still renamed into place whole."""
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
    """A fresh temporary name beside ``path`` (unique: two runs never share it) to write in the
    block; renamed over ``path`` when the block ends, removed when it raises. ``path`` itself is
    never truncated: a reader, or a process that has it mapped, keeps the whole old file."""
    from .io.writers import temporary_sibling

    path = Path(path)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """``text`` as the whole of ``path``, written under a temporary name and renamed into place."""
    from .io.writers import AtomicTextFile

    out = AtomicTextFile(path)
    out.write(text)
    out.close()
