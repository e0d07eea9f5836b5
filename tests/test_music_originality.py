"""Transposition-invariant interval n-gram index, the block-and-regenerate guard, and the guard
of every generator proven on hand-built tiny indexes: no generated melody keeps a corpus run of
8 intervals, and a user's motif is never held against us."""

import numpy as np
import pytest
import torch

from museforge.emotion import MOODS, art_direction, emotion_from_label
from museforge.music.compose import Form, compose
from museforge.music.guard import compose_guarded, guard_line, melody_pitches, repair_melody
from museforge.music.midi import score_to_midi
from museforge.music.score import Note
from museforge.music.theory import Key, Meter
from museforge.originality.melody import NGRAM, MelodyIndex, guarded, interval_codes, repair

TUNE = [62, 64, 66, 67, 69, 71, 73, 74, 73, 71, 69, 67, 66, 64, 62]


def test_codes_are_transposition_invariant_and_exact():
    assert (interval_codes(TUNE) == interval_codes([p + 5 for p in TUNE])).all()
    assert len(interval_codes(TUNE)) == len(TUNE) - NGRAM
    # a different interval anywhere in the window changes the code
    other = list(TUNE)
    other[4] += 1
    assert interval_codes(other)[0] != interval_codes(TUNE)[0]


def test_index_flags_eight_consecutive_intervals_only():
    index = MelodyIndex.build([TUNE])
    copy = [50, 51] + [p - 7 for p in TUNE[:9]] + [40]   # 8 intervals of the tune, transposed
    assert index.reproduces(copy)
    near = [p - 7 for p in TUNE[:8]] + [99]               # only 7 of them
    assert not index.reproduces(near)
    assert index.copied([p + 3 for p in TUNE]) == 1.0


def test_guard_blocks_and_regenerates(tmp_path):
    index = MelodyIndex.build([TUNE])
    rng = np.random.default_rng(0)
    fresh = list(np.cumsum(rng.integers(-3, 4, 20)) + 60)
    outputs = [TUNE, TUNE, fresh]
    result, report = guarded(lambda k: outputs[k], lambda m: m, index)
    assert result == fresh and report == {"attempts": 3, "blocked": 2, "reproduces": False}
    index.save(tmp_path / "codes.npy")
    back = MelodyIndex.load(tmp_path / "codes.npy")
    assert (back.codes == index.codes).all() and (back.counts == index.counts).all()


def test_idioms_shared_by_many_tunes_are_not_distinctive():
    run = [60, 62, 64, 65, 67, 69, 71, 72, 74]  # a scale: in every tune below
    tunes = [[*run, 60 + k, 50 + 2 * k] for k in range(5)]
    index = MelodyIndex.build(tunes)
    assert index.reproduces(run, distinctive=False)
    assert index.reproduces(run)  # the guard blocks any corpus run, idioms included
    assert not index.reproduces(run, distinctive=True)  # in 5 melodies: an idiom, not a quotation
    assert index.reproduces(tunes[0][1:], distinctive=True)  # reaches the tail only tune 0 has


def test_allowed_next_agrees_with_hits():
    rng = np.random.default_rng(1)
    tunes = [list(np.cumsum(rng.integers(-2, 3, 40)) + 60) for _ in range(30)]
    index = MelodyIndex.build(tunes)
    candidates = list(range(40, 90))
    for tune in tunes[:10]:
        for end in range(NGRAM, len(tune)):
            history = tune[:end]
            allowed = index.allowed_next(history, candidates)
            expected = [not index.hits([*history[-NGRAM:], c])[-1] for c in candidates]
            assert allowed.tolist() == expected
            assert not allowed[candidates.index(tune[end])]  # the corpus's own next note
    assert index.allowed_next([60, 62], [64]).tolist() == [True]  # too short to complete a run


def test_a_motif_holding_a_corpus_run_is_not_blocked_on_the_motif_alone():
    index = MelodyIndex.build([TUNE])
    motif = [Note(i * 0.5, 0.5, p, 80) for i, p in enumerate(TUNE[:10])]  # quotes 9 intervals
    pitches = [n.pitch for n in motif]
    assert index.reproduces(pitches)
    assert not index.reproduces(pitches, context=len(motif))  # the user's own runs do not count
    fresh = [Note(5 + i * 0.5, 0.5, p, 80) for i, p in enumerate([60, 67, 65, 72, 62])]
    new, report = guard_line(lambda k: fresh, motif, index, Key("D", "major"), Meter(4, 4),
                             context=len(motif))
    assert new == fresh and report == {"attempts": 1, "blocked": 0, "repaired": 0, "reproduces": False}
    # a continuation that carries the motif's run on (the tune's next note) is ours, and blocked
    copy = [Note(5.0, 0.5, TUNE[10], 80), *fresh[1:]]
    assert index.reproduces([*pitches, TUNE[10]], context=len(motif))
    new, report = guard_line(lambda k: [copy, fresh][min(k, 1)], motif, index, Key("D", "major"),
                             Meter(4, 4), context=len(motif))
    assert new == fresh and report["blocked"] == 1


def test_repair_breaks_every_run_and_keeps_frozen_and_given_notes():
    rng = np.random.default_rng(3)
    corpus = [list(np.cumsum(rng.integers(-2, 3, 30)) + 64) for _ in range(20)]
    index = MelodyIndex.build(corpus)
    line = corpus[0][:12] + corpus[1][:12]  # two quotations
    assert index.reproduces(line)
    fixed, changed = repair(line, index, lambda j, p: [p[j] + d for d in (1, -1, 2, -2)],
                            frozen={len(line) - 1})
    assert not index.reproduces(fixed) and changed and len(line) - 1 not in changed
    assert all(fixed[i] == line[i] for i in range(len(line)) if i not in changed)
    # the first 12 notes are a given motif: untouched, and their own run never counts
    fixed, changed = repair(line, index, lambda j, p: [p[j] + 1, p[j] - 1], context=12)
    assert fixed[:12] == line[:12] and not index.reproduces(fixed, context=12)
    assert index.reproduces(fixed)  # the motif's quotation is still there: it is the user's


def _tiny_melody_model():
    from museforge.music.melody_model import MelodyConfig, MelodyModel

    torch.manual_seed(0)
    return MelodyModel(MelodyConfig(d_model=16, layers=1, dropout=0.0)).eval()


def test_learned_sampling_never_completes_a_corpus_run():
    from museforge.music.continuation import continue_melody

    model = _tiny_melody_model()
    motif = [Note(0, 1.0, 62, 80), Note(1, 0.5, 64, 80), Note(1.5, 0.5, 65, 80), Note(2, 1, 69, 80)]
    key = Key("D", "minor")

    def draw(seed: int, index: MelodyIndex | None) -> list[Note]:
        return continue_melody(model, motif, key, "4/4", 4.0, 6, torch.Generator().manual_seed(seed),
                               index=index)

    # a corpus made of the model's own unguarded output: every draw below would copy it
    index = MelodyIndex.build([[n.pitch for n in motif + draw(s, None)] for s in range(12)])
    for seed in range(12):
        plain, masked = draw(seed, None), draw(seed, index)
        assert index.reproduces([n.pitch for n in motif + plain], context=len(motif))
        assert not index.reproduces([n.pitch for n in motif + masked], context=len(motif))
        assert masked == draw(seed, index)  # still deterministic
        assert masked[-1].pitch % 12 == 2  # still ends on the tonic
        new, report = guard_line(lambda k, s=seed: draw(s + 100 * k, index), motif, index, key,
                                 Meter(4, 4), context=len(motif))
        assert not report["reproduces"] and not index.reproduces([n.pitch for n in motif + new],
                                                                 context=len(motif))


@pytest.mark.parametrize("meter", ["4/4", "3/4", "6/8"])
def test_rule_composer_melody_never_keeps_a_corpus_run(meter):
    from museforge.music.theory import parse_meter

    form = Form(16, parse_meter(meter))
    pieces = [(mood, seed) for mood in MOODS for seed in range(3)]
    # the corpus: these very pieces, so that every one of them is blocked at first
    index = MelodyIndex.build([melody_pitches(compose(art_direction(emotion_from_label(m)),
                                                      np.random.default_rng(s), form)) for m, s in pieces])
    for mood, seed in pieces:
        direction = art_direction(emotion_from_label(mood))
        score, report = compose_guarded(direction, np.random.default_rng(seed), form, index)
        assert report["blocked"] >= 1 and report["reproduces"] is False
        assert not index.reproduces(melody_pitches(score))
        again, _ = compose_guarded(direction, np.random.default_rng(seed), form, index)
        assert score_to_midi(again) == score_to_midi(score)  # same seed, same bytes
        melody = score.tracks[0].notes
        assert melody[-1].pitch % 12 == score.key.tonic  # still ends on the tonic
    # force the repair path: one attempt only, every piece blocked
    for mood, seed in pieces[:8]:
        score, report = compose_guarded(art_direction(emotion_from_label(mood)), np.random.default_rng(seed),
                                        form, index, attempts=1)
        assert report["repaired"] >= 1 and not index.reproduces(melody_pitches(score))


def test_repaired_notes_stay_in_key_and_on_chord_tones_on_strong_beats():
    from museforge.music.theory import roman_chord

    direction = art_direction(emotion_from_label("joyful"))
    original = compose(direction, np.random.default_rng(4), Form(16))
    index = MelodyIndex.build([melody_pitches(original)])
    notes = original.tracks[0].notes
    fixed, moved = repair_melody(notes, original.key, original.meter, index, original.chords)
    assert moved >= 1 and not index.reproduces([n.pitch for n in fixed])
    scale = {(original.key.tonic + i) % 12 for i in original.key.intervals}
    for a, b in zip(notes, fixed, strict=True):
        if a.pitch == b.pitch:
            continue
        assert abs(a.pitch - b.pitch) <= 4 and (a.start, a.duration) == (b.start, b.duration)
        numeral = next(c for s, d, c in original.chords if s <= b.start < s + d)
        tones = roman_chord(original.key, numeral).pitch_classes
        assert b.pitch % 12 in scale | set(tones)
        if b.start % original.meter.bar_quarters in original.meter.strong_beats:
            assert b.pitch % 12 in tones
