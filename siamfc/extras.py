"""The package's optional parts (pyproject.toml's extras) and the one-line error naming the one to
install when a path needs a module that is not there. Imports nothing heavy (``find_spec`` only)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import MissingExtraError

#: each extra: what it is for, in the error's words, and the top-level modules it provides
_EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "torch": ("the PyTorch path (GPU, fp16, export, checkpoints without a shipped ONNX export)", ("torch", "onnx")),
    "train": ("training", ("torch", "torchvision", "albumentations", "yaml", "PIL", "onnx")),
    "eval": ("evaluation (the got10k toolkit)", ("got10k", "six", "matplotlib", "PIL")),
    "tensorboard": ("TensorBoard logs", ("tensorboard",)),
}
EXTRAS: dict[str, tuple[str, ...]] = {extra: modules for extra, (_, modules) in _EXTRAS.items()}


def missing_extra_error(module: str, extra: str) -> MissingExtraError:
    message = f'{_EXTRAS[extra][0]} needs the module {module!r}, which is not installed: pip install "siamfc[{extra}]"'
    return MissingExtraError(message, module, extra)


def require(extra: str) -> None:
    """A :class:`MissingExtraError` when a module of ``extra`` cannot be imported here."""
    missing = [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]
    if missing:
        raise missing_extra_error(missing[0], extra)


@contextmanager
def hint_missing_extra(context: str | None = None) -> Iterator[None]:
    """A ModuleNotFoundError for an extra's module as :class:`MissingExtraError` (``context``'s extra
    first: ``train`` for torch while training); a module of no extra's is left as it is. Also a
    decorator, for API entry points (``@hint_missing_extra("torch")``)."""
    try:
        yield
    except ModuleNotFoundError as exc:
        root = (exc.name or "").split(".")[0]
        extra = next((e for e in (context, *EXTRAS) if root in EXTRAS.get(e, ())), None)
        if extra is None:
            raise
        raise missing_extra_error(root, extra) from exc
