"""The package's optional parts ("extras", pyproject.toml) and the one-line error that names the one to
install when a command or an API path needs a module that is not there.

``pip install siamfc`` tracks on a CPU (ONNX Runtime runs the shipped models' exports); PyTorch, the
training and the evaluation libraries come with ``siamfc[torch]``, ``siamfc[train]`` and ``siamfc[eval]``.
This module imports nothing heavy: it looks modules up with :func:`importlib.util.find_spec`.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from .errors import MissingExtraError

#: each extra and the top-level modules it provides (pyproject.toml's [project.optional-dependencies])
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


def install_hint(extra: str) -> str:
    return f'pip install "siamfc[{extra}]"'


def extra_for(module: str, context: str | None = None) -> str | None:
    """The extra that provides top-level ``module``: ``context``'s when it does (``train`` for torch
    while training), else the first extra that lists it; None for a module of no extra."""
    root = module.split(".")[0]
    if context is not None and root in EXTRAS.get(context, ()):
        return context
    return next((extra for extra, modules in EXTRAS.items() if root in modules), None)


def missing_extra_error(module: str, extra: str) -> MissingExtraError:
    message = (f"{PURPOSE.get(extra, extra)} needs the module {module!r}, which is not installed: "
               f"{install_hint(extra)}")
    return MissingExtraError(message, module, extra)


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (found without importing them)."""
    return [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]


def require(extra: str) -> None:
    """A :class:`MissingExtraError` when any module of ``extra`` is missing."""
    missing = missing_modules(extra)
    if missing:
        raise missing_extra_error(missing[0], extra)


def as_missing_extra(exc: ModuleNotFoundError, context: str | None = None) -> MissingExtraError | None:
    """``exc`` as the one-line error naming the extra to install; None when the missing module is no
    extra's (a broken install: the original error says more)."""
    if isinstance(exc, MissingExtraError) or not exc.name:
        return exc if isinstance(exc, MissingExtraError) else None
    extra = extra_for(exc.name, context)
    return None if extra is None else missing_extra_error(exc.name.split(".")[0], extra)


@contextmanager
def hint_missing_extra(context: str | None = None) -> Iterator[None]:
    """Turn a ModuleNotFoundError for an extra's module into :class:`MissingExtraError`."""
    try:
        yield
    except ModuleNotFoundError as exc:
        error = as_missing_extra(exc, context)
        if error is None or error is exc:
            raise
        raise error from None


def needs_extra(context: str | None = None) -> Callable[[F], F]:
    """Decorator form of :func:`hint_missing_extra` (for API entry points such as a tracker's ``__init__``)."""
    def wrap(function: F) -> F:
        @functools.wraps(function)
        def run(*args, **kwargs):
            with hint_missing_extra(context):
                return function(*args, **kwargs)

        return run  # type: ignore[return-value]

    return wrap
