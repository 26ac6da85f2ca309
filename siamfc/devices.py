"""Choosing the torch device from a name, with a one-line error when it cannot be had."""

from __future__ import annotations

import ctypes
import os

from .errors import SiamFCError

DEVICE_CHOICES = ("cpu", "cuda", "auto")


def resolve_device(name: str):
    """``cpu``, ``cuda`` (or ``cuda:N``) or ``auto`` -> ``torch.device``; clear error when impossible."""
    import torch

    name = str(name).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise SiamFCError(f"--device {name}: no CUDA GPU is available here (use --device cpu or auto)")
        index = int(name[5:]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise SiamFCError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) found")
        return torch.device(name)
    raise SiamFCError(f"--device {name!r}: unknown device; choose one of {', '.join(DEVICE_CHOICES)}")


def gpu_driver_present() -> bool:
    """Whether a GPU driver PyTorch could use is installed (CUDA's, or ROCm's), found without
    loading PyTorch: without one ``torch.cuda.is_available()`` is False anyway."""
    names = ("nvcuda.dll",) if os.name == "nt" else ("libcuda.so.1", "libcuda.so", "libamdhip64.so")
    for name in names:
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return True
    return False


def resolve_device_name(name: str) -> str:
    """:func:`resolve_device` as a name (``"cpu"``, ``"cuda:0"``, ...): PyTorch is imported only when a
    GPU is asked for, or ``auto`` on a machine with a GPU driver (so the CPU path can run without it)."""
    key = str(name).strip().lower()
    if key == "cpu" or (key == "auto" and not gpu_driver_present()):
        return "cpu"
    return str(resolve_device(name))
