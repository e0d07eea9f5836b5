"""Training loop for the poet: random windows from per-language token streams, AdamW, cosine LR.

Batches are drawn from one ``torch.Generator``; windows start at a document start (so the model
learns to begin a poem from its form tag at position 0) and run across following documents.
``goldfish_k`` > 0 drops the loss of the tokens that ``museforge.originality.novelty`` picks from
their preceding ``goldfish_h`` characters (within the document), so verbatim recall goes unlearned.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from museforge.originality.novelty import DEFAULT_H, goldfish_keep
from museforge.text.model import GPT, GPTConfig
from museforge.text.tokenizer import CharTokenizer


@dataclass
class TrainConfig:
    """Optimisation settings; ``mix`` is the share of Chinese windows in a batch."""

    iters: int = 3000
    batch_size: int = 32
    lr: float = 2e-3
    min_lr: float = 1e-4
    warmup: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    mix: float = 0.6
    eval_every: int = 250
    eval_batches: int = 20
    seed: int = 1337
    goldfish_k: int = 0
    """Drop the loss of about 1 token in k by the goldfish mask (0: off)."""
    goldfish_h: int = DEFAULT_H
    """Preceding tokens the goldfish mask hashes."""


class Streams:
    """Documents of one language as one token tensor plus the offsets where documents start."""

    def __init__(self, docs: list[str], tok: CharTokenizer) -> None:
        ids: list[int] = []
        starts: list[int] = []
        for d in docs:
            starts.append(len(ids))
            ids += tok.encode(d)
        self.ids = torch.tensor(ids, dtype=torch.long)
        self.starts = torch.tensor(starts, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.ids)

    def windows(self, n: int, block: int, gen: torch.Generator) -> torch.Tensor:
        """``(n, block + 1)`` stream positions of windows starting at random documents."""
        pick = self.starts[torch.randint(len(self.starts), (n,), generator=gen)]
        pick = pick.clamp(max=len(self.ids) - block - 1)
        return pick[:, None] + torch.arange(block + 1)

    def batch(self, n: int, block: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.ids[self.windows(n, block, gen)]
        return w[:, :-1], w[:, 1:]

    def keep(self, k: int, h: int = DEFAULT_H) -> torch.Tensor:
        """The goldfish mask of the whole stream (context stops at document starts)."""
        return goldfish_keep(self.ids, k, h, starts=self.starts)


def lr_at(it: int, cfg: TrainConfig) -> float:
    """Linear warm-up then cosine decay to ``min_lr``."""
    if it < cfg.warmup:
        return cfg.lr * (it + 1) / cfg.warmup
    frac = min(1.0, (it - cfg.warmup) / max(1, cfg.iters - cfg.warmup))
    return cfg.min_lr + 0.5 * (1 + math.cos(math.pi * frac)) * (cfg.lr - cfg.min_lr)


@torch.no_grad()
def evaluate(model: GPT, streams: dict[str, Streams], cfg: TrainConfig) -> dict[str, float]:
    """Mean validation loss per language on fixed (seeded) windows."""
    model.eval()
    out = {}
    for lang, s in streams.items():
        gen = torch.Generator().manual_seed(0)
        losses = []
        for _ in range(cfg.eval_batches):
            x, y = s.batch(cfg.batch_size, model.config.block_size, gen)
            losses.append(model(x, y)[1].item())
        out[lang] = sum(losses) / len(losses)
    model.train()
    return out


def train(
    model: GPT,
    train_streams: dict[str, Streams],
    val_streams: dict[str, Streams],
    cfg: TrainConfig,
    log: Callable[[dict], None] = lambda _: None,
) -> dict:
    """Train in place; return a summary (losses, tokens/s, wall time)."""
    gen = torch.Generator().manual_seed(cfg.seed)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )
    block = model.config.block_size
    n_zh = round(cfg.batch_size * cfg.mix)
    keep = {lang: s.keep(cfg.goldfish_k, cfg.goldfish_h) for lang, s in train_streams.items()}
    model.train()
    t0 = time.perf_counter()
    history = []
    tokens = 0
    for it in range(cfg.iters):
        for g in opt.param_groups:
            g["lr"] = lr_at(it, cfg)
        xs, ys, ms = [], [], []
        for lang, n in (("zh", n_zh), ("en", cfg.batch_size - n_zh)):
            if n and lang in train_streams:
                w = train_streams[lang].windows(n, block, gen)
                xs.append(train_streams[lang].ids[w[:, :-1]])
                ys.append(train_streams[lang].ids[w[:, 1:]])
                ms.append(keep[lang][w[:, 1:]])
        x, y = torch.cat(xs), torch.cat(ys)
        _, loss, _ = model(x, y, loss_mask=torch.cat(ms) if cfg.goldfish_k else None)
        opt.zero_grad(set_to_none=True)
        assert loss is not None
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        tokens += x.numel()
        if (it + 1) % cfg.eval_every == 0 or it + 1 == cfg.iters:
            val = evaluate(model, val_streams, cfg)
            rec = {
                "iter": it + 1,
                "train_loss": loss.item(),
                "val": val,
                "elapsed_s": round(time.perf_counter() - t0, 1),
                "tokens_per_s": round(tokens / (time.perf_counter() - t0)),
            }
            history.append(rec)
            log(rec)
    wall = time.perf_counter() - t0
    return {
        "config": asdict(cfg),
        "history": history,
        "wall_s": round(wall, 1),
        "tokens": tokens,
        "tokens_per_s": round(tokens / wall),
        "final_val": history[-1]["val"],
    }


def new_model(tok: CharTokenizer, **shape: int) -> GPT:
    """A fresh GPT for this tokenizer."""
    return GPT(GPTConfig(vocab_size=tok.vocab_size, **shape))
