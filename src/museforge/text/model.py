"""A GPT decoder (nanoGPT-style): learned positions, pre-norm blocks, tanh GELU, tied head.

The layout is GPT-2's, so ``hf.export_gpt2`` writes a transformers ``GPT2LMHeadModel`` folder
whose logits match ours. ``forward`` takes a KV cache; ``generate`` samples with the controls of
``sampling.SamplingConfig``. A checkpoint is one safetensors file (``museforge.checkpoints``) whose
metadata holds the config, the tokenizer, the training-data manifest hash and the recipe name:
loading needs nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from museforge.checkpoints import load_checkpoint, save_checkpoint
from museforge.errors import MuseforgeError
from museforge.text.sampling import LogitsProcessor, SamplingConfig, sample
from museforge.text.tokenizer import CharTokenizer

KVCache = list[tuple[torch.Tensor, torch.Tensor]]
KIND = "museforge-gpt"
"""The ``kind`` of a GPT checkpoint."""


@dataclass
class GPTConfig:
    """Shape of the model (GPT-2 names in comments)."""

    vocab_size: int = 256
    block_size: int = 128  # n_positions
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    dropout: float = 0.0
    layer_norm_eps: float = 1e-5


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0, "n_embd must be divisible by n_head"
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.n_head = cfg.n_head
        self.dropout = cfg.dropout
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        drop = self.dropout if self.training else 0.0
        if past is None or t > 1:
            if past is None:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
            else:  # several new tokens after a cache: mask the future only
                s = k.shape[2]
                mask = torch.ones(t, s, dtype=torch.bool, device=x.device).tril(s - t)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        else:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.resid_dropout(self.c_proj(y)), (k, v)


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_eps)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_eps)
        self.mlp = MLP(cfg)

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, kv = self.attn(self.ln_1(x), past)
        x = x + a
        return x + self.mlp(self.ln_2(x)), kv


class GPT(nn.Module):
    """The decoder. ``forward(idx, targets=None, past=None) -> (logits, loss, cache)``."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_eps)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as in GPT-2
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        """Parameters, the tied head counted once."""
        return sum(p.numel() for p in self.parameters())

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        past: KVCache | None = None,
        loss_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, KVCache]:
        """``loss_mask`` (``targets``' shape, bool): the loss averages only the True targets
        (``museforge.originality.novelty``); None counts every target but ``-1``."""
        _, t = idx.shape
        start = past[0][0].shape[2] if past else 0
        if start + t > self.config.block_size:
            raise MuseforgeError(
                f"sequence of {start + t} tokens exceeds the model's context of {self.config.block_size}"
            )
        pos = torch.arange(start, start + t, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        cache: KVCache = []
        for i, block in enumerate(self.h):
            x, kv = block(x, past[i] if past else None)
            cache.append(kv)
        x = self.ln_f(x)
        if targets is None:
            return self.lm_head(x), None, cache
        logits = self.lm_head(x)
        if loss_mask is not None:
            targets = targets.masked_fill(~loss_mask.bool(), -1)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss, cache

    def step_fn(self) -> Callable[[torch.Tensor, dict | None], tuple[torch.Tensor, dict]]:
        """A ``step(seq, cache) -> (last logits, cache)`` for ``sampling.sample``.

        The prompt, cropped to its last ``block_size`` tokens as nanoGPT does, is run through
        ``forward``; then each new token goes through ``_decode_one``, a module-free path writing
        into a preallocated KV buffer. When the context is full, the buffer is rebuilt from the last
        half of the context (learned positions cannot slide).
        """
        block = self.config.block_size
        weights = self._decode_weights()

        def step(seq: torch.Tensor, cache: dict | None) -> tuple[torch.Tensor, dict]:
            if cache is not None and cache["seen"] == seq.shape[1] - 1 and cache["len"] < block:
                logits = self._decode_one(seq[:, -1], cache, weights)
                cache["seen"] += 1
                return logits, cache
            keep = min(seq.shape[1], block) if cache is None else block // 2
            logits, _, kv = self(seq[:, -keep:])
            b, h, t, hd = kv[0][0].shape
            k = kv[0][0].new_zeros(len(kv), b, h, block, hd)
            v = torch.zeros_like(k)
            for i, (ki, vi) in enumerate(kv):
                k[i, :, :, :t] = ki
                v[i, :, :, :t] = vi
            return logits[:, -1, :], {"k": k, "v": v, "len": t, "seen": seq.shape[1]}

        return step

    def _decode_weights(self) -> tuple:
        """The tensors ``_decode_one`` reads, gathered once (module attribute lookups are slow)."""
        layers = tuple(
            (
                b.ln_1.weight,
                b.ln_1.bias,
                b.attn.c_attn.weight,
                b.attn.c_attn.bias,
                b.attn.c_proj.weight,
                b.attn.c_proj.bias,
                b.ln_2.weight,
                b.ln_2.bias,
                b.mlp.c_fc.weight,
                b.mlp.c_fc.bias,
                b.mlp.c_proj.weight,
                b.mlp.c_proj.bias,
            )
            for b in self.h
        )
        return self.wte.weight, self.wpe.weight, layers, self.ln_f.weight, self.ln_f.bias

    def _decode_one(self, tok: torch.Tensor, cache: dict, weights: tuple) -> torch.Tensor:
        """Logits after one more token per row, appending its keys/values to ``cache``."""
        c = self.config
        wte, wpe, layers, lnf_w, lnf_b = weights
        pos = cache["len"]
        nh, hd, d, eps = c.n_head, c.n_embd // c.n_head, (c.n_embd,), c.layer_norm_eps
        x = F.embedding(tok, wte) + wpe[pos]
        bsz = x.shape[0]
        kc, vc = cache["k"], cache["v"]
        scale = hd**-0.5
        for i, (l1w, l1b, aw, ab, pw, pb, l2w, l2b, fw, fb, mw, mb) in enumerate(layers):
            h = F.layer_norm(x, d, l1w, l1b, eps)
            q, k, v = F.linear(h, aw, ab).view(bsz, 3, nh, hd).unbind(1)
            kc[i, :, :, pos] = k
            vc[i, :, :, pos] = v
            # one query: a plain softmax(q k^T) v; SDPA's threaded kernel stalls on a busy CPU
            att = (q.unsqueeze(2) @ kc[i, :, :, : pos + 1].transpose(-1, -2)) * scale
            y = att.softmax(-1) @ vc[i, :, :, : pos + 1]
            x = x + F.linear(y.reshape(bsz, c.n_embd), pw, pb)
            h = F.gelu(F.linear(F.layer_norm(x, d, l2w, l2b, eps), fw, fb), approximate="tanh")
            x = x + F.linear(h, mw, mb)
        cache["len"] = pos + 1
        return F.linear(F.layer_norm(x, d, lnf_w, lnf_b, eps), wte)

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        config: SamplingConfig | None = None,
        processors: Sequence[LogitsProcessor] = (),
        generator: torch.Generator | None = None,
        tokenizer: CharTokenizer | None = None,
        stream: Callable[[int, str], None] | None = None,
    ) -> list[list[int]]:
        """New token ids for each row of ``idx`` (a batch of equal-length prompts).

        ``tokenizer`` is needed for stop strings, the loop guard on text and streaming.
        """
        was_training = self.training
        self.eval()
        try:
            return sample(
                self.step_fn(),
                idx,
                config or SamplingConfig(),
                processors=processors,
                generator=generator,
                eos_id=tokenizer.eos_id if tokenizer else None,
                decode=tokenizer.decode if tokenizer else None,
                stream=stream,
            )
        finally:
            self.train(was_training)

    # ------------------------------------------------------------------ checkpoints

    def save(
        self,
        path: str | Path,
        tokenizer: CharTokenizer,
        *,
        data_sha256: str = "",
        recipe: str = "",
        extra: dict | None = None,
        dtype: torch.dtype = torch.float16,
    ) -> None:
        """One safetensors file (``checkpoints.save_checkpoint``); the header makes it self-describing."""
        state = {k: v for k, v in self.state_dict().items() if k != "lm_head.weight"}  # tied to wte
        save_checkpoint(
            path,
            state,
            config=asdict(self.config),
            kind=KIND,
            tokenizer=tokenizer.to_dict(),
            data_sha256=data_sha256,
            recipe=recipe,
            metadata={"extra": extra or {}},
            dtype=dtype,
        )

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> tuple[GPT, CharTokenizer, dict[str, Any]]:
        """``(model, tokenizer, metadata)`` from a file written by ``save`` (float32, eval mode)."""
        path = Path(path)
        if not path.is_file():
            raise MuseforgeError(f"no model file at {path}; pass a .safetensors file written by museforge")
        state, meta = load_checkpoint(path, kind=KIND)
        model = cls(GPTConfig(**meta["config"]))
        state = {k: v.float() for k, v in state.items()}
        state["lm_head.weight"] = state["wte.weight"]
        model.load_state_dict(state)
        model.to(device).eval()
        return model, CharTokenizer.from_dict(meta["tokenizer"]), meta
