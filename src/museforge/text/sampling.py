"""Sampling controls as in transformers' ``generate()``, in one explicit loop with a KV cache.

A logits processor is any callable ``(input_ids [B, T], scores [B, V]) -> scores``: the same
signature as ``transformers.LogitsProcessor``, so form constraints written once serve both our
models and a user's transformers model. Order per step: user processors (form constraints,
mood bias), repetition penalty, no-repeat n-gram, min length, then temperature, top-k, top-p
and a draw from the ``torch.Generator``. Stop strings are matched on decoded text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from museforge.errors import MuseforgeError

LogitsProcessor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
StepFn = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]


@dataclass(frozen=True)
class SamplingConfig:
    """What users know from ``generate()``; ``temperature=0`` means greedy."""

    temperature: float = field(default=0.8, metadata={"help": "softmax temperature; 0 = greedy"})
    top_k: int = field(default=0, metadata={"help": "keep the k likeliest tokens (0 = off)"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus: keep tokens up to this mass"})
    min_new_tokens: int = field(default=0, metadata={"help": "end of text forbidden before this"})
    max_new_tokens: int = field(default=200, metadata={"help": "stop after this many tokens"})
    repetition_penalty: float = field(default=1.0, metadata={"help": "> 1 discourages used tokens"})
    no_repeat_ngram_size: int = field(default=0, metadata={"help": "forbid repeating n-grams"})
    stop_strings: tuple[str, ...] = field(default=(), metadata={"help": "stop at these texts"})
    loop_guard: int = field(default=3, metadata={"help": "stop when a chunk repeats this often"})

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise MuseforgeError("temperature must be >= 0")
        if not 0 < self.top_p <= 1:
            raise MuseforgeError("top_p must be in (0, 1]")
        if self.max_new_tokens < 1 or self.max_new_tokens > 10_000:
            raise MuseforgeError("max_new_tokens must be between 1 and 10000")
        if self.min_new_tokens < 0 or self.min_new_tokens > self.max_new_tokens:
            raise MuseforgeError("min_new_tokens must be between 0 and max_new_tokens")
        if self.repetition_penalty <= 0:
            raise MuseforgeError("repetition_penalty must be > 0")
        if self.top_k < 0 or self.no_repeat_ngram_size < 0 or self.loop_guard < 0:
            raise MuseforgeError("top_k, no_repeat_ngram_size and loop_guard must be >= 0")


def repetition_penalty(input_ids: torch.Tensor, scores: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL's penalty (as transformers): a used token's positive logit is divided, a negative
    one multiplied, by ``penalty``."""
    if penalty == 1.0:
        return scores
    used = torch.gather(scores, 1, input_ids)
    used = torch.where(used < 0, used * penalty, used / penalty)
    return scores.scatter(1, input_ids, used)


def banned_ngram_tokens(ids: Sequence[int], n: int) -> set[int]:
    """Tokens that would complete an n-gram already present in ``ids``.

    >>> sorted(banned_ngram_tokens([1, 2, 3, 1, 2], 3))
    [3]
    """
    if n <= 0 or len(ids) < n:
        return set()
    prefix = tuple(ids[len(ids) - n + 1 :])
    return {ids[i + n - 1] for i in range(len(ids) - n + 1) if tuple(ids[i : i + n - 1]) == prefix}


def top_k_filter(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits per row, the rest -inf."""
    if k <= 0 or k >= scores.shape[-1]:
        return scores
    kth = torch.topk(scores, k, dim=-1).values[:, -1:]
    return scores.masked_fill(scores < kth, float("-inf"))


def top_p_filter(scores: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest set of likeliest tokens whose probability reaches ``p`` (always one)."""
    if p >= 1.0:
        return scores
    sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
    probs = sorted_scores.softmax(-1)
    drop = probs.cumsum(-1) - probs >= p
    drop[:, 0] = False
    return scores.masked_fill(drop.scatter(1, order, drop), float("-inf"))


def loop_length(text: str, repeats: int, min_chars: int = 12) -> int:
    """Length of the repeated tail if ``text`` ends with one chunk repeated ``repeats`` times
    (covering at least ``min_chars``), else 0.

    >>> loop_length("and the sea and the sea and the sea ", 3)
    24
    >>> loop_length("a quiet line", 3)
    0
    """
    if repeats < 2:
        return 0
    for period in range(1, len(text) // repeats + 1):
        if period * repeats < min_chars:
            continue
        chunk = text[-period:]
        if text.endswith(chunk * repeats):
            return period * (repeats - 1)
    return 0


@torch.no_grad()
def sample(
    step: StepFn,
    prompt: torch.Tensor,
    config: SamplingConfig,
    *,
    processors: Sequence[LogitsProcessor] = (),
    generator: torch.Generator | None = None,
    eos_id: int | None = None,
    decode: Callable[[Sequence[int]], str] | None = None,
    stream: Callable[[int, str], None] | None = None,
) -> list[list[int]]:
    """Draw up to ``max_new_tokens`` per row; return each row's new ids (stop text included,
    a repetition loop cut off, end-of-text dropped).

    ``step(seq, cache) -> (logits of the last position [B, V], cache)``; ``stream(row, piece)``
    is called with each new token's text as it is drawn.
    """
    cfg = config
    if prompt.ndim != 2 or prompt.shape[1] == 0:
        raise MuseforgeError("the prompt is empty; give at least one token")
    batch, t0 = prompt.shape
    buf = torch.empty(batch, t0 + cfg.max_new_tokens, dtype=prompt.dtype, device=prompt.device)
    buf[:, :t0] = prompt
    seq = prompt
    cache = None
    check = bool(processors) or eos_id is not None
    out: list[list[int]] = [[] for _ in range(batch)]
    done = [False] * batch
    texts = [""] * batch
    need_text = decode is not None and (cfg.stop_strings or cfg.loop_guard or stream)
    longest_stop = max((len(s) for s in cfg.stop_strings), default=0)
    for n in range(cfg.max_new_tokens):
        logits, cache = step(seq, cache)
        scores = logits.float()
        for proc in processors:
            scores = proc(seq, scores)
        scores = repetition_penalty(seq, scores, cfg.repetition_penalty)
        if cfg.no_repeat_ngram_size:
            for row in range(batch):
                banned = banned_ngram_tokens(seq[row].tolist(), cfg.no_repeat_ngram_size)
                if banned:
                    scores[row, list(banned)] = float("-inf")
        if eos_id is not None and n < cfg.min_new_tokens:
            scores[:, eos_id] = float("-inf")
        if cfg.temperature == 0:
            nxt = scores.argmax(-1, keepdim=True)
        elif 0 < cfg.top_k < scores.shape[-1] and cfg.top_p >= 1.0:
            # draw among the k best only: the same distribution, a k-wide multinomial
            vals, idx = torch.topk(scores / cfg.temperature, cfg.top_k, dim=-1)
            probs = vals.softmax(-1)
            if check:
                bad = ~torch.isfinite(probs).all(-1)
                if bad.any():  # every token masked: fall back to end of text (or the likeliest)
                    probs[bad] = 0.0
                    probs[bad, 0] = 1.0
                    idx[bad, 0] = eos_id if eos_id is not None else 0
            nxt = idx.gather(1, torch.multinomial(probs, 1, generator=generator))
        else:
            scores = top_p_filter(top_k_filter(scores / cfg.temperature, cfg.top_k), cfg.top_p)
            probs = scores.softmax(-1)
            if check:
                bad = ~torch.isfinite(probs).all(-1)
                if bad.any():  # every token masked: fall back to end of text (or the likeliest)
                    probs[bad] = 0.0
                    probs[bad, eos_id if eos_id is not None else 0] = 1.0
            nxt = torch.multinomial(probs, 1, generator=generator)
        buf[:, t0 + n] = nxt[:, 0]
        seq = buf[:, : t0 + n + 1]
        if not need_text and eos_id is None:
            for row, tok in enumerate(nxt[:, 0].tolist()):
                out[row].append(tok)
            continue
        for row, tok in enumerate(nxt[:, 0].tolist()):
            if done[row]:
                continue
            if tok == eos_id:
                done[row] = True
                continue
            out[row].append(tok)
            if not need_text:
                continue
            assert decode is not None
            piece = decode([tok])
            texts[row] += piece
            if stream:
                stream(row, piece)
            tail = texts[row][-(longest_stop + len(piece) + 1) :]
            if any(s in tail for s in cfg.stop_strings):
                done[row] = True
            elif cfg.loop_guard and (cut := loop_length(texts[row][-400:], cfg.loop_guard)):
                texts[row] = texts[row][:-cut]
                while out[row] and len(decode(out[row])) > len(texts[row]):
                    out[row].pop()
                done[row] = True
        if all(done):
            break
    return out
