"""The Chinese phrase bank: units of Tang verse by kind, tone pattern, motif, season and mood.

``assets/phrases_zh.json`` is built by ``recipes/verse_bank.py`` from the Tang poems the
built-in poet trained on (public domain): two-character heads (``head2``), four-character heads
(``head4``, seven-character lines) and three-character tails (``tail3``), never whole lines.
Each unit carries its tones by modern readings and by the Pingshui book; a unit *fits* a tone
pattern (``P`` level, ``Z`` oblique, ``*`` free) when both readings agree with it wherever the
pattern fixes a tone.

>>> bank = load_bank()
>>> all(fits(u, "PZ") for u in bank.matching("head2", "PZ")[:20])
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from museforge.errors import MuseforgeError

FILE = "phrases_zh.json"


@dataclass(frozen=True)
class Unit:
    """One phrase of the bank and its tags."""

    text: str
    count: int
    tones_modern: str
    tones_pingshui: str
    motifs: frozenset[str]
    seasons: frozenset[str]  # empty: any season
    time: str  # "day", "dusk", "night" or ""
    mood: str  # the mood the emotion lexicon reads in it, or ""


def fits(unit: Unit, pattern: str) -> bool:
    """Whether both readings of ``unit`` keep ``pattern`` (unknown tones, ``?``, are unchecked).

    >>> fits(Unit("归未得", 1, "PZP", "PZZ", frozenset(), frozenset(), "", ""), "PZZ")
    False
    """
    return all(
        want == "*" or (m in (want, "?") and p in (want, "?"))
        for want, m, p in zip(pattern, unit.tones_modern, unit.tones_pingshui, strict=True)
    )


_SEASON = {"s": "spring", "u": "summer", "a": "autumn", "w": "winter"}


class Bank:
    """The units by kind, with the units fitting each tone pattern cached."""

    def __init__(self, data: dict) -> None:
        self.meta = {k: v for k, v in data.items() if k != "units"}
        self.units: dict[str, list[Unit]] = {
            kind: [
                Unit(t, n, tm, tp, frozenset(m.split()), frozenset(_SEASON[c] for c in s), time, mood)
                for t, n, tm, tp, m, s, time, mood in rows
            ]
            for kind, rows in data["units"].items()
        }
        self._fitting: dict[tuple[str, str], list[Unit]] = {}

    def matching(self, kind: str, pattern: str) -> list[Unit]:
        """Units of ``kind`` that fit ``pattern``, most frequent first."""
        key = (kind, pattern)
        if key not in self._fitting:
            self._fitting[key] = [u for u in self.units[kind] if fits(u, pattern)]
        return self._fitting[key]


@cache
def load_bank() -> Bank:
    """The shipped bank (read once), or a one-line error saying how to rebuild it."""
    path = resources.files("museforge.text") / "assets" / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise MuseforgeError(
            f"cannot read the phrase bank {FILE}: {err}; rebuild it with recipes/verse_bank.py"
        ) from None
    return Bank(data)
