"""Music metrics on cases worked out by hand."""

import math

import pytest
import torch

from museforge.evaluate.music import (
    chorale_nll,
    empty_beat_rate,
    groove_consistency,
    pitch_class_entropy,
    pitch_range,
    polyphony,
    scale_consistency,
    summary_metrics,
    voice_leading_violations,
)


def line(pitches, dur=1.0):
    return [(i * dur, dur, p) for i, p in enumerate(pitches)]


def test_pitch_class_entropy():
    # two pitch classes, 3:1 -> -(0.75 log2 0.75 + 0.25 log2 0.25) = 0.811278
    assert pitch_class_entropy(line([60, 72, 48, 67])) == pytest.approx(0.811278, abs=1e-6)
    assert pitch_class_entropy(line(range(60, 72))) == pytest.approx(math.log2(12))
    assert math.isnan(pitch_class_entropy([]))


def test_scale_consistency():
    assert scale_consistency(line([60, 62, 64, 65, 67, 69, 71])) == 1.0
    # C D E F# G#: best is G major / E minor (C D E F#) or others: 4 of 5 notes
    assert scale_consistency(line([60, 62, 64, 66, 68])) == pytest.approx(0.8)


def test_groove_consistency():
    # bar 1 onsets at 0 and 2, bar 2 at 0 only, bar 3 at 0 and 2: distances 1, 1 of 4 positions
    notes = [(0, 1, 60), (2, 1, 60), (4, 1, 60), (8, 1, 60), (10, 1, 60)]
    assert groove_consistency(notes, bar=4, resolution=4) == pytest.approx(1 - 1 / 4)


def test_empty_beat_rate():
    # beats 0..7: onsets in beats 0, 1, 4 -> 5 of 8 empty
    assert empty_beat_rate([(0, 1, 60), (1, 3, 62), (4, 4, 64)], beat=1.0) == pytest.approx(5 / 8)
    assert empty_beat_rate([(0, 1, 60)], beat=1.0, length=4) == pytest.approx(3 / 4)


def test_polyphony_and_range():
    # steps of 0.5: [0,0.5): 3 notes, [0.5,1): 2, [1,1.5): 1 -> 6 / 3
    notes = [(0, 1.5, 48), (0, 1.0, 60), (0, 0.5, 64)]
    assert polyphony(notes, step=0.5) == pytest.approx(2.0)
    assert pitch_range(notes) == 16


def test_voice_leading_violations_by_hand():
    s = line([72, 74, 76])
    a = line([67, 69, 67])   # S-A: fourths, not perfect fifths
    t = line([60, 62, 64])   # S-T: octave -> octave -> octave (two parallel octaves)
    b = line([48, 50, 30])   # B: 30 is out of range (C2-D4 = 36-62)
    v = voice_leading_violations([s, a, t, b])
    # step 1: S-T, S-B, T-B octaves; A-T (7 -> 7), A-B (19 -> 19) fifths. step 2: S-T octave only
    assert v == {"parallel_fifths": 2, "parallel_octaves": 4, "crossings": 0, "out_of_range": 1}
    crossed = voice_leading_violations([line([60, 60]), line([55, 64])], ranges=[(0, 127)] * 2)
    assert crossed["crossings"] == 1
    # oblique motion (one voice holds) is never parallel
    held = voice_leading_violations([line([67, 69]), [(0, 2, 60)]], ranges=[(0, 127)] * 2)
    assert held["parallel_fifths"] == 0


def test_chorale_nll_of_a_uniform_model_is_log_vocab():
    import numpy as np

    from museforge.music.data import N_TOKENS, token_of
    from museforge.music.harmonizer import Harmonizer, HarmonizerConfig

    model = Harmonizer(HarmonizerConfig(d_model=8))
    for head in model.heads:
        torch.nn.init.zeros_(head[-1].weight)
        torch.nn.init.zeros_(head[-1].bias)
    tokens = np.array([[token_of(p)] * 8 for p in (72, 67, 60, 48)], dtype=np.int16)
    chorale = {"tokens": tokens, "pos": np.arange(8, dtype=np.int16)}
    out = chorale_nll(model, [chorale])
    assert out["nll"] == pytest.approx(math.log(N_TOKENS), abs=1e-5)
    assert out["tokens"] == 24


def test_summary_metrics_of_a_score():
    import numpy as np

    from museforge.emotion import art_direction, emotion_from_label
    from museforge.music.compose import Form, compose

    score = compose(art_direction(emotion_from_label("serene")), np.random.default_rng(0), Form(8))
    m = summary_metrics(score)
    assert m["scale_consistency"] > 0.85 and 0 <= m["empty_beat_rate"] < 0.75
    assert m["polyphony"] > 1.5 and m["pitch_range"] > 5
