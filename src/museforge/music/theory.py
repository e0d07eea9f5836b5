"""Music theory helpers: pitch names, keys and modes, diatonic chords, Roman numerals, cadences.

Pure Python (no music21) so that composing stays fast to import; ``tests/test_music_theory.py``
checks these helpers against music21.

Roman numerals are read relative to the key's own mode: the numeral picks the scale degree of
the root (a leading ``b`` or ``#`` lowers or raises it), and the case and suffix pick the
quality: ``I`` major, ``i`` minor, ``i°`` (or ``io``) diminished, ``I+`` augmented, and a
trailing ``7`` adds the seventh (``V7`` dominant, ``ii7`` minor, ``vii°7`` diminished,
``Imaj7`` major). So ``V`` in D minor is A major, with the raised leading tone, and ``#vii°7`` is C#-E-G-Bb.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from museforge.errors import MuseforgeError

PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}
"""Semitones above the tonic of each degree of each supported mode."""

MODE_ALIASES = {"ionian": "major", "aeolian": "minor", "maj": "major", "min": "minor", "m": "minor"}
MODE_OFFSET = {"major": 0, "dorian": 2, "phrygian": 4, "lydian": 5, "mixolydian": 7, "minor": 9}
"""Semitones from the parent major scale's tonic to the mode's tonic (D dorian -> C major)."""

CHORD_INTERVALS: dict[str, tuple[int, ...]] = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "diminished": (0, 3, 6),
    "augmented": (0, 4, 8),
    "dominant7": (0, 4, 7, 10),
    "major7": (0, 4, 7, 11),
    "minor7": (0, 3, 7, 10),
    "half-diminished7": (0, 3, 6, 10),
    "diminished7": (0, 3, 6, 9),
}

ROMAN_VALUES = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7}
_ROMAN_RE = re.compile(r"^(?P<acc>[b#]?)(?P<num>vii|vi|iv|v|iii|ii|i)(?P<qual>°|o|ø|\+)?"
                       r"(?P<seventh>maj7|7)?$", re.IGNORECASE)


def pitch_class(name: str) -> int:
    """The pitch class (0 = C) of a note name such as ``"F#"``, ``"Bb"`` or ``"E-"``.

    >>> pitch_class("F#"), pitch_class("Bb"), pitch_class("e-"), pitch_class("Cb")
    (6, 10, 3, 11)
    """
    text = name.strip().replace("♯", "#").replace("♭", "b")
    if not text or text[0].upper() not in PITCH_CLASSES:
        raise MuseforgeError(f"unknown note name {name!r}; use a letter A-G with # or b, e.g. 'F#'")
    pc = PITCH_CLASSES[text[0].upper()]
    for ch in text[1:]:
        if ch == "#":
            pc += 1
        elif ch in "b-":
            pc -= 1
        else:
            raise MuseforgeError(f"unknown note name {name!r}; use a letter A-G with # or b, e.g. 'F#'")
    return pc % 12


def note_name(pitch: int, flats: bool = False) -> str:
    """The name with octave of a MIDI pitch (60 = C4).

    >>> note_name(60), note_name(61), note_name(61, flats=True), note_name(21)
    ('C4', 'C#4', 'Db4', 'A0')
    """
    names = FLAT_NAMES if flats else SHARP_NAMES
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


@dataclass(frozen=True)
class Key:
    """A tonic and a mode; ``tonic_name`` keeps the spelling the person used.

    >>> k = Key("D", "minor")
    >>> k.scale_pitches(62)
    [62, 64, 65, 67, 69, 70, 72, 74]
    >>> str(k)
    'D minor'
    """

    tonic_name: str
    mode: str

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise MuseforgeError(f"unknown mode {self.mode!r}; choose one of: {', '.join(MODES)}")
        pitch_class(self.tonic_name)

    @property
    def tonic(self) -> int:
        """The tonic's pitch class."""
        return pitch_class(self.tonic_name)

    @property
    def intervals(self) -> tuple[int, ...]:
        return MODES[self.mode]

    def __str__(self) -> str:
        return f"{self.tonic_name} {self.mode}"

    def scale_pitches(self, tonic_pitch: int) -> list[int]:
        """The seven degrees plus the octave, from a tonic given as a MIDI pitch."""
        return [tonic_pitch + i for i in self.intervals] + [tonic_pitch + 12]

    def degree_pitch(self, degree: int, tonic_pitch: int) -> int:
        """The MIDI pitch of a 0-based scale degree, which may lie outside 0..6.

        >>> Key("C", "major").degree_pitch(7, 60), Key("C", "major").degree_pitch(-1, 60)
        (72, 59)
        """
        octave, step = divmod(degree, 7)
        return tonic_pitch + 12 * octave + self.intervals[step]

    def signature(self) -> tuple[int, bool]:
        """Sharps (positive) or flats (negative) of the key signature, and whether it is minor.

        Modes borrow the signature of their parent major scale (D dorian has none).

        >>> Key("D", "minor").signature(), Key("E", "phrygian").signature()
        ((-1, True), (0, False))
        """
        parent = (self.tonic - MODE_OFFSET[self.mode]) % 12
        fifths = (parent * 7) % 12  # position on the circle of fifths from C
        if fifths > 6 or (fifths == 6 and "b" in self.tonic_name):
            fifths -= 12
        return fifths, self.mode == "minor"

    def mido_key(self) -> str:
        """The key name mido's ``key_signature`` meta message expects (``'Dm'``, ``'Bb'``).

        >>> Key("D", "minor").mido_key(), Key("D", "dorian").mido_key(), Key("F#", "major").mido_key()
        ('Dm', 'C', 'F#')
        """
        fifths, minor = self.signature()
        major_pc = (fifths * 7) % 12
        names = FLAT_NAMES if fifths < 0 else SHARP_NAMES
        if fifths == -6:
            return "Ebm" if minor else "Gb"
        if minor:
            return names[(major_pc + 9) % 12] + "m"
        return names[major_pc]


def parse_key(text: str, default_mode: str = "major") -> Key:
    """A Key from text such as ``"D minor"``, ``"F# major"``, ``"Bb dorian"``, ``"Am"`` or ``"G"``.

    >>> parse_key("D minor"), parse_key("f# major"), parse_key("Am"), parse_key("G", "lydian")
    (Key(tonic_name='D', mode='minor'), Key(tonic_name='F#', mode='major'), \
Key(tonic_name='A', mode='minor'), Key(tonic_name='G', mode='lydian'))
    >>> parse_key("H minor")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    museforge.errors.MuseforgeError: unknown key 'H minor'; write a tonic and a mode, e.g. 'D minor'...
    """
    hint = (f"unknown key {text!r}; write a tonic and a mode, e.g. 'D minor' or 'F# major' "
            f"(modes: {', '.join(MODES)})")
    match = re.fullmatch(r"\s*([A-Ga-g])([#b♯♭-]?)\s*([A-Za-z]*)\s*", text)
    if not match:
        raise MuseforgeError(hint)
    letter, accidental, mode = match.groups()
    tonic = letter.upper() + accidental.replace("♯", "#").replace("♭", "b").replace("-", "b")
    mode = mode.lower()
    if mode == "" or mode == "key":
        mode = default_mode
    mode = MODE_ALIASES.get(mode, mode)
    if mode not in MODES:
        raise MuseforgeError(hint)
    return Key(tonic, mode)


@dataclass(frozen=True)
class Chord:
    """A chord as a root pitch class, a quality and its Roman numeral in some key."""

    root: int
    quality: str
    numeral: str

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        """Pitch classes from the root up.

        >>> roman_chord(Key("D", "minor"), "V7").pitch_classes
        (9, 1, 4, 7)
        """
        return tuple((self.root + i) % 12 for i in CHORD_INTERVALS[self.quality])

    def pitches(self, bass_pitch: int) -> list[int]:
        """Root-position MIDI pitches with the root at or just above ``bass_pitch``."""
        root = bass_pitch + (self.root - bass_pitch) % 12
        return [root + i for i in CHORD_INTERVALS[self.quality]]


def triad_quality(third: int, fifth: int) -> str:
    return {(4, 7): "major", (3, 7): "minor", (3, 6): "diminished", (4, 8): "augmented"}[
        (third, fifth)
    ]


def diatonic_triad(key: Key, degree: int) -> Chord:
    """The triad built on a 1-based degree from the mode's own notes, with its Roman numeral.

    >>> [diatonic_triad(Key("C", "major"), d).numeral for d in range(1, 8)]
    ['I', 'ii', 'iii', 'IV', 'V', 'vi', 'vii°']
    >>> [diatonic_triad(Key("D", "dorian"), d).numeral for d in range(1, 8)]
    ['i', 'ii', 'III', 'IV', 'v', 'vi°', 'VII']
    """
    steps = key.intervals
    i = degree - 1
    root = steps[i % 7]
    third = (steps[(i + 2) % 7] - root) % 12
    fifth = (steps[(i + 4) % 7] - root) % 12
    quality = triad_quality(third, fifth)
    numeral = next(k for k, v in ROMAN_VALUES.items() if v == degree)
    numeral = numeral.upper() if quality in ("major", "augmented") else numeral
    numeral += {"diminished": "°", "augmented": "+"}.get(quality, "")
    return Chord((key.tonic + root) % 12, quality, numeral)


def roman_chord(key: Key, numeral: str) -> Chord:
    """The chord a Roman numeral names in a key (see the module docstring for the rules).

    >>> c = roman_chord(Key("D", "minor"), "V")
    >>> [SHARP_NAMES[p] for p in c.pitch_classes]
    ['A', 'C#', 'E']
    >>> [FLAT_NAMES[p] for p in roman_chord(Key("C", "major"), "bVII").pitch_classes]
    ['Bb', 'D', 'F']
    >>> roman_chord(Key("C", "major"), "iiø7").quality, roman_chord(Key("A", "minor"), "#vii°7").root
    ('half-diminished7', 8)
    >>> roman_chord(Key("C", "major"), "X")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    museforge.errors.MuseforgeError: unknown Roman numeral 'X'; use I-VII with optional b/#, ...
    """
    match = _ROMAN_RE.match(numeral.strip())
    if not match:
        raise MuseforgeError(f"unknown Roman numeral {numeral!r}; use I-VII with optional b/#, °, "
                             f"+, 7, e.g. 'V7' or 'bVII'")
    acc, num, qual, seventh = match.group("acc", "num", "qual", "seventh")
    degree = ROMAN_VALUES[num.lower()]
    root = (key.tonic + key.intervals[degree - 1] + {"b": -1, "#": 1, "": 0}[acc]) % 12
    upper = num.isupper()
    if qual in ("°", "o"):
        quality = "diminished7" if seventh == "7" else "diminished"
    elif qual == "ø":
        quality = "half-diminished7"
    elif qual == "+":
        quality = "augmented"
    elif upper:
        quality = {"7": "dominant7", "maj7": "major7"}.get(seventh or "", "major")
    else:
        quality = "minor7" if seventh else "minor"
    return Chord(root, quality, numeral.strip())


def progression(key: Key, numerals: str | list[str]) -> list[Chord]:
    """Chords of a progression written as Roman numerals, separated by spaces or dashes.

    >>> [c.numeral for c in progression(Key("G", "major"), "I-vi-IV-V7-I")]
    ['I', 'vi', 'IV', 'V7', 'I']
    """
    items = numerals.replace("-", " ").split() if isinstance(numerals, str) else numerals
    return [roman_chord(key, n) for n in items]


CADENCES = ("authentic", "half", "plagal", "deceptive")


def cadence(key: Key, kind: str) -> list[str]:
    """The two Roman numerals of a cadence in a key's mode; every mode gets a major dominant.

    >>> cadence(Key("C", "major"), "authentic"), cadence(Key("D", "minor"), "half")
    (['V7', 'I'], ['iv', 'V'])
    >>> cadence(Key("E", "phrygian"), "authentic"), cadence(Key("D", "dorian"), "plagal")
    (['V7', 'i'], ['IV', 'i'])
    """
    tonic = diatonic_triad(key, 1).numeral
    subdominant = diatonic_triad(key, 4).numeral
    submediant = diatonic_triad(key, 6).numeral
    if kind == "authentic":
        return ["V7", tonic]
    if kind == "half":
        return [subdominant if key.mode in ("minor", "phrygian", "dorian") else "ii", "V"]
    if kind == "plagal":
        return [subdominant, tonic]
    if kind == "deceptive":
        return ["V", submediant.rstrip("°")]
    raise MuseforgeError(f"unknown cadence {kind!r}; choose one of: {', '.join(CADENCES)}")


@dataclass(frozen=True)
class Meter:
    """A time signature; compound meters (6/8, 9/8, 12/8) group eighths in threes.

    >>> m = parse_meter("6/8")
    >>> m.bar_quarters, m.beats, m.beat_quarters
    (3.0, 2, 1.5)
    >>> parse_meter("4/4").strong_beats
    (0.0, 2.0)
    """

    numerator: int
    denominator: int

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    @property
    def bar_quarters(self) -> float:
        """Length of one bar in quarter notes."""
        return self.numerator * 4 / self.denominator

    @property
    def compound(self) -> bool:
        return self.denominator == 8 and self.numerator % 3 == 0 and self.numerator > 3

    @property
    def beats(self) -> int:
        """Felt beats per bar (two in 6/8)."""
        return self.numerator // 3 if self.compound else self.numerator

    @property
    def beat_quarters(self) -> float:
        """Length of one felt beat in quarter notes."""
        return self.bar_quarters / self.beats

    @property
    def strong_beats(self) -> tuple[float, ...]:
        """Bar positions (in quarters) of the downbeat and the secondary accents."""
        b = self.beat_quarters
        if self.beats == 4:
            return (0.0, 2 * b)
        if self.beats == 5:
            return (0.0, 3 * b)
        if self.beats == 6:
            return (0.0, 3 * b)
        if self.beats >= 7:
            return tuple(i * b for i in range(0, self.beats, 2))
        return (0.0,)


def parse_meter(text: str) -> Meter:
    """A Meter from ``"N/D"``: N from 1 to 32, D a power of two from 1 to 32.

    >>> parse_meter("5/4")
    Meter(numerator=5, denominator=4)
    >>> parse_meter("3/5")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    museforge.errors.MuseforgeError: invalid meter '3/5'; write beats/unit with 1-32 beats and a ...
    """
    match = re.fullmatch(r"\s*(\d{1,9})\s*/\s*(\d{1,9})\s*", text)
    if match:
        num, den = int(match.group(1)), int(match.group(2))
        if 1 <= num <= 32 and den in (1, 2, 4, 8, 16, 32):
            return Meter(num, den)
    raise MuseforgeError(f"invalid meter {text!r}; write beats/unit with 1-32 beats and a unit of "
                         f"1, 2, 4, 8, 16 or 32, e.g. '3/4' or '6/8'")


# Krumhansl-Kessler key profiles (probe-tone ratings), from C.
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
KEY_NAMES_MAJOR = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
KEY_NAMES_MINOR = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")


def find_key(pitches: list[int], weights: list[float] | None = None) -> Key:
    """The major or minor key whose Krumhansl-Kessler profile best correlates with the
    (duration-weighted) pitch-class histogram of ``pitches``.

    >>> find_key([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60])
    Key(tonic_name='C', mode='major')
    >>> find_key([57, 59, 60, 62, 64, 65, 68, 69, 64, 57])
    Key(tonic_name='A', mode='minor')
    """
    hist = [0.0] * 12
    for i, p in enumerate(pitches):
        hist[p % 12] += weights[i] if weights else 1.0
    if not any(hist):
        return Key("C", "major")

    def corr(profile: tuple[float, ...], shift: int) -> float:
        xs = [profile[(pc - shift) % 12] for pc in range(12)]
        mx, mh = sum(xs) / 12, sum(hist) / 12
        num = sum((x - mx) * (h - mh) for x, h in zip(xs, hist, strict=True))
        den = (sum((x - mx) ** 2 for x in xs) * sum((h - mh) ** 2 for h in hist)) ** 0.5
        return num / den if den else 0.0

    best = max(((corr(MAJOR_PROFILE, t), -t, "major") for t in range(12)),
               key=lambda c: c[0])
    best_minor = max(((corr(MINOR_PROFILE, t), -t, "minor") for t in range(12)), key=lambda c: c[0])
    _, neg_tonic, mode = max(best, best_minor, key=lambda c: c[0])
    names = KEY_NAMES_MAJOR if mode == "major" else KEY_NAMES_MINOR
    return Key(names[-neg_tonic], mode)


def parse_note(text: str) -> int:
    """The MIDI pitch of a note name with octave (``"C4"`` = 60, ``"Bb3"``, ``"F#5"``).

    >>> parse_note("C4"), parse_note("Bb3"), parse_note("f#5"), parse_note("E-4")
    (60, 58, 78, 63)
    """
    match = re.fullmatch(r"\s*([A-Ga-g][#b♯♭-]*)(-?\d{1,9})\s*", text)
    if not match:
        raise MuseforgeError(f"unknown note {text!r}; write a letter, an optional # or b and an "
                             f"octave, e.g. 'C4' or 'F#5'")
    pitch_class(match.group(1))  # checks the name
    letter_pc = PITCH_CLASSES[match.group(1)[0].upper()]
    acc = sum(1 if c in "#♯" else -1 for c in match.group(1)[1:])
    pitch = letter_pc + acc + 12 * (int(match.group(2)) + 1)
    if not 0 <= pitch <= 127:
        raise MuseforgeError(f"note {text!r} is outside the MIDI range C-1..G9")
    return pitch
