"""Entry points. A command's module exposes ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``
and is imported only when used; this module imports next to nothing, so the Ctrl-C handler is in
place a few milliseconds after Python starts."""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
import traceback
import warnings

from ..errors import SiamFCError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

#: each command's module, in the order ``siamfc --help`` lists them
SUBCOMMANDS: dict[str, str] = {name: f"siamfc.cli.{'evaluate' if name == 'eval' else name}"
                               for name in ("track", "demo", "webcam", "train", "eval", "bench", "export", "models")}

#: the extra each command needs whole, checked before it starts; the others name one when a path needs it
NEEDS: dict[str, str] = {"train": "train", "eval": "eval", "export": "torch", "bench": "torch"}


def _expanded_glob(extras: list[str]) -> str | None:
    """What to say when the arguments left over are files: an unquoted glob the shell expanded."""
    from pathlib import Path

    files = [Path(e) for e in extras]
    if any(e.startswith("-") for e in extras) or not all(f.is_file() for f in files):
        return None
    folders, suffixes = {f.parent for f in files}, {f.suffix for f in files}
    folder = str(folders.pop()) + "/" if len(folders) == 1 else "DIR/"
    pattern = ("" if folder == "./" else folder) + "*" + (suffixes.pop() if len(suffixes) == 1 else "")
    return (f"{len(files)} file(s) ({extras[0]}, ...) where one input was expected: the shell expanded an unquoted "
            f"glob; quote it so that siamfc reads the pattern itself: '{pattern}'")


def _run_command(prog: str, name: str, argv: list[str]) -> int:
    module = importlib.import_module(SUBCOMMANDS[name])
    from .common import OneLineParser, warn

    parser = OneLineParser(prog=prog, description=module.HELP)
    module.add_arguments(parser)
    parser.add_argument("--verbose", action="store_true",
                        help="also show OpenCV's own log lines ([ WARN ...]); the command's own messages are the same")
    args, extras = parser.parse_known_args(argv)
    if extras:
        parser.error(_expanded_glob(extras) or f"unrecognized arguments: {' '.join(extras)}")
    from ..extras import hint_missing_extra, require
    from ..io.opencv_log import set_opencv_log_level

    set_opencv_log_level(args.verbose)
    extra = NEEDS.get(name)  # a missing extra is one line naming it; before the start for a command needing it
    try:
        with warnings.catch_warnings(), hint_missing_extra(extra):  # Python's warnings show a source line too
            warnings.showwarning = lambda message, *_, **__: warn(str(message))
            if extra is not None:
                require(extra)
            return int(module.run(args) or 0)
    except SiamFCError as exc:
        if os.environ.get("SIAMFC_DEBUG") == "1":
            traceback.print_exc()
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["--version"], ["-V"]):
        from .. import __version__

        print(f"siamfc {__version__}")
        return 0
    if argv and argv[0] in SUBCOMMANDS:
        return _run_command(f"siamfc {argv[0]}", argv[0], argv[1:])
    lines = [f"  {name:8s} " + " ".join(importlib.import_module(module).HELP.split("\n\n")[0].split()).rstrip(".")
             for name, module in SUBCOMMANDS.items()]  # each command's help's first paragraph: a sentence
    usage = "usage: siamfc [--version] {" + ",".join(SUBCOMMANDS) + "} ...\n\ncommands:\n" + "\n".join(lines)
    unknown = f"\nsiamfc: error: unknown command {argv[0]!r}" if argv and argv[0] not in ("-h", "--help") else ""
    print(usage + unknown, file=sys.stdout if argv and not unknown else sys.stderr)
    return 0 if argv and not unknown else 2


def track_main(argv: list[str] | None = None) -> int:
    """The ``track`` console script: same as ``siamfc track``."""
    return _run_command("track", "track", list(sys.argv[1:] if argv is None else argv))


def _exit_with(prog: str, entry: Callable[[], int]) -> None:
    """Run ``entry`` and exit with its code; Ctrl-C or SIGTERM at any moment (importing, loading a model,
    tracking) is one line and exit code 130 (143 for SIGTERM), not a traceback. The handler raises
    KeyboardInterrupt, as Python's does, and remembers the signal: an import may turn the interrupt
    into another error (NumPy raises ImportError)."""
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    # not where a caller ignores or handles the signal itself
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    taken = [sig for sig, default in defaults.items() if signal.getsignal(sig) is default]
    for sig in taken:
        signal.signal(sig, on_signal)
    try:
        code = entry()
    except (KeyboardInterrupt, Exception) as exc:
        if not (isinstance(exc, KeyboardInterrupt) or received):
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        code = 130
    finally:
        for sig in taken:
            signal.signal(sig, defaults[sig])
    if code == 130 and received and received[-1] == signal.SIGTERM:
        code = 143
    sys.exit(code)


#: the console scripts ``siamfc`` and ``track``
cli = functools.partial(_exit_with, "siamfc", main)
track_cli = functools.partial(_exit_with, "track", track_main)


if __name__ == "__main__":
    cli()
