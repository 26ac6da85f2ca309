"""All-or-nothing output files, written under a temporary name and renamed over the target when closed; a
character device (``/dev/null``) is written directly, other files that are not regular are refused."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from ..errors import SiamFCError, os_error

#: what a file that is neither regular nor a character device is, in an error
FILE_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket",
              stat.S_IFBLK: "a block device"}


def new_file_mode() -> int:
    """0o666 less the umask: the mode ``open()`` gives a new file (``mkstemp``'s 0o600 would survive the rename)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_all(fd: int, data: bytes) -> None:
    """``data`` written to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class AtomicTextFile:
    """A text file written record by record and put in place by ``close()``; after a failed write the
    whole records before it are put in place, the error kept in ``failure``, and later calls do nothing."""

    def __init__(self, path: str | os.PathLike, unit: str = "record") -> None:
        self.path, self.unit = Path(path), unit
        self.records, self._good = 0, 0  # records written; their bytes, whole
        self.failure: SiamFCError | None = None
        self._done, self._tmp = False, None  # the temporary file (none for a device)
        check_file_kind(self.path)
        with os_error(self.path):
            if self.path.exists() and not self.path.is_file():
                self._fd = os.open(self.path, os.O_WRONLY)
            else:
                self._fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part",
                                                       dir=self.path.parent)
                os.fchmod(self._fd, new_file_mode())

    def write(self, text: str) -> None:
        if self._done:
            return
        data = text.encode("utf-8")
        try:
            write_all(self._fd, data)
        except OSError as exc:
            self._fail(exc)
        self._good += len(data)
        self.records += 1

    def _fail(self, exc: OSError) -> None:
        """Keep the whole records written so far (none: the target stays as it was) and raise."""
        if not self.records:
            self.discard()
            kept = "nothing was written (the file is as it was)"
        else:
            with contextlib.suppress(OSError):  # a device cannot be truncated
                os.ftruncate(self._fd, self._good)  # drop a half-written record
            self._finish()
            kept = f"its first {self.records} {self.unit}(s) are kept, whole"
        self.failure = SiamFCError(f"{self.path}: writing failed ({exc.strerror or exc}); {kept}", str(self.path))
        raise self.failure from exc

    def _finish(self) -> None:
        self._done = True
        try:
            with os_error(self.path, failed="cannot be put in place", then="; the file is as it was"):
                os.close(self._fd)
                if self._tmp is not None:
                    os.replace(self._tmp, self.path)
        finally:
            if self._tmp is not None:
                Path(self._tmp).unlink(missing_ok=True)  # gone once put in place

    def close(self) -> None:
        if self._done:
            return
        try:
            os.fsync(self._fd)
        except OSError as exc:
            if self._tmp is not None:  # a device such as /dev/null does not fsync: fine
                self._fail(exc)
        self._finish()

    def discard(self) -> None:
        """Drop what was written (the target stays as it was)."""
        if not self._done:
            self._done = True
            os.close(self._fd)
            if self._tmp is not None:
                Path(self._tmp).unlink(missing_ok=True)


def temporary_sibling(path: Path) -> Path:
    """A free name beside ``path`` with the same suffix (so that writers pick the same format)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    os.fchmod(fd, new_file_mode())  # the writer reopens it; the rename keeps this mode
    os.close(fd)
    return Path(name)


def check_writable(path: str | os.PathLike, what: str = "output") -> Path:
    """``path`` as a Path, once sure it can be written (before any work starts) in a folder that exists;
    an existing file is left untouched. The error's key is ``what``."""
    path = Path(path).expanduser()
    check_file_kind(path, what)
    if not path.parent.is_dir():
        raise SiamFCError(f"{what} {path}: the folder {path.parent} does not exist (create it first)", what)
    with os_error(f"{what} {path}", what):
        if path.exists():
            open(path, "ab").close()  # an OSError where it cannot be written
            if not path.is_file():
                return path  # a device (/dev/null): written directly
        os.unlink(temporary_sibling(path.with_name(f"{path.name}.probe")))  # an OSError where files cannot be made
    return path


def check_file_kind(path: Path, what: str = "output") -> None:
    """A SiamFCError unless ``path`` is missing, a regular file or a character device: not a folder, a
    named pipe (opening it could block the run forever), a socket or a disk."""
    with contextlib.suppress(OSError):  # missing (or unreachable: the write check after says why)
        kind = stat.S_IFMT(path.stat().st_mode)
        if kind not in (stat.S_IFREG, stat.S_IFCHR):
            raise SiamFCError(f"{what} {path}: is {FILE_KINDS.get(kind, 'not a regular file')}, expected a file "
                              "name (a regular file or a device such as /dev/null)", what)


def make_output_folder(path: str | os.PathLike, what: str = "output folder") -> Path:
    """The folder ``path``, created if needed, once sure files can be written in it; the error's key is ``what``."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise SiamFCError(f"{what} {path}: exists and is not a folder", what)
    with os_error(f"{what} {path}", what):
        path.mkdir(parents=True, exist_ok=True)
        os.unlink(temporary_sibling(path / "siamfc.probe"))  # an OSError where files cannot be made
    return path
