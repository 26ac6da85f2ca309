"""The torch device of a name (``cpu``, ``cuda``, ``cuda:N``, ``auto``), or a one-line error."""

from __future__ import annotations

import contextlib
import ctypes
import os

from .errors import SiamFCError


def resolve_device(name: str):
    """``torch.device`` of ``name``; a :class:`SiamFCError` (key ``--device``) when there is none such."""
    import torch

    name = str(name).strip().lower()
    if name in ("auto", "cpu"):
        return torch.device("cuda" if name == "auto" and torch.cuda.is_available() else "cpu")
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise SiamFCError(f"--device {name}: no CUDA GPU is available here (use --device cpu or auto)", "--device")
        if int(name[5:] or 0) >= torch.cuda.device_count():
            raise SiamFCError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) found", "--device")
        return torch.device(name)
    raise SiamFCError(f"--device {name!r}: unknown device; choose one of cpu, cuda, auto", "--device")


def resolve_device_name(name: str) -> str:
    """:func:`resolve_device` as a name; PyTorch is imported only for a GPU, or for ``auto`` where a GPU
    driver it could use (CUDA's or ROCm's) loads (so the CPU path runs without PyTorch)."""
    key = str(name).strip().lower()
    if key == "auto":
        for driver in ("nvcuda.dll",) if os.name == "nt" else ("libcuda.so.1", "libcuda.so", "libamdhip64.so"):
            with contextlib.suppress(OSError):
                ctypes.CDLL(driver)
                return str(resolve_device(name))
    return "cpu" if key in ("auto", "cpu") else str(resolve_device(name))
