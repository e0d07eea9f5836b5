"""The tune index: which training tunes a melody's interval and rhythm runs come from.

A melody is read as its top line in time order (rests left out): each note's interval from the
one before, and its rhythm ratio, the time to the next note against the previous note's
(:func:`~museforge.originality.melody.rhythm_codes`), so transposing it or changing its tempo
leaves it the same. Its runs of ``NGRAM`` (8) intervals are kept with the rhythm of the same
notes and the tune that holds them. A melody's **score** is its similarity to its nearest
training tune: the share of its runs that one tune holds in their rhythm, a run the tune holds
only in another rhythm counting half (runs spread over many tunes are idioms, scale and arpeggio
figures, and do not add up). Changing one note breaks at most nine runs, one duration at most
nine rhythm runs, so a copied tune of thirty notes or more keeps most of its score; the same
pitches in a rhythm changed throughout score about half, ``similar`` rather than ``copy``.

Why both: on the folk tunes, rhythm halves the typical held-out score (median 0.067 by
intervals alone, 0.042 here) and keeps every planted copy found, where counting only runs in
their rhythm lost 3 in 200 copies with one duration changed (``benchmarks/originality.py``).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from museforge.errors import MuseforgeError
from museforge.originality.melody import NGRAM, interval_codes, rhythm_codes
from museforge.originality.verdicts import Match, Thresholds, Verdict, calibrate

FEATURES = "tune-interval-rhythm-8grams:v2"
FILE = "originality.npz"
MEASURE = (
    "share of the melody's 8-interval runs held by its nearest training tune in their rhythm, a run "
    "held only in another rhythm counting half (transposition and tempo free)"
)
DUPLICATE_SHARE = 0.5
"""A held-out tune sharing half its runs with the training tunes is the same tune in two
collections: left out of the calibration's held-out distribution."""

Melody = np.ndarray | Sequence[int]
"""A ``(n, 3)`` note array (pitch, duration, onset; rests negative), or bare pitches read as
even notes."""


def pitches_of(notes: np.ndarray) -> list[int]:
    """The pitches of a ``(n, 3)`` note array (pitch, duration, onset; rests are negative)."""
    pitched = notes[notes[:, 0] >= 0]
    return [int(p) for p in pitched[np.argsort(pitched[:, 2], kind="stable"), 0]]


def line_of(melody: Melody) -> tuple[np.ndarray, np.ndarray]:
    """The pitches and inter-onset intervals of a melody's top line (the highest note at each
    onset; the last note's is its duration).

    >>> p, t = line_of(np.array([[60, 1, 0], [-1, 1, 1], [64, 0.5, 2], [67, 0.5, 2], [65, 1, 2.5]]))
    >>> p.tolist(), t.tolist()
    ([60, 67, 65], [2.0, 0.5, 1.0])
    """
    arr = np.asarray(melody, dtype=np.float64)
    if arr.ndim == 1:
        return arr.astype(np.int64), np.ones(arr.size)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise MuseforgeError(f"a melody is a (n, 3) note array (pitch, duration, onset), not {arr.shape}")
    notes = arr[arr[:, 0] >= 0]
    notes = notes[np.lexsort((-notes[:, 0], notes[:, 2]))]
    first = np.ones(len(notes), dtype=bool)
    first[1:] = np.diff(notes[:, 2]) > 0
    notes = notes[first]
    if not len(notes):
        return np.zeros(0, np.int64), np.zeros(0)
    return notes[:, 0].astype(np.int64), np.append(np.diff(notes[:, 2]), notes[-1, 1])


def runs_of(melody: Melody) -> tuple[np.ndarray, np.ndarray]:
    """The interval-run and rhythm-run codes of a melody, run by run."""
    pitches, iois = line_of(melody)
    return interval_codes(pitches, NGRAM), rhythm_codes(iois, NGRAM)


@dataclass
class TuneIndex:
    """Interval-run codes of a corpus with the rhythm of each run and the tune holding it (rows
    sorted by code, rhythm, tune)."""

    codes: np.ndarray
    rhythms: np.ndarray
    tunes: np.ndarray
    names: list[str]
    name: str = "tunes"
    thresholds: Thresholds | None = None
    data_sha256: str = ""

    @classmethod
    def build(cls, melodies: Sequence[tuple[str, Melody]], name: str = "tunes") -> TuneIndex:
        """Index named melodies (note arrays, or pitches read as even notes).

        >>> TuneIndex.build([("a", [60, 62, 64, 65, 67, 69, 71, 72, 74, 76])]).score([62, 64, 66, 67, 69,
        ...     71, 73, 74, 76, 78])[0]
        1.0
        """
        rows = []
        for i, (_, melody) in enumerate(melodies):
            pairs = np.unique(np.stack(runs_of(melody), axis=1), axis=0).reshape(-1, 2)
            rows.append(np.column_stack([pairs, np.full(len(pairs), i, dtype=np.int64)]))
        table = np.concatenate(rows) if rows else np.zeros((0, 3), np.int64)
        table = table[np.lexsort((table[:, 2], table[:, 1], table[:, 0]))]
        return cls(
            table[:, 0].copy(),
            table[:, 1].astype(np.int32),
            table[:, 2].astype(np.uint32),
            [n for n, _ in melodies],
            name,
        )

    def __len__(self) -> int:
        return len(self.names)

    def counts(self, melody: Melody, exclude: int = -1) -> tuple[int, dict[int, int], dict[int, int]]:
        """The melody's number of runs, and per training tune (other than ``exclude``) how many
        of them it holds in their rhythm, and in any rhythm."""
        runs, rhythms = runs_of(melody)
        joint: dict[int, int] = {}
        pitch: dict[int, int] = {}
        if not runs.size or not self.codes.size:
            return int(runs.size), joint, pitch
        lo = np.searchsorted(self.codes, runs, side="left")
        hi = np.searchsorted(self.codes, runs, side="right")
        for a, b, r in zip(lo.tolist(), hi.tolist(), rhythms.tolist(), strict=True):
            if a == b:
                continue
            owners = self.tunes[a:b]
            for t in set(owners.tolist()) - {exclude}:
                pitch[t] = pitch.get(t, 0) + 1
            i, j = np.searchsorted(self.rhythms[a:b], [r, r + 1])
            for t in set(owners[i:j].tolist()) - {exclude}:
                joint[t] = joint.get(t, 0) + 1
        return int(runs.size), joint, pitch

    def score(self, melody: Melody, exclude: int = -1) -> tuple[float, list[Match]]:
        """The melody's similarity to its nearest training tune (other than ``exclude``): the
        share of its runs that tune holds, a run held only in another rhythm counting half; and
        the tunes nearest it.

        >>> tune = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76]
        >>> iois = np.resize([0.75, 0.25], 10)
        >>> dotted = np.column_stack([tune, iois, np.cumsum(iois) - iois])
        >>> score, [match] = TuneIndex.build([("a", tune)]).score(dotted)
        >>> score, match.detail
        (0.5, '0 of 2 runs in their rhythm, 2 in any rhythm')
        """
        n, joint, pitch = self.counts(melody, exclude)
        near = {t: (joint.get(t, 0) + p) / (2 * n) for t, p in pitch.items()}
        best = sorted(near, key=lambda t: (-near[t], t))
        matches = [
            Match(
                self.names[t],
                near[t],
                f"{joint.get(t, 0)} of {n} runs in their rhythm, {pitch[t]} in any rhythm",
            )
            for t in best
        ]
        return (matches[0].similarity if matches else 0.0), matches

    def check(self, melody: Melody, k: int = 3) -> Verdict:
        if self.thresholds is None:
            raise MuseforgeError(f"the tune index {self.name!r} is not calibrated")
        score, matches = self.score(melody)
        return Verdict(self.thresholds.label(score), score, self.name, self.thresholds, tuple(matches[:k]))

    def save(self, path: Path) -> None:
        meta = {
            "format": 2,
            "features": FEATURES,
            "name": self.name,
            "count": len(self),
            "data_sha256": self.data_sha256,
            "thresholds": self.thresholds.to_json() if self.thresholds else None,
        }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            codes=self.codes,
            rhythms=self.rhythms,
            tunes=self.tunes,
            names=np.frombuffer("\n".join(self.names).encode("utf-8"), np.uint8),
            meta=np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8),
        )
        path.write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> TuneIndex:
        try:
            with np.load(path) as data:
                meta = json.loads(bytes(data["meta"]).decode("utf-8"))
                if meta.get("features") == FEATURES:
                    codes, rhythms, tunes = data["codes"], data["rhythms"], data["tunes"]
                    names = bytes(data["names"]).decode("utf-8").split("\n")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, UnicodeDecodeError) as err:
            raise MuseforgeError(f"cannot read the tune index {path}: {err}") from None
        if meta.get("features") != FEATURES:
            raise MuseforgeError(
                f"the tune index {path} was built from {meta.get('features')!r}; this "
                f"museforge makes {FEATURES!r}: rebuild it with 'museforge check --build'"
            )
        thresholds = Thresholds.from_json(meta["thresholds"]) if meta.get("thresholds") else None
        return cls(
            codes, rhythms, tunes, names, meta.get("name", "tunes"), thresholds, meta.get("data_sha256", "")
        )


def calibrate_index(
    index: TuneIndex, train: Sequence[Melody], heldout: Sequence[Melody], sample: int = 1000, seed: int = 0
) -> Thresholds:
    """Thresholds for ``index`` (built from ``train``, in order): held-out tunes' scores, and a
    sample of training tunes scored against the others."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(train), size=min(sample, len(train)), replace=False)
    train_scores = [index.score(train[i], exclude=int(i))[0] for i in picks]
    held_scores = [index.score(p)[0] for p in heldout]
    index.thresholds = calibrate(train_scores, held_scores, MEASURE, duplicates_at=DUPLICATE_SHARE)
    return index.thresholds


@cache
def default_index() -> TuneIndex | None:
    """The index of the built-in melody model's training tunes, or None when not installed."""
    from museforge.runtime import models_root

    path = models_root() / "music-melody" / FILE
    return TuneIndex.load(path) if path.is_file() else None
