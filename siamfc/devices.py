"""Choosing the torch device from a name, with a one-line error when it cannot be had."""

from __future__ import annotations

from .errors import UserError

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
            raise UserError(f"--device {name}: no CUDA GPU is available here (use --device cpu or auto)")
        index = int(name[5:]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise UserError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) found")
        return torch.device(name)
    raise UserError(f"--device {name!r}: unknown device; choose one of {', '.join(DEVICE_CHOICES)}")
