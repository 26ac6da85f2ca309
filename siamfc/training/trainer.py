"""The training loop: one process, or one of many under ``torchrun`` (DistributedDataParallel).

``out_dir/last.pth`` (model, optimizer, scheduler, RNG, epoch and step) is written atomically every epoch,
every ``checkpoint_minutes`` and on SIGINT/SIGTERM, which ask the run to stop (and save) at the next step
boundary; data-loader workers ignore them, as a signal to the whole process group (Ctrl-C, ``timeout``, a batch
scheduler) reaches them too. :meth:`Trainer.resume` continues from it exactly, as every pair depends only on
(seed, epoch, index). Validation tracks annotated sequences at an epoch's end, with ``siamfc eval``'s figures
(:mod:`siamfc.evaluation.metrics`)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..data.sequences import Sequence
from ..devices import resolve_device
from ..errors import CheckpointError, NonFiniteError, SettingError, SiamFCError, first_line
from ..evaluation.metrics import SequenceFigures, Truth, bootstrap_mean, overall_figures, sequence_figures
from ..io.writers import make_output_folder
from ..models.checkpoint import read_checkpoint, remove_stale_temps, save_checkpoint
from ..models.network import SiamFCNet
from ..tracking.tracker import SiamFCTracker
from .build import build_checked_model, build_optimizer, build_pair_dataset, build_schedule, read_val_sequences
from .config import TrainConfig, check_same_run
from .losses import Objective

#: the signals that ask a run to stop (and save)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class OtherRankFailed(SiamFCError):
    """On the other processes when rank 0 failed to set up (it says why): they exit 2 quietly."""


def ignore_stop_signals(_worker_id: int = 0) -> None:
    """A data-loader worker's ``worker_init_fn``: SIGINT and SIGTERM ignored (one held back while it
    started is dropped)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back (not lost) while data-loader workers fork: none can kill one before
    :func:`ignore_stop_signals` runs."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def share_setup_outcome(world: int, ok: bool) -> bool:
    """Whether rank 0 set up the run (its ``ok``), on every process."""
    if world == 1:
        return ok
    outcome = [ok]
    dist.broadcast_object_list(outcome, src=0)
    if not outcome[0]:
        dist.barrier()  # every process has the news before rank 0 exits
    return outcome[0]


def sequence_scores(tracker: SiamFCTracker, seq: Sequence, max_frames: int = 0) -> SequenceFigures:
    """``tracker`` on ``seq`` (its first ``max_frames`` frames; 0: all) from its first box, scored as in eval."""
    n = min(len(seq), max_frames) if max_frames else len(seq)
    boxes = np.zeros((n, 4))
    for i in range(n):
        bgr = cv2.imread(str(seq.frames[i]))
        if bgr is None and i == 0:
            raise SiamFCError(f"{seq.frames[0]}: cannot read the first frame of {seq.name}", str(seq.frames[0]))
        if bgr is None:  # an unreadable frame keeps the previous box rather than ending the run
            boxes[i] = boxes[i - 1]
        elif i == 0:
            tracker.init(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), seq.boxes[0])
            boxes[0] = seq.boxes[0]
        else:
            boxes[i] = tracker.update(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    with Image.open(seq.frames[0]) as image:  # reads the header only
        bound = image.size
    return sequence_figures([boxes], Truth(seq.boxes[:n], seq.visible[:n], bound))


def validate(model: SiamFCNet, sequences: list[Sequence], max_frames: int = 0) -> dict:
    """``model`` tracking ``sequences``: ``auc`` with ``auc_low``, ``auc_high`` (95% bootstrap interval over
    sequences), ``ao``, ``ao_seq_mean``, ``sr50``, ``sr75`` as in ``siamfc eval``, and each ``sequences``'s."""
    tracker = SiamFCTracker(model=copy.deepcopy(model), device=next(model.parameters()).device)
    figures = {seq.name: sequence_scores(tracker, seq, max_frames) for seq in sequences}
    per_sequence = {name: {k: f.summary()[k] for k in ("ao", "sr50", "sr75", "auc", "evaluated_frames")}
                    for name, f in figures.items()}
    overall = overall_figures(figures)
    auc = bootstrap_mean([v["auc"] for v in per_sequence.values()])
    return {"auc": auc.mean, "auc_low": auc.low, "auc_high": auc.high,
            **{k: overall[k] for k in ("ao", "ao_seq_mean", "sr50", "sr75")}, "sequences": per_sequence}


class Trainer:
    """``on_step`` hooks get the trainer and the loss after every optimizer step, ``on_epoch`` hooks the
    trainer and the epoch's history record (on every process)."""

    def __init__(self, cfg: TrainConfig, quiet: bool = False, *,
                 on_step: Iterable[Callable[[Trainer, float], None]] = (),
                 on_epoch: Iterable[Callable[[Trainer, dict], None]] = ()) -> None:
        self.cfg, self.quiet, self.on_step, self.on_epoch = cfg, quiet, list(on_step), list(on_epoch)
        self.world, self.rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
        self.main = self.rank == 0
        self.device = device = resolve_device(cfg.device)
        if self.world > 1:  # this process's own GPU, and the process group joined
            if device.type == "cuda":
                self.device = device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
                torch.cuda.set_device(device)
            if not dist.is_initialized():
                # rank 0 alone builds the crop cache and validates: the others wait longer than the default
                dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timedelta(hours=2))
        if cfg.threads and device.type == "cpu":
            torch.set_num_threads(cfg.threads)
        self.out_dir, self.last_path = Path(cfg.out_dir), Path(cfg.out_dir) / "last.pth"
        torch.manual_seed(cfg.seed)
        self.model = build_checked_model(cfg).to(device)
        self.objective = Objective(cfg.loss, self.model.stride, self.model.backbone.out_channels, device,
                                   cfg.experiment)
        pairs, batch = cfg.data.pairs_per_epoch, cfg.optim.batch_size
        self.steps_per_epoch = pairs // self.world // batch
        if self.steps_per_epoch == 0:
            raise SettingError(f"data.pairs_per_epoch ({pairs}) is smaller than optim.batch_size ({batch}) x "
                               f"{self.world} process(es): not one step per epoch", "data.pairs_per_epoch")
        self.optimizer = build_optimizer(self.model, cfg.optim, self.objective.parameters)
        self.scheduler = build_schedule(self.optimizer, cfg.optim, self.steps_per_epoch * cfg.optim.epochs)
        self.scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp and device.type == "cuda")
        self.epoch, self.step, self.history, self.best_auc = 0, 0, [], -1.0
        self.epoch_loss = [0.0, 0]  # this epoch's loss sum and step count so far (kept in last.pth)
        self.stopped_by: int | None = None  # the signal (SIGINT, SIGTERM) that stopped fit(), if one did
        self.val_sequences, self.dataset = None, None  # set by rank 0's setup (the dataset on every rank)
        self._slow_setup()  # last: every cheaper check above has passed
        self.net = DistributedDataParallel(self.model) if self.world > 1 else self.model
        self.writer = None
        if cfg.tensorboard and self.main:
            with contextlib.suppress(ImportError):  # tensorboard is optional
                from torch.utils.tensorboard import SummaryWriter
                self.writer = SummaryWriter(str(self.out_dir / "tensorboard"))

    def _slow_setup(self) -> None:
        """Rank 0 makes ``out_dir``, reads the validation sequences and builds the crop cache; the others
        wait, then open the cache, or raise OtherRankFailed when rank 0 failed."""
        if not self.main:
            if not share_setup_outcome(self.world, True):
                raise OtherRankFailed("rank 0 failed to set up the run")
            self.dataset = build_pair_dataset(self.cfg.data, self.cfg.seed, quiet=True)
            return
        ok, new_out_dir = False, not self.out_dir.exists()
        try:
            make_output_folder(self.out_dir, "out_dir")
            remove_stale_temps(self.out_dir)  # left by a process killed while saving
            self.val_sequences = read_val_sequences(self.cfg.val)
            self.dataset = build_pair_dataset(self.cfg.data, self.cfg.seed, quiet=self.quiet)
            ok = True
        finally:
            share_setup_outcome(self.world, ok)
            if not ok and new_out_dir and not any(p.is_file() for p in self.out_dir.rglob("*")):
                shutil.rmtree(self.out_dir, ignore_errors=True)  # a refused setup leaves no empty run folder behind

    def save(self) -> None:
        """``last.pth`` (the whole training state, on rank 0) and ``history.json``."""
        self._last_save = time.monotonic()
        if not self.main:
            return
        self._check_weights()
        terms = {name: term.state_dict() for name, term in self.objective.trained.items()}
        save_checkpoint(self.last_path, self.model, train={
            "epoch": self.epoch, "step": self.step,
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(), "torch_rng": torch.get_rng_state(),
            "history": json.dumps(self.history), "best_auc": self.best_auc,
            "epoch_loss": json.dumps(self.epoch_loss), "config": json.dumps(dataclasses.asdict(self.cfg)),
            **({"terms": terms} if terms else {})})
        (self.out_dir / "history.json").write_text(json.dumps(self.history, indent=1))

    def resume(self, path: str | Path | None = None) -> None:
        """Continue from ``path`` (default ``out_dir/last.pth``); a CheckpointError when it is not a
        training checkpoint, was written with settings that shape the run differently, or is damaged."""
        path = Path(path or self.last_path)
        data = read_checkpoint(path)
        check_same_run(path, data, self.cfg)
        state = data["train"]
        try:  # the settings match (above): what fails to load is damaged
            self.model.load_state_dict(data["state_dict"])
            for name, term in self.objective.trained.items():
                term.load_state_dict(state["terms"][name])
            for part in ("optimizer", "scheduler", "scaler"):
                getattr(self, part).load_state_dict(state[part])
            torch.set_rng_state(state["torch_rng"])
            self.epoch, self.step = int(state["epoch"]), int(state["step"])
            self.history = json.loads(state["history"])
            if not isinstance(self.history, list):
                raise TypeError("its history is not a list")
            total, count = json.loads(state.get("epoch_loss", "[0.0, 0]"))
            self.epoch_loss = [float(total), int(count)]
            self.best_auc = float(state.get("best_auc", state.get("best_ao", -1.0)))
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            reason = f"no {exc}" if isinstance(exc, KeyError) else first_line(exc, 120)
            raise CheckpointError(f"{path}: damaged training state ({reason})", str(path)) from exc

    def _loader(self) -> DataLoader:
        self.dataset.set_epoch(self.epoch)
        bs, n, workers = self.cfg.optim.batch_size, self.cfg.data.pairs_per_epoch, self.cfg.data.num_workers
        # this process's share of the epoch's pairs, after those its steps so far have seen
        indices = list(range(self.rank, n - n % self.world, self.world))[self.step * bs:]
        return DataLoader(self.dataset, batch_size=bs, sampler=indices, num_workers=workers, drop_last=True,
                          pin_memory=self.device.type == "cuda", prefetch_factor=4 if workers else None,
                          worker_init_fn=ignore_stop_signals if workers else None)

    def _train_step(self, z: torch.Tensor, x: torch.Tensor, offsets: torch.Tensor, positive: torch.Tensor) -> float:
        z, x = (view.to(self.device, non_blocking=True).float() for view in (z, x))
        offsets, positive = (t.to(self.device, non_blocking=True) for t in (offsets, positive))
        with torch.autocast(self.device.type, enabled=self.scaler.is_enabled()):
            logits, zf, xf = self.net(z, x, return_features=True)  # the features for an experiment's terms
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
        """Train to the configured epochs (or ``max_steps`` steps); returns the per-epoch history. SIGINT and
        SIGTERM set :attr:`stopped_by`, checked between steps, so that a checkpoint can be written."""
        self._steps_left = math.inf if max_steps is None else max_steps
        self._last_save = time.monotonic()
        previous = {sig: signal.signal(sig, lambda signum, _: setattr(self, "stopped_by", signum))
                    for sig in STOP_SIGNALS}
        try:
            while self.epoch < self.cfg.optim.epochs:
                if self._run_epoch():
                    break
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.history

    def _run_epoch(self) -> bool:
        """The rest of the current epoch; True when the run stopped (saved) before its end."""
        cfg = self.cfg
        self.model.train()
        with stop_signals_held():  # the workers start ignoring SIGINT/SIGTERM
            batches = iter(self._loader())
        recent, done, t0, stopped = [], 0, time.perf_counter(), True
        with tqdm(total=self.steps_per_epoch, initial=self.step, desc=f"epoch {self.epoch + 1}/{cfg.optim.epochs}",
                  dynamic_ncols=True, disable=self.quiet or not self.main) as bar:
            try:
                for batch in batches:
                    loss = self._train_step(*batch)
                    self.step, self._steps_left = self.step + 1, self._steps_left - 1
                    self.epoch_loss = [self.epoch_loss[0] + loss, self.epoch_loss[1] + 1]
                    for hook in self.on_step:
                        hook(self, loss)
                    if self.writer is not None:
                        self.writer.add_scalar("train/loss", loss, self.epoch * self.steps_per_epoch + self.step)
                    recent, done = [*recent[-49:], loss], done + 1
                    bar.update(1)
                    pairs_s = done * cfg.optim.batch_size * self.world / (time.perf_counter() - t0)
                    bar.set_postfix(loss=f"{np.mean(recent):.4f}", pairs_s=f"{pairs_s:.1f}",
                                    lr=f"{self.scheduler.get_last_lr()[0]:.2e}")
                    if self._should_stop(loss):
                        break
                    if time.monotonic() - self._last_save > cfg.checkpoint_minutes * 60:
                        self.save()
                else:
                    stopped = False
            except RuntimeError as exc:  # a worker killed by the stop signal: the steps done are kept
                if self.stopped_by is None or "DataLoader worker" not in str(exc):
                    raise  # any other error is the data's, and must be seen
        if stopped:
            self.save()
            return True
        total, count = self.epoch_loss
        self._end_epoch(total / count if count else float("nan"), time.perf_counter() - t0)
        return False

    def _should_stop(self, loss: float) -> bool:
        """True when a signal or ``max_steps`` ends the run; a NonFiniteError when any process's loss is not
        finite (nothing more is saved)."""
        flags = torch.tensor([int(self.stopped_by is not None or self._steps_left <= 0), int(not math.isfinite(loss))],
                             device=self.device if self.world > 1 else None)  # NCCL reduces CUDA tensors only
        if self.world > 1:
            dist.all_reduce(flags)
        if flags[1]:
            raise self._diverged(f"the loss is {loss}")
        return bool(flags[0])

    def _diverged(self, what: str) -> NonFiniteError:
        kept = f"{self.last_path} keeps the last good state" if self.last_path.exists() else "no checkpoint was written"
        return NonFiniteError(f"training diverged: {what} at epoch {self.epoch + 1}, step {self.step}; {kept} (lower "
                              "optim.lr, or set optim.grad_clip)", "optim.lr")

    def _check_weights(self) -> None:
        """A NonFiniteError instead of saving NaN or infinite weights."""
        for name, value in self.model.state_dict().items():
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise self._diverged(f"{name} holds NaN or infinite values")

    def _end_epoch(self, loss: float, seconds: float) -> None:
        self._check_weights()
        done, val = self.epoch + 1, self.cfg.val
        record = {"epoch": done, "loss": loss, "seconds": round(seconds, 1)}
        if self.main and self.val_sequences and done % val.every == 0:
            scores = validate(self.model, self.val_sequences, val.max_frames)  # on a copy: this model keeps training
            record.update(val_auc=scores["auc"], val_auc_ci95=[scores["auc_low"], scores["auc_high"]],
                          val_ao_seq_mean=scores["ao_seq_mean"], val_sr50=scores["sr50"])
            if scores["auc"] > self.best_auc:  # best.pth: a record, not the model to ship (model card)
                self.best_auc = scores["auc"]
                save_checkpoint(self.out_dir / "best.pth", self.model, meta=json.dumps(record))
        if self.main:
            for tag, key in (("val/auc", "val_auc"), ("train/epoch_loss", "loss")):
                if self.writer is not None and key in record:
                    self.writer.add_scalar(tag, record[key], done)
            self.history.append(record)
            tqdm.write(json.dumps(record))
            save_checkpoint(self.out_dir / f"model_e{done:03d}.pth", self.model, meta=json.dumps(record))
        self.epoch, self.step, self.epoch_loss = done, 0, [0.0, 0]
        self.save()
        for hook in self.on_epoch:
            hook(self, record)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()
