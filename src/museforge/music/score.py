"""The music data model every engine shares: :class:`Note`, :class:`Track`, :class:`Score` and
the tempo map (quarter-note offsets and tempi) with its conversions to and from seconds.

Times are in quarter notes from the start of the piece; pitches are MIDI numbers; a track on
:data:`DRUM_CHANNEL` (channel 10, index 9) is percussion, its pitches General MIDI drum keys.

>>> s = Score([Track("melody", 73, 0, [Note(0.0, 1.0, 72, 80)])], 120, Meter(4, 4), Key("C", "major"), 2)
>>> s.quarters, s.seconds, s.track("melody").is_drums
(8.0, 4.0, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from museforge.errors import MuseforgeError
from museforge.music.theory import Key, Meter

DRUM_CHANNEL = 9
"""The 0-based MIDI channel of percussion (General MIDI channel 10)."""


@dataclass
class Note:
    """One note; times in quarter-note beats from the start of the piece."""

    start: float
    duration: float
    pitch: int
    velocity: int


@dataclass
class Track:
    """One part: a name, a General MIDI program (0-based), a MIDI channel (0-based) and notes."""

    name: str
    program: int
    channel: int
    notes: list[Note] = field(default_factory=list)

    @property
    def is_drums(self) -> bool:
        """Whether this is the percussion track (on :data:`DRUM_CHANNEL`)."""
        return self.channel == DRUM_CHANNEL


TempoMap = tuple[tuple[float, float], ...]
"""``(offset in quarters, quarter notes a minute)`` pairs in time order, the first at 0."""


MIN_TEMPO, MAX_TEMPO = 20.0, 300.0
"""The tempi every engine accepts, in beats a minute."""
MAX_TEMPO_CHANGES, MAX_TEMPO_OFFSET = 1000, 100_000
"""The most tempo changes in a piece, and the latest one, in quarter notes from the start."""


def check_tempo(bpm: float, from_mood: bool = False) -> None:
    """One-line error unless ``bpm`` is in 20-300 (or 0, meaning "from the mood", if allowed).

    >>> check_tempo(72); check_tempo(0, from_mood=True)
    >>> check_tempo(500)
    Traceback (most recent call last):
    museforge.errors.MuseforgeError: tempo must be 20-300 beats a minute, got 500
    """
    if from_mood and bpm == 0:
        return
    if not MIN_TEMPO <= bpm <= MAX_TEMPO:
        either = "0 (from the mood) or " if from_mood else ""
        raise MuseforgeError(f"tempo must be {either}20-300 beats a minute, got {bpm:g}")


def tempo_changes_text(changes: TempoMap) -> str:
    """Tempo changes as an engine parameter: ``"OFFSET:BPM,..."`` (offsets in quarters).

    >>> tempo_changes_text(((8.0, 60.0), (12.5, 72.0)))
    '8:60,12.5:72'
    """
    return ",".join(f"{q:g}:{b:g}" for q, b in changes)


def parse_tempo_changes(text: str) -> TempoMap:
    """The inverse of :func:`tempo_changes_text`; empty text is no change.

    >>> parse_tempo_changes("8:60,12.5:72")
    ((8.0, 60.0), (12.5, 72.0))
    """
    parts = [part for part in text.split(",") if part.strip()]
    if len(parts) > MAX_TEMPO_CHANGES:
        raise MuseforgeError(f"{len(parts):,} tempo changes; the limit is {MAX_TEMPO_CHANGES:,}")
    try:
        pairs = (part.split(":") for part in parts)
        changes = tuple((float(q), float(b)) for q, b in pairs)
    except ValueError as err:
        raise MuseforgeError(f"tempo changes {text[:60]!r}: give OFFSET:BPM pairs such as "
                             "8:60,16:72") from err
    for offset, bpm in changes:
        if not 0 <= offset <= MAX_TEMPO_OFFSET:  # also refuses nan
            raise MuseforgeError(f"tempo change at {offset:g}: the offset must be 0 to {MAX_TEMPO_OFFSET:,} "
                                 "quarter notes")
        check_tempo(bpm)
    return changes


def seconds_at(tempo_map: TempoMap, quarters: ArrayLike) -> Any:
    """Seconds from the start to ``quarters`` (a number or an array) under a tempo map; the last
    tempo holds past the last change.

    >>> seconds_at(((0.0, 120.0), (8.0, 60.0)), 16.0)  # 8 beats at 120, then 8 at 60
    12.0
    >>> seconds_at(((0.0, 120.0),), np.array([0.0, 1.0, 3.0])).tolist()
    [0.0, 0.5, 1.5]
    """
    offsets = np.array([q for q, _ in tempo_map], dtype=np.float64)
    spq = 60.0 / np.array([b for _, b in tempo_map], dtype=np.float64)  # seconds a quarter
    starts = np.concatenate([[0.0], np.cumsum(np.diff(offsets) * spq[:-1])])
    q = np.asarray(quarters, dtype=np.float64)
    i = np.clip(np.searchsorted(offsets, q, side="right") - 1, 0, None)
    out = starts[i] + (q - offsets[i]) * spq[i]
    return float(out) if out.ndim == 0 else out


def quarters_at(tempo_map: TempoMap, seconds: ArrayLike) -> Any:
    """Quarter-note offset reached after ``seconds``: the inverse of :func:`seconds_at`.

    >>> quarters_at(((0.0, 120.0), (8.0, 60.0)), [4.0, 12.0]).tolist()
    [8.0, 16.0]
    """
    offsets = np.array([q for q, _ in tempo_map], dtype=np.float64)
    starts = np.asarray(seconds_at(tempo_map, offsets), dtype=np.float64).reshape(-1)
    qps = np.array([b for _, b in tempo_map], dtype=np.float64) / 60.0
    s = np.asarray(seconds, dtype=np.float64)
    i = np.clip(np.searchsorted(starts, s, side="right") - 1, 0, None)
    out = offsets[i] + (s - starts[i]) * qps[i]
    return float(out) if out.ndim == 0 else out


@dataclass
class Score:
    """A piece as plain note lists; tempi are in quarter notes per minute.

    ``tempo`` is the tempo at the start; ``tempo_changes`` lists later changes as ``(offset in
    quarters, tempo)``. The constructor sorts them, moves a change at offset 0 into ``tempo`` and
    drops changes that keep the tempo in force, so ``tempo_map`` (the start, then the changes) is
    always well formed and ``replace(score, tempo=...)`` changes the opening tempo only.

    >>> s = Score([], 120, Meter(4, 4), Key("C", "major"), 4, tempo_changes=((8, 60), (12, 60)))
    >>> s.tempo_map, s.seconds
    (((0.0, 120.0), (8.0, 60.0)), 12.0)
    """

    tracks: list[Track]
    tempo: float
    meter: Meter
    key: Key
    bars: int
    form: str = ""
    chords: list[tuple[float, float, str]] = field(default_factory=list)
    """``(start, duration, Roman numeral)`` of each chord, for summaries and the piano roll."""
    tempo_changes: TempoMap = ()

    def __post_init__(self) -> None:
        changes = sorted(((float(q), float(b)) for q, b in self.tempo_changes), key=lambda c: c[0])
        if any(q < 0 or not b > 0 for q, b in changes) or not self.tempo > 0:
            raise MuseforgeError("tempi must be positive and tempo changes at offsets >= 0")
        while changes and changes[0][0] < 1e-9:  # a change at the start sets the opening tempo
            self.tempo = changes.pop(0)[1]
        kept: list[tuple[float, float]] = []
        for q, b in changes:
            if kept and abs(kept[-1][0] - q) < 1e-9:
                kept.pop()  # two changes at one offset: the later one holds
            if b != (kept[-1][1] if kept else self.tempo):
                kept.append((q, b))
        self.tempo_changes = tuple(kept)

    @property
    def tempo_map(self) -> TempoMap:
        """The opening tempo at offset 0, then each change."""
        return ((0.0, float(self.tempo)), *self.tempo_changes)

    @property
    def quarters(self) -> float:
        """Length in quarter notes: whole bars."""
        return self.bars * self.meter.bar_quarters

    @property
    def seconds(self) -> float:
        """Length in seconds, following every tempo change."""
        return self.seconds_at(self.quarters)

    def seconds_at(self, quarters: ArrayLike) -> Any:
        """Seconds from the start to a quarter-note offset (or an array of them)."""
        return seconds_at(self.tempo_map, quarters)

    def track(self, name: str) -> Track:
        """The track called ``name`` (KeyError if none)."""
        for t in self.tracks:
            if t.name == name:
                return t
        raise KeyError(name)


def quarter_tempo(bpm: float, meter: Meter) -> float:
    """Quarter notes per minute for a felt-beat tempo (the dotted quarter in 6/8, the half in 2/2).

    >>> quarter_tempo(80, Meter(6, 8)), quarter_tempo(80, Meter(4, 4)), quarter_tempo(80, Meter(7, 8))
    (120.0, 80.0, 80.0)
    """
    if meter.compound or meter.denominator <= 4:
        return float(bpm * meter.beat_quarters)
    return float(bpm)
