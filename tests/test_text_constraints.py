"""Form constraints while decoding: a random-scores 'model' must still write valid poems."""

import re
from pathlib import Path

import pytest
import torch

from museforge.text.constraints import EnFormProcessor, char_phonology, form_processor
from museforge.text.forms import check_poem
from museforge.text.tokenizer import CharTokenizer

BANK = (Path(__file__).parents[1] / "src/museforge/text/bank_zh.py").read_text(encoding="utf-8")
ZH_CHARS = sorted(set(re.findall(r"[\u4e00-\u9fff]", BANK)))


def _tok() -> CharTokenizer:
    import string

    return CharTokenizer.build(["".join(ZH_CHARS), string.ascii_letters + " ,.;:!?'\n，。"])


def _decode_with(form, seed, keep=None, n=900):
    tok = _tok()
    proc = form_processor(form, tok.itos, tok.eos_id, tok.decode, prompt_len=1, keep=keep)
    g = torch.Generator().manual_seed(seed)
    ids = [tok.encode("\n")[0]]
    for _ in range(n):
        scores = torch.randn(1, tok.vocab_size, generator=g) * 3
        scores = proc(torch.tensor([ids]), scores)
        nxt = int(torch.multinomial(scores.softmax(-1), 1, generator=g))
        if nxt == tok.eos_id:
            break
        ids.append(nxt)
    return tok.decode(ids[1:])


@pytest.mark.parametrize("form", ["wujue", "qijue", "wulv", "qilv"])
def test_chinese_forms_fully_valid_from_noise(form):
    for seed in range(3):
        text = _decode_with(form, seed)
        assert check_poem(text, form) == [], text


def test_kept_lines_are_forced():
    first, third = "".join(ZH_CHARS[10:15]), "".join(ZH_CHARS[40:45])
    text = _decode_with("wujue", 0, keep={0: first, 2: third})
    lines = text.split("\n")
    assert lines[0] == first + "，" and lines[2] == third + "，"
    assert not [v for v in check_poem(text, "wujue") if v.kind in ("lines", "length", "rhyme")]


def test_char_phonology():
    assert char_phonology("山") == ("P", "an")
    assert char_phonology("月")[0] == "Z"
    assert char_phonology("看")[0] is None  # read either way in verse


@pytest.mark.parametrize("form", ["haiku", "sonnet"])
def test_english_forms_valid_from_noise(form):
    for seed in range(2):
        text = _decode_with(form, seed, n=1500)
        assert check_poem(text, form) == [], text


def test_english_line_rules():
    tok = _tok()
    p = EnFormProcessor("haiku", tok.itos, tok.eos_id, tok.decode, 0)
    assert p.line_ok("the old pond", 0, {}, final=False)
    assert not p.line_ok("the old pond is", 0, {}, final=True)  # 4 syllables
    assert not p.line_ok("xqzt", 0, {}, final=False)  # no such word
    assert not p.line_ok("the  old", 0, {}, final=False)  # two spaces


@pytest.mark.parametrize("form", ["wujue", "qilv"])
def test_pingshui_forms_fully_valid_from_noise(form):
    tok = _tok()
    for seed in range(2):
        proc = form_processor(form, tok.itos, tok.eos_id, tok.decode, prompt_len=1, rhymes="pingshui")
        g = torch.Generator().manual_seed(seed)
        ids = [tok.encode("\n")[0]]
        for _ in range(900):
            scores = proc(torch.tensor([ids]), torch.randn(1, tok.vocab_size, generator=g) * 3)
            nxt = int(torch.multinomial(scores.softmax(-1), 1, generator=g))
            if nxt == tok.eos_id:
                break
            ids.append(nxt)
        text = tok.decode(ids[1:])
        assert check_poem(text, form, rhymes="pingshui") == [], text
