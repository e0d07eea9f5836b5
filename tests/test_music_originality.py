"""Transposition-invariant interval n-gram index and the block-and-regenerate guard."""

import numpy as np

from museforge.originality.melody import NGRAM, MelodyIndex, guarded, interval_codes

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
    assert not index.reproduces(run)  # in 5 melodies: an idiom, not a quotation
    assert index.reproduces(tunes[0][1:])  # reaches the tail only tune 0 has
