"""The package's optional parts (pyproject.toml's extras) and the one-line error naming the one to
install when a path needs a module that is not there. Imports nothing heavy (``find_spec`` only)."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from .errors import MissingExtraError

#: each extra and the top-level modules it provides
EXTRAS: dict[str, tuple[str, ...]] = {
    "torch": ("torch", "onnx"),
    "train": ("torch", "torchvision", "albumentations", "yaml", "PIL", "onnx"),
    "eval": ("got10k", "six", "matplotlib", "PIL"),
    "tensorboard": ("tensorboard",),
}

#: what each extra is for, in the error's words
PURPOSE: dict[str, str] = {
    "torch": "the PyTorch path (GPU, fp16, export, checkpoints without a shipped ONNX export)",
    "train": "training",
    "eval": "evaluation (the got10k toolkit)",
    "tensorboard": "TensorBoard logs",
}

F = TypeVar("F", bound=Callable)


def missing_extra_error(module: str, extra: str) -> MissingExtraError:
    message = f'{PURPOSE[extra]} needs the module {module!r}, which is not installed: pip install "siamfc[{extra}]"'
    return MissingExtraError(message, module, extra)


def require(extra: str) -> None:
    """A :class:`MissingExtraError` when a module of ``extra`` cannot be imported here."""
    missing = [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]
    if missing:
        raise missing_extra_error(missing[0], extra)


@contextmanager
def hint_missing_extra(context: str | None = None) -> Iterator[None]:
    """A ModuleNotFoundError for an extra's module as :class:`MissingExtraError` (``context``'s extra
    first: ``train`` for torch while training); a module of no extra's is left as it is."""
    try:
        yield
    except MissingExtraError:
        raise
    except ModuleNotFoundError as exc:
        root = (exc.name or "").split(".")[0]
        extras = [context] if context is not None and root in EXTRAS.get(context, ()) else []
        extra = next(iter(extras + [e for e, modules in EXTRAS.items() if root in modules]), None)
        if not root or extra is None:
            raise
        raise missing_extra_error(root, extra) from exc


def needs_extra(context: str | None = None) -> Callable[[F], F]:
    """Decorator form of :func:`hint_missing_extra` (for API entry points)."""
    def wrap(function: F) -> F:
        @functools.wraps(function)
        def run(*args, **kwargs):
            with hint_missing_extra(context):
                return function(*args, **kwargs)

        return run  # type: ignore[return-value]

    return wrap
