"""Scores to and from MusicXML (through music21), and melodies read from files or note strings.

MusicXML is notation, so notes are snapped to a notation grid first (:func:`notate`): starts
and durations to sixteenths, or to 1/12 of a quarter when the piece has triplets. A track whose
notes overlap is written as several parts of the same name (one per layer), which
:func:`musicxml_to_score` merges back. The export carries no date, so the same Score always
gives the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from museforge.errors import MuseforgeError
from museforge.music.compose import DRUM_CHANNEL, Note, Score, Track
from museforge.music.theory import Key, Meter, find_key, parse_meter, parse_note

GRIDS = (Fraction(1, 4), Fraction(1, 12))


def _grid_of(score: Score) -> Fraction:
    starts = [n.start for t in score.tracks for n in t.notes]
    fine = any(abs(s * 4 - round(s * 4)) > 1e-3 for s in starts)
    return GRIDS[1] if fine else GRIDS[0]


def _snap(x: float, grid: Fraction) -> Fraction:
    return round(Fraction(x).limit_denominator(960) / grid) * grid


def notate(score: Score) -> Score:
    """The Score as notation will hold it: starts and durations on the notation grid, every
    note at least one grid step long, and no note past the end of the piece.

    >>> from museforge.music.theory import Key, Meter
    >>> s = Score([Track("m", 0, 0, [Note(0.0, 0.45, 60, 80), Note(0.5, 0.5, 62, 80)])], 90,
    ...           Meter(2, 4), Key("C", "major"), 1)
    >>> [(n.start, n.duration) for n in notate(s).tracks[0].notes]
    [(0.0, 0.5), (0.5, 0.5)]
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
        tracks.append(replace(t, notes=sorted(notes, key=lambda n: (n.start, n.pitch))))
    return replace(score, tracks=tracks)


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


def score_to_music21(score: Score):
    """A music21 Score of the notated piece: one part per track layer, named after the track;
    the first part carries a metronome mark at the start and at each tempo change."""
    from music21 import chord, instrument, key, meter, note, stream, tempo

    notated = notate(score)
    out = stream.Score()
    fifths, minor = score.key.signature()
    for ti, track in enumerate(notated.tracks):
        for li, layer in enumerate(_layers(track.notes)):
            part = stream.Part(id=f"P{ti + 1}-{li + 1}")
            part.partName = track.name
            inst = instrument.UnpitchedPercussion() if track.channel == DRUM_CHANNEL else \
                instrument.instrumentFromMidiProgram(track.program)
            inst.partName = track.name
            inst.partId = f"P{ti + 1}-{li + 1}"
            inst.instrumentId = f"I{ti + 1}-{li + 1}"
            inst.midiChannel = track.channel
            part.insert(0, inst)
            part.insert(0, meter.TimeSignature(str(score.meter)))
            ks = key.KeySignature(fifths)
            part.insert(0, ks.asKey("minor" if minor else "major") if score.key.mode in ("major", "minor")
                        else ks)
            if ti == 0 and li == 0:  # the tempo map, as metronome marks in the first part
                for offset, bpm in score.tempo_map:
                    part.insert(Fraction(offset).limit_denominator(12),
                                tempo.MetronomeMark(number=round(bpm, 3), referent=1.0))
            for group in layer:
                pitches = sorted(n.pitch for n in group)
                el = note.Note(pitches[0]) if len(pitches) == 1 else chord.Chord(pitches)
                el.quarterLength = Fraction(group[0].duration).limit_denominator(12)
                el.volume.velocity = group[0].velocity
                part.insert(Fraction(group[0].start).limit_denominator(12), el)
            part.makeRests(fillGaps=True, refStreamOrTimeRange=[0.0, score.quarters], inPlace=True)
            out.insert(0, part)
    return out


def score_to_musicxml(score: Score, title: str = "museforge") -> bytes:
    """MusicXML bytes (uncompressed ``.musicxml``) for a Score, with no date in them."""
    from music21 import metadata
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    m21 = score_to_music21(score)
    m21.insert(0, metadata.Metadata(title=title, composer="museforge"))
    data = GeneralObjectExporter(m21).parse()
    data = re.sub(rb"\s*<encoding-date>[^<]*</encoding-date>", b"", data)
    return data


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
    track per part name); 120 quarters a minute where no mark says otherwise."""
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
        track = tracks.setdefault(name, Track(name, program, channel, []))
        for n in part.stripTies().flatten().notes:
            start, dur = float(n.offset), float(n.quarterLength)
            vel = n.volume.velocity or 80
            for p in n.pitches:
                track.notes.append(Note(start, dur, p.midi, int(vel)))
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
    items = text.replace(",", " ").split()
    if not items:
        raise MuseforgeError("the melody is empty; give notes such as 'C4 D4 E4 F4'")
    for item in items:
        name, _, dur_text = item.partition(":")
        try:
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
    bars = max(1, round(t / m.bar_quarters + 0.499))
    key = find_key([n.pitch for n in notes], [n.duration for n in notes])
    return Score([Track("melody", 0, 0, notes)], bpm, m, key, bars)


def read_music(source: str, meter: str | None = None) -> Score:
    """A Score from a MIDI or MusicXML file path, or else a note string (see
    :func:`parse_note_string`); one-line errors for anything unreadable."""
    from museforge.music.midi import midi_to_score

    path = Path(source)
    looks_like_file = path.suffix.lower() in (".mid", ".midi", ".xml", ".musicxml", ".mxl")
    if looks_like_file or (len(source) < 4096 and path.is_file()):
        if not path.is_file():
            raise MuseforgeError(f"file {source} not found; give a MIDI or MusicXML file or a note "
                                 f"string such as 'C4 D4 E4'")
        suffix = path.suffix.lower()
        if suffix in (".mid", ".midi"):
            score = midi_to_score(path.read_bytes())
        elif suffix in (".xml", ".musicxml", ".mxl"):
            score = music21_to_score(_parse_music21(path, "musicxml"))
        else:
            raise MuseforgeError(f"unknown file type {suffix!r}; give a .mid, .midi, .musicxml, "
                                 ".xml or .mxl file")
        if not any(t.notes for t in score.tracks):
            raise MuseforgeError(f"{source} holds no notes")
        if meter:
            score = replace(score, meter=parse_meter(meter))
        return score
    return parse_note_string(source, meter or "4/4")


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
