"""Character-level tokenizer: one token per character, plus a few special tokens.

Special tokens are written in angle brackets (``<qijue>``, ``<sonnet>``, ``<eos>``) and are
matched whole; every other character is its own token. A character the vocabulary lacks is
reported (``unknown``), never a crash: ``encode`` drops it, or raises only when asked to.

>>> tok = CharTokenizer.build(["ab c"], specials=("<eos>",))
>>> tok.encode("ab<eos>")
[2, 3, 0]
>>> tok.decode(tok.encode("ab c"))
'ab c'
>>> tok.unknown("abz")
['z']
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from museforge.errors import MuseforgeError

SPECIALS: tuple[str, ...] = (
    "<eos>",
    "<wujue>",
    "<qijue>",
    "<wulv>",
    "<qilv>",
    "<zhfree>",
    "<sonnet>",
    "<verse>",
    "<haiku>",
)
"""Special tokens of the poet: end of text, and one tag per form (the first token of a text)."""


@dataclass
class CharTokenizer:
    """A vocabulary: special tokens first, then characters in sorted order."""

    specials: tuple[str, ...]
    chars: str

    def __post_init__(self) -> None:
        self.itos: list[str] = [*self.specials, *self.chars]
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}
        pattern = "|".join(re.escape(s) for s in sorted(self.specials, key=len, reverse=True))
        self._split = re.compile(f"({pattern})") if pattern else None

    @classmethod
    def build(cls, texts: Iterable[str], specials: tuple[str, ...] = SPECIALS) -> CharTokenizer:
        """A vocabulary of every character in ``texts`` (special tokens taken out first)."""
        seen: set[str] = set()
        for text in texts:
            for s in specials:
                text = text.replace(s, "")
            seen.update(text)
        return cls(tuple(specials), "".join(sorted(seen)))

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    @property
    def eos_id(self) -> int:
        return self.stoi["<eos>"]

    def _pieces(self, text: str) -> list[str]:
        if self._split is None:
            return list(text)
        out: list[str] = []
        for part in self._split.split(text):
            if part in self.stoi and part in self.specials:
                out.append(part)
            else:
                out.extend(part)
        return out

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that the vocabulary lacks, in order of appearance."""
        return list(dict.fromkeys(p for p in self._pieces(text) if p not in self.stoi))

    def encode(self, text: str, strict: bool = False) -> list[int]:
        """Token ids of ``text``; unknown characters are dropped (or, if ``strict``, an error)."""
        if strict and (missing := self.unknown(text)):
            raise MuseforgeError(
                "the model's vocabulary lacks these characters: "
                + "".join(missing)
                + "; rephrase without them"
            )
        return [self.stoi[p] for p in self._pieces(text) if p in self.stoi]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of token ids; special tokens are kept as written."""
        return "".join(self.itos[i] for i in ids)

    def to_dict(self) -> dict[str, Any]:
        return {"specials": list(self.specials), "chars": self.chars}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> CharTokenizer:
        return cls(tuple(obj["specials"]), obj["chars"])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> CharTokenizer:
        return cls.from_dict(json.loads(data))
