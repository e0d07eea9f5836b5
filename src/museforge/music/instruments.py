"""What each instrument can play and how its part is written: one table of ranges keyed by
General MIDI program, the choir's SATB ranges, the clef of each part, and the notation of the
General MIDI drum keys.

Ranges are **sounding** pitches (MIDI numbers, C4 = 60): a contrabass part reaches E1 although
it is written an octave higher, a piccolo sounds an octave above its written notes. The
orchestral instruments follow the usual orchestration references (Adler, *The Study of
Orchestration*); the synthesiser and effect programs, which have no natural compass, get the
keyboard's comfortable middle (C2-C7).

The composers place every part inside :func:`instrument_range` by construction: they choose the
octave of a line with :func:`fit_octave`, and fold single notes by octaves
(:func:`fold_into`) only where a line is wider than the instrument.

>>> from museforge.music.theory import note_name
>>> [note_name(p) for p in RANGES[40]]  # the violin
['G3', 'A7']
>>> [note_name(p) for p in instrument_range(Track("tenor (choir)", 52, 2))]
['C3', 'C5']
>>> fit_octave(50, 70, RANGES[40], 52)  # a line on D3-A#4 moves up an octave for the violin
12
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from museforge.music.score import Note, Track
from museforge.music.theory import parse_note


def _span(low: str, high: str) -> tuple[int, int]:
    return parse_note(low), parse_note(high)


_KEYBOARD = ("C2", "C7")
_NAMED_RANGES: dict[int, tuple[str, str]] = {
    # piano
    0: ("A0", "C8"),     # acoustic grand piano
    1: ("A0", "C8"),     # bright acoustic piano
    2: ("E1", "E7"),     # electric grand piano (73 keys)
    3: ("A0", "C8"),     # honky-tonk piano
    4: ("E1", "E7"),     # electric piano 1 (73 keys)
    5: ("E1", "E7"),     # electric piano 2
    6: ("F1", "F6"),     # harpsichord
    7: ("F1", "E6"),     # clavinet
    # chromatic percussion (sounding: celesta and xylophone an octave, glockenspiel two above the page)
    8: ("C4", "C8"),     # celesta
    9: ("G5", "C8"),     # glockenspiel
    10: ("C4", "C7"),    # music box
    11: ("F3", "F6"),    # vibraphone
    12: ("C2", "C7"),    # marimba (five octaves)
    13: ("F4", "C8"),    # xylophone
    14: ("C4", "F5"),    # tubular bells
    15: ("D3", "E6"),    # hammered dulcimer
    # organ
    16: ("C2", "C7"),    # drawbar organ (61 keys at 8')
    17: ("C2", "C7"),    # percussive organ
    18: ("C2", "C7"),    # rock organ
    19: ("C1", "C7"),    # church organ (pedals at 16')
    20: ("C2", "C7"),    # reed organ
    21: ("F2", "A6"),    # accordion
    22: ("C4", "C7"),    # harmonica
    23: ("F2", "A6"),    # tango accordion
    # guitar (sounding an octave below the written part)
    24: ("E2", "B5"),    # acoustic guitar (nylon)
    25: ("E2", "B5"),    # acoustic guitar (steel)
    26: ("E2", "D6"),    # electric guitar (jazz, 22 frets)
    27: ("E2", "D6"),    # electric guitar (clean)
    28: ("E2", "D6"),    # electric guitar (muted)
    29: ("E2", "D6"),    # overdriven guitar
    30: ("E2", "D6"),    # distortion guitar
    31: ("E3", "E6"),    # guitar harmonics
    # bass (sounding an octave below the written part)
    32: ("E1", "G3"),    # acoustic bass
    33: ("E1", "C4"),    # electric bass (finger, 20 frets)
    34: ("E1", "C4"),    # electric bass (pick)
    35: ("E1", "C4"),    # fretless bass
    36: ("E1", "C4"),    # slap bass 1
    37: ("E1", "C4"),    # slap bass 2
    38: ("C1", "C4"),    # synth bass 1
    39: ("C1", "C4"),    # synth bass 2
    # strings
    40: ("G3", "A7"),    # violin
    41: ("C3", "E6"),    # viola
    42: ("C2", "A5"),    # cello
    43: ("E1", "G4"),    # contrabass (sounding; written an octave higher)
    44: ("E1", "C7"),    # tremolo strings (the section, basses to violins)
    45: ("E1", "A6"),    # pizzicato strings
    46: ("C1", "G7"),    # orchestral harp (47 strings)
    47: ("D2", "C4"),    # timpani (four or five drums)
    # ensemble
    48: ("E1", "C7"),    # string ensemble 1
    49: ("E1", "C7"),    # string ensemble 2
    50: ("C1", "C7"),    # synth strings 1
    51: ("C1", "C7"),    # synth strings 2
    52: ("E2", "C6"),    # choir aahs (bass to soprano; see VOICE_RANGES)
    53: ("E2", "C6"),    # voice oohs
    54: _KEYBOARD,       # synth voice
    55: _KEYBOARD,       # orchestra hit
    # brass
    56: ("F#3", "D6"),   # trumpet
    57: ("E2", "F5"),    # trombone
    58: ("D1", "F4"),    # tuba
    59: ("F#3", "C6"),   # muted trumpet
    60: ("B1", "F5"),    # french horn (sounding)
    61: ("E2", "D6"),    # brass section (trombones to trumpets)
    62: _KEYBOARD,       # synth brass 1
    63: _KEYBOARD,       # synth brass 2
    # reed (saxophones sounding)
    64: ("Ab3", "E6"),   # soprano sax
    65: ("Db3", "Ab5"),  # alto sax
    66: ("Ab2", "E5"),   # tenor sax
    67: ("C2", "Ab4"),   # baritone sax (low A)
    68: ("Bb3", "A6"),   # oboe
    69: ("E3", "C6"),    # english horn (sounding)
    70: ("Bb1", "Eb5"),  # bassoon
    71: ("D3", "Bb6"),   # clarinet (B-flat, sounding)
    # pipe
    72: ("D5", "C8"),    # piccolo (sounding)
    73: ("C4", "C7"),    # flute
    74: ("C5", "D7"),    # recorder (soprano, sounding)
    75: ("C4", "C7"),    # pan flute
    76: ("C4", "C6"),    # blown bottle
    77: ("D4", "D6"),    # shakuhachi (1.8 shaku)
    78: ("D5", "D7"),    # whistle (tin whistle in D)
    79: ("A4", "F6"),    # ocarina (alto in C)
    # ethnic
    104: ("C3", "C6"),   # sitar
    105: ("D3", "D6"),   # banjo (five-string)
    106: ("C3", "C6"),   # shamisen
    107: ("D3", "D6"),   # koto
    108: ("C4", "E6"),   # kalimba (17 tines)
    109: ("G4", "A5"),   # bagpipe (chanter)
    110: ("G3", "E7"),   # fiddle
    111: ("C4", "C6"),   # shanai
    # percussive
    112: ("C5", "C7"),   # tinkle bell
    113: ("C4", "C7"),   # agogo
    114: ("D4", "F#6"),  # steel drums (tenor pan)
    115: ("C4", "C7"),   # woodblock
    116: ("C2", "C4"),   # taiko drum
    117: ("C2", "C5"),   # melodic tom
    118: ("C2", "C5"),   # synth drum
    119: _KEYBOARD,      # reverse cymbal
}
# synth leads (80-87), pads (88-95), effects (96-103) and sound effects (120-127): the keyboard's middle
_NAMED_RANGES |= {p: _KEYBOARD for p in [*range(80, 104), *range(120, 128)]}
_NAMED_RANGES[87] = ("C1", "C6")  # bass + lead

RANGES: dict[int, tuple[int, int]] = {p: _span(*_NAMED_RANGES[p]) for p in range(128)}
"""Lowest and highest sounding MIDI pitch of each General MIDI program (0-based)."""

VOICE_RANGES: dict[str, tuple[int, int]] = {
    "soprano": _span("C4", "C6"), "alto": _span("F3", "F5"),
    "tenor": _span("C3", "C5"), "bass": _span("E2", "E4"),
}
"""The choir's voices (SATB), as choral writing uses them."""
CHOIR_PROGRAMS = (52, 53)
DRUM_KEYS = (35, 81)
"""The General MIDI (level 1) percussion keys on channel 10."""


def voice_of(track: Track) -> str | None:
    """The SATB voice a choir track sings (named ``"tenor (choir)"`` and so on), else None."""
    words = track.name.split()
    if track.program in CHOIR_PROGRAMS and words and words[0] in VOICE_RANGES:
        return words[0]
    return None


def instrument_range(track: Track) -> tuple[int, int]:
    """The pitches a track may hold: drum keys for percussion, a voice's range for a choir
    part, else its program's range."""
    if track.is_drums:
        return DRUM_KEYS
    voice = voice_of(track)
    return VOICE_RANGES[voice] if voice else RANGES[track.program]


def fit_octave(low: int, high: int, span: tuple[int, int], centre: float) -> int | None:
    """The shift in whole octaves that puts a line spanning ``low``-``high`` inside ``span``,
    keeping its middle nearest ``centre``; None when the line is wider than the span.

    >>> fit_octave(60, 72, (55, 105), 64), fit_octave(40, 52, (55, 105), 50), fit_octave(40, 80, (60, 96), 60)
    (0, 24, None)
    """
    lo, hi = span
    shifts = [k for k in range(-120, 121, 12) if low + k >= lo and high + k <= hi]
    if not shifts:
        return None
    return min(shifts, key=lambda k: (abs((low + high) / 2 + k - centre), abs(k)))


def fold_into(notes: Iterable[Note], span: tuple[int, int]) -> list[Note]:
    """The last resort for a line wider than its instrument: each note outside ``span`` moved
    by octaves to the nearest octave inside it.

    >>> [n.pitch for n in fold_into([Note(0, 1, 50, 80), Note(1, 1, 100, 80), Note(2, 1, 70, 80)], (60, 96))]
    [62, 88, 70]
    """
    lo, hi = span
    out = []
    for n in notes:
        p = n.pitch
        while p < lo:
            p += 12
        while p > hi:
            p -= 12
        out.append(n if p == n.pitch else replace(n, pitch=p))
    return out


def place_line(notes: list[Note], span: tuple[int, int], centre: float | None = None) -> list[Note]:
    """A line moved by whole octaves into ``span`` (nearest ``centre``, by default where it
    is); a line wider than the span is moved to overlap it best and its outliers folded.

    >>> [n.pitch for n in place_line([Note(0, 1, 50, 80), Note(1, 1, 57, 80)], (55, 105))]
    [62, 69]
    """
    if not notes:
        return notes
    low, high = min(n.pitch for n in notes), max(n.pitch for n in notes)
    centre = (low + high) / 2 if centre is None else centre
    k = fit_octave(low, high, span, centre)
    if k is None:  # wider than the instrument: centre it, then fold the outliers
        k = 12 * round(((span[0] + span[1]) / 2 - (low + high) / 2) / 12)
        return fold_into([replace(n, pitch=n.pitch + k) for n in notes], span)
    return [replace(n, pitch=n.pitch + k) for n in notes] if k else list(notes)


def first_fitting(candidates: Iterable[tuple[str, int]], notes: list[Note]) -> tuple[str, int] | None:
    """The first ``(name, program)`` whose range holds every note, or None.

    >>> first_fitting([("flute", 73), ("clarinet", 71)], [Note(0, 1, 55, 80), Note(1, 1, 70, 80)])
    ('clarinet', 71)
    """
    low, high = min(n.pitch for n in notes), max(n.pitch for n in notes)
    return next(((name, p) for name, p in candidates if RANGES[p][0] <= low and high <= RANGES[p][1]), None)


def out_of_range(track: Track) -> list[Note]:
    """The notes of a track its instrument cannot play (empty when the part is playable)."""
    lo, hi = instrument_range(track)
    return [n for n in track.notes if not lo <= n.pitch <= hi]


# ------------------------------------------------------------------ clefs

CLEF_STAFF: dict[str, tuple[int, int]] = {
    "treble": (30, 38), "bass": (18, 26), "alto": (24, 32), "tenor": (22, 30),
    "treble-8vb": (23, 31), "bass-8vb": (11, 19),
}
"""Diatonic positions (octave * 7 + step, C4 = 28) of the bottom and top staff lines of each
clef, at sounding pitch: an ``-8vb`` clef shows notes an octave above where they sound."""

_FIXED_CLEFS: dict[int, str] = {
    **dict.fromkeys((40, 110), "treble"), 41: "alto", 42: "bass", 43: "bass-8vb",
    **dict.fromkeys(range(24, 32), "treble-8vb"), **dict.fromkeys(range(32, 40), "bass-8vb"),
    **dict.fromkeys((47, 57, 58, 70, 116), "bass"),
    **dict.fromkeys((8, 9, 10, 11, 13, 14, 22, 56, 59, 64, 65, 68, 69, 71, 72, 73, 74, 75, 76, 77,
                     78, 79, 108, 109, 111, 112), "treble"),
}
_VOICE_CLEFS = {"soprano": "treble", "alto": "treble", "tenor": "treble-8vb", "bass": "bass"}
_STEP_OF_PC = (0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 6)


def staff_position(pitch: int) -> int:
    """Diatonic position of a MIDI pitch spelt with sharps (C4 = 28, E4 = 30).

    >>> staff_position(60), staff_position(64), staff_position(61)
    (28, 30, 28)
    """
    return (pitch // 12 - 1) * 7 + _STEP_OF_PC[pitch % 12]


def ledger_lines(pitch: int, clef: str) -> int:
    """Ledger lines a pitch needs on a clef's staff.

    >>> ledger_lines(60, "treble"), ledger_lines(48, "treble"), ledger_lines(48, "bass")
    (1, 4, 0)
    """
    bottom, top = CLEF_STAFF[clef]
    pos = staff_position(pitch)
    return max(0, (bottom - pos) // 2, (pos - top) // 2)


def clef_for(track: Track) -> str:
    """The clef a track is written in: ``percussion`` for drums; the voice's clef for a choir
    part (treble-8vb for tenors); the instrument's own clef where it has one (alto for the viola,
    treble-8vb for guitars, bass-8vb for the contrabass and bass guitars); otherwise treble or
    bass, whichever needs fewer ledger lines for the part's notes.

    >>> clef_for(Track("melody (viola)", 41, 0)), clef_for(Track("tenor (choir)", 52, 2))
    ('alto', 'treble-8vb')
    >>> clef_for(Track("chords (piano)", 0, 1, [Note(0, 1, 43, 80), Note(0, 1, 50, 80)]))
    'bass'
    """
    if track.is_drums:
        return "percussion"
    voice = voice_of(track)
    if voice:
        return _VOICE_CLEFS[voice]
    if track.program in _FIXED_CLEFS:
        return _FIXED_CLEFS[track.program]
    return min(("treble", "bass"), key=lambda c: sum(ledger_lines(n.pitch, c) for n in track.notes))


# ------------------------------------------------------------------ drums

DRUMS: dict[int, tuple[str, str, str]] = {
    27: ("High Q", "E4", "circle dot"), 28: ("Slap", "F4", "circle dot"),
    29: ("Scratch Push", "G4", "circle dot"), 30: ("Scratch Pull", "A4", "circle dot"),
    31: ("Sticks", "B4", "circle dot"), 32: ("Square Click", "C5", "circle dot"),
    33: ("Metronome Click", "D5", "circle dot"), 34: ("Metronome Bell", "E5", "circle dot"),
    35: ("Acoustic Bass Drum", "E4", "normal"), 36: ("Bass Drum 1", "F4", "normal"),
    37: ("Side Stick", "C5", "x"), 38: ("Acoustic Snare", "C5", "normal"),
    39: ("Hand Clap", "B4", "x"), 40: ("Electric Snare", "C5", "diamond"),
    41: ("Low Floor Tom", "G4", "normal"), 42: ("Closed Hi-Hat", "G5", "x"),
    43: ("High Floor Tom", "A4", "normal"), 44: ("Pedal Hi-Hat", "D4", "x"),
    45: ("Low Tom", "B4", "normal"), 46: ("Open Hi-Hat", "G5", "circle-x"),
    47: ("Low-Mid Tom", "D5", "normal"), 48: ("Hi-Mid Tom", "E5", "normal"),
    49: ("Crash Cymbal 1", "A5", "x"), 50: ("High Tom", "F5", "normal"),
    51: ("Ride Cymbal 1", "F5", "x"), 52: ("Chinese Cymbal", "C6", "x"),
    53: ("Ride Bell", "F5", "diamond"), 54: ("Tambourine", "B4", "triangle"),
    55: ("Splash Cymbal", "A5", "circle-x"), 56: ("Cowbell", "E5", "triangle"),
    57: ("Crash Cymbal 2", "B5", "x"), 58: ("Vibraslap", "D5", "x"),
    59: ("Ride Cymbal 2", "E5", "x"),
    **{k: (name, pos, "square") for k, name, pos in zip(range(60, 71), (
        "Hi Bongo", "Low Bongo", "Mute Hi Conga", "Open Hi Conga", "Low Conga", "High Timbale",
        "Low Timbale", "High Agogo", "Low Agogo", "Cabasa", "Maracas"),
        ("E4", "F4", "G4", "A4", "B4", "C5", "D5", "E5", "F5", "G5", "A5"), strict=True)},
    **{k: (name, pos, "inverted triangle") for k, name, pos in zip(range(71, 82), (
        "Short Whistle", "Long Whistle", "Short Guiro", "Long Guiro", "Claves", "Hi Wood Block",
        "Low Wood Block", "Mute Cuica", "Open Cuica", "Mute Triangle", "Open Triangle"),
        ("E4", "F4", "G4", "A4", "B4", "C5", "D5", "E5", "F5", "G5", "A5"), strict=True)},
    **{k: (name, pos, "circle dot") for k, name, pos in zip(range(82, 88), (
        "Shaker", "Jingle Bell", "Belltree", "Castanets", "Mute Surdo", "Open Surdo"),
        ("F5", "G5", "A5", "B5", "C6", "D4"), strict=True)},
}
"""General MIDI percussion (with the level-2 additions 27-34 and 82-87): name, the staff
position it is written at (as a note name in the treble staff) and its notehead; no two share
both, so a written part reads back to the same keys. The drum-set keys follow the common
drum-set notation (kick in the bottom space, snare in the third space, hi-hat and cymbals with
x noteheads above the staff)."""
_DRUM_AT = {(pos, head): key for key, (_, pos, head) in DRUMS.items()}


def drum_notation(key: int) -> tuple[str, str, str]:
    """Name, written position and notehead of a drum key; keys outside the table are written
    as a snare stroke (and keep their own key in the MIDI instrument).

    >>> drum_notation(36), drum_notation(42)
    (('Bass Drum 1', 'F4', 'normal'), ('Closed Hi-Hat', 'G5', 'x'))
    """
    return DRUMS.get(key, (f"Percussion {key}", "C5", "normal"))


def drum_key(position: str, notehead: str = "normal") -> int | None:
    """The drum key written at a position with a notehead (the inverse of
    :func:`drum_notation`); a position alone falls back to its plain-notehead key.

    >>> drum_key("F4"), drum_key("G5", "x"), drum_key("G5", "circle-x"), drum_key("C7")
    (36, 42, 46, None)
    """
    return _DRUM_AT.get((position, notehead or "normal"), _DRUM_AT.get((position, "normal")))
