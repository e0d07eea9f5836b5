"""The originality service for poems and melodies: planted copies found through punctuation,
variant characters, reordered lines, one changed character, transposition, tempo and one changed
note; calibrated verdicts; index files that refuse corruption and other features; the check
wired into jobs (a copy is made again, or kept and said so); ``museforge check``."""

from __future__ import annotations

import io
import json

import mido
import numpy as np
import opencc
import pytest
import torch
from conftest import FakeText

from museforge.engines import Artifact, OutputFile
from museforge.errors import MuseforgeError
from museforge.originality import poems, service, tunes
from museforge.originality.verdicts import Thresholds, calibrate
from museforge.runtime import MAX_SEED, derive_seed

CORPUS = [
    "<qilv>《秋兴》\n玉露凋伤枫树林，\n巫山巫峡气萧森。\n江间波浪兼天涌，\n塞上风云接地阴。<eos>",
    "<wujue>《登楼》\n白日依山尽，\n黄河入海流。\n欲穷千里目，\n更上一层楼。<eos>",
    "<qijue>《夜雨》\n君问归期未有期，\n巴山夜雨涨秋池。\n何当共剪西窗烛，\n却话巴山夜雨时。<eos>",
    "<verse>\nShall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n"
    "Rough winds do shake the darling buds of May,\nAnd summer's lease hath all too short a date.<eos>",
]
FRESH = ["春风吹过小桥边，", "柳色青青映水天。", "我在窗前听细雨，", "一杯清茶度流年。"]


def _index() -> poems.PoemIndex:
    index = poems.PoemIndex.build(CORPUS, name="test poems")
    index.thresholds = Thresholds(0.1, 0.5, poems.MEASURE)
    return index


def _lines(doc: str) -> list[str]:
    return poems.poem_lines(doc)[1]


@pytest.mark.parametrize("edit", ["verbatim", "punctuation", "traditional", "reordered", "one character",
                                  "one couplet a line"])
def test_a_planted_poem_copy_is_found_through_each_edit(edit):
    lines = _lines(CORPUS[0])
    if edit == "punctuation":
        lines = [ln.replace("，", "!").replace("。", "") for ln in lines]
    elif edit == "traditional":
        lines = [opencc.OpenCC("s2t").convert(ln) for ln in lines]
    elif edit == "reordered":
        lines = [lines[2], lines[0], lines[3], lines[1]]
    elif edit == "one character":
        lines = [ln.replace("枫", "松").replace("塞", "关") for ln in lines]
    elif edit == "one couplet a line":
        lines = [lines[0] + lines[1], lines[2] + lines[3]]
    verdict = _index().check(lines)
    assert verdict.label == "copy" and verdict.score == 1.0
    assert verdict.matches[0].item == "秋兴"


def test_fresh_and_english_poems():
    index = _index()
    assert index.check(FRESH).label == "original" and index.check(FRESH).score == 0.0
    half = [*_lines(CORPUS[1])[:1], *FRESH[:3]]
    assert index.score(half)[0] == pytest.approx(0.25)
    sonnet = ["shall i compare thee to a SUMMER'S day", "Thou art more lovely, and more temperate!"]
    assert index.check(sonnet).label == "copy"
    assert index.check(["A summer's day is long and bright", "and I am here"]).label == "original"


def test_leave_one_out_excludes_the_poem_itself():
    index = poems.PoemIndex.build([*CORPUS, CORPUS[1].replace("《登楼》", "《登鹳雀楼》")])
    assert index.score(_lines(CORPUS[0]), exclude=0)[0] == 0.0  # no other poem holds its lines
    assert index.score(_lines(CORPUS[1]), exclude=1)[0] == 1.0  # the same poem under another title


def test_poem_index_file_round_trip_corruption_and_other_features(tmp_path):
    index = _index()
    path = tmp_path / "poems.npz"
    index.save(path)
    back = poems.PoemIndex.load(path)
    assert back.titles == index.titles and back.thresholds == index.thresholds
    assert back.check(_lines(CORPUS[2])).to_json() == index.check(_lines(CORPUS[2])).to_json()
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(MuseforgeError, match="cannot read the poem index") as err:
        poems.PoemIndex.load(path)
    assert "\n" not in str(err.value)
    index.features = "poem-lines:other"
    index.save(path)
    with pytest.raises(MuseforgeError, match="was built from 'poem-lines:other'"):
        poems.PoemIndex.load(path)


TUNE = [62, 64, 66, 67, 69, 71, 69, 67, 66, 64, 62, 61, 62, 64, 66, 62, 69, 67, 66, 64, 62, 57, 62, 66,
        69, 74, 73, 71, 69, 67, 66, 64, 62]
OTHER = [60, 67, 65, 64, 62, 60, 72, 71, 69, 67, 65, 64, 62, 67, 60, 59, 60, 64, 67, 72, 67, 64, 60, 55]


def _tunes() -> tunes.TuneIndex:
    index = tunes.TuneIndex.build([("the tune", TUNE), ("another", OTHER)])
    index.thresholds = Thresholds(0.2, 0.55, tunes.MEASURE)
    return index


def _notes(pitches: list[int], iois: list[float]) -> np.ndarray:
    """A ``(n, 3)`` note array (pitch, duration, onset) playing ``pitches`` at ``iois``."""
    t = np.resize(np.asarray(iois, dtype=np.float64), len(pitches))
    return np.column_stack([pitches, t, np.cumsum(t) - t])


JIG = [0.5, 0.25, 0.25, 1.0, 0.5, 0.5]
"""A rhythm for TUNE: long-short-short, a held note, two even."""


def test_a_transposed_tune_at_another_tempo_with_rests_scores_one():
    index = tunes.TuneIndex.build([("the tune", _notes(TUNE, JIG)), ("another", OTHER)])
    index.thresholds = Thresholds(0.2, 0.55, tunes.MEASURE)
    slower = _notes([p - 5 for p in TUNE], [1.5 * t for t in JIG])
    assert slower[9, 1] == 1.5
    slower[9, 1] = 0.5  # played short, then a rest: the next note starts when it did
    slower = np.insert(slower, 10, [-1, 1.0, slower[9, 2] + 0.5], axis=0)
    verdict = index.check(slower)
    assert verdict.score == 1.0 and verdict.label == "copy" and verdict.matches[0].item == "the tune"
    assert verdict.matches[0].detail == "25 of 25 runs in their rhythm, 25 in any rhythm"


def test_rhythm_counts_one_duration_breaks_nine_runs_and_a_new_rhythm_is_only_similar():
    index = tunes.TuneIndex.build([("the tune", _notes(TUNE, JIG)), ("another", OTHER)])
    index.thresholds = Thresholds(0.2, 0.55, tunes.MEASURE)
    longer = list(np.resize(JIG, len(TUNE)))
    longer[16] *= 2  # note 16 held twice as long; the notes after it move
    verdict = index.check(_notes(TUNE, longer))
    assert verdict.score == pytest.approx((16 + 25) / 50) and verdict.label == "copy"
    assert verdict.matches[0].detail == "16 of 25 runs in their rhythm, 25 in any rhythm"
    even = index.check(TUNE)  # the same pitches in even notes: no run keeps its rhythm
    assert even.score == 0.5 and even.label == "similar" and even.matches[0].item == "the tune"
    assert even.matches[0].detail == "0 of 25 runs in their rhythm, 25 in any rhythm"


def test_an_index_of_the_pitch_only_features_is_refused(tmp_path):
    path = tmp_path / "old.npz"
    meta = {"format": 1, "features": "tune-interval-8grams:v1", "name": "tunes", "count": 1}
    as_bytes = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez_compressed(
        path,
        codes=np.arange(3),
        tunes=np.zeros(3, np.uint32),
        names=np.frombuffer(b"a", np.uint8),
        meta=as_bytes,
    )
    with pytest.raises(MuseforgeError, match=r"built from 'tune-interval-8grams:v1'.*rebuild it") as err:
        tunes.TuneIndex.load(path)
    assert tunes.FEATURES in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(MuseforgeError, match="rebuild it"):
        service.load_index(path)


@pytest.mark.parametrize("edit", ["transposed", "one note", "tempo"])
def test_a_planted_melody_copy_is_found(edit):
    pitches = {"transposed": [p + 5 for p in TUNE], "tempo": TUNE,
               "one note": [*TUNE[:16], TUNE[16] + 2, *TUNE[17:]]}[edit]
    verdict = _tunes().check(pitches)
    assert verdict.label == "copy" and verdict.matches[0].item == "the tune"
    assert verdict.score == (1.0 if edit != "one note" else pytest.approx(1 - 9 / 25))


def test_an_unrelated_melody_is_original_and_the_tune_file_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    walk = (60 + np.cumsum(rng.integers(-4, 5, 40))).tolist()
    assert _tunes().check(walk).label == "original"
    path = tmp_path / "tunes.npz"
    _tunes().save(path)
    assert tunes.TuneIndex.load(path).check([p - 3 for p in TUNE]).label == "copy"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(MuseforgeError, match="cannot read the tune index"):
        tunes.TuneIndex.load(path)


def _shipped_tunes() -> tunes.TuneIndex:
    from museforge.runtime import models_root

    path = models_root() / "music-melody" / tunes.FILE
    if not path.is_file():
        pytest.skip("no shipped tune index")
    assert path.stat().st_size < 2_000_000
    return tunes.TuneIndex.load(path)


def test_the_shipped_tune_index_is_built_and_calibrated_for_these_features():
    index = _shipped_tunes()
    t = index.thresholds
    assert t is not None and t.measure == tunes.MEASURE and 0 < t.similar < t.copy < 1
    assert t.calibration["heldout"]["max"] < t.copy and t.calibration["train"]["p95"] >= t.copy


def test_a_shipped_training_tune_transposed_and_slower_is_a_copy():
    from museforge.music.data import cache_dir, load_folk

    if not (cache_dir() / "folk.npz").is_file():
        pytest.skip("no cached folk tunes (recipes/music_data.py)")
    index = _shipped_tunes()
    notes = load_folk()[0][7]["notes"].copy()
    notes[notes[:, 0] >= 0, 0] += 5
    notes[:, 1:] *= 1.5
    verdict = index.check(notes)
    assert verdict.score == 1.0 and verdict.label == "copy"
    assert verdict.matches[0].item.endswith("tune 8 (2/4)")


def test_calibration_leaves_duplicates_out_and_counts_them():
    held = [0.0] * 90 + [0.1] * 8 + [0.3, 0.9]
    t = calibrate([0.5, 1.0], held, "share", duplicates_at=0.5)
    assert t.calibration["duplicates_left_out"] == 1 and t.calibration["heldout"]["n"] == 99
    assert t.similar == pytest.approx(0.1) and t.copy == pytest.approx(0.3 + 0.2 * 0.7)
    assert [t.label(s) for s in (0.0, 0.05, 0.2, 0.5)] == ["original", "original", "similar", "copy"]


@pytest.mark.parametrize("data,words", [
    (b"", r"empty \(0 bytes\)"), (b"\xff\xfe\x00\x01garbage\x00", "is not a poem"),
    (b"PK\x03\x04nothing", "zip archive"), (b"   \n ", "holds no text"),
])
def test_files_that_cannot_be_checked_get_one_line(data, words):
    with pytest.raises(MuseforgeError, match=words) as err:
        service.kind_of("x.bin", data)
    assert "\n" not in str(err.value)


def _midi(pitches: list[int], ticks: int = 240) -> bytes:
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    for p in pitches:
        track += [mido.Message("note_on", note=p, velocity=80, time=0),
                  mido.Message("note_off", note=p, velocity=0, time=ticks)]
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def test_check_command_builds_an_index_and_flags_copies(tmp_path, capsys, monkeypatch):
    from museforge.cli import main

    monkeypatch.setattr(service, "shipped", lambda name: None)  # only the index built here
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = np.random.default_rng(1)
    for i in range(12):
        walk = (62 + np.cumsum(rng.integers(-3, 4, 40))).clip(40, 90).tolist()
        (corpus / f"tune{i:02}.mid").write_bytes(_midi(walk))
        if i == 3:
            copied = walk
    (corpus / "notes.bin").write_bytes(b"\x00\x01")
    assert main(["check", "--build", str(corpus), "--out", str(tmp_path / "mine")]) == 0
    out = capsys.readouterr()
    assert "12 tunes" in out.out and "skipped notes.bin" in out.err
    slower = tmp_path / "slower-higher.mid"
    slower.write_bytes(_midi([p + 7 for p in copied], ticks=600))  # transposed, slower
    fresh = tmp_path / "fresh.mid"
    fresh.write_bytes(_midi((60 + np.cumsum(rng.integers(-3, 4, 40))).clip(40, 90).tolist()))
    index = str(tmp_path / "mine.tunes.npz")
    assert main(["check", str(slower), "--index", index]) == 3
    assert "copy" in capsys.readouterr().out
    assert main(["check", str(fresh), "--index", index, "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["modality"] == "music" and result["verdicts"][0]["verdict"] != "copy"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert main(["check", str(empty), "--index", index]) == 1
    assert "empty (0 bytes)" in capsys.readouterr().err
    assert main(["check", str(fresh), "--index", str(corpus / "notes.bin")]) == 1
    assert "cannot read the index" in capsys.readouterr().err


class WordPoet(FakeText):
    """Four words drawn by the seed: a line the index can hold."""

    name = "word-poet"
    WORDS = ("sea", "moon", "pine", "rain", "stone", "wind", "river", "snow", "cloud", "lamp", "road", "bell")

    def run(self, request, generator):
        picks = torch.randint(0, len(self.WORDS), (5,), generator=generator).tolist()
        text = " ".join(self.WORDS[i] for i in picks)
        return Artifact("text", [OutputFile("poem.txt", text.encode(), "text/plain")], {"text": text})


def test_a_copy_is_made_again_or_kept_and_said_so(fake_engines, monkeypatch, tmp_path):
    from museforge import engines, jobs

    monkeypatch.setattr(engines, "load_engines", lambda: {**fake_engines, "word-poet": WordPoet})

    def text_of(seed: int) -> str:
        work = jobs.run("word-poet", seed=seed, prompt="the quiet grey sea")
        return work.record.artifacts[0].summary["text"]

    seeds = [5, *(derive_seed(5, f"copy-{k}") & MAX_SEED for k in range(1, service.COPY_RETRIES + 1))]
    texts = [text_of(s) for s in seeds]  # unchecked: no index covers this engine yet
    first, retry = texts[0], seeds[1]
    index = poems.PoemIndex.build([f"<verse>\n{first}<eos>"], name="fake corpus")
    index.thresholds = Thresholds(0.1, 0.5, poems.MEASURE)
    monkeypatch.setitem(service.TRAINED_ON, "word-poet", service.Trained("text", "fake"))
    monkeypatch.setattr(service, "shipped", lambda name: index)
    work = jobs.run("word-poet", seed=5, prompt="the quiet grey sea")
    entry = work.record.originality["text"]
    assert entry["verdict"] == "original" and entry["attempts"] == 2
    assert work.record.artifacts[0].seed == retry and work.record.artifacts[0].summary["text"] != first
    kept = jobs.run_steps([jobs.prepare("word-poet", {}, {}, 5)], prompt="the quiet grey sea", seed=5,
                          allow_copy=True)
    assert kept.record.originality["text"]["verdict"] == "copy"
    assert kept.record.originality["text"]["overridden"] is True and kept.record.artifacts[0].seed == 5
    index2 = poems.PoemIndex.build([f"<verse>\n{t}<eos>" for t in texts])
    index2.thresholds = index.thresholds
    monkeypatch.setattr(service, "shipped", lambda name: index2)
    with pytest.raises(MuseforgeError, match="4 attempts in a row copy") as err:
        jobs.run("word-poet", seed=5, prompt="the quiet grey sea")
    assert "--allow-copy" in str(err.value)
    rule = jobs.run("fake-image", seed=1, prompt="noise").record.originality["image"]
    assert rule == {"checked": False, "reason": "this engine learned from no data"}
