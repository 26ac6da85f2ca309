"""The training loop: one process, or one of many under ``torchrun`` (DistributedDataParallel).

State (model, optimizer, scheduler, RNG, epoch and step) goes to ``out_dir/last.pth``
atomically every epoch, every ``checkpoint_minutes`` and on SIGINT/SIGTERM; ``resume=True``
continues from it exactly, because every pair depends only on (seed, epoch, index).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..data.sequences import got10k_sequences
from ..devices import resolve_device
from ..errors import NonFiniteError
from ..models.checkpoint import FORMAT, CheckpointError, read_checkpoint, remove_stale_temps, save_checkpoint
from ..models.network import build_model
from .config import TrainConfig, config_to_dict
from .data import build_pair_dataset
from .objective import Objective
from .pretrained import freeze, init_from_pretrained, parameter_groups
from .run_control import ShardSampler, StopRequested
from .validate import validate

StepHook = Callable[["Trainer", float], None]
EpochHook = Callable[["Trainer", dict], None]


def _process_device(name: str, world: int) -> torch.device:
    """This process's device; under ``torchrun`` (``world`` > 1) its own GPU, and the process group
    joined."""
    device = resolve_device(name)
    if world > 1:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            # rank 0 alone builds the crop cache and validates: the others wait longer than the default
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timedelta(hours=2))
    return device


class Trainer:
    """``on_step`` hooks are called after every optimizer step with the trainer and the step's
    loss; ``on_epoch`` hooks after every epoch with the trainer and the epoch's history record
    (on every process). Extend the loop with them rather than by replacing its methods."""

    def __init__(self, cfg: TrainConfig, quiet: bool = False, *, on_step: Iterable[StepHook] = (),
                 on_epoch: Iterable[EpochHook] = ()) -> None:
        self.cfg = cfg
        self.quiet = quiet
        self.on_step: list[StepHook] = list(on_step)
        self.on_epoch: list[EpochHook] = list(on_epoch)
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = device = _process_device(cfg.device, self.world)
        if cfg.threads and device.type == "cpu":
            torch.set_num_threads(cfg.threads)
        self.out_dir = Path(cfg.out_dir)
        self.main = self.rank == 0
        if self.main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(self.out_dir)  # left by a process killed while saving
        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg.model)
        if cfg.pretrained:
            init_from_pretrained(self.model, cfg.pretrained)
        freeze(self.model, cfg.optim.freeze)
        self.model = self.model.to(device)
        self.objective = Objective(cfg.loss, self.model.stride, self.model.backbone.out_channels, device)
        self.dataset = build_pair_dataset(cfg.data, cfg.seed, quiet=quiet or not self.main) if self.main else None
        if self.world > 1:
            dist.barrier()  # rank 0 has built the crop cache; the others now open it
            if not self.main:
                self.dataset = build_pair_dataset(cfg.data, cfg.seed, quiet=True)
        self.steps_per_epoch = cfg.data.pairs_per_epoch // self.world // cfg.optim.batch_size
        if self.steps_per_epoch == 0:
            raise ValueError("pairs_per_epoch is smaller than batch_size x processes")
        self.total_steps = self.steps_per_epoch * cfg.optim.epochs
        self.optimizer = self._make_optimizer()
        decay = math.log(cfg.optim.final_lr / cfg.optim.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: math.exp(decay * min(step, self.total_steps) / self.total_steps))
        self.scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp and device.type == "cuda")
        self.net = DistributedDataParallel(self.model) if self.world > 1 else self.model
        self.epoch, self.step, self.history, self.best_auc = 0, 0, [], -1.0
        self.stopped_by: int | None = None  # the signal (SIGINT, SIGTERM) that ended fit(), if one did
        self.val_sequences = None
        if cfg.val.root and self.main:
            self.val_sequences = [s for root in (cfg.val.root, *cfg.val.more_roots)
                                  for s in got10k_sequences(root, cfg.val.subset)]
        self.writer = self._make_writer()

    def _make_optimizer(self) -> torch.optim.Optimizer:
        o = self.cfg.optim
        params = parameter_groups(self.model, o.lr, o.backbone_lr_scale)
        if self.objective.parameters:
            params.append({"params": self.objective.parameters, "lr": o.lr})
        if o.name == "sgd":
            return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
        if o.name == "adamw":
            return torch.optim.AdamW(params, lr=o.lr, weight_decay=o.weight_decay)
        raise ValueError(f"unknown optimizer {o.name!r}; known: sgd, adamw")

    def _make_writer(self):
        if not (self.cfg.tensorboard and self.main):
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return None
        return SummaryWriter(str(self.out_dir / "tensorboard"))

    @property
    def feature_adapter(self) -> torch.nn.Module | None:
        """The feature teacher's trained adapter (kept in ``last.pth``), or None."""
        teacher = self.objective.feature_teacher
        return None if teacher is None else teacher.adapter

    # ---- checkpoints -------------------------------------------------------------------
    @property
    def last_path(self) -> Path:
        return self.out_dir / "last.pth"

    def save(self) -> None:
        if not self.main:
            return
        self._check_weights()
        save_checkpoint(self.last_path, self.model, train={
            "epoch": self.epoch, "step": self.step,
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(), "torch_rng": torch.get_rng_state(),
            "history": json.dumps(self.history), "best_auc": self.best_auc,
            "config": json.dumps(config_to_dict(self.cfg)),
            **({"feature_adapter": self.feature_adapter.state_dict()} if self.feature_adapter else {}),
        })

    def resume(self, path: str | Path | None = None) -> None:
        path = Path(path or self.last_path)
        data = read_checkpoint(path)
        if data.get("format") != FORMAT or "train" not in data:
            raise CheckpointError(f"{path}: not a siamfc training checkpoint (nothing to resume)")
        state = data["train"]
        try:
            self.model.load_state_dict(data["state_dict"])
            if self.feature_adapter is not None:
                self.feature_adapter.load_state_dict(state["feature_adapter"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.scaler.load_state_dict(state["scaler"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{path}: does not match this config ({str(exc).splitlines()[0][:120]})") from None
        torch.set_rng_state(state["torch_rng"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.history = json.loads(state["history"])
        self.best_auc = float(state.get("best_auc", state.get("best_ao", -1.0)))  # "best_ao" before 2026-12-02

    # ---- loop ---------------------------------------------------------------------------
    def _loader(self) -> DataLoader:
        self.dataset.set_epoch(self.epoch)
        bs = self.cfg.optim.batch_size
        sampler = ShardSampler(self.cfg.data.pairs_per_epoch, self.rank, self.world, self.step * bs)
        workers = self.cfg.data.num_workers
        return DataLoader(self.dataset, batch_size=bs, sampler=sampler, num_workers=workers, drop_last=True,
                          pin_memory=self.device.type == "cuda", persistent_workers=False,
                          prefetch_factor=4 if workers else None)

    def _train_step(self, z: torch.Tensor, x: torch.Tensor, offsets: torch.Tensor,
                    positive: torch.Tensor | None = None) -> float:
        z = z.to(self.device, non_blocking=True).float()
        x = x.to(self.device, non_blocking=True).float()
        offsets = offsets.to(self.device, non_blocking=True)
        with torch.autocast(self.device.type, enabled=self.scaler.is_enabled()):
            logits, zf, xf = self.net(z, x, return_features=True)  # the features for a feature teacher
            loss = self.objective(logits.float(), offsets, positive, z, x, zf, xf)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.world > 1:  # the objective's own parameters are outside DDP: average by hand
            for param in self.objective.parameters:
                dist.all_reduce(param.grad)
                param.grad /= self.world
        if self.cfg.optim.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return float(loss.detach())

    def fit(self, max_steps: int | None = None) -> list[dict]:
        """Train to the configured number of epochs (or ``max_steps`` optimizer steps, for tests).
        Returns the per-epoch history."""
        cfg = self.cfg
        done_steps = 0
        last_save = time.monotonic()
        with StopRequested() as stop:
            while self.epoch < cfg.optim.epochs:
                self.model.train()
                loader = self._loader()
                bar = tqdm(loader, total=self.steps_per_epoch, initial=self.step, dynamic_ncols=True,
                           disable=self.quiet or not self.main, desc=f"epoch {self.epoch + 1}/{cfg.optim.epochs}")
                losses, t0 = [], time.perf_counter()
                for z, x, offsets, positive in bar:
                    losses.append(self._train_step(z, x, offsets, positive))
                    self.step += 1
                    done_steps += 1
                    for hook in self.on_step:
                        hook(self, losses[-1])
                    rate = len(losses) * cfg.optim.batch_size * self.world / (time.perf_counter() - t0)
                    bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", pairs_s=f"{rate:.1f}",
                                    lr=f"{self.scheduler.get_last_lr()[0]:.2e}")
                    if self.writer is not None:
                        self.writer.add_scalar("train/loss", losses[-1], self.epoch * self.steps_per_epoch + self.step)
                    if self._should_stop(stop, max_steps, done_steps, losses[-1]):
                        self.stopped_by = stop.signal
                        self.save()
                        return self.history
                    if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
                        self.save()
                        last_save = time.monotonic()
                bar.close()
                self._end_epoch(float(np.mean(losses)) if losses else float("nan"), time.perf_counter() - t0)
                last_save = time.monotonic()
        return self.history

    def _should_stop(self, stop: StopRequested, max_steps: int | None, done: int, loss: float = 0.0) -> bool:
        """True when a signal or ``max_steps`` ends the run; a NonFiniteError when a process's loss
        is NaN or infinite (every process stops, nothing more is saved)."""
        flags = torch.tensor([int(stop.signal is not None or (max_steps is not None and done >= max_steps)),
                              int(not math.isfinite(loss))])
        if self.world > 1:
            dist.all_reduce(flags)
        if flags[1]:
            raise NonFiniteError(f"training diverged: the loss is {loss} at epoch {self.epoch + 1}, step "
                                 f"{self.step}; {self._kept()} (lower optim.lr, or set optim.grad_clip)")
        return bool(flags[0])

    def _kept(self) -> str:
        if self.last_path.exists():
            return f"{self.last_path} keeps the last good state"
        return "no checkpoint was written"

    def _check_weights(self) -> None:
        """A NonFiniteError instead of saving NaN or infinite weights."""
        for name, value in self.model.state_dict().items():
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise NonFiniteError(f"training diverged: {name} holds NaN or infinite values at epoch "
                                     f"{self.epoch + 1}, step {self.step}; {self._kept()} (lower optim.lr, or "
                                     "set optim.grad_clip)")

    def _end_epoch(self, loss: float, seconds: float) -> None:
        self._check_weights()
        cfg = self.cfg
        record = {"epoch": self.epoch + 1, "loss": loss, "seconds": round(seconds, 1)}
        if self.main and self.val_sequences and (self.epoch + 1) % cfg.val.every == 0:
            scores = validate(self.model, self.val_sequences, cfg.val.max_frames)
            self.model.train()
            record.update(val_auc=scores["auc"], val_auc_ci95=[scores["auc_low"], scores["auc_high"]],
                          val_ao_seq_mean=scores["ao_seq_mean"], val_sr50=scores["sr50"])
            if self.writer is not None:
                self.writer.add_scalar("val/auc", scores["auc"], self.epoch + 1)
            if scores["auc"] > self.best_auc:  # best.pth: a record, not the model to ship (model card)
                self.best_auc = scores["auc"]
                save_checkpoint(self.out_dir / "best.pth", self.model, meta=json.dumps(record))
        if self.main:
            if self.writer is not None:
                self.writer.add_scalar("train/epoch_loss", loss, self.epoch + 1)
            self.history.append(record)
            tqdm.write(json.dumps(record))
            save_checkpoint(self.out_dir / f"model_e{self.epoch + 1:03d}.pth", self.model, meta=json.dumps(record))
        self.epoch += 1
        self.step = 0
        self.save()
        if self.main:
            (self.out_dir / "history.json").write_text(json.dumps(self.history, indent=1))
        for hook in self.on_epoch:
            hook(self, record)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()

