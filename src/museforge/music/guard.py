"""The originality guard of the music engines: no melody we write repeats 8 consecutive
intervals of a training melody (:mod:`museforge.originality.melody` explains what counts and why
any corpus run is blocked).

Every generator uses the index shipped beside the folk-melody model
(``models/music-melody/corpus_ngrams.npy``, :func:`shipped_index`):

- the rule composer (:func:`compose_guarded`) blocks a piece whose melody holds a corpus run and
  composes it again from a generator seeded from its own (up to ``attempts`` pieces in all); if
  every attempt holds one, :func:`repair_melody` moves the fewest notes of the last attempt to a
  nearby scale or chord tone (chord tones on strong beats; the final tonic never moves);
- the learned models mask, while they sample, every next pitch that would complete a corpus run
  (:meth:`~museforge.music.melody_model.MelodyModel.generate`), with block-and-regenerate and
  then the same repair as fallbacks (:func:`guard_line`).

So the guarantee holds by construction; the reports say how often each step was needed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from museforge.emotion.mapping import ArtDirection
from museforge.music.compose import Form, compose
from museforge.music.instruments import instrument_range
from museforge.music.score import Note, Score
from museforge.music.theory import Key, Meter, roman_chord
from museforge.originality.melody import MelodyIndex, guarded, repair

MELODY_MODEL = "music-melody"
INDEX_FILE = "corpus_ngrams.npy"
LEAP = 4
"""Largest move, in semitones, of a repaired note."""


@cache
def _load_index(path: str, mtime: float) -> MelodyIndex:
    return MelodyIndex.load(Path(path))


def shipped_index() -> MelodyIndex | None:
    """The corpus interval-run index shipped beside the folk-melody model, or None without one."""
    from museforge.runtime import models_root

    path = models_root() / MELODY_MODEL / INDEX_FILE
    return _load_index(str(path), path.stat().st_mtime) if path.is_file() else None


def note_alternatives(notes: list[Note], key: Key, meter: Meter,
                      chords: list[tuple[float, float, str]] | None = None,
                      span: tuple[int, int] = (0, 127)) -> Callable[[int, list[int]], list[int]]:
    """For note ``j``: the pitches within a major third it could take instead, nearest first
    (chord tones before other scale tones at the same distance). Scale tones of the key and
    tones of the chord sounding then; on a strong beat only chord tones, when chords are known;
    never outside ``span`` (the instrument's range).

    >>> alt = note_alternatives([Note(0, 1, 64, 80), Note(1, 1, 65, 80)], Key("C", "major"), Meter(4, 4),
    ...                         [(0.0, 4.0, "I")])
    >>> alt(0, [64, 65]), alt(1, [64, 65])
    ([67, 60], [64, 67, 62, 69])
    """
    scale = {(key.tonic + i) % 12 for i in key.intervals}
    starts = [c[0] for c in chords or []]
    pcs_at: dict[str, frozenset[int]] = {}

    def chord_pcs(t: float) -> frozenset[int]:
        if not chords:
            return frozenset()
        i = max(0, int(np.searchsorted(starts, t + 1e-9, side="right")) - 1)
        numeral = chords[i][2]
        if numeral not in pcs_at:
            pcs_at[numeral] = frozenset(roman_chord(key, numeral).pitch_classes)
        return pcs_at[numeral]

    def alternatives(j: int, pitches: list[int]) -> list[int]:
        p, t = pitches[j], notes[j].start
        tones = chord_pcs(t)
        strong = bool(tones) and round(t % meter.bar_quarters, 6) in meter.strong_beats
        allowed = tones if strong else scale | tones
        out = [q for q in range(p - LEAP, p + LEAP + 1)
               if q != p and q % 12 in allowed and span[0] <= q <= span[1]]
        return sorted(out, key=lambda q: (abs(q - p), q % 12 not in tones, q))

    return alternatives


def repair_melody(notes: list[Note], key: Key, meter: Meter, index: MelodyIndex,
                  chords: list[tuple[float, float, str]] | None = None, context: int = 0,
                  frozen: Collection[int] = (), span: tuple[int, int] = (0, 127)) -> tuple[list[Note], int]:
    """The line with the fewest notes moved (see :func:`note_alternatives`; none leaves
    ``span``) so that no run past the first ``context`` notes is a corpus run; the last note,
    the first ``context`` and those in ``frozen`` stay. Returns the notes and how many moved."""
    if not notes:
        return notes, 0
    keep = {len(notes) - 1, *range(context), *frozen}
    pitches, changed = repair([n.pitch for n in notes], index,
                              note_alternatives(notes, key, meter, chords, span), keep, context)
    return [replace(n, pitch=p) for n, p in zip(notes, pitches, strict=True)], len(changed)


def guard_score(score: Score, index: MelodyIndex) -> tuple[Score, int]:
    """The Score with its melody (first track) repaired by :func:`repair_melody`, inside its
    instrument's range; notes moved."""
    melody = sorted(score.tracks[0].notes, key=lambda n: (n.start, -n.pitch))
    fixed, moved = repair_melody(melody, score.key, score.meter, index, score.chords,
                                 span=instrument_range(score.tracks[0]))
    if not moved:
        return score, 0
    tracks = [replace(score.tracks[0], notes=fixed), *score.tracks[1:]]
    return replace(score, tracks=tracks), moved


def melody_pitches(score: Score) -> list[int]:
    return [n.pitch for n in sorted(score.tracks[0].notes, key=lambda n: (n.start, -n.pitch))]


def compose_guarded(direction: ArtDirection, rng: np.random.Generator, form: Form,
                    index: MelodyIndex | None, attempts: int = 8, **options: Any
                    ) -> tuple[Score, dict[str, Any]]:
    """:func:`~museforge.music.compose.compose` under the guard: the first piece comes from
    ``rng`` as always; a piece whose melody holds a corpus run is composed again from a generator
    seeded from ``rng`` (so the same seed still gives the same piece), and after ``attempts``
    pieces the last one is repaired. ``options`` go to ``compose``."""
    score = compose(direction, rng, form, **options)
    if index is None:
        return score, {"attempts": 1, "blocked": 0, "repaired": 0, "reproduces": None}
    seed: int | None = None
    for k in range(1, attempts + 1):
        if not index.reproduces(melody_pitches(score)):
            return score, {"attempts": k, "blocked": k - 1, "repaired": 0, "reproduces": False}
        if k < attempts:
            seed = int(rng.integers(2**62)) if seed is None else seed
            score = compose(direction, np.random.default_rng([seed, k]), form, **options)
    score, moved = guard_score(score, index)
    return score, {"attempts": attempts, "blocked": attempts, "repaired": moved,
                   "reproduces": index.reproduces(melody_pitches(score))}


def guard_line(make: Callable[[int], list[Note]], given: list[Note], index: MelodyIndex, key: Key,
               meter: Meter, context: int, attempts: int = 8, span: tuple[int, int] = (0, 127)
               ) -> tuple[list[Note], dict[str, Any]]:
    """New notes after ``given`` from ``make(attempt)`` (a sampler that already masks corpus
    runs), drawn again while ``given + new`` holds a counted run and repaired after ``attempts``
    draws (inside ``span``); ``context`` leading notes of ``given`` are the user's (their runs do
    not count). ``given`` never changes."""
    new, report = guarded(make, lambda ns: [n.pitch for n in given + ns], index, attempts, context)
    line, moved = given + new, 0
    if report["reproduces"]:
        line, moved = repair_melody(line, key, meter, index, context=context, frozen=range(len(given)),
                                    span=span)
    return line[len(given):], {**report, "repaired": moved,
                               "reproduces": index.reproduces([n.pitch for n in line], context=context)}
