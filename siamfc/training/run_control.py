"""What a training run needs around its steps: the indices each process of a distributed run
takes, and SIGINT/SIGTERM turned into a request to stop at the next step boundary."""

from __future__ import annotations

import signal

from torch.utils.data import Sampler


class ShardSampler(Sampler[int]):
    """Indices ``rank, rank + world, ...`` of an epoch, starting after ``skip`` of them."""

    def __init__(self, length: int, rank: int = 0, world: int = 1, skip: int = 0) -> None:
        self.indices = list(range(rank, length - length % world, world))[skip:]

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class StopRequested:
    """Turns SIGINT/SIGTERM into a flag checked between steps, so a checkpoint can be written."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous = {}

    def __enter__(self) -> StopRequested:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: object) -> None:
        self.signal = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
