"""The compose, harmonize, continue and score subcommands, run through their parsers on tiny
models (``MUSEFORGE_MODELS``); every option documented; bad input gives one line."""

import argparse
import json

import numpy as np
import pytest
import torch

from museforge.cli import main
from museforge.cli.music import (
    add_compose_parser,
    add_continue_parser,
    add_harmonize_parser,
    add_score_parser,
)
from museforge.errors import MuseforgeError
from museforge.music.harmonizer import Harmonizer, HarmonizerConfig, save_checkpoint
from museforge.music.melody_model import MelodyConfig, MelodyModel
from museforge.originality.melody import MelodyIndex
from museforge.provenance import read_embedded

FILES = ["music.mid", "music.musicxml", "music.musicxml.provenance.json", "music.wav", "pianoroll.png"]


def parser():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    for add in (add_compose_parser, add_harmonize_parser, add_continue_parser, add_score_parser):
        add(sub)
    return p, sub


def run(*argv):
    args = parser()[0].parse_args(list(argv))
    return args.func(args)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    h = Harmonizer(HarmonizerConfig(d_model=16))
    save_checkpoint(h, root / "music-harmonizer" / "model.safetensors", h.config,
                    {"data_sha256": "0" * 64, "recipe": "test"})
    m = MelodyModel(MelodyConfig(d_model=16, layers=1, dropout=0.0))
    save_checkpoint(m, root / "music-melody" / "model.safetensors", m.config,
                    {"data_sha256": "0" * 64, "recipe": "test"})
    MelodyIndex.build([[60, 62, 64, 65, 67, 69, 71, 72, 74, 76]]).save(root / "music-melody" /
                                                                      "corpus_ngrams.npy")
    return root


def test_every_option_is_documented():
    _, sub = parser()
    for name, p in sub.choices.items():
        assert p.description, name
        for action in p._actions:
            assert action.help, f"{name} {action.dest}"


def test_compose_writes_all_files_with_provenance(tmp_path, capsys):
    out = tmp_path / "theme"
    assert run("compose", "--emotion", "melancholy", "--key", "D minor", "--bars", "4", "--meter", "3/4",
               "--tempo", "72", "--seed", "3", "--out", str(out), "--renderer", "builtin") == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    record = read_embedded(out / "music.mid")
    assert record["engine"] == "rule-composer" and record["seed"] == 3
    assert record["params"]["meter"] == "3/4" and record["params"]["tempo"] == 72
    assert read_embedded(out / "music.wav") == record == read_embedded(out / "pianoroll.png")
    assert read_embedded(out / "music.musicxml") == record
    printed = capsys.readouterr().out.split()
    assert printed[0].endswith("music.mid")
    with pytest.raises(MuseforgeError, match="already exists"):
        run("compose", "--bars", "2", "--seed", "3", "--out", str(out))


@pytest.mark.parametrize("seconds", [12, 30])
def test_score_lasts_the_requested_seconds(tmp_path, seconds):
    from museforge.music.midi import midi_to_score

    out = tmp_path / "cue"
    run("score", "a chase through a night market", "--seconds", str(seconds), "--seed", "1",
        "--out", str(out), "--renderer", "builtin")
    score = midi_to_score((out / "music.mid").read_bytes())
    # the length integrates over the tempo map, whose changes survive in the MIDI file
    assert score.tempo_changes
    end = score.bars * score.meter.bar_quarters
    last_beat = score.seconds_at(end) - score.seconds_at(end - score.meter.beat_quarters)
    assert abs(score.seconds - seconds) < last_beat
    assert score.seconds == pytest.approx(seconds, abs=1e-3)
    tempi = [b for _, b in score.tempo_map]
    assert tempi[-1] == min(tempi) < score.tempo  # the final bar broadens
    if seconds == 30:  # three sections: a push into the climax, a ritardando in steps at the end
        peak = tempi.index(max(tempi))
        assert max(tempi) > score.tempo and tempi[: peak + 1] == sorted(tempi[: peak + 1])
        assert tempi[peak + 1 :] == sorted(tempi[peak + 1 :], reverse=True) and len(tempi) - peak - 1 >= 3
    record = read_embedded(out / "music.mid")
    assert record["engine"] == "scene-scorer"


@pytest.mark.parametrize("seconds,meter", [(4, "4/4"), (30, "6/8"), (61.5, "5/4"), (200, "3/4")])
def test_scene_tempo_map_hits_the_length(seconds, meter):
    from museforge.music.scene import plan_tempo, split_bars
    from museforge.music.score import seconds_at
    from museforge.music.theory import parse_meter

    for felt in (48, 96, 148):
        bars, tmap = plan_tempo(seconds, felt, meter)
        bar = parse_meter(meter).bar_quarters
        assert seconds_at(tmap, bars * bar) == pytest.approx(seconds, abs=1e-6)
        assert all(20 <= b <= 300 for _, b in tmap) and tmap[0][0] == 0
        if len(split_bars(bars)) == 3:  # climax fastest, last bar slowest
            build = split_bars(bars)[0][1]
            climax_tempo = dict(tmap)[build * bar]
            assert climax_tempo == max(b for _, b in tmap) and tmap[-1][1] == min(b for _, b in tmap)


def test_harmonize_and_continue_with_tiny_models(tmp_path, tiny_models, monkeypatch):
    from museforge.evaluate.music import voice_leading_violations
    from museforge.music.io import musicxml_to_score

    monkeypatch.setenv("MUSEFORGE_MODELS", str(tiny_models))
    out = tmp_path / "satb"
    assert run("harmonize", "G4 A4 B4 C5 D5:2 B4:2", "--seed", "0", "--out", str(out),
               "--renderer", "builtin") == 0
    score = musicxml_to_score((out / "music.musicxml").read_bytes())
    assert [t.name for t in score.tracks] == ["soprano (choir)", "alto (choir)", "tenor (choir)",
                                              "bass (choir)"]
    v = voice_leading_violations([t.notes for t in score.tracks])
    assert v["parallel_fifths"] == v["parallel_octaves"] == v["crossings"] == 0
    assert read_embedded(out / "music.mid")["params"]["melody"] == "G4:1 A4:1 B4:1 C5:1 D5:2 B4:2"

    out = tmp_path / "more"
    assert run("continue", "D4:0.5 E4:0.5 F4 A4 D5:2", "--meter", "3/4", "--bars", "4", "--seed", "2",
               "--out", str(out), "--renderer", "builtin") == 0
    record = read_embedded(out / "music.mid")
    assert record["engine"] == "folk-continuer" and record["params"]["meter"] == "3/4"
    score = musicxml_to_score((out / "music.musicxml").read_bytes())
    notes = score.tracks[0].notes
    assert notes[-1].pitch % 12 == 2 and notes[-1].start + notes[-1].duration == pytest.approx(18.0)


@pytest.mark.parametrize("argv,message", [
    (["compose", "--key", "H minor"], "unknown key"),
    (["compose", "--meter", "7/5"], "invalid meter"),
    (["compose", "--meter", "0/4"], "invalid meter"),
    (["compose", "--bars", "0"], "bars"),
    (["harmonize", "C2 D2 E2"], "outside|below"),
    (["harmonize", "C4 X9"], "unknown note"),
    (["continue", "C4 D4", "--bars", "0"], "bars"),
    (["score", "a storm", "--seconds", "1"], "seconds"),
])
def test_bad_input_is_one_line(argv, message, tmp_path, capsys, tiny_models, monkeypatch):
    monkeypatch.setenv("MUSEFORGE_MODELS", str(tiny_models))
    assert main([*argv, "--out", str(tmp_path / "x"), "--renderer", "builtin"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("museforge: error:")
    assert __import__("re").search(message, err)


def test_malformed_files_are_one_line(tmp_path, capsys):
    (tmp_path / "bad.mid").write_bytes(b"MThd garbage")
    (tmp_path / "bad.musicxml").write_text("<score-partwise><part>")
    for name in ("bad.mid", "bad.musicxml"):
        assert main(["harmonize", str(tmp_path / name), "--out", str(tmp_path / "o")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot read" in err


def test_same_seed_same_bytes(tmp_path):
    for d in ("a", "b"):
        run("compose", "--bars", "2", "--seed", "9", "--out", str(tmp_path / d), "--renderer", "builtin")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert json.loads((tmp_path / "a" / FILES[2]).read_text())["seed"] == 9
    assert np.isfinite(1.0)


def test_learned_composer_engine_with_tiny_models(tiny_models, monkeypatch):
    from museforge import jobs
    from museforge.evaluate.music import voice_leading_violations
    from museforge.music.learned import LearnedComposer, LearnedParams

    monkeypatch.setenv("MUSEFORGE_MODELS", str(tiny_models))
    params = LearnedParams(bars=4, meter="3/4", renderer="builtin")
    work = jobs.run(LearnedComposer, params, seed=5, prompt="a quiet lake", emotion="serene", lang="en")
    art, files = work.record.artifacts[0], work.files
    assert [f.name for f in files][:2] == ["music.mid", "music.musicxml"]
    assert art.summary["meter"] == "3/4" and len(art.summary["tracks"]) == 4
    assert art.model_sha256 and len(art.model_sha256) == 64
    from museforge.music.io import musicxml_to_score

    score = musicxml_to_score(next(f.data for f in files if f.name == "music.musicxml"))
    v = voice_leading_violations([t.notes for t in score.tracks], ranges=[(0, 127)] * 4)
    assert v["parallel_fifths"] == v["parallel_octaves"] == 0


def test_harmonize_and_continue_keep_a_files_tempo_changes(tmp_path, tiny_models, monkeypatch):
    from museforge.music.midi import midi_to_score, score_to_midi
    from museforge.music.score import Note, Score, Track
    from museforge.music.theory import parse_key, parse_meter

    monkeypatch.setenv("MUSEFORGE_MODELS", str(tiny_models))
    notes = [Note(i * 1.0, 1.0, p, 80) for i, p in enumerate((67, 69, 71, 72, 74, 72, 71, 69))]
    melody = Score([Track("melody", 73, 0, notes)], 90.0, parse_meter("4/4"), parse_key("G major"), 2,
                   tempo_changes=((4.0, 60.0),))
    (tmp_path / "tune.mid").write_bytes(score_to_midi(melody))
    for command, extra in (("harmonize", []), ("continue", ["--bars", "2"])):
        out = tmp_path / command
        assert run(command, str(tmp_path / "tune.mid"), *extra, "--seed", "0", "--out", str(out),
                   "--renderer", "builtin") == 0
        back = midi_to_score((out / "music.mid").read_bytes())
        assert [x for c in back.tempo_map for x in c] == pytest.approx([0, 90, 4, 60], abs=1e-3), command
    out = tmp_path / "fixed"  # an explicit --tempo replaces the file's tempo map
    assert run("harmonize", str(tmp_path / "tune.mid"), "--tempo", "100", "--seed", "0", "--out", str(out),
               "--renderer", "builtin") == 0
    fixed = midi_to_score((out / "music.mid").read_bytes()).tempo_map
    assert [x for c in fixed for x in c] == pytest.approx([0, 100], abs=1e-3)


def test_harmonisation_of_a_file_reproduces_from_its_record(tmp_path, tiny_models, monkeypatch):
    from museforge.hashing import sha256_file
    from museforge.music.midi import score_to_midi
    from museforge.music.score import Note, Score, Track
    from museforge.music.theory import parse_key, parse_meter
    from museforge.reproduce import reproduce_work
    from museforge.work import verify_path

    monkeypatch.setenv("MUSEFORGE_MODELS", str(tiny_models))
    notes = [Note(i * 1.0, 1.0, p, 80) for i, p in enumerate((67, 69, 71, 72, 74, 72, 71, 67))]
    tune = tmp_path / "tune.mid"
    tune.write_bytes(score_to_midi(Score([Track("melody", 73, 0, notes)], 80.0, parse_meter("4/4"),
                                         parse_key("G major"), 2)))
    out = tmp_path / "satb"
    assert run("harmonize", str(tune), "--seed", "4", "--out", str(out), "--renderer", "builtin") == 0
    record = read_embedded(out / "music.mid")
    assert record["inputs"] == {"melody": [sha256_file(tune)]} and record["params"]["melody"] == ""
    assert verify_path(out).intact
    results, notes_ = reproduce_work(out)  # the folder of lone files, the input found beside it
    assert notes_ == [] and len(results) == 5 and all(r.identical for r in results), results
    results, _ = reproduce_work(out / "music.mid")
    assert [(r.name, r.identical) for r in results] == [("music.mid", True)]
    tune.write_bytes(b"MThd changed")
    with pytest.raises(MuseforgeError, match=r"input melody tune\.mid"):
        reproduce_work(out / "music.wav")
