"""Training throughput on this machine, in pairs per second, side by side:

* the training step alone (forward, loss, backward, optimizer step) on batches already in memory,
  for the classic (width 1.0) and the light (width 0.3) AlexNet, and the light one with the
  teacher's forward pass that distillation adds when the config names a teacher;
* the data loader alone (the pairs it can produce: cached crops -> augmented pairs -> batches)
  with 0, 1 and 2 worker processes;
* the two together (the light model fed by the loader), which shows whether the loader holds the
  step back.

The pairs come from the config's datasets through its crop cache (built there if missing).
Rounds are interleaved so that a background load affects every row alike; the table gives the
median over rounds and the best round (the least disturbed by other work on the machine).

    python tools/bench_train_throughput.py --config configs/alexnet_w30_mini.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch.utils.data import DataLoader

from siamfc.models.checkpoint import load_model
from siamfc.models.network import build_model
from siamfc.training.config import load_config
from siamfc.training.data import build_pair_dataset
from siamfc.training.losses import logistic_loss, make_labels


def make_loader(dataset, batch_size: int, workers: int, batches: int, offset: int = 0) -> DataLoader:
    """Pairs ``offset, offset + 1, ...`` (each pair depends only on its index), as the trainer loads them."""
    return DataLoader(dataset, batch_size=batch_size, sampler=range(offset, offset + batch_size * batches),
                      num_workers=workers, drop_last=True, prefetch_factor=4 if workers else None)


def loader_rate(dataset, batch_size: int, workers: int, batches: int, offset: int) -> float:
    """Pairs/s over ``batches`` batches after the first one (worker start-up excluded)."""
    iterator = iter(make_loader(dataset, batch_size, workers, batches + 1, offset))
    next(iterator)
    t0 = time.perf_counter()
    n = sum(len(batch[0]) for batch in iterator)
    return n / (time.perf_counter() - t0)


class StepBench:
    """One model and optimizer; ``run(batches)`` times full training steps."""

    def __init__(self, width: float, teacher: torch.nn.Module | None = None, radius: float = 16.0) -> None:
        torch.manual_seed(0)
        self.model = build_model(width=width)
        self.teacher = teacher
        self.radius = radius
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)

    def step(self, z: torch.Tensor, x: torch.Tensor, offsets: torch.Tensor) -> None:
        z, x = z.float(), x.float()
        logits = self.model(z, x)
        loss = logistic_loss(logits, make_labels(offsets, logits.shape[-1], self.model.stride, self.radius))
        if self.teacher is not None:
            with torch.no_grad():
                target = self.teacher(z, x)
            loss = loss + 0.25 * torch.nn.functional.mse_loss(logits, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def run(self, batches) -> float:
        n, t0 = 0, time.perf_counter()
        for z, x, offsets in batches:
            self.step(z, x, offsets)
            n += len(z)
        return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/alexnet_w30_mini.yaml",
                        help="its data section (and teacher, if any) are used")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6, help="timed training steps per row and round")
    parser.add_argument("--loader-batches", type=int, default=8, help="timed batches per loader row and round")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the training step")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    dataset = build_pair_dataset(cfg.data, cfg.seed)
    bs = args.batch_size
    # batches in memory for the step-only rows: the step never waits for data there
    batches = list(make_loader(dataset, bs, 0, args.steps + 1))
    teacher = load_model(cfg.loss.teacher, "cpu") if cfg.loss.teacher and cfg.loss.distill_weight else None
    benches = {"classic AlexNet (width 1.0)": StepBench(1.0), "light AlexNet (width 0.3)": StepBench(0.3)}
    if teacher is not None:
        benches["light + distillation teacher"] = StepBench(0.3, teacher)
    for bench in benches.values():  # warm-up (allocator, oneDNN primitives)
        bench.run(batches[:1])

    rates: dict[str, list[float]] = {}
    offset = 0
    for round_ in range(args.rounds):
        for name, bench in benches.items():
            rates.setdefault(f"step: {name}", []).append(bench.run(batches[1:]))
        for workers in args.workers:
            offset += bs * (args.loader_batches + 1)
            rates.setdefault(f"loader alone, {workers} worker(s)", []).append(
                loader_rate(dataset, bs, workers, args.loader_batches, offset))
        for workers in (0, 1):
            light = benches["light AlexNet (width 0.3)"]
            offset += bs * (args.steps + 1)
            loader = make_loader(dataset, bs, workers, args.steps + 1, offset)
            iterator = iter(loader)
            light.step(*next(iterator))  # worker start-up and the first batch are not timed
            rates.setdefault(f"loader + light step, {workers} worker(s)", []).append(light.run(iterator))
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)

    cpu = os.cpu_count()
    print(f"\nbatch {bs}, {args.threads} torch threads, {cpu} CPU cores, {args.rounds} rounds "
          f"(steps {args.steps}, loader batches {args.loader_batches}); 'best' is the least disturbed round\n")
    print("| what | pairs/s (median) | pairs/s (best) |")
    print("|---|---|---|")
    table = {}
    for name, values in rates.items():
        table[name] = statistics.median(values)
        print(f"| {name} | {table[name]:.1f} | {max(values):.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"batch_size": bs, "threads": args.threads, "cpu_count": cpu, "rounds": args.rounds,
                       "median_pairs_per_s": table, "all": rates}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
