"""Text originality: a hashed n-gram index over the poet's training corpus.

Three kinds of keys, each a 64-bit BLAKE2 hash kept in one sorted ``numpy`` array:

* every whole corpus line (normalised: Han characters for Chinese, lower-case words for English);
* every run of ``ZH_RUN`` (10) Han characters of a Chinese poem (lines joined);
* every run of ``EN_RUN`` (8) words of English text (lines joined).

A generated poem is a copy if any of its lines is a corpus line or any of its runs is in the
index. Lines shorter than 4 characters / 3 words are not indexed as lines (too common to mean
copying). Only hashes are stored, not text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from museforge.errors import MuseforgeError

ZH_RUN = 10
EN_RUN = 8
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[a-z']+")


LINE_DIM = 256
"""Width of a line's hashed character-gram vector (near matches of single lines)."""


@cache
def _t2s() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def normalise_line(line: str) -> str:
    """A line as the index compares it: Han characters in simplified forms (variant characters
    folded), punctuation and spaces dropped; English lower-cased words.

    >>> normalise_line("白日依山盡，"), normalise_line("The Rose, the  Lily!")
    ('白日依山尽', 'the rose the lily')
    """
    han = _zh(line)
    if han:
        return _t2s().convert(han)  # type: ignore[attr-defined]
    return " ".join(_en(line))


def line_vectors(lines: Sequence[str]) -> np.ndarray:
    """``[N, LINE_DIM]`` float32, unit length: each normalised line's character unigrams and
    bigrams, feature-hashed (signed) into ``LINE_DIM`` buckets. Lines sharing most characters in
    order have a high cosine; an empty line is the zero vector.

    >>> v = line_vectors(["白日依山尽", "白日依山盡", "黄河入海流"])
    >>> round(float(v[0] @ v[1]), 3), bool(v[0] @ v[2] < 0.5)
    (1.0, True)
    """
    out = np.zeros((len(lines), LINE_DIM), dtype=np.float32)
    for row, line in enumerate(lines):
        text = normalise_line(line)
        grams = list(text) + [text[i : i + 2] for i in range(len(text) - 1)]
        for gram in grams:
            h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little")
            out[row, h % LINE_DIM] += 1.0 if (h >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(out[row]))
        if norm:
            out[row] /= norm
    return out


def _h(kind: str, text: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{kind}:{text}".encode(), digest_size=8).digest(), "little")


def _zh(line: str) -> str:
    return "".join(_HAN.findall(line))


def _en(line: str) -> list[str]:
    return _WORD.findall(line.lower())


def keys(lines: Sequence[str], lang: str) -> list[tuple[str, int]]:
    """``(readable key, hash)`` for a poem's lines: its lines and runs.

    >>> [k for k, _ in keys(["白日依山尽", "黄河入海流"], "zh")]
    ['line:白日依山尽', 'line:黄河入海流', 'run:白日依山尽黄河入海流']
    """
    out: list[tuple[str, int]] = []
    if lang == "zh":
        norm = [_zh(ln) for ln in lines]
        out += [(f"line:{n}", _h("L", n)) for n in norm if len(n) >= 4]
        joined = "".join(norm)
        out += [
            (f"run:{joined[i : i + ZH_RUN]}", _h("Z", joined[i : i + ZH_RUN]))
            for i in range(len(joined) - ZH_RUN + 1)
        ]
    else:
        words_per_line = [_en(ln) for ln in lines]
        out += [(f"line:{' '.join(w)}", _h("L", " ".join(w))) for w in words_per_line if len(w) >= 3]
        words = [w for ws in words_per_line for w in ws]
        out += [
            (f"run:{' '.join(words[i : i + EN_RUN])}", _h("E", " ".join(words[i : i + EN_RUN])))
            for i in range(len(words) - EN_RUN + 1)
        ]
    return out


@dataclass
class TextIndex:
    """Sorted unique hashes of the corpus keys."""

    hashes: np.ndarray

    def __contains__(self, h: int) -> bool:
        i = int(np.searchsorted(self.hashes, np.uint64(h)))
        return i < len(self.hashes) and int(self.hashes[i]) == h

    def hits(self, lines: Sequence[str], lang: str) -> list[str]:
        """The readable keys of a poem found in the corpus (empty: original)."""
        return [k for k, h in keys(lines, lang) if h in self]

    def save(self, path: Path) -> None:
        np.savez_compressed(path, hashes=self.hashes)

    @classmethod
    def load(cls, path: Path) -> TextIndex:
        try:
            return cls(np.load(path)["hashes"])
        except Exception as err:
            raise MuseforgeError(f"cannot read the copy index {path} ({err})") from err


def build_index(docs: Iterable[str]) -> TextIndex:
    """An index over training documents (form tag, Chinese title line, ``<eos>`` ignored)."""
    hs: list[int] = []
    for doc in docs:
        body = re.sub(r"<[a-z]+>", "", doc)
        lines = [ln for ln in body.split("\n") if ln.strip() and not ln.startswith("《")]
        lang = "zh" if _HAN.search(body) else "en"
        hs += [h for _, h in keys(lines, lang)]
    return TextIndex(np.unique(np.array(hs, dtype=np.uint64)))


@cache
def default_index() -> TextIndex | None:
    """The index shipped beside the poet's model, or None if it is missing."""
    from museforge.runtime import models_root

    path = models_root() / "text-poet" / "corpus_index.npz"
    return TextIndex.load(path) if path.is_file() else None


def copy_rate(poems: Sequence[Sequence[str]], lang: str, index: TextIndex) -> float:
    """Share of poems with at least one hit."""
    return sum(bool(index.hits(p, lang)) for p in poems) / max(1, len(poems))
