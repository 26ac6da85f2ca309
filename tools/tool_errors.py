"""What the training tools share: the repository's default config, and bad input as one line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "configs" / "alexnet_w30_mini.yaml"


def fail(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit status 2 (no traceback)."""
    print(f"{Path(sys.argv[0]).name}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def config_error(exc: BaseException) -> str:
    """The first line of a config or data error; where a relative path in the config may be the cause
    (run from outside the repository), says from where those are read."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if any(words in message for words in ("does not exist", "no such", "missing")) and \
            Path.cwd().resolve() != REPO_ROOT:
        message += " (relative paths in a config are read from the working folder, as by siamfc train)"
    return message
