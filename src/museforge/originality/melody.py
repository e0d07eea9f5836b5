"""Melodic originality: does a melody repeat a run of intervals from the training corpus?

Melodies are compared by their intervals (semitones between successive pitches, rests
skipped), so a tune transposed to another key still matches. Every run of ``NGRAM`` = 8
consecutive intervals is packed exactly into one int64 (intervals clipped to +-24, base 49, no
collisions), and the corpus's runs are kept as one sorted array: a lookup is a binary search,
and indexing a hundred thousand tunes takes a second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

NGRAM = 8
CLIP = 24
BASE = 2 * CLIP + 1
T = TypeVar("T")


def interval_codes(pitches: Sequence[int], n: int = NGRAM) -> np.ndarray:
    """The packed codes of every run of ``n`` consecutive intervals of a pitch sequence.

    >>> interval_codes([60, 62, 64], n=2).tolist() == [(2 + 24) + (2 + 24) * 49]
    True
    >>> bool((interval_codes([60, 62, 64, 65], 2) == interval_codes([67, 69, 71, 72], 2)).all())
    True
    >>> interval_codes([60, 62], n=2).size
    0
    """
    p = np.asarray(pitches, dtype=np.int64)
    if p.size < n + 1:
        return np.zeros(0, dtype=np.int64)
    iv = np.clip(np.diff(p), -CLIP, CLIP) + CLIP
    windows = np.lib.stride_tricks.sliding_window_view(iv, n)
    return windows @ (BASE ** np.arange(n, dtype=np.int64))


@dataclass
class MelodyIndex:
    """Sorted unique interval-run codes of a corpus."""

    codes: np.ndarray
    n: int = NGRAM

    @classmethod
    def build(cls, melodies: Sequence[Sequence[int]], n: int = NGRAM) -> MelodyIndex:
        """Index pitch sequences (MIDI numbers, rests left out).

        >>> MelodyIndex.build([[60, 62, 64, 65]], n=2).copied([67, 69, 71])
        1.0
        """
        parts = [interval_codes(m, n) for m in melodies]
        codes = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        return cls(codes, n)

    def __len__(self) -> int:
        return int(self.codes.size)

    def hits(self, pitches: Sequence[int]) -> np.ndarray:
        """For each interval run of ``pitches``, whether the corpus holds it."""
        codes = interval_codes(pitches, self.n)
        if not codes.size or not self.codes.size:
            return np.zeros(codes.size, dtype=bool)
        i = np.minimum(np.searchsorted(self.codes, codes), self.codes.size - 1)
        return self.codes[i] == codes

    def copied(self, pitches: Sequence[int]) -> float:
        """Fraction of the melody's interval runs found in the corpus (0 when it is too short)."""
        h = self.hits(pitches)
        return float(h.mean()) if h.size else 0.0

    def reproduces(self, pitches: Sequence[int]) -> bool:
        """Whether the melody repeats at least ``n`` consecutive intervals of a corpus melody.

        >>> idx = MelodyIndex.build([[60, 62, 64, 65, 67]], n=3)
        >>> idx.reproduces([70, 72, 74, 75, 70]), idx.reproduces([60, 62, 64, 60])
        (True, False)
        """
        return bool(self.hits(pitches).any())

    def save(self, path: Path) -> None:
        np.save(path, self.codes)

    @classmethod
    def load(cls, path: Path, n: int = NGRAM) -> MelodyIndex:
        return cls(np.load(path), n)


def guarded(make: Callable[[int], T], pitches_of: Callable[[T], Sequence[int]], index: MelodyIndex,
            attempts: int = 8) -> tuple[T, dict[str, int | bool]]:
    """Call ``make(attempt)`` until its melody reproduces no corpus run (at most ``attempts``
    times); return the first clean result (or the last one) and a report.

    >>> idx = MelodyIndex.build([[60, 62, 64, 65, 67]], n=3)
    >>> guarded(lambda k: [[60, 62, 64, 65], [60, 64, 62, 65]][k], lambda m: m, idx)
    ([60, 64, 62, 65], {'attempts': 2, 'blocked': 1, 'reproduces': False})
    """
    result = make(0)
    blocked = 0
    for attempt in range(attempts):
        if attempt:
            result = make(attempt)
        if not index.reproduces(pitches_of(result)):
            return result, {"attempts": attempt + 1, "blocked": blocked, "reproduces": False}
        blocked += 1
    return result, {"attempts": attempts, "blocked": blocked, "reproduces": True}
