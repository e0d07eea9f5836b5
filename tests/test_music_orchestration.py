"""Orchestration musicians can read: every part of every composer inside its instrument's range
(placed there, not folded), each MusicXML part in its instrument's clef, and percussion as one
unpitched drum part on MIDI channel 10."""

import importlib
import io
from xml.etree import ElementTree

import mido
import numpy as np
import pytest
import torch

from museforge.emotion import MOODS, Emotion, art_direction, emotion_from_label
from museforge.emotion.moods import MOODS_TABLE
from museforge.engines import Request
from museforge.music.compose import Form, compose
from museforge.music.guard import compose_guarded, shipped_index
from museforge.music.instruments import (
    DRUMS,
    RANGES,
    VOICE_RANGES,
    clef_for,
    instrument_range,
    out_of_range,
)
from museforge.music.io import musicxml_to_score, score_to_musicxml
from museforge.music.midi import score_to_midi
from museforge.music.score import DRUM_CHANNEL, Note, Score, Track
from museforge.music.theory import Key, Meter, note_name, parse_key, parse_meter
from museforge.runtime import make_generator

METERS = ("4/4", "3/4", "6/8", "5/4")
SEEDS = (0, 1, 2)
compose_module = importlib.import_module("museforge.music.compose")


def assert_playable(score: Score, where: str = "") -> None:
    for track in score.tracks:
        bad = out_of_range(track)
        lo, hi = instrument_range(track)
        assert not bad, (f"{where} {track.name}: {len(bad)} of {len(track.notes)} notes outside "
                         f"{note_name(lo)}-{note_name(hi)}, e.g. {note_name(bad[0].pitch)}")


@pytest.fixture
def no_folding(monkeypatch):
    """The rule composer must place its parts in range by construction: its last-resort fold
    may never have anything to do."""
    def strict(notes, span):
        notes = list(notes)
        assert all(span[0] <= n.pitch <= span[1] for n in notes), "a part needed folding"
        return notes

    monkeypatch.setattr(compose_module, "fold_into", strict)


@pytest.fixture
def captured(monkeypatch):
    """Engines' Scores, caught before MIDI, MusicXML and audio are written."""
    scores: list[Score] = []

    def catch(score, request, renderer, extra):
        scores.append(score)
        return score

    monkeypatch.setattr("museforge.music.engine.score_artifact", catch)
    return scores


# ------------------------------------------------------------------ the range table


def test_every_program_has_a_range_and_the_orchestral_ones_are_right():
    assert sorted(RANGES) == list(range(128))
    assert all(0 < lo < hi < 128 for lo, hi in RANGES.values())
    named = {40: ("G3", "A7"), 41: ("C3", "E6"), 42: ("C2", "A5"), 43: ("E1", "G4"), 73: ("C4", "C7"),
             71: ("D3", "A#6"), 68: ("A#3", "A6"), 70: ("A#1", "D#5"), 60: ("B1", "F5"),
             56: ("F#3", "D6"), 57: ("E2", "F5"), 58: ("D1", "F4"), 24: ("E2", "B5"), 32: ("E1", "G3")}
    for program, names in named.items():
        assert tuple(note_name(p) for p in RANGES[program]) == names, program
    assert {v: tuple(map(note_name, r)) for v, r in VOICE_RANGES.items()} == {
        "soprano": ("C4", "C6"), "alto": ("F3", "F5"), "tenor": ("C3", "C5"), "bass": ("E2", "E4")}
    programs = {i.program for spec in MOODS_TABLE.values() for i in spec.instruments}
    programs |= {48, 52, 71, 41, 42, 0}  # the learned engines' strings, choir and lines
    assert all(RANGES[p][1] - RANGES[p][0] >= 24 for p in programs)  # room for a melody's reach


def test_harmoniser_voices_sit_inside_the_choirs():
    from museforge.music.harmonizer import SOPRANO_INPUT_RANGE
    from museforge.music.harmonizer import VOICE_RANGES as DECODER

    assert VOICE_RANGES["soprano"] == SOPRANO_INPUT_RANGE
    for voice, (lo, hi) in DECODER.items():
        assert VOICE_RANGES[voice][0] <= lo and hi <= VOICE_RANGES[voice][1], voice


# ------------------------------------------------------------------ every composer, in range


@pytest.mark.parametrize("meter", METERS)
@pytest.mark.parametrize("mood", MOODS)
def test_rule_composer_places_every_part_in_range(mood, meter, no_folding):
    direction = art_direction(emotion_from_label(mood))
    index = shipped_index()
    for seed in SEEDS:
        for percussion in (None, True):
            score, _ = compose_guarded(direction, np.random.default_rng(seed), Form(8, parse_meter(meter)),
                                       index, mood=mood, percussion=percussion)
            assert_playable(score, f"{mood} {meter} seed {seed}")


def test_rule_composer_in_range_for_any_emotion_and_key(no_folding):
    rng = np.random.default_rng(0)
    tonics = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    modes = ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian")
    for i in range(96):
        mood = MOODS[i % len(MOODS)]
        emotion = Emotion(mood, float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)))
        key = parse_key(f"{tonics[i % 12]} {modes[i % 6]}")
        score = compose(art_direction(emotion), np.random.default_rng(i), Form(8, parse_meter(METERS[i % 4])),
                        key=key, mood=mood)
        assert_playable(score, f"{mood} {key}")


def test_violin_melody_is_placed_above_g3(no_folding):
    """The case that started this: a tense melody lies low (register 56), and the violin cannot
    go below G3; the melody is written an octave up instead of clipped."""
    score = compose(art_direction(emotion_from_label("tense")), np.random.default_rng(3), Form(16),
                    mood="tense")
    violin = score.tracks[0]
    assert violin.program == 40 and min(n.pitch for n in violin.notes) >= 55
    cello = compose(art_direction(emotion_from_label("serene")), np.random.default_rng(3), Form(16),
                    mood="serene").tracks[2]
    assert cello.program == 42 and min(n.pitch for n in cello.notes) >= 36


@pytest.mark.parametrize("mood", MOODS)
def test_scene_scorer_places_every_part_in_range(mood, captured, no_folding):
    from museforge.music.scene import SceneParams, SceneScorer

    for seed, meter in zip(SEEDS, ("4/4", "6/8", "3/4"), strict=True):
        params = SceneParams(seconds=24, meter=meter)
        request = Request("a scene", "en", emotion_from_label(mood), seed, params)
        SceneScorer().run(request, make_generator(seed))
        assert_playable(captured[-1], f"scene {mood} {meter}")


def tiny_models(monkeypatch, index_tunes=((60, 62, 64, 65, 67, 69, 71, 72, 74, 76),)):
    """The learned engines on tiny random models held in memory (and a tiny corpus index)."""
    from museforge.music.harmonizer import Harmonizer, HarmonizerConfig
    from museforge.music.melody_model import MelodyConfig, MelodyModel
    from museforge.originality.melody import MelodyIndex

    torch.manual_seed(0)
    harmonizer = Harmonizer(HarmonizerConfig(d_model=16)).eval()
    melody = MelodyModel(MelodyConfig(d_model=16, layers=1, dropout=0.0)).eval()
    index = MelodyIndex.build([list(t) for t in index_tunes])
    monkeypatch.setattr("museforge.music.harmonize.shipped_harmonizer", lambda: (harmonizer, {}))
    monkeypatch.setattr("museforge.music.continuation.shipped_melody_model", lambda: (melody, {}, index))


@pytest.mark.parametrize("mood", MOODS)
def test_learned_composer_places_every_part_in_range(mood, monkeypatch, captured):
    from museforge.music.learned import LearnedComposer, LearnedParams

    tiny_models(monkeypatch)
    for seed, meter in ((MOODS.index(mood), "4/4"), (MOODS.index(mood) + 8, ("3/4", "6/8")[len(mood) % 2])):
        request = Request("a piece", "en", emotion_from_label(mood), seed, LearnedParams(bars=4, meter=meter))
        LearnedComposer().run(request, make_generator(seed))
        assert_playable(captured[-1], f"learned {mood} {meter}")


@pytest.mark.parametrize("melody,meter", [
    ("C4 D4 E4 F4 G4:2 E4:2", "4/4"), ("G4 A4 B4 C5 D5:2 B4:2", "3/4"),
    ("C6 B5 A5 G5 F5 E5 D5 C5", "4/4"), ("D4:1.5 E4:0.5 F4 A4 G4:3", "6/8")])
def test_harmoniser_writes_every_voice_in_its_range(melody, meter, monkeypatch, captured):
    from museforge.music.harmonize import ChoraleHarmonizer, HarmonizerParams

    tiny_models(monkeypatch)
    request = Request("", "en", emotion_from_label("serene"), 1, HarmonizerParams(melody=melody, meter=meter))
    ChoraleHarmonizer().run(request, make_generator(1))
    score = captured[-1]
    assert [clef_for(t) for t in score.tracks] == ["treble", "treble", "treble-8vb", "bass"]
    assert_playable(score, f"harmonised {melody}")


@pytest.mark.parametrize("motif", ["D4:0.5 E4:0.5 F4 A4 D5:2", "C3 D3 E3 G3:2", "G5 A5 B5 D6:2"])
def test_continuer_gives_the_line_to_an_instrument_that_can_play_it(motif, monkeypatch, captured):
    from museforge.music.continuation import ContinuerParams, FolkContinuer

    tiny_models(monkeypatch)
    for seed, meter in zip(SEEDS, ("4/4", "3/4", "6/8"), strict=True):
        request = Request("", "en", emotion_from_label("serene"), seed,
                          ContinuerParams(motif=motif, bars=4, meter=meter))
        FolkContinuer().run(request, make_generator(seed))
        assert_playable(captured[-1], f"continued {motif}")
        if motif.startswith("C3"):  # below the flute's C4: a viola or cello (or the piano) plays it
            assert captured[-1].tracks[0].program in (41, 42, 0)


@pytest.mark.slow
@pytest.mark.parametrize("mood", MOODS)
def test_shipped_models_keep_every_part_in_range(mood, captured):
    from museforge.music.continuation import ContinuerParams, FolkContinuer
    from museforge.music.harmonize import model_file
    from museforge.music.learned import LearnedComposer, LearnedParams

    if not (model_file("music-melody").is_file() and model_file("music-harmonizer").is_file()):
        pytest.skip("no shipped music models")
    emotion = emotion_from_label(mood)
    LearnedComposer().run(Request("", "en", emotion, 2, LearnedParams(bars=8, meter="3/4")),
                          make_generator(2))
    params = ContinuerParams(motif="D4:0.5 E4:0.5 F4 A4 D5:2", bars=4, harmonize=True)
    FolkContinuer().run(Request("", "en", emotion, 2, params),
                        make_generator(2))
    for score in captured:
        assert_playable(score, f"shipped {mood}")


# ------------------------------------------------------------------ MusicXML and MIDI


def parts_of(data: bytes):
    from music21 import converter

    return list(converter.parse(data.decode(), format="musicxml").parts)


@pytest.mark.parametrize("mood", MOODS)
def test_each_musicxml_part_gets_its_instruments_clef(mood):
    from music21 import clef

    from museforge.music.io import CLEFS

    fixed = {"violin": clef.TrebleClef, "contrabass": clef.Bass8vbClef, "cello": clef.BassClef,
             "overdriven guitar": clef.Treble8vbClef, "acoustic guitar": clef.Treble8vbClef,
             "electric bass": clef.Bass8vbClef, "acoustic bass": clef.Bass8vbClef,
             "fretless bass": clef.Bass8vbClef, "flute": clef.TrebleClef, "clarinet": clef.TrebleClef,
             "vibraphone": clef.TrebleClef, "percussion": clef.PercussionClef}
    score = compose(art_direction(emotion_from_label(mood)), np.random.default_rng(5), Form(8), mood=mood,
                    percussion=True)
    parts = parts_of(score_to_musicxml(score))
    assert [p.partName for p in parts] == [t.name for t in score.tracks]  # one part a track here
    for part, track in zip(parts, score.tracks, strict=True):
        first = type(part.recurse().getElementsByClass(clef.Clef).first())
        assert first is getattr(clef, CLEFS[clef_for(track)]), (part.partName, first)
        name = track.name.split("(")[-1].rstrip(")")
        assert first is fixed.get(name, first), (part.partName, first)


def test_viola_tenor_and_low_parts_take_alto_treble_8vb_and_bass_clefs():
    from music21 import clef

    line = [Note(float(i), 1.0, p, 80) for i, p in enumerate((48, 52, 55, 60))]
    tracks = [Track("melody (viola)", 41, 0, [Note(n.start, 1.0, n.pitch + 7, 80) for n in line]),
              Track("tenor (choir)", 52, 1, line), Track("bass (choir)", 52, 2, [Note(0, 4, 43, 80)]),
              Track("chords (acoustic piano)", 0, 3, [Note(0, 4, 41, 80), Note(0, 4, 45, 80)]),
              Track("bass (cello)", 42, 4, [Note(0, 4, 48, 80)])]
    score = Score(tracks, 90, Meter(4, 4), Key("C", "major"), 1)
    parts = parts_of(score_to_musicxml(score))
    clefs = [type(p.recurse().getElementsByClass(clef.Clef).first()) for p in parts]
    assert clefs == [clef.AltoClef, clef.Treble8vbClef, clef.BassClef, clef.BassClef, clef.BassClef]
    root = ElementTree.fromstring(score_to_musicxml(score))
    signs = [(c.findtext("sign"), c.findtext("line"), c.findtext("clef-octave-change"))
             for c in (p.find("measure/attributes/clef") for p in root.iter("part"))]
    assert signs == [("C", "3", None), ("G", "2", "-1"), ("F", "4", None), ("F", "4", None), ("F", "4", None)]


def drum_piece(mood="angry", meter="4/4", seed=2):
    return compose(art_direction(emotion_from_label(mood)), np.random.default_rng(seed),
                   Form(8, parse_meter(meter)), mood=mood, percussion=True)


@pytest.mark.parametrize("meter", ["4/4", "6/8", "5/4"])
def test_percussion_is_one_unpitched_part_on_channel_10(meter):
    from music21 import clef, note, percussion

    score = drum_piece(meter=meter)
    drums = next(t for t in score.tracks if t.channel == DRUM_CHANNEL)
    data = score_to_musicxml(score)
    assert data == score_to_musicxml(drum_piece(meter=meter))  # same seed, same bytes
    parts = parts_of(data)
    strokes_of = (note.Unpitched, percussion.PercussionChord)
    unpitched = [p for p in parts if p.recurse().getElementsByClass(strokes_of)]
    assert len(unpitched) == 1 and unpitched[0].partName == "percussion"
    drum_part = unpitched[0]
    assert all(isinstance(n, strokes_of) for n in drum_part.recurse().notes)
    assert type(drum_part.recurse().getElementsByClass(clef.Clef).first()) is clef.PercussionClef
    assert drum_part.highestTime == pytest.approx(score.quarters)

    root = ElementTree.fromstring(data)
    pid = next(sp.get("id") for sp in root.iter("score-part") if sp.findtext("part-name") == "percussion")
    score_part = next(sp for sp in root.iter("score-part") if sp.get("id") == pid)
    names = {si.get("id"): si.findtext("instrument-name") for si in score_part.findall("score-instrument")}
    midi = {mi.get("id"): (mi.findtext("midi-channel"), int(mi.findtext("midi-unpitched")))
            for mi in score_part.findall("midi-instrument")}
    keys = sorted({n.pitch for n in drums.notes})
    assert set(names) == set(midi) and sorted(k - 1 for _, k in midi.values()) == keys
    assert {ch for ch, _ in midi.values()} == {"10"}
    assert {names[i] for i in names} == {DRUMS[k][0] for k in keys}
    part = next(p for p in root.iter("part") if p.get("id") == pid)
    assert part.find("measure/attributes/clef/sign").text == "percussion"
    strokes = [n for n in part.iter("note") if n.find("unpitched") is not None]
    assert strokes and all(n.find("pitch") is None for n in part.iter("note"))
    for n in strokes:
        key = midi[n.find("instrument").get("id")][1] - 1
        _, position, head = DRUMS[key]
        u = n.find("unpitched")
        assert u.findtext("display-step") + u.findtext("display-octave") == position
        assert n.findtext("notehead", "normal") == head
    others = [sp for sp in root.iter("score-part") if sp.get("id") != pid]
    assert all(mi.findtext("midi-channel") != "10" for sp in others for mi in sp.iter("midi-instrument"))


def test_every_drum_key_survives_a_musicxml_round_trip():
    keys = sorted(DRUMS)
    notes = [Note(i * 0.5, 0.5, k, 90) for i, k in enumerate(keys)] + [Note(0.0, 0.5, 36, 80)]
    score = Score([Track("melody (flute)", 73, 0, [Note(0, 4, 72, 80)]),
                   Track("percussion", 0, DRUM_CHANNEL, notes)], 100, Meter(4, 4), Key("C", "major"),
                  int(np.ceil(len(keys) / 8)))
    back = musicxml_to_score(score_to_musicxml(score))
    drums = back.track("percussion")
    assert drums.channel == DRUM_CHANNEL
    assert sorted((n.start, n.pitch) for n in drums.notes) == sorted({(n.start, n.pitch) for n in notes})


def test_midi_keeps_drums_on_channel_10():
    score = drum_piece()
    mid = mido.MidiFile(file=io.BytesIO(score_to_midi(score)))
    by_name = {t.name: t for t in mid.tracks}
    drum_msgs = [m for m in by_name["percussion"] if m.type in ("note_on", "note_off", "program_change")]
    assert drum_msgs and all(m.type != "program_change" and m.channel == 9 for m in drum_msgs)
    pitched = [m for name, t in by_name.items() if name != "percussion" for m in t if m.type == "note_on"]
    assert pitched and all(m.channel != 9 for m in pitched)
