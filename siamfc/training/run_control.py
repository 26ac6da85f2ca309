"""Around a run's steps: the distributed processes, and SIGINT/SIGTERM as a request to stop (and
save) at the next step boundary; data-loader workers ignore them, as a signal to the whole process group
(Ctrl-C, ``timeout``, a batch scheduler) reaches them too."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import torch
import torch.distributed as dist

from ..devices import resolve_device
from ..errors import SiamFCError

#: the signals that ask a run to stop (and save)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class OtherRankFailed(SiamFCError):
    """On the other processes when rank 0 failed to set up (it says why): they exit 2 quietly."""


class StopRequested:
    """Turns SIGINT/SIGTERM into a flag checked between steps, so a checkpoint can be written."""

    signal: int | None = None  # the last one received

    def __enter__(self) -> StopRequested:
        self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def _handle(self, signum: int, _frame: object) -> None:
        self.signal = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def ignore_stop_signals(_worker_id: int = 0) -> None:
    """A data-loader worker's ``worker_init_fn``: SIGINT and SIGTERM ignored (one held back while it
    started is dropped)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextmanager
def stop_signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back (not lost) while data-loader workers fork: none can kill one before
    :func:`ignore_stop_signals` runs."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def process_device(name: str, world: int) -> torch.device:
    """This process's device; under ``torchrun`` its own GPU, and the process group joined."""
    device = resolve_device(name)
    if world > 1:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            # rank 0 alone builds the crop cache and validates: the others wait longer than the default
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timedelta(hours=2))
    return device


def share_setup_outcome(world: int, ok: bool) -> bool:
    """Whether rank 0 set up the run (its ``ok``), on every process."""
    if world == 1:
        return ok
    outcome = [ok]
    dist.broadcast_object_list(outcome, src=0)
    if not outcome[0]:
        dist.barrier()  # every process has the news before rank 0 exits
    return outcome[0]
