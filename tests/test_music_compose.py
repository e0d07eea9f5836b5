"""The rule-based composer: form, cadences, melody rules, determinism, MIDI round trip."""

import numpy as np
import pytest

from museforge.emotion import MOODS, art_direction, emotion_from_label
from museforge.music.compose import Form, compose
from museforge.music.midi import midi_to_score, score_to_midi
from museforge.music.score import DRUM_CHANNEL
from museforge.music.theory import parse_key, parse_meter


def make(mood="melancholy", seed=1, **form):
    return compose(art_direction(emotion_from_label(mood)), np.random.default_rng(seed), Form(**form))


@pytest.mark.parametrize("mood", MOODS)
def test_piece_ends_on_tonic_and_fills_the_bars(mood):
    score = make(mood)
    melody = score.tracks[0].notes
    assert melody[-1].pitch % 12 == score.key.tonic
    assert melody[-1].start + melody[-1].duration == pytest.approx(score.quarters)
    for track in score.tracks:
        assert all(n.start >= 0 and n.start + n.duration <= score.quarters + 1e-9 for n in track.notes)
        assert all(1 <= n.velocity <= 127 and 0 <= n.pitch <= 127 for n in track.notes)


@pytest.mark.parametrize("meter", ["4/4", "3/4", "2/4", "6/8", "5/4", "7/8"])
def test_meters_and_strong_beats_take_chord_tones(meter):
    score = make("serene", meter=parse_meter(meter), bars=8)
    bar = score.meter.bar_quarters
    chords = score.chords
    assert chords[0][0] == 0 and chords[-1][0] + chords[-1][1] == pytest.approx(8 * bar)
    key = score.key
    from museforge.music.theory import roman_chord
    for n in score.tracks[0].notes:
        if n.start % bar == 0:
            numeral = next(c for s, d, c in chords if s <= n.start < s + d)
            assert n.pitch % 12 in roman_chord(key, numeral).pitch_classes


def test_melody_is_mostly_stepwise_and_leaps_resolve():
    for mood in ("melancholy", "joyful", "mysterious"):
        pitches = [n.pitch for n in make(mood, seed=3).tracks[0].notes]
        moves = np.diff(pitches)
        assert np.mean(np.abs(moves) <= 4) > 0.6  # steps, repeats and thirds dominate
        assert np.max(np.abs(moves)) <= 12


def test_cadences_in_the_harmony():
    score = make("joyful")
    numerals = [c for _, _, c in score.chords]
    assert numerals[-2:] == ["V7", "I"]
    assert "V" in numerals[: len(numerals) // 2]  # a half cadence before the middle
    assert score.form == "AABA"


def test_same_seed_same_piece_other_seed_other_piece():
    a, b, c = make(seed=5), make(seed=5), make(seed=6)
    assert score_to_midi(a) == score_to_midi(b)
    assert score_to_midi(a) != score_to_midi(c)


def test_percussion_only_for_excited_moods():
    assert not any(t.channel == DRUM_CHANNEL for t in make("serene").tracks)
    assert any(t.channel == DRUM_CHANNEL for t in make("angry").tracks)


def test_key_and_tempo_overrides():
    score = compose(art_direction(emotion_from_label("joyful")), np.random.default_rng(0),
                    key=parse_key("F# dorian"), bpm=90)
    assert score.tempo == 90 and score.key.tonic == 6
    assert score.tracks[0].notes[-1].pitch % 12 == 6


@pytest.mark.parametrize("meter", ["4/4", "6/8", "3/4"])
def test_midi_round_trip(meter):
    score = make("tense", meter=parse_meter(meter), bars=8)
    back = midi_to_score(score_to_midi(score))
    assert back.meter == score.meter
    assert back.tempo == pytest.approx(score.tempo, abs=0.01)
    assert back.bars == score.bars
    assert [t.name for t in back.tracks] == [t.name for t in score.tracks]
    assert [t.program for t in back.tracks] == [t.program for t in score.tracks]
    for orig, got in zip(score.tracks, back.tracks, strict=True):
        key = lambda n: (round(n.start, 6), n.pitch)  # noqa: E731
        a = sorted((round(n.start, 6), round(n.duration, 6), n.pitch, n.velocity) for n in orig.notes)
        b = sorted((round(n.start, 6), round(n.duration, 6), n.pitch, n.velocity)
                   for n in sorted(got.notes, key=key))
        assert a == b


def test_midi_has_named_tracks_meta_and_ticks():
    import io

    import mido

    data = score_to_midi(make("joyful"), title="a theme")
    mid = mido.MidiFile(file=io.BytesIO(data))
    assert mid.type == 1 and mid.ticks_per_beat == 480
    metas = {m.type for m in mid.tracks[0]}
    assert {"set_tempo", "time_signature", "key_signature", "track_name"} <= metas
    assert any(m.type == "program_change" and m.program == 73 for m in mid.tracks[1])


TEMPO_CHANGES = {"4/4": ((8.0, 140.0), (16.0, 96.5), (28.0, 72.25)),
                 "3/4": ((6.0, 100.0), (13.5, 150.0)),
                 "6/8": ((6.0, 140.0), (12.0, 97.5), (21.0, 80.25)),
                 "5/4": ((10.0, 60.0), (12.5, 61.0), (30.0, 45.0))}


@pytest.mark.parametrize("meter", list(TEMPO_CHANGES))
def test_midi_round_trip_keeps_notes_meter_and_every_tempo_change(meter):
    from dataclasses import replace

    import mido

    score = replace(make("joyful", meter=parse_meter(meter), bars=8), tempo_changes=TEMPO_CHANGES[meter])
    data = score_to_midi(score, title="tempo")
    back = midi_to_score(data)
    assert back.meter == score.meter and back.bars == score.bars
    assert len(back.tempo_map) == len(score.tempo_map) == len(TEMPO_CHANGES[meter]) + 1
    for (q0, b0), (q1, b1) in zip(score.tempo_map, back.tempo_map, strict=True):
        assert q1 == pytest.approx(q0, abs=1e-9) and b1 == pytest.approx(b0, rel=1e-5)  # microseconds a beat
    assert back.seconds == pytest.approx(score.seconds, rel=1e-5)
    for orig, got in zip(score.tracks, back.tracks, strict=True):
        assert (sorted((round(n.start, 6), round(n.duration, 6), n.pitch, n.velocity) for n in orig.notes)
                == sorted((round(n.start, 6), round(n.duration, 6), n.pitch, n.velocity) for n in got.notes))
    assert score_to_midi(back, title="tempo") == data  # MIDI -> parse -> MIDI: the same bytes
    # the tempo changes are set_tempo events of the conductor track, at their ticks
    mid = mido.MidiFile(file=__import__("io").BytesIO(data))
    tick, tempi = 0, []
    for msg in mid.tracks[0]:
        tick += msg.time
        if msg.type == "set_tempo":
            tempi.append((tick / 480, round(mido.tempo2bpm(msg.tempo), 2)))
    assert tempi == [(q, round(b, 2)) for q, b in score.tempo_map]
    assert not any(m.type == "set_tempo" for t in mid.tracks[1:] for m in t)


def test_tempo_map_seconds_by_hand():
    from museforge.music.score import Score, quarters_at, seconds_at

    tmap = ((0.0, 120.0), (8.0, 60.0))
    assert seconds_at(tmap, 16.0) == pytest.approx(4.0 + 8.0)  # 8 beats at 120, 8 at 60
    assert seconds_at(tmap, [2.0, 8.0, 10.0]).tolist() == pytest.approx([1.0, 4.0, 6.0])
    assert quarters_at(tmap, [1.0, 4.0, 6.0, 12.0]).tolist() == pytest.approx([2.0, 8.0, 10.0, 16.0])
    score = Score([], 120.0, parse_meter("4/4"), parse_key("C major"), 4, tempo_changes=((8.0, 60.0),))
    assert score.seconds == pytest.approx(12.0) and score.tempo == 120.0
    # a change at 0 sets the opening tempo; repeats of the tempo in force are dropped
    s2 = Score([], 90, parse_meter("3/4"), parse_key("C major"), 2, tempo_changes=((3, 90), (0, 60)))
    assert s2.tempo == 60 and s2.tempo_map == ((0.0, 60.0), (3.0, 90.0))
    assert Score([], 100, parse_meter("4/4"), parse_key("C major"), 1).tempo_map == ((0.0, 100.0),)
