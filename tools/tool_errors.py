"""What the tools share: the repository's default config, the shared data's folder, and bad input as
one line."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "configs" / "alexnet_w30_mini.yaml"


def failer(tool_file: str) -> Callable[[str], NoReturn]:
    """``fail(message)`` for the tool in ``tool_file``: bad input as one line on stderr
    (``TOOL.py: error: ...``) and exit status 2, no traceback."""
    name = Path(tool_file).name

    def fail(message: str) -> NoReturn:
        print(f"{name}: error: {message}", file=sys.stderr)
        raise SystemExit(2)

    return fail


def config_error(exc: BaseException) -> str:
    """The first line of a config or data error; where a relative path in the config may be the cause
    (run from outside the repository), says from where those are read."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if any(words in message.lower() for words in ("does not exist", "no such", "missing")) and \
            Path.cwd().resolve() != REPO_ROOT:
        message += " (relative paths in a config are read from the working folder, as by siamfc train)"
    return message


def shared_dir() -> Path:
    """The shared data: ``$SIAMFC_SHARED``, or ``shared/`` beside the repository."""
    env = os.environ.get("SIAMFC_SHARED")
    return Path(env) if env else REPO_ROOT.parent / "shared"
