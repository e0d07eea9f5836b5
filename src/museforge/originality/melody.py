"""Melodic originality: does a melody repeat a run of intervals from the training corpus?

Melodies are compared by their intervals (semitones between successive pitches, rests
skipped), so a tune transposed to another key still matches. Every run of ``NGRAM`` = 8
consecutive intervals is packed exactly into one int64 (intervals clipped to +-24, base 49, no
collisions), and the corpus's runs are kept as one sorted array, with the number of corpus
melodies holding each: a lookup is a binary search, and indexing ten thousand tunes takes a
second.

**What counts.** Only runs that include at least one note we generated: a motif the user gives
is theirs, so runs lying wholly inside it are never held against the output (``context`` below
is the number of leading pitches that are not ours). Runs that start in the motif and end in
the new notes do count: completing a corpus run is our choice.

**Any run, not only distinctive ones.** The guard blocks *every* corpus run, as the issue's
wording asks. A run found in at most ``DISTINCTIVE`` = 3 corpus melodies is called distinctive
(it points at particular tunes), one found in more is an idiom (a scale run, a stock cadence),
and blocking only distinctive runs would be the laxer choice. It would buy little: 96.7 % of
the index's runs are distinctive, and in ``benchmarks/music_metrics.py`` the share of unguarded
outputs holding any run equals the share holding a distinctive one for every generator, so the
laxer rule would block about as often. Nor does the stricter rule cost much music: an
8-interval run is nine notes, so every shorter idiom (an eight-note scale, a cadence figure)
stays free, and generating under it moves the benchmark's melody metrics only slightly (the
learned composer's range widens by about a semitone; the learned continuations come out closer
to the folk corpus than before). And the guarantee is simple to state and to check: no output
holds any 8-interval run of a training melody. ``reproduces(..., distinctive=True)`` still
measures the distinctive rate.

**How it holds.** Generators enforce it while they write: :meth:`MelodyIndex.allowed_next` tells
a sampler which candidate next pitches would complete a corpus run (one binary search for all
candidates), so the learned models never choose one; :func:`repair` walks a finished line and
changes the fewest notes (each to a nearby alternative the caller offers) so that no run
remains. :func:`guarded` (block and regenerate) is the fallback around both.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

NGRAM = 8
DISTINCTIVE = 3
GUARD_DISTINCTIVE = False
"""The guard's policy: block any corpus run (False) or only distinctive ones (True)."""
CLIP = 24
BASE = 2 * CLIP + 1
RHYTHM_CLIP = 6
"""Rhythm ratios are kept in half-octave steps (log2 of the ratio, rounded to halves), up to
three octaves (a ratio of 8) either way."""
RHYTHM_BASE = 2 * RHYTHM_CLIP + 1
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


def rhythm_codes(iois: Sequence[float], n: int = NGRAM) -> np.ndarray:
    """The packed codes of every run of ``n`` consecutive rhythm ratios of a line's inter-onset
    intervals: each note's time to the next against the previous note's, as log2 rounded to
    halves and clipped to +-3 (13 symbols; ``13 ** 8`` fits an int64 exactly). Run ``w`` lines up
    with the interval run ``w`` of :func:`interval_codes` (both span notes ``w .. w + n``), and a
    change of tempo leaves every code as it is.

    >>> rhythm_codes([1, 1, 2], n=2).tolist() == [6 + (2 + 6) * 13]
    True
    >>> bool((rhythm_codes([0.5, 0.25, 0.25, 1.0], 2) == rhythm_codes([3, 1.5, 1.5, 6], 2)).all())
    True
    """
    t = np.maximum(np.asarray(iois, dtype=np.float64), 1e-9)
    if t.size < n + 1:
        return np.zeros(0, dtype=np.int64)
    steps = np.clip(np.rint(2 * np.log2(t[1:] / t[:-1])), -RHYTHM_CLIP, RHYTHM_CLIP).astype(np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(steps + RHYTHM_CLIP, n)
    return windows @ (RHYTHM_BASE ** np.arange(n, dtype=np.int64))


@dataclass
class MelodyIndex:
    """Sorted unique interval-run codes of a corpus and how many melodies hold each."""

    codes: np.ndarray
    counts: np.ndarray
    n: int = NGRAM

    @classmethod
    def build(cls, melodies: Sequence[Sequence[int]], n: int = NGRAM) -> MelodyIndex:
        """Index pitch sequences (MIDI numbers, rests left out).

        >>> MelodyIndex.build([[60, 62, 64, 65]], n=2).copied([67, 69, 71])
        1.0
        """
        parts = [np.unique(interval_codes(m, n)) for m in melodies]
        allc = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        codes, counts = np.unique(allc, return_counts=True)
        return cls(codes, counts.astype(np.int32), n)

    def __len__(self) -> int:
        return int(self.codes.size)

    def lookup(self, codes: np.ndarray, distinctive: bool = False) -> np.ndarray:
        """Whether the corpus holds each packed run code (in at most ``DISTINCTIVE`` melodies,
        when ``distinctive``): one binary search for all of them."""
        if not codes.size or not self.codes.size:
            return np.zeros(codes.size, dtype=bool)
        i = np.minimum(np.searchsorted(self.codes, codes), self.codes.size - 1)
        found = self.codes[i] == codes
        return found & (self.counts[i] <= DISTINCTIVE) if distinctive else found

    def hits(self, pitches: Sequence[int], distinctive: bool = False) -> np.ndarray:
        """For each interval run of ``pitches`` (run ``w`` spans pitches ``w .. w + n``), whether
        the corpus holds it (in at most ``DISTINCTIVE`` melodies, when ``distinctive``)."""
        return self.lookup(interval_codes(pitches, self.n), distinctive)

    def allowed_next(self, history: Sequence[int], candidates: Sequence[int],
                     distinctive: bool = GUARD_DISTINCTIVE) -> np.ndarray:
        """For each candidate next pitch, whether appending it to ``history`` (the pitches so
        far, rests left out) completes no corpus run.

        >>> idx = MelodyIndex.build([[60, 62, 64, 65, 67]], n=3)
        >>> idx.allowed_next([50, 52, 54, 55], [57, 56, 55]).tolist()
        [False, True, True]
        """
        cand = np.asarray(candidates, dtype=np.int64)
        if len(history) < self.n:
            return np.ones(cand.size, dtype=bool)
        tail = np.asarray(history[-self.n :], dtype=np.int64)
        weights = BASE ** np.arange(self.n, dtype=np.int64)
        prefix = (np.clip(np.diff(tail), -CLIP, CLIP) + CLIP) @ weights[:-1]
        codes = prefix + (np.clip(cand - tail[-1], -CLIP, CLIP) + CLIP) * weights[-1]
        return ~self.lookup(codes, distinctive)

    def copied(self, pitches: Sequence[int]) -> float:
        """Fraction of the melody's interval runs found in the corpus (0 when it is too short)."""
        h = self.hits(pitches)
        return float(h.mean()) if h.size else 0.0

    def reproduces(self, pitches: Sequence[int], distinctive: bool = GUARD_DISTINCTIVE,
                   context: int = 0) -> bool:
        """Whether the melody repeats at least ``n`` consecutive intervals of a corpus melody
        (any run, or only a distinctive one), counting only runs that reach past the first
        ``context`` pitches (a given motif: runs wholly inside it are not ours).

        >>> idx = MelodyIndex.build([[60, 62, 64, 65, 67]], n=3)
        >>> idx.reproduces([70, 72, 74, 75, 70]), idx.reproduces([60, 62, 64, 60])
        (True, False)
        >>> idx.reproduces([60, 62, 64, 65, 60], context=3), idx.reproduces([60, 62, 64, 65, 60], context=4)
        (True, False)
        """
        return bool(self.hits(pitches, distinctive)[max(0, context - self.n) :].any())

    def save(self, path: Path) -> None:
        np.save(path, np.stack([self.codes, self.counts.astype(np.int64)], axis=1))

    @classmethod
    def load(cls, path: Path, n: int = NGRAM) -> MelodyIndex:
        data = np.load(path)
        if data.ndim == 1:  # codes only
            return cls(data, np.ones(data.size, dtype=np.int32), n)
        return cls(data[:, 0].copy(), data[:, 1].astype(np.int32), n)


def guarded(make: Callable[[int], T], pitches_of: Callable[[T], Sequence[int]], index: MelodyIndex,
            attempts: int = 8, context: int = 0,
            distinctive: bool = GUARD_DISTINCTIVE) -> tuple[T, dict[str, int | bool]]:
    """Call ``make(attempt)`` until its melody reproduces no corpus run (at most ``attempts``
    times); return the first clean result (or the last one) and a report. The first ``context``
    pitches of ``pitches_of(result)`` are given, not generated (see :meth:`MelodyIndex.reproduces`).

    >>> idx = MelodyIndex.build([[60, 62, 64, 65, 67]], n=3)
    >>> guarded(lambda k: [[60, 62, 64, 65], [60, 64, 62, 65]][k], lambda m: m, idx)
    ([60, 64, 62, 65], {'attempts': 2, 'blocked': 1, 'reproduces': False})
    """
    result = make(0)
    blocked = 0
    for attempt in range(attempts):
        if attempt:
            result = make(attempt)
        if not index.reproduces(pitches_of(result), distinctive, context):
            return result, {"attempts": attempt + 1, "blocked": blocked, "reproduces": False}
        blocked += 1
    return result, {"attempts": attempts, "blocked": blocked, "reproduces": True}


def repair(pitches: Sequence[int], index: MelodyIndex,
           alternatives: Callable[[int, list[int]], Sequence[int]], frozen: Collection[int] = (),
           context: int = 0, distinctive: bool = GUARD_DISTINCTIVE) -> tuple[list[int], list[int]]:
    """Change as few pitches as needed so that no counted run is a corpus run.

    Walks the line left to right; where the run ending at note ``i`` is a corpus run, it gives
    note ``i`` (or, failing that, an earlier note of the run) the first of
    ``alternatives(j, pitches)`` that leaves every run ending at ``j .. i`` clean. Notes in
    ``frozen`` and the first ``context`` (a given motif) never change. Returns the new pitches
    and the indices changed; a run no alternative can break (none offered) is left as it is.

    >>> idx = MelodyIndex.build([[60, 62, 64, 65, 67]], n=3)
    >>> repair([70, 72, 74, 75, 77], idx, lambda j, p: [p[j] - 1, p[j] + 1], frozen={4})
    ([70, 72, 74, 74, 77], [3])
    """
    p = [int(x) for x in pitches]
    n = index.n
    changed: list[int] = []

    def clean(line: list[int], first: int, last: int) -> bool:
        """No corpus run among the runs ending at notes ``first .. last``."""
        lo = max(first, n, context) - n
        return lo > last - n or not index.hits(line[lo : last + 1], distinctive).any()

    for i in range(max(n, context), len(p)):
        if clean(p, i, i):
            continue
        for j in range(i, max(i - n, context) - 1, -1):
            if j in frozen:
                continue
            fixed = next((a for a in alternatives(j, p)
                          if a != p[j] and clean([*p[:j], int(a), *p[j + 1 :]], j, i)), None)
            if fixed is not None:
                p[j] = int(fixed)
                changed.append(j)
                break
    return p, sorted(set(changed))
