"""What ingest writes beside each item: its mood (the emotion detector on its caption or text),
its tags (the sidecar's and the item's folder names), a music item's key, meter, tempo and note
count, and the keys near duplicates are found by (normalised text, the melody's intervals)."""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import PurePosixPath
from typing import Any

MOOD_CHARS = 2000
"""Characters of a text the mood is read from."""
MIN_INTERVALS = 8
"""A melody with fewer intervals is too short to call another its near duplicate."""
_HAN = re.compile(r"[\u3400-\u9fff]")


def mood_of(text: str | None) -> str | None:
    """The mood label of a caption or text (``None`` without one).

    >>> mood_of("a stormy sea at night"), mood_of("  ")
    ('tense', None)
    """
    if not text or not text.strip():
        return None
    from museforge.emotion.detect import detect_emotion

    return detect_emotion(text[:MOOD_CHARS]).label


@cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def normalised_text(text: str) -> str:
    """A text as near duplicates are compared: NFC, case folded, traditional Han characters in
    simplified forms, white space, punctuation, symbols and control characters dropped.

    >>> normalised_text("The Rose,  the LILY!\\n"), normalised_text("白日依山盡，")
    ('therosethelily', '白日依山尽')
    """
    text = unicodedata.normalize("NFC", text).casefold()
    if _HAN.search(text):
        text = _t2s().convert(text)
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZSC")


def text_key(text: str) -> str | None:
    """A hash of the normalised text (``None`` when nothing is left to compare)."""
    norm = normalised_text(text)
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:32] if norm else None


def melody_key(score: Any) -> str | None:
    """A hash of the top line's pitch intervals (the same under transposition and tempo);
    ``None`` for a melody shorter than :data:`MIN_INTERVALS` intervals."""
    from museforge.errors import MuseforgeError
    from museforge.music.io import melody_of

    try:
        pitches = [n.pitch for n in melody_of(score)]
    except MuseforgeError:
        return None
    intervals = [b - a for a, b in itertools.pairwise(pitches)]
    if len(intervals) < MIN_INTERVALS:
        return None
    return hashlib.sha256(",".join(map(str, intervals)).encode()).hexdigest()[:32]


def music_facts(score: Any) -> dict[str, Any]:
    """Key (Krumhansl-Kessler, duration weighted), meter, opening tempo and pitched note count of a
    score read by :mod:`museforge.music` (0.4 ms a short MIDI file, where music21's parse and
    ``analyze('key')`` take about 20 ms)."""
    from museforge.music.score import DRUM_CHANNEL
    from museforge.music.theory import find_key

    notes = [n for t in score.tracks if t.channel != DRUM_CHANNEL for n in t.notes]
    key = find_key([n.pitch for n in notes], [max(n.duration, 1e-3) for n in notes]) if notes else None
    return {
        "key": str(key) if key else None,
        "meter": f"{score.meter.numerator}/{score.meter.denominator}",
        "tempo": round(float(score.tempo), 3),
        "notes": len(notes),
    }


def tags_of(rel: str, given: Iterable[str] = ()) -> list[str]:
    """The sidecar's tags and the names of the item's folders, sorted, each once.

    >>> tags_of("landscapes/autumn/a.png", ["Oil", "oil "])
    ['Oil', 'autumn', 'landscapes', 'oil']
    """
    tags = {t.strip() for t in given if isinstance(t, str) and t.strip()}
    tags.update(PurePosixPath(rel).parent.parts)
    return sorted(tags)
