"""The learned model as a critic: how fluent the built-in poet's GPT finds a continuation.

``Critic.start(prefix)`` opens a ``Draft``; ``Draft.losses(candidates)`` gives each candidate
line's mean per-character loss after the draft (one forward pass over all candidates, the draft's
keys and values kept) and ``Draft.append`` adds the chosen line; the rule poet keeps the
candidate with the lowest loss. Losses are rounded to 1e-4 so that a choice does not hang on the last
bits of a float sum; ties go to the earlier candidate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache

import torch
import torch.nn.functional as F

ROUND = 4


class Critic:
    """A loaded ``text.model.GPT`` and its tokenizer, scoring text."""

    def __init__(self, model: torch.nn.Module, tokenizer: object, sha256: str = "") -> None:
        self.model = model
        self.tok = tokenizer
        self.sha256 = sha256
        self.block = model.config.block_size

    def _run(self, ids: torch.Tensor, past: list | None) -> tuple[torch.Tensor, list]:
        """Final hidden states of ``ids`` after ``past`` and the new keys/values (the model's
        blocks without its output head, which only the scored positions need)."""
        m = self.model
        start = past[0][0].shape[2] if past else 0
        x = m.wte(ids) + m.wpe(torch.arange(start, start + ids.shape[1]))
        cache = []
        for i, block in enumerate(m.h):
            x, kv = block(x, past[i] if past else None)
            cache.append(kv)
        return m.ln_f(x), cache

    def start(self, prefix: str) -> Draft:
        """A draft that begins with ``prefix``; ``Draft.losses`` scores what may come next."""
        return Draft(self, prefix)

    def losses(self, prefix: str, candidates: Sequence[str]) -> list[float]:
        """Mean loss per character of each candidate after ``prefix`` (lower: more fluent)."""
        return self.start(prefix).losses(candidates)

    def text_loss(self, prefix: str, body: str) -> float:
        """Mean loss per character of ``body`` after ``prefix``, line by line (each line is
        scored after the prefix and the lines before it, within the model's context)."""
        total = chars = 0.0
        draft = self.start(prefix)
        for line in body.splitlines(keepends=True):
            if line.strip():
                n = len(self.tok.encode(line))
                total += draft.losses([line])[0] * n
                chars += n
            draft.append(line)
        return total / chars if chars else 0.0


class Draft:
    """A text being written: its keys and values are kept, so each line is run through the model
    once. The same calls in the same order give the same numbers (no cache is shared)."""

    def __init__(self, critic: Critic, prefix: str) -> None:
        self.critic = critic
        self.ids = critic.tok.encode(prefix) or critic.tok.encode("\n")
        self.past: list | None = None
        self.last: torch.Tensor | None = None  # hidden state after the text so far
        self._rebuild(critic.block // 2)

    @torch.no_grad()
    def _rebuild(self, room: int) -> None:
        """Run the most recent text that leaves ``room`` tokens of context free."""
        self.past = None
        self._run(self.ids[-max(1, self.critic.block - room) :])

    def _run(self, ids: list[int]) -> None:
        with _one_thread():
            hidden, self.past = self.critic._run(torch.tensor([ids]), self.past)
        self.last = hidden[:, -1:, :]

    def _seen(self) -> int:
        return self.past[0][0].shape[2] if self.past else 0

    @torch.no_grad()
    def append(self, text: str) -> None:
        """Add ``text`` (a chosen line) to the draft."""
        ids = self.critic.tok.encode(text)
        if not ids:
            return
        self.ids += ids
        if self._seen() + len(ids) > self.critic.block:
            self._rebuild(self.critic.block // 2)
        else:
            self._run(ids)

    @torch.no_grad()
    def losses(self, candidates: Sequence[str]) -> list[float]:
        """Mean loss per character of each candidate after the draft (lower: more fluent);
        candidates of different lengths are scored on their own characters only."""
        m = self.critic.model
        encoded = [self.critic.tok.encode(c) for c in candidates]
        n, width = len(encoded), max(len(e) for e in encoded)
        ids = torch.tensor([e + [0] * (width - len(e)) for e in encoded])
        if self._seen() + width > self.critic.block:
            self._rebuild(width)
        assert self.past is not None and self.last is not None
        past = [(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in self.past]
        with _one_thread():
            hidden, _ = self.critic._run(ids, past)
        states = torch.cat([self.last.expand(n, -1, -1), hidden[:, :-1, :]], dim=1)
        logits = m.lm_head(states)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids.reshape(-1), reduction="none").view(
            n, width
        )
        mask = torch.tensor([[1.0] * len(e) + [0.0] * (width - len(e)) for e in encoded])
        mean = (ce * mask).sum(1) / mask.sum(1).clamp(min=1)
        return [round(float(x), ROUND) for x in mean]


@contextmanager
def _one_thread() -> Iterator[None]:
    """Small batches: one thread is faster on a busy CPU and keeps sums in one order."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@cache
def default_critic() -> Critic | None:
    """The built-in poet's model as a critic, or None when it is not installed."""
    from museforge.hashing import sha256_file
    from museforge.text.model import GPT
    from museforge.text.poet import default_model_path

    path = default_model_path()
    if not path.is_file():
        return None
    model, tok, _ = GPT.load(path)
    return Critic(model, tok, sha256_file(path))


def pick(losses: Sequence[float]) -> int:
    """The index of the lowest loss (the first on a tie).

    >>> pick([2.5, 1.25, 1.25])
    1
    """
    return min(range(len(losses)), key=lambda i: (losses[i], i))
