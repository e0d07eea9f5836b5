"""The text family: the character-level GPT poet (``museforge.text.model``), on any texts.

Each text becomes one document as the built-in poet was trained: a Chinese poem of equal lines
gets its form tag (``<qijue>`` ...) and a title line, anything else ``<verse>``; batches are windows
of ``block_size + 1`` tokens starting at a document start. ``--from`` fine-tunes a GPT file: its
vocabulary grows by the characters the new texts add (new rows start at the mean embedding).
``goldfish_k`` > 0 drops the loss of the tokens the goldfish mask picks
(:mod:`museforge.originality.novelty`), so verbatim recall of the training texts goes unlearned.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from museforge.originality.novelty import DEFAULT_H, goldfish_keep
from museforge.text.corpus import split_zh_lines, zh_document
from museforge.text.model import GPT, GPTConfig
from museforge.text.tokenizer import CharTokenizer
from museforge.train.loop import Family

SHAPE = {"n_layer": 4, "n_head": 4, "n_embd": 192, "block_size": 128}
"""The built-in poet's shape, used when training from scratch."""
EVAL_WINDOWS = 64
_CJK = re.compile(r"[\u3400-\u9fff]")


def as_document(text: str, title: str = "") -> str:
    """A training document of ``text`` (a tagged Chinese poem, or ``<verse>``).

    >>> as_document("白日依山尽，黄河入海流。\\n欲穷千里目，更上一层楼。", "登鹳雀楼")
    '<wujue>《登鹳雀楼》\\n白日依山尽，\\n黄河入海流。\\n欲穷千里目，\\n更上一层楼。<eos>'
    >>> as_document("Shall I compare thee\\nto a summer's day?")
    "<verse>\\nShall I compare thee\\nto a summer's day?<eos>"
    """
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    cjk = sum(len(_CJK.findall(ln)) for ln in lines)
    if lines and cjk > 0.5 * sum(len(ln) for ln in lines):
        return zh_document(title or "无题", split_zh_lines(lines))
    return "<verse>\n" + "\n".join(lines) + "<eos>"


def grow_vocab(model: GPT, size: int) -> None:
    """Give ``model`` ``size`` token rows; new rows start at the mean of the old (tied head)."""
    old = model.wte.weight.data
    if size <= old.shape[0]:
        return
    grown = torch.nn.Embedding(size, old.shape[1])
    grown.weight.data[: old.shape[0]] = old
    grown.weight.data[old.shape[0] :] = old.mean(0)
    model.wte = grown
    model.lm_head.weight = model.wte.weight
    model.config.vocab_size = size


class TextFamily(Family):
    """The GPT poet on documents ``train`` (held out: ``val``)."""

    def __init__(
        self,
        train: list[str] | dict[str, list[str]],
        val: list[str] | dict[str, list[str]],
        *,
        mix: dict[str, float] | None = None,
        base: Path | None = None,
        shape: dict[str, int] | None = None,
        data_sha256: str = "",
        recipe: str = "museforge train text",
        extra_chars: str = "",
        goldfish_k: int = 0,
        goldfish_h: int = DEFAULT_H,
    ) -> None:
        train_sets = train if isinstance(train, dict) else {"all": train}
        val_sets = val if isinstance(val, dict) else {"all": val}
        every = [d for docs in (*train_sets.values(), *val_sets.values()) for d in docs]
        if base is not None:
            model, tok, meta = GPT.load(base)
            new = "".join(CharTokenizer.build([*every, extra_chars], tok.specials).chars)
            added = "".join(c for c in new if c not in tok.stoi)
            tok = CharTokenizer(tok.specials, tok.chars + added)
            grow_vocab(model, tok.vocab_size)
            self.base_meta: dict[str, Any] = {
                "from": str(base),
                "from_data_sha256": meta.get("data_sha256", ""),
            }
        else:
            tok = CharTokenizer.build([*every, extra_chars])
            torch.manual_seed(0)
            model = GPT(GPTConfig(vocab_size=tok.vocab_size, **(shape or SHAPE)))
            self.base_meta = {}
        super().__init__(name="text", model=model.train())
        self.tokenizer, self.data_sha256, self.recipe = tok, data_sha256, recipe
        self.goldfish_k, self.goldfish_h = goldfish_k, goldfish_h
        self.block = model.config.block_size
        self.mix = mix or {name: 1.0 / len(train_sets) for name in train_sets}
        self.train_streams = {name: self._stream(docs) for name, docs in train_sets.items()}
        self.val_streams = {name: self._stream(docs or train_sets[name]) for name, docs in val_sets.items()}
        self.train_ids, self.train_starts, _ = next(iter(self.train_streams.values()))

    def _counts(self, size: int) -> list[tuple[str, int]]:
        """Windows per stream in a batch of ``size`` (the last stream takes the rounding)."""
        names = list(self.train_streams)
        counts = [round(size * self.mix[n]) for n in names[:-1]]
        return [*zip(names[:-1], counts, strict=True), (names[-1], size - sum(counts))]

    def _stream(self, docs: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids: list[int] = []
        starts: list[int] = []
        for doc in docs:
            starts.append(len(ids))
            ids += self.tokenizer.encode(doc)
        pad = self.block + 1 - len(ids)
        if pad > 0:  # fewer tokens than one window: repeat the stream
            ids = (ids * (self.block // max(1, len(ids)) + 2))[: self.block + 1 + len(ids)]
        tokens, begins = torch.tensor(ids, dtype=torch.long), torch.tensor(starts, dtype=torch.long)
        return tokens, begins, goldfish_keep(tokens, self.goldfish_k, self.goldfish_h, starts=begins)

    def _windows(
        self,
        ids: torch.Tensor,
        starts: torch.Tensor,
        keep: torch.Tensor,
        size: int,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Inputs, targets and the targets' loss mask of ``size`` windows starting at documents."""
        pick = starts[torch.randint(len(starts), (size,), generator=generator)]
        pick = pick.clamp(max=len(ids) - self.block - 1)
        at = pick[:, None] + torch.arange(self.block + 1)
        window = ids[at]
        return window[:, :-1], window[:, 1:], keep[at[:, 1:]]

    def fingerprint(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "family": "text",
            "config": asdict(self.model.config),
            "data": self.data_sha256,
            "vocab": self.tokenizer.chars,
            "mix": self.mix,
            "goldfish_k": self.goldfish_k,
            **self.base_meta,
        }

    def batch(self, generator: torch.Generator, size: int) -> tuple[torch.Tensor, ...]:
        parts = [
            self._windows(*self.train_streams[name], n, generator) for name, n in self._counts(size) if n
        ]
        return tuple(torch.cat([p[i] for p in parts]) for i in range(3))

    def loss(self, model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x, y, keep = batch
        return model(x, y, loss_mask=keep if self.goldfish_k else None)[1]

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        out = {}
        for name, stream in self.val_streams.items():
            x, y, _ = self._windows(*stream, EVAL_WINDOWS, torch.Generator().manual_seed(0))
            out[f"loss_{name}"] = float(model(x, y)[1])
        loss = sum(self.mix.get(n, 0.0) * out[f"loss_{n}"] for n in self.val_streams) / sum(
            self.mix.get(n, 0.0) for n in self.val_streams
        )
        if len(out) == 1:
            out = {}
        return {"loss": loss, "bits_per_char": loss / 0.6931471805599453, **out}

    def save(self, model: torch.nn.Module, path: Path, metrics: dict[str, float]) -> None:
        model.save(
            path,
            self.tokenizer,
            data_sha256=self.data_sha256,
            recipe=self.recipe,
            extra={"held_out": metrics, "goldfish_k": self.goldfish_k, **self.base_meta},
        )
