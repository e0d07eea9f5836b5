"""Score <-> Standard MIDI File bytes (type 1, 480 ticks a quarter) with mido.

Track 0 (the conductor track) carries the time signature, key signature and a ``set_tempo``
event for the opening tempo and for each tempo change; then one named track per part with its
General MIDI program. The same Score always gives the same bytes.
"""

from __future__ import annotations

import io
from collections import defaultdict

import mido

from museforge.errors import MuseforgeError
from museforge.music.score import DRUM_CHANNEL, Note, Score, Track
from museforge.music.theory import Key, Meter

TICKS_PER_BEAT = 480
MAX_MIDI_EVENTS = 200_000
"""The most events (notes on and off, meta events) read from one MIDI file."""


def _ticks(beats: float) -> int:
    return round(beats * TICKS_PER_BEAT)


def _time_signature(meter: Meter) -> mido.MetaMessage:
    clocks = 36 if meter.compound else round(24 * 4 / meter.denominator)
    return mido.MetaMessage("time_signature", numerator=meter.numerator,
                            denominator=meter.denominator, clocks_per_click=clocks,
                            notated_32nd_notes_per_beat=8, time=0)


def score_to_midi(score: Score, title: str = "museforge") -> bytes:
    """Type-1 MIDI bytes for a Score."""
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack()
    # MIDI text is Latin-1: keep what fits, so a Chinese title cannot break the file.
    safe_title = title.encode("latin-1", "ignore").decode("latin-1").strip() or "museforge"
    conductor.append(mido.MetaMessage("track_name", name=safe_title, time=0))
    conductor.append(_time_signature(score.meter))
    conductor.append(mido.MetaMessage("key_signature", key=score.key.mido_key(), time=0))
    now = 0
    for offset, bpm in score.tempo_map:
        tick = _ticks(offset)
        conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=tick - now))
        now = tick
    conductor.append(mido.MetaMessage("end_of_track", time=max(0, _ticks(score.quarters) - now)))
    mid.tracks.append(conductor)
    for track in score.tracks:
        mid.tracks.append(_track(track))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def _track(track: Track) -> mido.MidiTrack:
    ch = track.channel
    events: list[tuple[int, int, int, int]] = []  # (tick, order, pitch, velocity); off before on
    # a note cut short by a later note of the same pitch ends where that one starts
    by_pitch: dict[int, list[Note]] = defaultdict(list)
    for n in sorted(track.notes, key=lambda n: (n.start, n.pitch)):
        by_pitch[n.pitch].append(n)
    for pitch, notes in by_pitch.items():
        for i, n in enumerate(notes):
            on, off = _ticks(n.start), _ticks(n.start + n.duration)
            if i + 1 < len(notes):
                off = min(off, _ticks(notes[i + 1].start))
            if off <= on:
                continue
            events.append((on, 1, pitch, n.velocity))
            events.append((off, 0, pitch, 0))
    events.sort()
    out = mido.MidiTrack()
    out.append(mido.MetaMessage("track_name", name=track.name, time=0))
    if ch != DRUM_CHANNEL:
        out.append(mido.Message("program_change", channel=ch, program=track.program, time=0))
    now = 0
    for tick, order, pitch, vel in events:
        kind = "note_on" if order == 1 else "note_off"
        out.append(mido.Message(kind, channel=ch, note=pitch, velocity=vel, time=tick - now))
        now = tick
    out.append(mido.MetaMessage("end_of_track", time=0))
    return out


def _file_meter(numerator: int, denominator: int) -> Meter:
    """A MIDI file's time signature, or a one-line error when museforge cannot write it."""
    from museforge.music.theory import parse_meter

    try:
        return parse_meter(f"{numerator}/{denominator}")
    except MuseforgeError:
        raise MuseforgeError(f"the MIDI file's time signature {numerator}/{denominator} is out of range "
                             "(1-32 beats of a 1, 2, 4, 8, 16 or 32 note)") from None


def midi_to_score(data: bytes) -> Score:
    """Read MIDI bytes back into a Score (tempo map, meter, key signature, named tracks, notes).

    Keys come back as the major or minor key of the signature; modes are not recorded in MIDI.
    """
    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except Exception as exc:  # mido raises many kinds on a malformed file (KeySignatureError, ...)
        raise MuseforgeError(f"cannot read MIDI data ({str(exc)[:120] or type(exc).__name__}); give a "
                             "standard .mid file") from None
    events = sum(len(t) for t in mid.tracks)
    if events > MAX_MIDI_EVENTS:
        raise MuseforgeError(f"the MIDI file holds {events:,} events; the limit is {MAX_MIDI_EVENTS:,}; "
                             "give a shorter piece")
    if mid.ticks_per_beat <= 0:
        raise MuseforgeError("cannot read MIDI data (it uses SMPTE time, not ticks a beat); give a "
                             "standard .mid file")
    scale = 1.0 / mid.ticks_per_beat
    meter, key = Meter(4, 4), Key("C", "major")
    tempi: list[tuple[int, float]] = []  # (tick, bpm) of every set_tempo, in any track
    tracks: list[Track] = []
    end = 0
    for mtrack in mid.tracks:
        tick = 0
        name, program, channel = "", 0, -1
        open_notes: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        notes: list[Note] = []
        for msg in mtrack:
            tick += msg.time
            if msg.type == "set_tempo" and msg.tempo > 0:
                tempi.append((tick, mido.tempo2bpm(msg.tempo)))
            elif msg.type == "time_signature" and tick == 0:
                meter = _file_meter(msg.numerator, msg.denominator)
            elif msg.type == "key_signature":
                minor = msg.key.endswith("m")
                key = Key(msg.key[:-1] if minor else msg.key, "minor" if minor else "major")
            elif msg.type == "track_name":
                name = msg.name
            elif msg.type == "program_change":
                program, channel = msg.program, msg.channel
            elif msg.type == "note_on" and msg.velocity > 0:
                channel = msg.channel
                open_notes[(msg.channel, msg.note)].append((tick, msg.velocity))
            elif msg.type in ("note_on", "note_off") and open_notes[(msg.channel, msg.note)]:
                start, vel = open_notes[(msg.channel, msg.note)].pop(0)
                notes.append(Note(start * scale, (tick - start) * scale, msg.note, vel))
        end = max(end, tick)
        if notes:
            notes.sort(key=lambda n: (n.start, n.pitch))
            tracks.append(Track(name, program, max(channel, 0), notes))
    bars = max(1, round(end * scale / meter.bar_quarters))
    tempi.sort(key=lambda t: t[0])  # stable: of two changes at one tick the later one holds
    changes = tuple((tick * scale, bpm) for tick, bpm in tempi)
    return Score(tracks, 120.0, meter, key, bars, tempo_changes=changes)  # MIDI's default: 120
