"""The one mood table: every mood and every setting an engine reads for it.

``MOODS_TABLE`` holds one ``MoodSpec`` per mood: its place on the valence/arousal plane, its
colour, key, instruments and the Chinese poet's season and time of day. Every module reads
its per-mood settings from here; only words (mood imagery, detection lexicons, the poets'
phrase banks) live in banks of their own, keyed by mood name, and a bank without an entry for
a mood says so in one line (``mood_words``).

Adding a mood: one ``MoodSpec`` entry below, plus its words in ``emotion.mapping.MOOD_WORDS``,
``text.bank_zh.MOODS`` and ``text.poet_en.VOICES`` (and, to be detected, rows in the emotion
lexicons; to be asked of the diffusion model by name, ``image.diffusion.text.MOOD_WORDS``).
``tests/test_moods_table.py`` checks that every mood has them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import NamedTuple, TypeVar, overload

from museforge.errors import MuseforgeError

T = TypeVar("T")

SEASONS = ("spring", "summer", "autumn", "winter")


class Instrument(NamedTuple):
    """A General MIDI instrument: the track's name and its program (0-based)."""

    name: str
    program: int


@dataclass(frozen=True)
class MoodSpec:
    """Every per-mood setting that is not vocabulary.

    valence, arousal  the prototype point, after Russell's circumplex; both in [-1, 1]
    hue               base hue of the palette, degrees in [0, 360)
    mode, tonic       the key of its music (a mode of ``music.theory.MODES``, a pitch name)
    instruments       melody, chords, bass
    seasons           seasons a Chinese poem may be set in when the prompt names none
    evening           chance that a Chinese poem is set in the evening when the prompt doesn't say
    place             place motif (``text.bank_zh.MOTIFS``) of a Chinese poem whose prompt names
                      none; None: forest, mountain or river at random
    negated           the mood a negated word of this mood votes for ("not happy" -> melancholy);
                      None: a negated word casts no vote
    """

    valence: float
    arousal: float
    hue: float
    mode: str
    tonic: str
    instruments: tuple[Instrument, Instrument, Instrument]
    seasons: tuple[str, ...]
    evening: float
    place: str | None = None
    negated: str | None = None

    def __post_init__(self) -> None:
        for name in ("valence", "arousal"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise MuseforgeError(f"a mood's {name} must lie in [-1, 1], got {getattr(self, name)}")
        if not 0.0 <= self.hue < 360.0:
            raise MuseforgeError(f"a mood's hue must lie in [0, 360) degrees, got {self.hue}")
        if not 0.0 <= self.evening <= 1.0:
            raise MuseforgeError(f"a mood's evening chance must lie in [0, 1], got {self.evening}")
        if not self.seasons or not set(self.seasons) <= set(SEASONS):
            raise MuseforgeError(f"a mood's seasons must be some of {', '.join(SEASONS)}; got {self.seasons}")
        if len(self.instruments) != 3 or not all(0 <= i.program <= 127 for i in self.instruments):
            raise MuseforgeError(
                f"a mood has three instruments (melody, chords, bass), General MIDI programs 0-127; "
                f"got {self.instruments}")


MOODS_TABLE: dict[str, MoodSpec] = {
    "joyful": MoodSpec(
        valence=0.8, arousal=0.5, hue=45.0, mode="major", tonic="G",
        instruments=(Instrument("flute", 73), Instrument("acoustic guitar", 24),
                     Instrument("acoustic bass", 32)),
        seasons=("spring", "summer"), evening=0.3, negated="melancholy",
    ),
    "awed": MoodSpec(
        valence=0.5, arousal=0.7, hue=275.0, mode="lydian", tonic="D",
        instruments=(Instrument("french horn", 60), Instrument("string ensemble", 48),
                     Instrument("contrabass", 43)),
        seasons=SEASONS, evening=0.3, place="mountain",
    ),
    "serene": MoodSpec(
        valence=0.6, arousal=-0.6, hue=175.0, mode="major", tonic="F",
        instruments=(Instrument("flute", 73), Instrument("harp", 46), Instrument("cello", 42)),
        seasons=SEASONS, evening=0.5, negated="tense",
    ),
    "nostalgic": MoodSpec(
        valence=0.0, arousal=-0.4, hue=30.0, mode="mixolydian", tonic="C",
        instruments=(Instrument("clarinet", 71), Instrument("acoustic piano", 0),
                     Instrument("acoustic bass", 32)),
        seasons=("autumn",), evening=0.6, place="village",
    ),
    "melancholy": MoodSpec(
        valence=-0.6, arousal=-0.5, hue=220.0, mode="minor", tonic="D",
        instruments=(Instrument("acoustic piano", 0), Instrument("string ensemble", 48),
                     Instrument("contrabass", 43)),
        seasons=("autumn", "winter"), evening=0.6, negated="serene",
    ),
    "mysterious": MoodSpec(
        valence=-0.1, arousal=0.1, hue=250.0, mode="dorian", tonic="E",
        instruments=(Instrument("vibraphone", 11), Instrument("warm pad", 89),
                     Instrument("fretless bass", 35)),
        seasons=("summer", "autumn"), evening=0.7,
    ),
    "tense": MoodSpec(
        valence=-0.5, arousal=0.7, hue=15.0, mode="minor", tonic="C",
        instruments=(Instrument("violin", 40), Instrument("tremolo strings", 44),
                     Instrument("contrabass", 43)),
        seasons=("autumn", "winter"), evening=0.6, place="city", negated="serene",
    ),
    "angry": MoodSpec(
        valence=-0.8, arousal=0.8, hue=0.0, mode="phrygian", tonic="E",
        instruments=(Instrument("overdriven guitar", 29), Instrument("brass section", 61),
                     Instrument("electric bass", 34)),
        seasons=("autumn", "winter"), evening=0.4, place="sea", negated="serene",
    ),
}
"""Mood name -> its settings, in the order moods are listed and tie-broken everywhere."""


class _MoodNames(Sequence[str]):
    """The mood names in table order: a read-only view of ``MOODS_TABLE`` that stays current."""

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return tuple(MOODS_TABLE)[index]

    def __len__(self) -> int:
        return len(MOODS_TABLE)

    def __contains__(self, name: object) -> bool:
        return name in MOODS_TABLE

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(MOODS_TABLE))

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, _MoodNames) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(tuple(self))


class _Prototypes(Mapping[str, tuple[float, float]]):
    """Mood -> its prototype (valence, arousal): a read-only view of ``MOODS_TABLE``."""

    def __getitem__(self, mood: str) -> tuple[float, float]:
        spec = MOODS_TABLE[mood]
        return (spec.valence, spec.arousal)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(MOODS_TABLE))

    def __len__(self) -> int:
        return len(MOODS_TABLE)

    def __repr__(self) -> str:
        return repr(dict(self))


MOODS: Sequence[str] = _MoodNames()
"""The mood names, in table order (a live view of ``MOODS_TABLE``; index it like a tuple)."""
MOOD_PROTOTYPES: Mapping[str, tuple[float, float]] = _Prototypes()
"""Mood -> its prototype (valence, arousal) (a live view of ``MOODS_TABLE``)."""


def mood_spec(label: str) -> MoodSpec:
    """The settings of a mood, or a one-line error listing the moods."""
    if label not in MOODS_TABLE:
        raise MuseforgeError(f"unknown emotion {label!r}; choose one of: {', '.join(MOODS_TABLE)}")
    return MOODS_TABLE[label]


def mood_words(bank: Mapping[str, T], mood: str, name: str) -> T:
    """``bank[mood]``, or a one-line error naming the words the mood lacks (``name``: the bank).

    >>> mood_words({"serene": ("still",)}, "serene", "BANK")
    ('still',)
    >>> mood_words({}, "serene", "BANK")
    Traceback (most recent call last):
    museforge.errors.MuseforgeError: mood 'serene' has no words in BANK; add an entry 'serene' there
    """
    if mood not in bank:
        raise MuseforgeError(f"mood {mood!r} has no words in {name}; add an entry {mood!r} there")
    return bank[mood]


def mode_mood(mode: str) -> str:
    """The first mood in a musical mode: whose instruments a piece in a bare key borrows.

    >>> mode_mood("minor"), mode_mood("lydian")
    ('melancholy', 'awed')
    """
    for name, spec in MOODS_TABLE.items():
        if spec.mode == mode:
            return name
    raise MuseforgeError(f"no mood is in the {mode!r} mode; moods' modes: "
                         f"{', '.join(sorted({s.mode for s in MOODS_TABLE.values()}))}")


@dataclass(frozen=True)
class Emotion:
    """A mood label with its valence and arousal in [-1, 1] and a confidence in [0, 1]."""

    label: str
    valence: float
    arousal: float
    confidence: float = 1.0
    source: str = "given"

    def __post_init__(self) -> None:
        mood_spec(self.label)
        for name in ("valence", "arousal"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise MuseforgeError(f"{name} must lie in [-1, 1], got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Emotion:
        return cls(**data)


def emotion_from_label(label: str) -> Emotion:
    """The prototype Emotion of a mood, as chosen by the person (confidence 1).

    >>> emotion_from_label("serene").valence
    0.6
    """
    label = label.strip().lower()
    spec = mood_spec(label)
    return Emotion(label, spec.valence, spec.arousal, 1.0, "given")


def nearest_mood(valence: float, arousal: float) -> str:
    """The mood whose prototype is closest to a point of the plane.

    >>> nearest_mood(-0.7, 0.9)
    'angry'
    """
    return min(
        MOODS_TABLE,
        key=lambda m: (MOODS_TABLE[m].valence - valence) ** 2 + (MOODS_TABLE[m].arousal - arousal) ** 2,
    )
