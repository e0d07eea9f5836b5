"""The poem index: which training poems a poem's lines come from, exactly or within one edit.

Every training line is normalised (:func:`~museforge.originality.text.normalise_line`: Han
characters folded to simplified forms, punctuation and spaces dropped; English lower-cased
words) and kept as a 64-bit hash with the poem it belongs to. Chinese lines of five characters
or more also keep their *deletion neighbourhood*: the hashes of the line with each one character
left out. Two lines that differ in one character (a variant form opencc does not fold, a
substituted word) share one of those, and a line with one character added or dropped hashes to
one of the other's; so a near match within one edit is a lookup, as exact as a verbatim one
and independent of the index's size (a binary search in a sorted array).

A poem's **score** is its similarity to its nearest training poem: the share of its lines (of
four characters / three words or more) that one training poem holds exactly or within one edit,
or, when higher, the share of its characters covered by verbatim runs of ``ZH_RUN`` characters
(the run index of :mod:`museforge.originality.text`, which catches a copy whose line breaks
moved). Reordering, punctuation and variant characters leave a copied poem's score at 1.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from museforge.errors import MuseforgeError
from museforge.originality.text import (
    ZH_RUN,
    TextIndex,
    _h,
    _zh,
    keys,
    normalise_line,
)
from museforge.originality.verdicts import Match, Thresholds, Verdict

FEATURES = "poem-lines:t2s-han|en-words:blake2b64:del1-zh5:v1"
FILE = "originality.npz"
MEASURE = "share of the poem's lines held by its nearest training poem, exactly or within one character"
MIN_ZH, MIN_EN = 4, 3
MIN_DELETE = 5
DUPLICATE_SHARE = 0.5
"""A held-out poem sharing half its lines with the training poems is the same poem in the data
twice (anthologies repeat poems under other titles and with variant lines): left out of the
calibration's held-out distribution."""


_CLAUSE = re.compile(r"[，。！？；：、,.!?;:]+")


def _han(text: str) -> bool:
    return bool(_zh(text))


def clauses(lines: Sequence[str]) -> list[str]:
    """Chinese lines cut at their punctuation (a couplet written on one line is two lines, as
    the corpus holds them); English lines as they are.

    >>> clauses(["床前明月光，疑是地上霜。", "Shall I compare thee, to a summer's day?"])
    ['床前明月光', '疑是地上霜', "Shall I compare thee, to a summer's day?"]
    """
    out = []
    for line in lines:
        if _han(line):
            out += [c.strip() for c in _CLAUSE.split(line) if c.strip()]
        elif line.strip():
            out.append(line)
    return out


def line_keys(line: str) -> tuple[int | None, list[int]]:
    """A line's hash and its one-deletion hashes (none for short or English lines); ``None``
    for a line too short to count.

    >>> h, d = line_keys("白日依山尽")
    >>> h == line_keys("白日依山盡，")[0], len(d)
    (True, 5)
    """
    norm = normalise_line(line)
    if _han(line):
        if len(norm) < MIN_ZH:
            return None, []
        short = len(norm) < MIN_DELETE
        deletions = [] if short else [_h("D", norm[:i] + norm[i + 1 :]) for i in range(len(norm))]
        return _h("L", norm), deletions
    if len(norm.split()) < MIN_EN:
        return None, []
    return _h("L", norm), []


def poem_lines(doc: str) -> tuple[str, list[str]]:
    """A training document's title and its lines (form tags, ``<eos>`` and the title line
    dropped); English documents are named by their first line."""
    body = re.sub(r"<[a-z]+>", "", doc)
    raw = [ln for ln in body.split("\n") if ln.strip()]
    title = ""
    if raw and raw[0].startswith("《"):
        title = raw[0].strip("《》 ")
        raw = raw[1:]
    if not title and raw:
        title = raw[0].strip()[:40]
    return title, raw


def _sorted_pairs(keys_: list[int], docs: list[int]) -> tuple[np.ndarray, np.ndarray]:
    k = np.array(keys_, dtype=np.uint64)
    d = np.array(docs, dtype=np.uint32)
    order = np.lexsort((d, k))
    return k[order], d[order]


def _find(keys_: np.ndarray, docs: np.ndarray, h: int, exclude: int = -1) -> set[int]:
    """The poems holding hash ``h`` (other than ``exclude``)."""
    lo = int(np.searchsorted(keys_, np.uint64(h), side="left"))
    hi = int(np.searchsorted(keys_, np.uint64(h), side="right"))
    return {int(d) for d in docs[lo:hi]} - {exclude}


@dataclass
class PoemIndex:
    """Line hashes, one-deletion hashes and poem titles of a corpus (no text is stored)."""

    line_keys: np.ndarray
    line_docs: np.ndarray
    del_keys: np.ndarray
    del_docs: np.ndarray
    titles: list[str]
    name: str = "poems"
    runs: TextIndex | None = None
    thresholds: Thresholds | None = None
    data_sha256: str = ""
    features: str = field(default=FEATURES)

    @classmethod
    def build(cls, docs: Iterable[str], name: str = "poems", runs: TextIndex | None = None) -> PoemIndex:
        """Index training documents (the poet's corpus format, or plain poems one per item)."""
        lk: list[int] = []
        ld: list[int] = []
        dk: list[int] = []
        dd: list[int] = []
        titles: list[str] = []
        for i, doc in enumerate(docs):
            title, lines = poem_lines(doc)
            titles.append(title)
            for line in clauses(lines):
                h, deletions = line_keys(line)
                if h is None:
                    continue
                lk.append(h)
                ld.append(i)
                dk += deletions
                dd += [i] * len(deletions)
        line_keys_, line_docs = _sorted_pairs(lk, ld)
        del_keys, del_docs = _sorted_pairs(dk, dd)
        return cls(line_keys_, line_docs, del_keys, del_docs, titles, name, runs)

    def __len__(self) -> int:
        return len(self.titles)

    def line_match(self, line: str, exclude: int = -1) -> tuple[set[int], str] | None:
        """``(poems, 'exact' | 'one edit')`` for a line found in the corpus, else None."""
        h, deletions = line_keys(line)
        if h is None:
            return None
        docs = _find(self.line_keys, self.line_docs, h, exclude)
        if docs:
            return docs, "exact"
        if not _han(line):
            return None
        norm = normalise_line(line)
        probes = [
            *((self.del_keys, self.del_docs, d) for d in deletions),  # one character substituted
            (self.del_keys, self.del_docs, _h("D", norm)),  # one character dropped from a training line
            *((self.line_keys, self.line_docs, _h("L", norm[:i] + norm[i + 1 :]))  # one character added
              for i in range(len(norm)) if len(norm) > MIN_ZH),
        ]
        near: set[int] = set()
        for keys_, owners, probe in probes:
            near |= _find(keys_, owners, probe, exclude)
        return (near, "one edit") if near else None

    def score(self, lines: Sequence[str], exclude: int = -1) -> tuple[float, list[Match]]:
        """The poem's score and its matched lines (nearest poems first by how many lines)."""
        counted = 0
        found: dict[int, list[str]] = {}
        for line in clauses(lines):
            if line_keys(line)[0] is None:
                continue
            counted += 1
            hit = self.line_match(line, exclude)
            for doc in hit[0] if hit is not None else ():
                found.setdefault(doc, []).append(f"{line.strip()} ({hit[1]})")
        share = max((len(v) for v in found.values()), default=0) / counted if counted else 0.0
        if self.runs is not None and exclude < 0:
            share = max(share, self._run_share(lines))
        matches = [Match(self.titles[d] or f"poem {d}", len(v) / max(counted, 1), "; ".join(v[:3]))
                   for d, v in sorted(found.items(), key=lambda kv: -len(kv[1]))]
        return min(share, 1.0), matches

    def _run_share(self, lines: Sequence[str]) -> float:
        """Share of a Chinese poem's characters inside a verbatim training run."""
        norm = "".join(normalise_line(ln) for ln in lines if _han(ln))
        if len(norm) < ZH_RUN or self.runs is None:
            return 0.0
        covered = np.zeros(len(norm), dtype=bool)
        for i, (_, h) in enumerate(k for k in keys([norm], "zh") if k[0].startswith("run:")):
            if h in self.runs:
                covered[i : i + ZH_RUN] = True
        return float(covered.mean())

    def check(self, lines: Sequence[str], k: int = 3) -> Verdict:
        if self.thresholds is None:
            raise MuseforgeError(f"the poem index {self.name!r} is not calibrated")
        score, matches = self.score(lines)
        label = self.thresholds.label(score) if score > 0 else "original"
        return Verdict(label, score, self.name, self.thresholds, tuple(matches[:k]))

    def calibrate(self, heldout: Sequence[Sequence[str]],
                  train: Sequence[tuple[int, Sequence[str]]]) -> Thresholds:
        """Thresholds from held-out poems' scores and from training poems' scores against the
        rest (``(index of the poem, its lines)``; its own lines left out, runs not consulted)."""
        from museforge.originality.verdicts import calibrate

        held = [self.score(p)[0] for p in heldout]
        train_scores = [self.score(lines, exclude=i)[0] for i, lines in train]
        self.thresholds = calibrate(train_scores, held, MEASURE, duplicates_at=DUPLICATE_SHARE)
        return self.thresholds

    # ------------------------------------------------------------ file

    def save(self, path: Path) -> None:
        meta = {"format": 1, "features": self.features, "name": self.name, "count": len(self),
                "data_sha256": self.data_sha256,
                "thresholds": self.thresholds.to_json() if self.thresholds else None}
        buffer = io.BytesIO()
        as_bytes = lambda text: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)  # noqa: E731
        np.savez_compressed(buffer, line_keys=self.line_keys, line_docs=self.line_docs,
                            del_keys=self.del_keys, del_docs=self.del_docs,
                            titles=as_bytes("\n".join(self.titles)),
                            meta=as_bytes(json.dumps(meta, ensure_ascii=False)))
        path.write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: Path, runs: TextIndex | None = None) -> PoemIndex:
        try:
            with np.load(path) as data:
                meta = json.loads(bytes(data["meta"]).decode("utf-8"))
                arrays = {k: data[k] for k in ("line_keys", "line_docs", "del_keys", "del_docs")}
                titles = bytes(data["titles"]).decode("utf-8").split("\n")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, UnicodeDecodeError) as err:
            raise MuseforgeError(f"cannot read the poem index {path}: {err}") from None
        if meta.get("features") != FEATURES:
            raise MuseforgeError(f"the poem index {path} was built from {meta.get('features')!r}; this "
                                 f"museforge makes {FEATURES!r}: rebuild it with 'museforge check --build'")
        thresholds = Thresholds.from_json(meta["thresholds"]) if meta.get("thresholds") else None
        return cls(**arrays, titles=titles, name=meta.get("name", "poems"), runs=runs, thresholds=thresholds,
                   data_sha256=meta.get("data_sha256", ""))


@cache
def default_index() -> PoemIndex | None:
    """The index of the built-in poet's training poems, or None when it is not installed."""
    from museforge.originality.text import default_index as runs
    from museforge.runtime import models_root

    path = models_root() / "text-poet" / FILE
    return PoemIndex.load(path, runs()) if path.is_file() else None
