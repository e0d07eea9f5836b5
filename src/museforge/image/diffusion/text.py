"""The prompt side of the diffusion model: a bilingual tokenizer, a small text encoder trained
with the UNet, and the Chinese and English captions it learns from.

Why not the MiniLM sentence embedder that ships offline: it reads English only (Chinese prompts
give weak vectors), it returns one pooled vector where cross-attention wants one vector per word,
and its 22 M parameters are nearly twice the whole image model. The encoder here reads English
words and Chinese characters alike, 77 tokens at most as CLIP does, and learns from captions
rendered in both languages from the same labels (style, motifs, colours, mood), so "一幅水墨画，
群山和月亮" and "an ink wash painting of mountains and the moon" ask for the same picture.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

MAX_TOKENS = 77
PAD, UNK, BOS = "[pad]", "[unk]", "[bos]"
SPECIAL = (PAD, UNK, BOS)

_TOKEN = re.compile(r"[a-z]+|[\u3400-\u9fff\uf900-\ufaff]")


def tokenize(text: str) -> list[str]:
    """English words (lower case) and Chinese characters; everything else separates them.

    >>> tokenize("A stormy sea, 夜晚的海!")
    ['a', 'stormy', 'sea', '夜', '晚', '的', '海']
    """
    return _TOKEN.findall(text.lower())


class Tokenizer:
    """Tokens to ids over a fixed vocabulary; unknown tokens become ``[unk]``."""

    def __init__(self, vocab: Sequence[str]) -> None:
        if tuple(vocab[: len(SPECIAL)]) != SPECIAL:
            raise ValueError(f"a vocabulary starts with {SPECIAL}")
        self.vocab = list(vocab)
        self.ids = {t: i for i, t in enumerate(self.vocab)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> Tokenizer:
        counts: dict[str, int] = {}
        for text in texts:
            for token in tokenize(text):
                counts[token] = counts.get(token, 0) + 1
        words = sorted(t for t, c in counts.items() if c >= min_count)
        return cls([*SPECIAL, *words])

    def extended(self, texts: Iterable[str]) -> Tokenizer:
        """This vocabulary plus the new tokens of ``texts`` (appended, so old ids stay)."""
        new = sorted({t for text in texts for t in tokenize(text)} - set(self.ids))
        return Tokenizer([*self.vocab, *new])

    def encode(self, text: str) -> tuple[list[int], int]:
        """``[bos]`` and the token ids, cut to ``MAX_TOKENS``; and how many tokens were cut."""
        tokens = tokenize(text)
        ids = [self.ids[BOS], *(self.ids.get(t, 1) for t in tokens)]
        return ids[:MAX_TOKENS], max(0, len(ids) - MAX_TOKENS)

    def unknown(self, text: str) -> list[str]:
        return [t for t in tokenize(text) if t not in self.ids]

    def batch(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Ids ``[B, 77]`` (padded) and the mask of real tokens ``[B, 77]``."""
        ids = torch.zeros(len(texts), MAX_TOKENS, dtype=torch.long)
        for row, text in enumerate(texts):
            encoded, _ = self.encode(text)
            ids[row, : len(encoded)] = torch.tensor(encoded)
        return ids, ids != 0


@dataclass(frozen=True)
class TextEncoderConfig:
    vocab_size: int
    width: int = 256
    layers: int = 2
    heads: int = 4

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TextEncoderConfig:
        return cls(**{k: d[k] for k in ("vocab_size", "width", "layers", "heads") if k in d})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TextEncoder(nn.Module):
    """Token and position embeddings and a small pre-norm transformer: one vector per token,
    for the UNet's cross-attention."""

    def __init__(self, cfg: TextEncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.token = nn.Embedding(cfg.vocab_size, cfg.width)
        self.position = nn.Parameter(torch.zeros(MAX_TOKENS, cfg.width))
        layer = nn.TransformerEncoderLayer(cfg.width, cfg.heads, 2 * cfg.width, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.width)
        nn.init.normal_(self.token.weight, std=0.02)
        nn.init.normal_(self.position, std=0.01)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.token(ids) + self.position[: ids.shape[1]]
        return self.norm(self.blocks(x, src_key_padding_mask=~mask))

    def grow(self, vocab_size: int) -> None:
        """Room for new tokens (a fine-tune on new words): new rows start at the mean embedding."""
        old = self.token.weight.data
        if vocab_size <= old.shape[0]:
            return
        token = nn.Embedding(vocab_size, old.shape[1])
        token.weight.data[: old.shape[0]] = old
        token.weight.data[old.shape[0]:] = old[len(SPECIAL):].mean(0)
        self.token = token
        self.cfg = TextEncoderConfig(vocab_size, self.cfg.width, self.cfg.layers, self.cfg.heads)


# ---------------------------------------------------------------- captions in two languages

STYLE_WORDS = {
    "flow-field": ("a swirling flow-field painting with thick brushstrokes", "流动笔触的油画"),
    "ink-wash": ("an ink wash painting", "水墨画"),
    "geometric": ("a geometric abstract painting", "几何抽象画"),
    "pointillism": ("a pointillist painting of small colour dots", "点彩画"),
    "botanical": ("a botanical illustration", "植物图谱"),
    "stained-glass": ("a stained glass window", "彩色玻璃窗"),
}
"""Style -> (English, Chinese). The English matches the procedural set's captions."""

MOTIF_WORDS = {
    "forest": ("a forest", "森林"), "tree": ("a lone tree", "孤树"), "mountain": ("mountains", "群山"),
    "sea": ("the sea", "大海"), "river": ("a river", "河流"), "moon": ("the moon", "月亮"),
    "sun": ("the sun", "太阳"), "stars": ("stars", "星空"), "city": ("a city", "城市"),
    "flower": ("flowers", "花朵"), "bird": ("birds", "飞鸟"), "night": ("night", "夜晚"),
    "snow": ("snow", "雪"), "storm": ("a storm", "风暴"), "cloud": ("clouds", "云"),
}
"""Motif -> (English, Chinese); each Chinese word is one the procedural painter also reads."""

COLOUR_WORDS = {
    "red": "红", "orange": "橙", "yellow": "黄", "green": "绿", "teal": "青", "blue": "蓝",
    "violet": "紫", "pink": "粉", "brown": "棕", "black": "黑", "white": "白", "grey": "灰",
    "charcoal": "炭灰",
}
SHADE_WORDS = {"dark": "深", "pale": "浅"}

MOOD_WORDS = {
    "joyful": ("joyful", "欢快"), "awed": ("awed", "壮阔"), "serene": ("serene", "宁静"),
    "nostalgic": ("nostalgic", "怀旧"), "melancholy": ("melancholy", "忧郁"),
    "mysterious": ("mysterious", "神秘"), "tense": ("tense", "紧张"), "angry": ("angry", "愤怒"),
}


def colour_zh(name: str) -> str:
    """A colour name of the procedural set's captions, in Chinese.

    >>> colour_zh("dark blue"), colour_zh("pale pink"), colour_zh("grey")
    ('深蓝色', '浅粉色', '灰色')
    """
    shade, _, hue = name.rpartition(" ")
    return SHADE_WORDS.get(shade, "") + COLOUR_WORDS.get(hue, hue) + "色"


def _and(words: list[str], zh: bool) -> str:
    if zh:
        return words[0] if len(words) == 1 else "、".join(words[:-1]) + "和" + words[-1]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def caption(item: Mapping[str, Any], lang: str, rng: np.random.Generator | None = None) -> str:
    """A caption of a procedural-set item (style, motifs, colours, mood) in ``lang``; with
    ``rng``, a random part of it (each label kept or dropped, colours and order varied), as people
    write prompts: a style alone, motifs alone, a mood and a subject.

    >>> item = {"style": "ink-wash", "motifs": ["mountain", "moon"], "mood": "serene",
    ...         "colours": ["dark blue", "grey"]}
    >>> caption(item, "en")
    'an ink wash painting of mountains and the moon, in dark blue and grey, serene mood'
    >>> caption(item, "zh")
    '一幅水墨画，画着群山和月亮，深蓝色和灰色，宁静的氛围'
    """
    zh = lang == "zh"
    keep = (lambda p: rng.random() < p) if rng is not None else (lambda p: True)
    style = STYLE_WORDS[item["style"]][zh] if item.get("style") in STYLE_WORDS and keep(0.8) else ""
    motifs = [MOTIF_WORDS[m][zh] for m in item.get("motifs", ()) if m in MOTIF_WORDS and keep(0.9)]
    colours = list(item.get("colours", ()))
    if rng is not None:
        colours = colours[: int(rng.integers(0, len(colours) + 1))] if keep(0.5) else []
    colours = [colour_zh(c) if zh else c for c in colours]
    mood = MOOD_WORDS[item["mood"]][zh] if item.get("mood") in MOOD_WORDS and keep(0.6) else ""
    if zh:
        subject = (("画着" if style else "") + _and(motifs, True)) if motifs else ""
        parts = [f"一幅{style}" if style else "", subject, _and(colours, True) if colours else "",
                 f"{mood}的氛围" if mood else ""]
        return "，".join(p for p in parts if p)
    head = style + (" of " if style and motifs else "") + (_and(motifs, False) if motifs else "")
    parts = [head, f"in {_and(colours, False)}" if colours else "", f"{mood} mood" if mood else ""]
    return ", ".join(p for p in parts if p)


def vocabulary_texts() -> list[str]:
    """Every word the captions can use, both languages: the vocabulary of the built-in model."""
    words = [w for pair in (*STYLE_WORDS.values(), *MOTIF_WORDS.values(), *MOOD_WORDS.values()) for w in pair]
    words += [*COLOUR_WORDS, *COLOUR_WORDS.values(), *SHADE_WORDS, *SHADE_WORDS.values()]
    words += ["一幅画着的氛围色和在下上里中与", "in of and mood a an the at on with under over by from near "
              "above below beneath across through into during painting picture image"]
    from museforge.image.procedural.motifs import KEYWORD_MOTIFS

    return [*words, *KEYWORD_MOTIFS]
