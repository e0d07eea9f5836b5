"""Scores to and from MusicXML (through music21), and melodies read from files or note strings.

MusicXML is notation, so notes are snapped to a notation grid first (:func:`notate`): starts
and durations to sixteenths, or to 1/12 of a quarter when the piece has triplets. A track whose
notes overlap is written as several parts of the same name (one per layer), which
:func:`musicxml_to_score` merges back. Each part gets its instrument's clef
(:func:`~museforge.music.instruments.clef_for`). Percussion is one unpitched part on a
percussion clef: the strokes at one onset form one chord, each written at its drum's staff
position and notehead (:data:`~museforge.music.instruments.DRUMS`) with an ``<instrument>``
naming its ``<score-instrument>``, whose ``<midi-instrument>`` plays it on channel 10 as
``<midi-unpitched>`` (the General MIDI key + 1), so MuseScore opens it as a drum set and
music21 reads it as one part of ``Unpitched`` notes and ``PercussionChord`` chords. The export
carries no date, so the same Score always gives the same bytes.
"""

from __future__ import annotations

import io
import math
import re
import zlib
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from museforge.errors import MuseforgeError
from museforge.files import read_at_most
from museforge.music.instruments import clef_for, drum_key, drum_notation
from museforge.music.score import DRUM_CHANNEL, Note, Score, Track
from museforge.music.theory import Key, Meter, find_key, parse_meter, parse_note

if TYPE_CHECKING:
    from museforge.engines import InputFile

GRIDS = (Fraction(1, 4), Fraction(1, 12))
MAX_MELODY_NOTES = 4000
"""The most notes (and rests) in a melody or motif, from a note string or from a file's top line."""
MAX_MELODY_QUARTERS = 2048
"""The longest melody or motif, in quarter notes from the start (512 bars of 4/4)."""
MAX_NOTE_STRING_CHARS = 64_000
"""The longest note string, in characters."""
MAX_MUSIC_BYTES = 2 * 2**20
"""The largest MIDI or MusicXML file read (unpacked, for .mxl): parsing it takes seconds, not minutes."""


def _grid_of(score: Score) -> Fraction:
    starts = [n.start for t in score.tracks for n in t.notes]
    fine = any(abs(s * 4 - round(s * 4)) > 1e-3 for s in starts)
    return GRIDS[1] if fine else GRIDS[0]


def _snap(x: float, grid: Fraction) -> Fraction:
    return round(Fraction(x).limit_denominator(960) / grid) * grid


def notate(score: Score) -> Score:
    """The Score as notation will hold it: starts and durations on the notation grid, every
    note at least one grid step long, and no note past the end of the piece. Drum strokes are
    written, not held: the strokes at one onset share one duration, up to the next onset (so
    percussion is one line of chords), and a key struck twice at once is one stroke.

    >>> from museforge.music.theory import Key, Meter
    >>> drums = [Note(0, 1, 36, 90), Note(0, 0.25, 42, 70), Note(0.5, 0.5, 42, 70)]
    >>> s = Score([Track("m", 0, 0, [Note(0.0, 0.45, 60, 80), Note(0.5, 0.5, 62, 80)]),
    ...            Track("drums", 0, DRUM_CHANNEL, drums)], 90, Meter(2, 4), Key("C", "major"), 1)
    >>> [(n.start, n.duration) for n in notate(s).tracks[0].notes]
    [(0.0, 0.5), (0.5, 0.5)]
    >>> [(n.start, n.duration, n.pitch) for n in notate(s).tracks[1].notes]
    [(0.0, 0.5, 36), (0.0, 0.5, 42), (0.5, 0.5, 42)]
    """
    grid = _grid_of(score)
    end = Fraction(score.quarters).limit_denominator(960)
    tracks = []
    for t in score.tracks:
        notes = []
        for n in t.notes:
            s = min(_snap(n.start, grid), end - grid)
            d = max(grid, min(_snap(n.duration, grid), end - s))
            notes.append(Note(float(s), float(d), n.pitch, n.velocity))
        if t.channel == DRUM_CHANNEL:
            notes = _strokes(notes, float(end))
        tracks.append(replace(t, notes=sorted(notes, key=lambda n: (n.start, n.pitch))))
    return replace(score, tracks=tracks)


def _strokes(notes: list[Note], end: float) -> list[Note]:
    """Drum notes as strokes: one per key and onset (the loudest), all strokes at an onset as
    long as the longest of them or up to the next onset, whichever is shorter."""
    at: dict[float, dict[int, Note]] = {}
    for n in notes:
        keys = at.setdefault(n.start, {})
        if n.pitch not in keys or n.velocity > keys[n.pitch].velocity:
            keys[n.pitch] = n
    onsets = sorted(at)
    out = []
    for i, s in enumerate(onsets):
        following = onsets[i + 1] if i + 1 < len(onsets) else end
        d = min(max(n.duration for n in at[s].values()), following - s)
        out += [Note(s, d, n.pitch, n.velocity) for n in at[s].values()]
    return out


def _layers(notes: list[Note]) -> list[list[list[Note]]]:
    """Notes grouped into chords (same start and duration) and the chords into layers in which
    none overlaps the next."""
    chords: dict[tuple[float, float], list[Note]] = {}
    for n in notes:
        chords.setdefault((n.start, n.duration), []).append(n)
    layers: list[list[list[Note]]] = []
    ends: list[float] = []
    for (start, dur), group in sorted(chords.items()):
        for i, end in enumerate(ends):
            if end <= start + 1e-9:
                layers[i].append(group)
                ends[i] = start + dur
                break
        else:
            layers.append([group])
            ends.append(start + dur)
    return layers


CLEFS = {"treble": "TrebleClef", "bass": "BassClef", "alto": "AltoClef", "tenor": "TenorClef",
         "treble-8vb": "Treble8vbClef", "bass-8vb": "Bass8vbClef", "percussion": "PercussionClef"}
"""music21's class for each clef :func:`~museforge.music.instruments.clef_for` names."""


def score_to_music21(score: Score):
    """A music21 Score of the notated piece: one part per track layer, named after the track and
    in its instrument's clef; percussion as one part of unpitched strokes. The first part
    carries a metronome mark at the start and at each tempo change."""
    from music21 import chord, clef, instrument, key, meter, note, percussion, stream, tempo

    notated = notate(score)
    out = stream.Score()
    fifths, minor = score.key.signature()
    for ti, track in enumerate(notated.tracks):
        drums = track.channel == DRUM_CHANNEL
        layers = [_onsets(track.notes)] if drums else _layers(track.notes)
        for li, layer in enumerate(layers):
            pid = f"P{ti + 1}-{li + 1}"
            part = stream.Part(id=pid)
            part.partName = track.name
            if drums:
                inst = instrument.UnpitchedPercussion()
                inst.percMapPitch = min(n.pitch for n in track.notes) if track.notes else None
            else:
                inst = instrument.instrumentFromMidiProgram(track.program)
            inst.partName = track.name
            inst.partId = pid
            inst.instrumentId = f"I{ti + 1}-{li + 1}"
            inst.midiChannel = track.channel
            part.insert(0, inst)
            part.insert(0, getattr(clef, CLEFS[clef_for(track)])())
            part.insert(0, meter.TimeSignature(str(score.meter)))
            ks = key.KeySignature(fifths)
            if not drums:  # a drum staff has no key signature
                part.insert(0, ks.asKey("minor" if minor else "major")
                            if score.key.mode in ("major", "minor") else ks)
            if ti == 0 and li == 0:  # the tempo map, as metronome marks in the first part
                for offset, bpm in score.tempo_map:
                    part.insert(Fraction(offset).limit_denominator(12),
                                tempo.MetronomeMark(number=round(bpm, 3), referent=1.0))
            for group in layer:
                if drums:
                    strokes = [_stroke(note, n.pitch) for n in sorted(group, key=lambda n: n.pitch)]
                    el = strokes[0] if len(strokes) == 1 else percussion.PercussionChord(strokes)
                    el.volume.velocity = max(n.velocity for n in group)
                else:
                    pitches = sorted({n.pitch for n in group})  # notes snapped together: one each
                    el = note.Note(pitches[0]) if len(pitches) == 1 else chord.Chord(pitches)
                    el.volume.velocity = group[0].velocity
                el.quarterLength = Fraction(group[0].duration).limit_denominator(12)
                part.insert(Fraction(group[0].start).limit_denominator(12), el)
            part.makeRests(fillGaps=True, refStreamOrTimeRange=[0.0, score.quarters], inPlace=True)
            out.insert(0, part)
    return out


def _onsets(notes: list[Note]) -> list[list[Note]]:
    """Notes grouped by onset (a drum part, whose strokes at an onset share a duration)."""
    groups: dict[float, list[Note]] = {}
    for n in notes:
        groups.setdefault(n.start, []).append(n)
    return [groups[s] for s in sorted(groups)]


def _stroke(note_module, drum: int):
    """One drum stroke as a music21 ``Unpitched`` at its drum's staff position and notehead."""
    _, position, head = drum_notation(drum)
    stroke = note_module.Unpitched(displayName=position)
    stroke.notehead = head
    stroke.stemDirection = "up"
    return stroke


def score_to_musicxml(score: Score, title: str = "museforge") -> bytes:
    """MusicXML bytes (uncompressed ``.musicxml``) for a Score, with no date in them."""
    from music21 import metadata
    from music21.musicxml.m21ToXml import GeneralObjectExporter, ScoreExporter

    m21 = score_to_music21(score)
    m21.insert(0, metadata.Metadata(title=title, composer="museforge"))
    exporter = GeneralObjectExporter(m21)
    measured = exporter.fromGeneralObject(m21)
    drums = {f"P{ti + 1}-1": sorted({n.pitch for n in t.notes})
             for ti, t in enumerate(score.tracks) if t.channel == DRUM_CHANNEL and t.notes}
    for part in measured.parts:
        if part.id in drums:
            _halve_whole_rests(part)
    writer = ScoreExporter(measured, makeNotation=exporter.makeNotation)
    root = writer.parse()
    for pid, keys in drums.items():
        _drum_instruments(root, pid, keys)
    data = writer.asBytes()
    data = re.sub(rb"\s*<encoding-date>[^<]*</encoding-date>", b"", data)
    return data


def _halve_whole_rests(part) -> None:
    """Write each whole or breve rest that does not fill its bar as two rests of half its length:
    music21 reads such a rest beside unpitched notes as a whole-bar rest (it counts no notes in
    a bar of strokes), which would lengthen the bar."""
    from music21 import note

    for measure in part.getElementsByClass("Measure"):
        bar = measure.barDuration.quarterLength
        for rest in list(measure.getElementsByClass(note.Rest)):
            d = rest.duration
            if d.type in ("whole", "breve") and d.dots == 0 and not d.tuplets and d.quarterLength != bar:
                offset, half = rest.offset, d.quarterLength / 2
                measure.remove(rest)
                for k in range(2):
                    measure.insert(offset + k * half, note.Rest(quarterLength=half))


def _drum_instruments(root, pid: str, keys: list[int]) -> None:
    """Give the percussion part ``pid`` one ``<score-instrument>`` and one ``<midi-instrument>``
    (channel 10, ``<midi-unpitched>`` = key + 1) per drum key, and each stroke an
    ``<instrument>`` naming its drum (found from its staff position and notehead)."""
    from xml.etree.ElementTree import Element, SubElement

    ids = {k: f"{pid}-I{k + 1}" for k in keys}
    score_part = next(sp for sp in root.iter("score-part") if sp.get("id") == pid)
    old = [el for el in score_part if el.tag in ("score-instrument", "midi-device", "midi-instrument")]
    at = list(score_part).index(old[0]) if old else len(score_part)
    for el in old:
        score_part.remove(el)
    new = []
    for k in keys:
        si = Element("score-instrument", id=ids[k])
        SubElement(si, "instrument-name").text = drum_notation(k)[0]
        new.append(si)
    for k in keys:
        mi = Element("midi-instrument", id=ids[k])
        SubElement(mi, "midi-channel").text = str(DRUM_CHANNEL + 1)
        SubElement(mi, "midi-unpitched").text = str(k + 1)
        new.append(mi)
    for i, el in enumerate(new):
        score_part.insert(at + i, el)
    part = next(p for p in root.iter("part") if p.get("id") == pid)
    for mx in part.iter("note"):
        unpitched = mx.find("unpitched")
        if unpitched is None:
            continue
        position = unpitched.findtext("display-step", "") + unpitched.findtext("display-octave", "")
        head = mx.findtext("notehead", "normal")
        k = drum_key(position, head)
        if k not in ids:  # a key the table writes as a snare stroke
            k = next((key for key in keys if drum_notation(key)[1:] == (position, head)), keys[0])
        after = max(i for i, el in enumerate(mx) if el.tag in ("unpitched", "duration", "tie"))
        mx.insert(after + 1, Element("instrument", id=ids[k]))


def musicxml_to_score(data: bytes | str | Path) -> Score:
    """Read MusicXML (bytes, text or a path) into a Score; parts of the same name merge."""
    return music21_to_score(_parse_music21(data, "musicxml"))


def _parse_music21(data: bytes | str | Path, fmt: str):
    from music21 import converter

    try:
        if isinstance(data, Path):
            return converter.parse(str(data), format=fmt)
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return converter.parse(text, format=fmt)
    except Exception as exc:
        line = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise MuseforgeError(f"cannot read the {fmt} file ({line}); give a valid MusicXML file") from None


def music21_to_score(m21) -> Score:
    """A Score from a parsed music21 stream (metronome marks as the tempo map, meter, key, one
    track per part name); 120 quarters a minute where no mark says otherwise. A part of
    unpitched notes is percussion (channel 10): each stroke becomes the drum key its staff
    position and notehead stand for (:func:`~museforge.music.instruments.drum_key`)."""
    from music21 import tempo as m21tempo

    parts = list(getattr(m21, "parts", [])) or [m21]
    ts = m21.recurse().getElementsByClass("TimeSignature").first()
    meter = Meter(ts.numerator, ts.denominator) if ts is not None else Meter(4, 4)
    marks: dict[float, float] = {}  # offset -> quarter notes a minute; the first mark at an offset wins
    for mm in m21.flatten().getElementsByClass(m21tempo.MetronomeMark):
        if mm.number:
            marks.setdefault(round(float(mm.offset), 6), float(mm.getQuarterBPM()))
    tracks: dict[str, Track] = {}
    end = 0.0
    for i, part in enumerate(parts):
        name = part.partName or f"part {i + 1}"
        inst = part.getInstrument(returnDefault=True)
        program = inst.midiProgram if inst.midiProgram is not None else 0
        channel = inst.midiChannel if inst.midiChannel is not None else min(i, 15)
        notes = list(part.stripTies().flatten().notes)
        if any(_strokes_of(n) for n in notes):
            channel, program = DRUM_CHANNEL, 0
        track = tracks.setdefault(name, Track(name, program, channel, []))
        fallback = getattr(inst, "percMapPitch", None) or 38  # an unknown stroke: the snare
        for n in notes:
            start, dur = float(n.offset), float(n.quarterLength)
            if not (math.isfinite(start) and math.isfinite(dur) and start >= 0 and dur >= 0):
                raise MuseforgeError(f"the MusicXML file has a note at {start:g} lasting {dur:g} quarters; "
                                     "give a valid MusicXML file")
            vel = n.volume.velocity or 80
            for p in n.pitches:
                track.notes.append(Note(start, dur, p.midi, int(vel)))
            for stroke in _strokes_of(n):
                position = f"{stroke.displayStep}{stroke.displayOctave}"
                drum = drum_key(position, stroke.notehead) or fallback
                track.notes.append(Note(start, dur, drum, int(vel)))
            end = max(end, start + dur)
        end = max(end, float(part.highestTime))
    all_notes = [n for t in tracks.values() for n in t.notes]
    ks = m21.recurse().getElementsByClass(("Key", "KeySignature")).first()
    if ks is not None and hasattr(ks, "tonic") and hasattr(ks, "mode") and ks.mode in ("major", "minor"):
        key = Key(ks.tonic.name.replace("-", "b"), ks.mode)
    else:
        key = find_key([n.pitch for n in all_notes], [n.duration for n in all_notes])
    for t in tracks.values():
        t.notes.sort(key=lambda n: (n.start, n.pitch))
    bars = max(1, round(end / meter.bar_quarters + 0.499))
    return Score([t for t in tracks.values() if t.notes], 120.0, meter, key, bars,
                 tempo_changes=tuple(sorted(marks.items())))


def _strokes_of(element) -> list:
    """The ``Unpitched`` notes of a music21 note or chord (none for pitched ones)."""
    members = getattr(element, "notes", None) or [element]
    return [m for m in members if "Unpitched" in m.classSet]


# ------------------------------------------------------------------ melodies from the user


def parse_note_string(text: str, meter: str = "4/4", bpm: float = 90) -> Score:
    """A one-track Score from notes such as ``"C4 D4 E4:2 R G4:0.5"``: a name with octave, or
    ``R`` for a rest, each a quarter note unless ``:QUARTERS`` follows.

    >>> s = parse_note_string("C4 D4 E4:2 R G4:0.5")
    >>> [(n.start, n.duration, n.pitch) for n in s.tracks[0].notes]
    [(0.0, 1.0, 60), (1.0, 1.0, 62), (2.0, 2.0, 64), (5.0, 0.5, 67)]
    """
    m = parse_meter(meter)
    notes, t = [], 0.0
    if len(text) > MAX_NOTE_STRING_CHARS:
        raise MuseforgeError(f"the note string has {len(text):,} characters; the limit is "
                             f"{MAX_NOTE_STRING_CHARS:,}; give a MIDI or MusicXML file or a shorter melody")
    items = text.replace(",", " ").split()
    if not items:
        raise MuseforgeError("the melody is empty; give notes such as 'C4 D4 E4 F4'")
    if len(items) > MAX_MELODY_NOTES:
        raise MuseforgeError(f"the melody has {len(items):,} notes and rests; the limit is "
                             f"{MAX_MELODY_NOTES:,}")
    for item in items:
        name, _, dur_text = item.partition(":")
        try:
            if len(dur_text) > 16 or "e" in dur_text.lower():  # no 1e999999999: a number, not a sum
                raise ValueError(dur_text)
            dur = float(Fraction(dur_text)) if dur_text else 1.0
        except (ValueError, ZeroDivisionError):
            raise MuseforgeError(f"bad duration in {item!r}; write quarters after a colon, e.g. "
                                 f"'E4:2' or 'E4:1/2'") from None
        if not 0 < dur <= 64:
            raise MuseforgeError(f"bad duration in {item!r}; a note lasts more than 0 and at most 64 "
                                 "quarters")
        if name.upper() != "R":
            notes.append(Note(t, dur, parse_note(name), 80))
        t += dur
    if not notes:
        raise MuseforgeError("the melody has only rests; give some notes such as 'C4 D4 E4'")
    _check_length(t, "the melody")
    bars = max(1, round(t / m.bar_quarters + 0.499))
    key = find_key([n.pitch for n in notes], [n.duration for n in notes])
    return Score([Track("melody", 0, 0, notes)], bpm, m, key, bars)


def music_file(source: str) -> Path | None:
    """The file a melody argument names, or None for a note string. It is a file only when one
    of that name exists; a single word ending in a music suffix (``tune.mid``) that names no
    file is a one-line error, never parsed as notes.

    >>> music_file("C4 D4 E4:2") is None
    True
    """
    path = Path(source)
    try:
        if len(source) < 4096 and path.is_file():
            return path
    except (OSError, ValueError):  # no file can have this name
        pass
    if path.suffix.lower() in MUSIC_SUFFIXES and not any(ch.isspace() for ch in source):
        raise MuseforgeError(f"file {source[:200]} not found; give a MIDI or MusicXML file or a note "
                             "string such as 'C4 D4 E4'")
    return None


def read_music_file(path: Path) -> bytes:
    """The bytes of a MIDI or MusicXML file, at most :data:`MAX_MUSIC_BYTES`; one-line errors."""
    try:
        data = read_at_most(path, MAX_MUSIC_BYTES + 1)
    except OSError as exc:
        raise MuseforgeError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    check_music_size(path.name, len(data))
    return data


def check_music_size(name: str, size: int) -> None:
    """A one-line error when a music file is larger than :data:`MAX_MUSIC_BYTES`."""
    if size > MAX_MUSIC_BYTES:
        raise MuseforgeError(f"{name} is larger than {MAX_MUSIC_BYTES // 2**20} MiB, the limit for a MIDI "
                             "or MusicXML file; give a shorter piece (only its top line is used)")


def check_music_input(file: InputFile) -> None:
    """A one-line error, before anything runs, for an input file that is too large or not MIDI
    or MusicXML by its name."""
    check_music_size(file.name, len(file.data))
    suffix = Path(file.name).suffix.lower()
    if suffix not in MUSIC_SUFFIXES:
        raise MuseforgeError(f"{file.name}: unknown file type {suffix or '(none)'!r}; give a .mid, .midi, "
                             ".musicxml, .xml or .mxl file")


def _check_length(quarters: float, what: str) -> None:
    if quarters > MAX_MELODY_QUARTERS:
        raise MuseforgeError(f"{what} lasts {quarters:,.0f} quarter notes; the limit is "
                             f"{MAX_MELODY_QUARTERS:,}; give a shorter excerpt")


def read_music(source: str, meter: str | None = None) -> Score:
    """A Score from a MIDI or MusicXML file path, or else a note string (see
    :func:`parse_note_string`); one-line errors for anything unreadable."""
    path = music_file(source)
    if path is not None:
        return read_music_bytes(source, read_music_file(path), meter)
    return parse_note_string(source, meter or "4/4")


MUSIC_SUFFIXES = (".mid", ".midi", ".xml", ".musicxml", ".mxl")


def _mxl_root(data: bytes) -> bytes:
    """The score inside a compressed MusicXML (.mxl) archive, as named by its container file."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            with archive.open("META-INF/container.xml") as member:  # a few hundred bytes; never a bomb
                container = member.read(64 * 1024).decode("utf-8", "replace")
            found = re.search(r'full-path="([^"]+)"', container)
            if not found:
                raise KeyError("rootfile")
            info = archive.getinfo(found.group(1))
            if info.file_size > MAX_MUSIC_BYTES:
                raise MuseforgeError(f"the .mxl score is larger than {MAX_MUSIC_BYTES // 2**20} MiB "
                                     "unpacked, the limit for a MusicXML file; give a shorter piece")
            with archive.open(info) as member:
                data = member.read(MAX_MUSIC_BYTES + 1)
            check_music_size(found.group(1), len(data))
            return data
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error,
            RuntimeError, NotImplementedError) as err:  # encrypted, or packed in a way zipfile cannot read
        raise MuseforgeError(f"cannot read the .mxl archive ({err}); give a valid compressed MusicXML file") \
            from None


def read_music_bytes(name: str, data: bytes, meter: str | None = None) -> Score:
    """A Score from the bytes of a MIDI or MusicXML file called ``name`` (its suffix says which)."""
    from museforge.music.midi import midi_to_score

    check_music_size(name, len(data))
    suffix = Path(name).suffix.lower()
    if suffix in (".mid", ".midi"):
        score = midi_to_score(data)
    elif suffix in (".xml", ".musicxml", ".mxl"):
        score = music21_to_score(_parse_music21(_mxl_root(data) if suffix == ".mxl" else data, "musicxml"))
    else:
        raise MuseforgeError(f"unknown file type {suffix!r}; give a .mid, .midi, .musicxml, "
                             ".xml or .mxl file")
    if not any(t.notes for t in score.tracks):
        raise MuseforgeError(f"{name} holds no notes")
    if meter:
        score = replace(score, meter=parse_meter(meter))
    return score


def melody_of(score: Score) -> list[Note]:
    """The top line of the first pitched track: the highest note at each onset, cut where the
    next one starts (so the line is monophonic)."""
    tracks = [t for t in score.tracks if t.channel != DRUM_CHANNEL and t.notes]
    if not tracks:
        raise MuseforgeError("the input has no pitched notes")
    by_start: dict[float, Note] = {}
    for n in tracks[0].notes:
        if n.start not in by_start or n.pitch > by_start[n.start].pitch:
            by_start[n.start] = n
    line = [by_start[s] for s in sorted(by_start)]
    out = []
    for i, n in enumerate(line):
        end = line[i + 1].start if i + 1 < len(line) else n.start + n.duration
        out.append(Note(n.start, min(n.duration, end - n.start), n.pitch, n.velocity))
    return out


def melody_input(file: InputFile | None, notes: str, meter: str, transpose: int = 0
                 ) -> tuple[list[Note], Score]:
    """The line an engine works on: the top line of an input file, else a note string; moved by
    ``transpose`` semitones. Returns the notes and the Score they came from (its meter, key and
    tempo map)."""
    if file is not None:
        score = read_music_bytes(file.name, file.data, meter or None)
        line = melody_of(score)
        if len(line) > MAX_MELODY_NOTES:
            raise MuseforgeError(f"the top line of {file.name} has {len(line):,} notes; the limit is "
                                 f"{MAX_MELODY_NOTES:,}; give a shorter excerpt")
        _check_length(line[-1].start + line[-1].duration, f"the top line of {file.name}")
    else:
        score = parse_note_string(notes, meter or "4/4")
        line = score.tracks[0].notes
    if transpose:
        line = [Note(n.start, n.duration, n.pitch + transpose, n.velocity) for n in line]
        if any(not 0 <= n.pitch <= 127 for n in line):
            raise MuseforgeError(f"transpose {transpose} moves notes outside the MIDI range")
    return line, score


def check_line_params(meter: str, key: str, tempo: int, tempo_changes: str, notes: str = "") -> None:
    """One-line errors for the meter, key and tempo map given with a melody (empty: the file's)
    and for the melody's note string, if any (its length, its notes), before anything loads."""
    from museforge.music.score import check_tempo, parse_tempo_changes

    if meter:
        parse_meter(meter)
    if notes.strip():
        parse_note_string(notes, meter or "4/4")
    if key.strip():
        from museforge.music.theory import parse_key

        parse_key(key)
    if tempo:
        check_tempo(tempo)
    parse_tempo_changes(tempo_changes)


def tempo_of(file: InputFile | None, score: Score, tempo: int, changes: str, default: int
             ) -> tuple[float, str]:
    """The opening tempo and later tempo changes an engine uses: ``tempo`` when set (with
    ``changes``); else an input file's own tempo map; else ``default`` for a note string."""
    from museforge.music.score import tempo_changes_text

    if tempo:
        return float(tempo), changes
    if file is None:
        return float(default), changes
    return float(round(score.tempo)), changes or tempo_changes_text(score.tempo_changes)
