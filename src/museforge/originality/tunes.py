"""The tune index: which training tunes a melody's interval runs come from.

A melody is read as its pitches in time order (rests and durations left out), so transposing it
or changing its tempo leaves it the same; its runs of ``NGRAM`` (8) intervals are packed as in
:mod:`museforge.originality.melody` and kept with the tune that holds them. A melody's **score** is
its similarity to its nearest training tune: the share of its runs that one tune holds (runs
spread over many tunes are idioms, scale and arpeggio figures, and do not add up). Changing one
note breaks at most nine runs, so a copied tune of thirty notes or more keeps most of its score.
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
from museforge.originality.melody import NGRAM, interval_codes
from museforge.originality.verdicts import Match, Thresholds, Verdict, calibrate

FEATURES = "tune-interval-8grams:v1"
FILE = "originality.npz"
MEASURE = ("share of the melody's 8-interval runs held by its nearest training tune "
           "(transposition and tempo free)")
DUPLICATE_SHARE = 0.5
"""A held-out tune sharing half its runs with the training tunes is the same tune in two
collections: left out of the calibration's held-out distribution."""


def pitches_of(notes: np.ndarray) -> list[int]:
    """The pitches of a ``(n, 3)`` note array (pitch, duration, onset; rests are negative)."""
    pitched = notes[notes[:, 0] >= 0]
    return [int(p) for p in pitched[np.argsort(pitched[:, 2], kind="stable"), 0]]


@dataclass
class TuneIndex:
    """Interval-run codes of a corpus with the tune holding each (pairs sorted by code)."""

    codes: np.ndarray
    tunes: np.ndarray
    names: list[str]
    name: str = "tunes"
    thresholds: Thresholds | None = None
    data_sha256: str = ""

    @classmethod
    def build(cls, melodies: Sequence[tuple[str, Sequence[int]]], name: str = "tunes") -> TuneIndex:
        """Index named pitch sequences.

        >>> TuneIndex.build([("a", [60, 62, 64, 65, 67, 69, 71, 72, 74, 76])]).score([62, 64, 66, 67, 69,
        ...     71, 73, 74, 76, 78])[0]
        1.0
        """
        codes, tunes = [], []
        for i, (_, pitches) in enumerate(melodies):
            c = np.unique(interval_codes(pitches, NGRAM))
            codes.append(c)
            tunes.append(np.full(c.size, i, dtype=np.uint32))
        all_codes = np.concatenate(codes) if codes else np.zeros(0, np.int64)
        all_tunes = np.concatenate(tunes) if tunes else np.zeros(0, np.uint32)
        order = np.lexsort((all_tunes, all_codes))
        return cls(all_codes[order], all_tunes[order], [n for n, _ in melodies], name)

    def __len__(self) -> int:
        return len(self.names)

    def score(self, pitches: Sequence[int], exclude: int = -1) -> tuple[float, list[Match]]:
        """The share of the melody's runs held by its nearest training tune (other than
        ``exclude``), and the tunes holding most of them."""
        runs = interval_codes(pitches, NGRAM)
        if not runs.size or not self.codes.size:
            return 0.0, []
        lo = np.searchsorted(self.codes, runs, side="left")
        hi = np.searchsorted(self.codes, runs, side="right")
        per_tune: dict[int, int] = {}
        for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
            owners = {int(t) for t in self.tunes[a:b]} - {exclude}
            for t in owners:
                per_tune[t] = per_tune.get(t, 0) + 1
        best = sorted(per_tune.items(), key=lambda kv: -kv[1])
        matches = [Match(self.names[t], n / runs.size, f"{n} of {runs.size} runs") for t, n in best]
        return (matches[0].similarity if matches else 0.0), matches

    def check(self, pitches: Sequence[int], k: int = 3) -> Verdict:
        if self.thresholds is None:
            raise MuseforgeError(f"the tune index {self.name!r} is not calibrated")
        score, matches = self.score(pitches)
        return Verdict(self.thresholds.label(score), score, self.name, self.thresholds, tuple(matches[:k]))

    def save(self, path: Path) -> None:
        meta = {"format": 1, "features": FEATURES, "name": self.name, "count": len(self),
                "data_sha256": self.data_sha256,
                "thresholds": self.thresholds.to_json() if self.thresholds else None}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, codes=self.codes, tunes=self.tunes,
                            names=np.frombuffer("\n".join(self.names).encode("utf-8"), np.uint8),
                            meta=np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8))
        path.write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> TuneIndex:
        try:
            with np.load(path) as data:
                meta = json.loads(bytes(data["meta"]).decode("utf-8"))
                codes, tunes = data["codes"], data["tunes"]
                names = bytes(data["names"]).decode("utf-8").split("\n")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, UnicodeDecodeError) as err:
            raise MuseforgeError(f"cannot read the tune index {path}: {err}") from None
        if meta.get("features") != FEATURES:
            raise MuseforgeError(f"the tune index {path} was built from {meta.get('features')!r}; this "
                                 f"museforge makes {FEATURES!r}: rebuild it with 'museforge check --build'")
        thresholds = Thresholds.from_json(meta["thresholds"]) if meta.get("thresholds") else None
        return cls(codes, tunes, names, meta.get("name", "tunes"), thresholds, meta.get("data_sha256", ""))


def calibrate_index(index: TuneIndex, train: Sequence[Sequence[int]], heldout: Sequence[Sequence[int]],
                    sample: int = 1000, seed: int = 0) -> Thresholds:
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
