"""Sampling controls on hand-checkable cases: a fake model whose logits we choose."""

import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.text.sampling import (
    SamplingConfig,
    banned_ngram_tokens,
    loop_length,
    repetition_penalty,
    sample,
    top_k_filter,
    top_p_filter,
)

V = 6
TEXT = ["<eos>", "a", "b", "c", " ", "!"]


def _decode(ids):
    return "".join(TEXT[i] for i in ids)


def _step(logits):
    """A fake model: the same logits at every step (or a function of the sequence)."""

    def step(seq, cache):
        row = logits(seq) if callable(logits) else torch.tensor(logits, dtype=torch.float)
        return row.expand(seq.shape[0], V).clone(), None

    return step


def _run(logits, **kw):
    procs = kw.pop("processors", ())
    seed = kw.pop("seed", 0)
    cfg = SamplingConfig(**{"max_new_tokens": 10, "loop_guard": 0, **kw})
    return sample(
        _step(logits),
        torch.tensor([[1]]),
        cfg,
        processors=procs,
        generator=torch.Generator().manual_seed(seed),
        eos_id=0,
        decode=_decode,
    )[0]


def test_greedy_picks_the_argmax():
    assert _run([0, 1, 5, 2, 0, 0], temperature=0, max_new_tokens=3) == [2, 2, 2]


def test_top_k_one_is_greedy_at_any_temperature():
    assert _run([0, 1, 5, 2, 0, 0], temperature=5.0, top_k=1, max_new_tokens=4) == [2] * 4


def test_filters_by_hand():
    s = torch.tensor([[1.0, 3.0, 2.0, 0.0]])
    assert top_k_filter(s, 2).isinf().tolist() == [[True, False, False, True]]
    p = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert top_p_filter(p, 0.7).isinf().tolist() == [[False, False, True, True]]
    assert top_p_filter(p, 0.01).isinf().tolist() == [[False, True, True, True]]


def test_repetition_penalty_like_ctrl():
    s = torch.tensor([[2.0, -2.0, 1.0]])
    out = repetition_penalty(torch.tensor([[0, 1]]), s, 2.0)
    assert out.tolist() == [[1.0, -4.0, 1.0]]


def test_no_repeat_ngram():
    assert banned_ngram_tokens([1, 2, 1], 2) == {2}
    out = _run([0, 5, 4, 0, 0, 0], temperature=0, no_repeat_ngram_size=2, max_new_tokens=3)
    assert out == [1, 2, 2] or _decode([1, *out]).count("aa") <= 1


def test_min_and_max_length():
    assert _run([9, 0, 0, 0, 0, 0], temperature=0) == []  # end of text at once
    assert len(_run([9, 1, 0, 0, 0, 0], temperature=0, min_new_tokens=4)) == 4
    assert len(_run([0, 5, 0, 0, 0, 0], temperature=0, max_new_tokens=7)) == 7


def test_stop_strings_match_decoded_text():
    def logits(seq):  # spells "abc abc ..." one token at a time
        nxt = [2, 3, 4, 1][(seq.shape[1] - 1) % 4]
        row = torch.full((V,), -5.0)
        row[nxt] = 5.0
        return row

    out = _run(logits, temperature=0, stop_strings=("c a",), max_new_tokens=20)
    assert _decode(out) == "bc a"


def test_loop_guard_cuts_the_loop():
    assert loop_length("la la la la ", 3, min_chars=6) == 6
    out = _run([0, 0, 0, 0, 9, 0], temperature=0, loop_guard=3, max_new_tokens=50)
    assert 0 < len(out) < 50


def test_seed_is_deterministic_and_matters():
    kw = {"temperature": 1.0, "max_new_tokens": 20}
    a, b, c = (
        _run([0, 1, 1, 1, 1, 1], seed=1, **kw),
        _run([0, 1, 1, 1, 1, 1], seed=1, **kw),
        _run([0, 1, 1, 1, 1, 1], seed=2, **kw),
    )
    assert a == b and a != c


def test_processor_hook_and_stream():
    pieces = []
    ban_a = lambda ids, s: s.index_fill(1, torch.tensor([1]), float("-inf"))  # noqa: E731
    cfg = SamplingConfig(temperature=0, max_new_tokens=3, loop_guard=0)
    out = sample(
        _step([0, 9, 5, 0, 0, 0]),
        torch.tensor([[1]]),
        cfg,
        processors=[ban_a],
        eos_id=0,
        decode=_decode,
        stream=lambda row, p: pieces.append(p),
    )
    assert out[0] == [2, 2, 2] and pieces == ["b", "b", "b"]


@pytest.mark.parametrize(
    "kw",
    [
        {"temperature": -1},
        {"top_p": 0},
        {"max_new_tokens": 0},
        {"max_new_tokens": 10**6},
        {"min_new_tokens": 5, "max_new_tokens": 2},
    ],
)
def test_bad_settings(kw):
    with pytest.raises(MuseforgeError):
        SamplingConfig(**kw)
