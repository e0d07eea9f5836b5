"""Theory helpers, checked against music21 where it has the same notion."""

import pytest

from museforge.errors import MuseforgeError
from museforge.music.theory import (
    MODES,
    Key,
    cadence,
    diatonic_triad,
    parse_key,
    parse_meter,
    progression,
    roman_chord,
)


@pytest.mark.parametrize("mode", list(MODES))
def test_modes_match_music21(mode):
    scale = pytest.importorskip("music21.scale")
    cls = {"major": scale.MajorScale, "minor": scale.MinorScale, "dorian": scale.DorianScale,
           "phrygian": scale.PhrygianScale, "lydian": scale.LydianScale,
           "mixolydian": scale.MixolydianScale}[mode]
    ref = [p.midi for p in cls("D").getPitches("D4", "C#5" if mode in ("major", "lydian") else "C5")]
    assert Key("D", mode).scale_pitches(62)[:7] == ref


@pytest.mark.parametrize("key,numeral", [("C major", "V7"), ("D minor", "V"), ("G major", "ii"),
                                         ("A minor", "iv"), ("C major", "bVII"), ("E minor", "VI")])
def test_roman_numerals_match_music21(key, numeral):
    roman = pytest.importorskip("music21.roman")
    music21_key = pytest.importorskip("music21.key")
    k = parse_key(key)
    ref = roman.RomanNumeral(numeral, music21_key.Key(k.tonic_name, k.mode))
    assert sorted(roman_chord(k, numeral).pitch_classes) == sorted({p.pitchClass for p in ref.pitches})


def test_parse_keys():
    assert parse_key("D minor") == Key("D", "minor")
    assert parse_key("F# major").tonic == 6
    assert parse_key("bb Dorian") == Key("Bb", "dorian")
    assert parse_key("E", default_mode="phrygian").mode == "phrygian"
    for bad in ("H minor", "D blues", "", "minor D"):
        with pytest.raises(MuseforgeError, match="unknown key"):
            parse_key(bad)


def test_diatonic_chords_and_cadences():
    key = Key("A", "minor")
    assert [diatonic_triad(key, d).numeral for d in range(1, 8)] == [
        "i", "ii°", "III", "iv", "v", "VI", "VII"]
    assert cadence(key, "authentic") == ["V7", "i"]
    assert [c.quality for c in progression(key, "i iv V7 i")] == ["minor", "minor", "dominant7", "minor"]
    with pytest.raises(MuseforgeError):
        cadence(key, "interrupted-ish")


@pytest.mark.parametrize("text,ok", [("4/4", True), ("5/4", True), ("6/8", True), ("7/8", True),
                                     ("0/4", False), ("3/5", False), ("4", False), ("33/4", False)])
def test_meters(text, ok):
    if ok:
        assert str(parse_meter(text)) == text
    else:
        with pytest.raises(MuseforgeError, match="invalid meter"):
            parse_meter(text)


@pytest.mark.parametrize("name", ["bach/bwv66.6", "bach/bwv269", "bach/bwv347"])
def test_find_key_agrees_with_music21(name):
    corpus = pytest.importorskip("music21.corpus")
    from museforge.music.theory import find_key

    score = corpus.parse(name)
    notes = list(score.flatten().notes)
    pitches = [p.midi for n in notes for p in n.pitches]
    weights = [float(n.quarterLength) for n in notes for _ in n.pitches]
    ref = score.analyze("key.krumhanslkessler")  # the same profiles as ours
    key = find_key(pitches, weights)
    assert (key.tonic, key.mode) == (ref.tonic.pitchClass, ref.mode)


def test_parse_note():
    from museforge.music.theory import parse_note

    assert [parse_note(n) for n in ("C4", "A0", "Cb4", "B#3", "G9")] == [60, 21, 59, 60, 127]
    for bad in ("H4", "C", "4C", "G#9"):
        with pytest.raises(MuseforgeError):
            parse_note(bad)
