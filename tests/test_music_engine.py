"""The rule-composer engine and WAV rendering: files, determinism, validation, fallbacks."""

import io
import shutil
import wave

import numpy as np
import pytest

from museforge.emotion import art_direction, emotion_from_label
from museforge.engines import Request, get_engine, make_params
from museforge.errors import MuseforgeError
from museforge.music.compose import Form, compose
from museforge.music.engine import RuleComposer, RuleComposerParams
from museforge.music.render import FALLBACK_WARNING, find_soundfont, render_wav, synthesise
from museforge.runtime import make_generator

HAS_FLUIDSYNTH = bool(shutil.which("fluidsynth") and find_soundfont())


def run(mood="melancholy", seed=1, **params):
    params.setdefault("musicxml", False)
    request = Request("a sad theme", "en", emotion_from_label(mood), seed, RuleComposerParams(**params))
    return RuleComposer().run(request, make_generator(seed))


def wav_of(artifact):
    return next(f.data for f in artifact.files if f.name == "music.wav")


def read_wav(data):
    with wave.open(io.BytesIO(data)) as w:
        frames = w.readframes(w.getnframes())
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), np.frombuffer(frames, "<i2")


def test_registered_as_default_music_engine():
    assert get_engine("rule-composer") is RuleComposer
    assert make_params(RuleComposerParams, {"bars": "8", "pianoroll": "no"}).bars == 8


def test_builtin_wav_is_valid_and_deterministic():
    a = run(renderer="builtin", bars=4, musicxml=True)
    b = run(renderer="builtin", bars=4, musicxml=True)
    assert [f.name for f in a.files] == ["music.mid", "music.musicxml", "music.wav", "pianoroll.png"]
    assert [f.data for f in a.files] == [f.data for f in b.files]
    rate, channels, width, pcm = read_wav(wav_of(a))
    assert (channels, width) == (2, 2)
    seconds = pcm.size / channels / rate
    beat = 60 / a.summary["tempo"]
    assert abs(seconds - a.summary["seconds"]) <= beat + 1.5  # the piece plus a short tail
    assert 0 < np.abs(pcm).max() < 32767
    assert a.summary["renderer"]["renderer"] == "builtin" and a.warnings == []
    assert a.summary["key"] == "D minor" and a.summary["meter"] == "4/4"


def test_other_seed_other_music():
    assert run(renderer="builtin", bars=4, seed=1).files[0].data != run(
        renderer="builtin", bars=4, seed=2).files[0].data


@pytest.mark.skipif(not HAS_FLUIDSYNTH, reason="fluidsynth or a GM soundfont is not installed")
def test_fluidsynth_wav_is_deterministic():
    a = run(renderer="fluidsynth", bars=4, mood="joyful", pianoroll=False)
    b = run(renderer="fluidsynth", bars=4, mood="joyful", pianoroll=False)
    assert wav_of(a) == wav_of(b)
    info = a.summary["renderer"]
    assert info["renderer"] == "fluidsynth" and len(info["soundfont_sha256"]) == 64
    rate, _, _, pcm = read_wav(wav_of(a))
    assert rate == 44100 and 0 < np.abs(pcm).max() < 32767


def test_fallback_warning_without_fluidsynth(monkeypatch):
    monkeypatch.setattr("museforge.music.render.shutil.which", lambda name: None)
    art = run(renderer="auto", bars=2, pianoroll=False)
    assert art.warnings == [FALLBACK_WARNING]
    assert art.summary["renderer"]["renderer"] == "builtin"
    with pytest.raises(MuseforgeError, match="renderer=builtin"):
        run(renderer="fluidsynth", bars=2)


def test_builtin_renders_fast_enough():
    import time

    score = compose(art_direction(emotion_from_label("joyful")), np.random.default_rng(0), Form(16))
    start = time.process_time()  # CPU time: these machines are shared
    synthesise(score)
    assert time.process_time() - start < score.seconds / 20


@pytest.mark.parametrize("params,message", [
    ({"bars": 0}, "bars"), ({"bars": 257}, "bars"), ({"meter": "0/4"}, "meter"),
    ({"meter": "3/5"}, "meter"), ({"key": "H minor"}, "unknown key"), ({"tempo": 5}, "tempo"),
    ({"renderer": "timidity"}, "renderer"), ({"form": "sonata"}, "form"),
    ({"percussion": "loud"}, "percussion"),
])
def test_bad_params_raise_one_line_errors(params, message):
    with pytest.raises(MuseforgeError, match=message) as err:
        run(**params)
    assert "\n" not in str(err.value)


def test_params_change_the_piece():
    art = run(renderer="builtin", bars=6, meter="6/8", key="F# major", tempo=100, percussion="on",
              pianoroll=False)
    s = art.summary
    assert (s["key"], s["meter"], s["bars"], s["tempo"]) == ("F# major", "6/8", 6, 100)
    assert "percussion" in s["tracks"]
    assert run(renderer="builtin", bars=2, key="A", pianoroll=False).summary["key"] == "A minor"


def _onsets_after(pcm: np.ndarray, rate: int, seconds: float) -> float:
    """Time of the first sample after ``seconds`` louder than 2 % of the peak."""
    level = np.abs(pcm.reshape(-1, 2)).max(axis=1).astype(float)
    i = int(seconds * rate)
    return (i + int(np.argmax(level[i:] > 0.02 * level.max()))) / rate


@pytest.mark.parametrize("renderer", ["builtin", pytest.param("fluidsynth", marks=pytest.mark.skipif(
    not HAS_FLUIDSYNTH, reason="fluidsynth or a GM soundfont is not installed"))])
def test_wav_follows_tempo_changes(renderer):
    from museforge.music.midi import score_to_midi
    from museforge.music.render import TAIL_SECONDS
    from museforge.music.score import Note, Score, Track
    from museforge.music.theory import Key, Meter

    # 8 beats at 120 then 8 beats at 60: 4 s + 8 s = 12 s; the second note starts at beat 12 = 8 s
    notes = [Note(0.0, 1.0, 72, 100), Note(12.0, 2.0, 72, 100)]
    score = Score([Track("melody (flute)", 73, 0, notes)], 120.0, Meter(4, 4), Key("C", "major"), 4,
                  tempo_changes=((8.0, 60.0),))
    assert score.seconds == pytest.approx(12.0)
    wav, info, _ = render_wav(score, score_to_midi(score), renderer)
    assert info["renderer"] == renderer
    rate, _, _, pcm = read_wav(wav)
    length = pcm.size / 2 / rate
    assert length == pytest.approx(12.0 + TAIL_SECONDS, abs=0.01)
    assert _onsets_after(pcm, rate, 3.0) == pytest.approx(8.0, abs=0.05)  # not 6 s, as at 120 throughout


def test_render_wav_rejects_unknown_renderer():
    with pytest.raises(MuseforgeError):
        render_wav(compose(art_direction(emotion_from_label("serene")), np.random.default_rng(0),
                           Form(1)), b"", "midi-box")
