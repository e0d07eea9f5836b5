"""One training loop for every model family, in the nanoGPT manner, run through ``accelerate``.

A family (:class:`Family`) says how to draw a batch, what its loss is, how to evaluate on the
held-out split and how to save; the loop does the rest the same way for all of them: AdamW with
warm-up and cosine decay, gradient clipping, evaluation every ``eval_every`` steps, the best model
saved when the held-out loss improves, early stopping after ``patience`` evaluations without
improvement, a training state every ``checkpoint_every`` steps from which the same command resumes,
and progress through one callback.

The same code runs in one process, under ``accelerate launch`` in several CPU processes (gloo) or
on several GPUs: each step's *global* batch is drawn from a generator seeded by the step, and each
process takes its share (``rank::world``), so two processes follow the loss curve of one.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from museforge.atomic import write_file
from museforge.errors import MuseforgeError

STATE = "training-state.pt"
MODEL = "model.safetensors"


@dataclass
class LoopConfig:
    """Optimisation and bookkeeping shared by every family."""

    steps: int = 1000
    minutes: float = 0.0
    """Stop after this many minutes of training (0: run ``steps``)."""
    batch: int = 16
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup: int = 50
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    eval_every: int = 100
    checkpoint_every: int = 100
    patience: int = 0
    """Stop after this many evaluations without a better held-out loss (0: never)."""
    min_delta: float = 1e-4
    seed: int = 0

    def check(self, world: int = 1) -> None:
        for name in ("steps", "batch", "eval_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise MuseforgeError(f"--{name.replace('_', '-')} must be at least 1")
        if self.lr <= 0 or self.minutes < 0 or self.patience < 0:
            raise MuseforgeError("--lr must be positive and --minutes, --patience not negative")
        if self.batch % world:
            raise MuseforgeError(
                f"--batch {self.batch} does not split over {world} processes; give a multiple of {world}"
            )


@dataclass
class Family:
    """What a model family gives the loop. Subclasses fill these in."""

    name: str = "family"
    model: torch.nn.Module = field(default_factory=torch.nn.Module)

    def fingerprint(self) -> dict[str, Any]:
        """What a training state must match to be resumed (model shape, data)."""
        return {"family": self.name}

    def batch(self, generator: torch.Generator, size: int) -> Any:
        """The global batch of one step, drawn only from ``generator``."""
        raise NotImplementedError

    def shard(self, batch: Any, rank: int, world: int) -> Any:
        """This process's share of a global batch (rows ``rank::world`` of every tensor)."""
        if world == 1:
            return batch
        if isinstance(batch, dict):
            return {k: self.shard(v, rank, world) for k, v in batch.items()}
        if isinstance(batch, tuple | list):
            return type(batch)(self.shard(v, rank, world) for v in batch)
        if isinstance(batch, torch.Tensor) and batch.dim() > 0:
            return batch[rank::world]
        return batch

    def loss(self, model: torch.nn.Module, batch: Any) -> torch.Tensor:
        """Mean loss of ``model`` on ``batch`` (a mean, so shards average to the whole)."""
        raise NotImplementedError

    def after_step(self, model: torch.nn.Module, step: int) -> None:
        """Called after each optimiser step (an EMA update, say)."""

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        """Held-out metrics; ``loss`` is the one that picks the best model."""
        raise NotImplementedError

    def save(self, model: torch.nn.Module, path: Path, metrics: dict[str, float]) -> None:
        """Write the model (a self-describing safetensors file) to ``path``."""
        raise NotImplementedError

    def extra_state(self) -> dict[str, Any]:
        """More to keep in the training state (an EMA copy, say)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` gave."""


def lr_at(step: int, cfg: LoopConfig) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio`` of the peak.

    >>> cfg = LoopConfig(steps=100, lr=1.0, warmup=10, min_lr_ratio=0.1)
    >>> lr_at(0, cfg), lr_at(9, cfg), round(lr_at(99, cfg), 3)
    (0.1, 1.0, 0.1)
    """
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    frac = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - 1 - cfg.warmup))
    low = cfg.lr * cfg.min_lr_ratio
    return low + 0.5 * (1 + math.cos(math.pi * frac)) * (cfg.lr - low)


def step_seed(seed: int, step: int) -> int:
    """The seed of one step's batch: independent of the process count and of resuming.

    >>> step_seed(0, 1) != step_seed(0, 2) and step_seed(0, 1) == step_seed(0, 1)
    True
    """
    digest = hashlib.sha256(f"{seed}:{step}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def fingerprint_hash(fingerprint: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _optimizer(model: torch.nn.Module, cfg: LoopConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(cfg.beta1, cfg.beta2),
    )


def make_accelerator(device: str = "auto") -> Any:
    """An ``accelerate.Accelerator``: on the CPU unless ``device`` is 'cuda' or 'auto' finds one."""
    try:
        from accelerate import Accelerator
    except ImportError:  # pragma: no cover - accelerate is a core training dependency
        raise MuseforgeError("training needs accelerate: pip install 'museforge[scale]'") from None
    cpu = device == "cpu" or (device == "auto" and not torch.cuda.is_available())
    return Accelerator(cpu=cpu, mixed_precision="no")


@dataclass
class Summary:
    """What a run did: its curve, its evaluations and where it stopped."""

    steps: int = 0
    seconds: float = 0.0
    best: float = math.inf
    best_step: int = 0
    stopped: str = ""
    train_loss: list[tuple[int, float]] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int = 0
    world: int = 1

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["best"] = None if math.isinf(self.best) else self.best
        return out


def run(
    family: Family,
    cfg: LoopConfig,
    out: Path,
    *,
    accelerator: Any = None,
    progress: Callable[[int, int, float], None] | None = None,
    log: Callable[[str], None] = lambda _: None,
    resume: bool = True,
) -> Summary:
    """Train ``family.model`` into ``out`` (``model.safetensors``, the best held-out loss; and the
    training state). A state left in ``out`` by an interrupted run of the same model and data is
    resumed; one of another model is refused."""
    acc = accelerator or make_accelerator()
    rank, world, main = acc.process_index, acc.num_processes, acc.is_main_process
    cfg.check(world)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE
    fp = fingerprint_hash(family.fingerprint())
    summary = Summary(world=world)
    bad = 0
    model = family.model
    if resume and state_path.exists():
        try:
            state = torch.load(state_path, weights_only=False, map_location="cpu")
        except Exception as err:
            raise MuseforgeError(
                f"cannot read the training state {state_path} ({type(err).__name__}); delete it to start over"
            ) from None
        if state.get("fingerprint") != fp:
            raise MuseforgeError(
                f"{out} holds the training state of another model or data set ({state.get('family', '?')}, "
                f"{state.get('fingerprint')} != {fp}); pass another --out, or delete {state_path}"
            )
        model.load_state_dict(state["model"])
        family.load_extra_state(state.get("extra", {}))
        summary = Summary(**{**state["summary"], "world": world})
        summary.resumed_from = summary.steps
        bad = state.get("bad", 0)
        log(f"resumed at step {summary.steps} ({summary.seconds / 60:.1f} min trained)")
    else:
        state = None
    opt = _optimizer(model, cfg)
    if state is not None:
        opt.load_state_dict(state["optimizer"])
    wrapped, opt = acc.prepare(model, opt)
    step, started = summary.steps, time.perf_counter() - summary.seconds
    last_eval = summary.evals[-1]["step"] if summary.evals else -1

    def save_state() -> None:
        if not main:
            return
        summary.seconds = time.perf_counter() - started
        buf = io.BytesIO()
        torch.save(
            {
                "fingerprint": fp,
                "family": family.name,
                "model": acc.unwrap_model(wrapped).state_dict(),
                "optimizer": opt.state_dict(),
                "summary": summary.to_json() | {"best": summary.best},
                "bad": bad,
                "extra": family.extra_state(),
                "config": asdict(cfg),
            },
            buf,
        )
        write_file(state_path, buf.getvalue())

    def evaluate() -> bool:
        """Evaluate (main process), save the model when better; True when patience runs out."""
        nonlocal bad, last_eval
        stop, last_eval = 0.0, step
        if main:
            inner = acc.unwrap_model(wrapped)
            inner.eval()
            with torch.no_grad():
                metrics = {k: float(v) for k, v in family.evaluate(inner).items()}
            inner.train()
            metrics["step"] = step
            summary.evals.append(metrics)
            if metrics["loss"] < summary.best - cfg.min_delta:
                summary.best, summary.best_step, bad = metrics["loss"], step, 0
                family.save(inner, out / MODEL, metrics)
            else:
                bad += 1
            log(
                f"step {step}: held-out loss {metrics['loss']:.4f} "
                f"(best {summary.best:.4f} at {summary.best_step})"
            )
            stop = float(bool(cfg.patience) and bad >= cfg.patience)
        return _agree(acc, stop) > 0

    wrapped.train()
    try:
        summary.stopped = ""
        if step and step % cfg.eval_every == 0 and last_eval != step and evaluate():  # interrupted there
            summary.stopped = "early stop"
        while step < cfg.steps and not summary.stopped:
            if _agree(acc, float(bool(cfg.minutes) and time.perf_counter() - started > cfg.minutes * 60)):
                summary.stopped = "time"
                break
            for group in opt.param_groups:
                group["lr"] = lr_at(step, cfg)
            generator = torch.Generator().manual_seed(step_seed(cfg.seed, step))
            part = family.shard(family.batch(generator, cfg.batch), rank, world)
            torch.manual_seed(step_seed(cfg.seed, step) + rank)  # dropout: seeded per step and process
            loss = family.loss(wrapped, part)
            opt.zero_grad(set_to_none=True)
            acc.backward(loss)
            if cfg.grad_clip:
                acc.clip_grad_norm_(wrapped.parameters(), cfg.grad_clip)
            opt.step()
            step += 1
            summary.steps = step
            family.after_step(acc.unwrap_model(wrapped), step)
            mean = float(acc.reduce(loss.detach(), "mean")) if world > 1 else float(loss.detach())
            summary.train_loss.append((step, round(mean, 6)))
            if progress is not None and main:
                progress(step, cfg.steps, mean)
            if step % cfg.eval_every == 0 and evaluate():
                summary.stopped = "early stop"
                break
            if step % cfg.checkpoint_every == 0:
                save_state()
    except KeyboardInterrupt:
        save_state()
        log(f"interrupted at step {step}; the state is saved and the same command resumes")
        raise
    if not summary.stopped:
        summary.stopped = "steps"
    if last_eval != step:
        evaluate()
    summary.seconds = time.perf_counter() - started
    save_state()
    acc.wait_for_everyone()
    return summary


def _agree(acc: Any, flag: float) -> float:
    """The main process's ``flag`` on every process (so all stop at the same step)."""
    if acc.num_processes == 1:
        return flag
    from accelerate.utils import broadcast

    tensor = broadcast(torch.tensor([flag], device=acc.device), from_process=0)
    return float(tensor.item())
