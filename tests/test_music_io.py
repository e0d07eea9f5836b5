"""MusicXML export and import (music21 parses our files back to the same notes), melodies from
files and note strings, and one-line errors for malformed input."""

import itertools

import numpy as np
import pytest

from museforge.emotion import art_direction, emotion_from_label
from museforge.errors import MuseforgeError
from museforge.music.compose import Form, compose
from museforge.music.io import (
    melody_of,
    musicxml_to_score,
    notate,
    parse_note_string,
    read_music,
    score_to_musicxml,
)
from museforge.music.midi import score_to_midi
from museforge.music.theory import parse_key, parse_meter


def piece(mood, meter, bars=4):
    return compose(art_direction(emotion_from_label(mood)), np.random.default_rng(2),
                   Form(bars, parse_meter(meter)), key=parse_key("D minor"))


def notes_of(track):
    return sorted((round(n.start, 4), round(n.duration, 4), n.pitch) for n in track.notes)


@pytest.mark.parametrize("mood,meter", [("melancholy", "3/4"), ("angry", "6/8"), ("joyful", "5/4")])
def test_music21_reads_back_the_same_notes(mood, meter):
    from music21 import converter

    score = piece(mood, meter)
    data = score_to_musicxml(score)
    assert b"encoding-date" not in data and data == score_to_musicxml(score)  # no date: same bytes
    m21 = converter.parse(data.decode(), format="musicxml")
    assert m21.recurse().getElementsByClass("TimeSignature").first().ratioString == meter
    back = musicxml_to_score(data)
    assert back.meter == score.meter and back.bars == score.bars
    assert back.tempo == pytest.approx(score.tempo, abs=1e-3)
    expected = notate(score)
    assert [t.name for t in back.tracks] == [t.name for t in expected.tracks]
    for a, b in zip(expected.tracks, back.tracks, strict=True):
        assert notes_of(a) == notes_of(b)


@pytest.mark.parametrize("meter", ["4/4", "6/8", "5/4"])
def test_musicxml_round_trip_keeps_tempo_marks(meter):
    from dataclasses import replace

    from music21 import converter, tempo

    score = replace(piece("joyful", meter), tempo_changes=((3.0, 150.0), (6.0, 97.5), (9.0, 72.125)))
    data = score_to_musicxml(score)
    m21 = converter.parse(data.decode(), format="musicxml")
    marks = m21.flatten().getElementsByClass(tempo.MetronomeMark)
    expected = [(q, round(b, 3)) for q, b in score.tempo_map]
    assert [(float(m.offset), m.getQuarterBPM()) for m in marks] == expected
    back = musicxml_to_score(data)
    assert back.tempo_map == score.tempo_map and back.seconds == pytest.approx(score.seconds)
    assert back.meter == score.meter
    for a, b in zip(notate(score).tracks, back.tracks, strict=True):
        assert notes_of(a) == notes_of(b)


def test_note_strings():
    s = parse_note_string("D4:0.5 E4:0.5 F4 A4 D5:2", "3/4")
    assert [n.pitch for n in s.tracks[0].notes] == [62, 64, 65, 69, 74]
    assert str(s.meter) == "3/4" and s.bars == 2
    for bad, msg in [("H4 C4", "unknown note"), ("C4:x", "bad duration"), ("", "empty"),
                     ("R R", "only rests"), ("C4:0", "bad duration")]:
        with pytest.raises(MuseforgeError, match=msg) as err:
            parse_note_string(bad)
        assert "\n" not in str(err.value)


def test_read_music_from_midi_and_musicxml_files(tmp_path):
    score = piece("serene", "3/4")
    (tmp_path / "a.mid").write_bytes(score_to_midi(score))
    (tmp_path / "a.musicxml").write_bytes(score_to_musicxml(score))
    for name in ("a.mid", "a.musicxml"):
        back = read_music(str(tmp_path / name))
        assert str(back.meter) == "3/4"
        line = melody_of(back)
        assert [n.pitch for n in line][:4] == [n.pitch for n in score.tracks[0].notes][:4]
        assert all(a.start + a.duration <= b.start + 1e-9 for a, b in itertools.pairwise(line))


@pytest.mark.parametrize("name,data,message", [
    ("bad.mid", b"not a midi file", "cannot read MIDI"),
    ("bad.musicxml", b"<score-partwise><part", "cannot read the musicxml"),
    ("bad.xml", b"\x00\x01garbage", "cannot read the musicxml"),
    ("empty.mid", b"", "cannot read MIDI"),
])
def test_malformed_files_give_one_line_errors(tmp_path, name, data, message):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(MuseforgeError, match=message) as err:
        read_music(str(tmp_path / name))
    assert "\n" not in str(err.value)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(MuseforgeError, match="not found"):
        read_music(str(tmp_path / "nope.mid"))
    (tmp_path / "tune.abc").write_text("X:1")
    with pytest.raises(MuseforgeError, match="unknown file type"):
        read_music(str(tmp_path / "tune.abc"))
