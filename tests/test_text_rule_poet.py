"""The rule-based poet: form-valid, deterministic, prompt-led."""

import pytest

from museforge.emotion import MOODS, emotion_from_label
from museforge.engines import Request, make_params
from museforge.errors import MuseforgeError
from museforge.runtime import make_generator
from museforge.text.bank_zh import MOTIFS, words
from museforge.text.forms import check_poem
from museforge.text.rule_poet import RulePoet, RulePoetParams

PROMPTS_ZH = ["在一片神秘的森林中，", "秋天的江边", "故乡的月亮", "大海", "雪"]


def _run(prompt: str, lang: str, mood: str, seed: int, **params: object):
    req = Request(prompt, lang, emotion_from_label(mood), seed, make_params(RulePoetParams, params))
    return RulePoet().run(req, make_generator(seed))


@pytest.mark.parametrize("form", ["wujue", "qijue", "wulv", "qilv"])
def test_chinese_forms_are_valid_for_20_seeds(form: str):
    for seed in range(20):
        art = _run(PROMPTS_ZH[seed % 5], "zh", MOODS[seed % 8], seed, form=form)
        text = art.summary["text"]
        hard = [v for v in check_poem(text, form) if v.kind != "tone"]
        assert hard == [], (text, hard)
        assert art.summary["form"] == form and art.summary["lang"] == "zh"
        assert all(v["kind"] == "tone" for v in art.summary["violations"])


@pytest.mark.parametrize("form", ["quatrain", "haiku"])
def test_english_forms_are_valid(form: str):
    for seed in range(20):
        art = _run("a misty forest by the sea at night", "en", MOODS[seed % 8], seed, form=form)
        assert art.summary["violations"] == [], art.summary["text"]


def test_auto_form_and_output():
    zh = _run("在一片神秘的森林中，", "zh", "mysterious", 1)
    assert zh.summary["form"] == "qijue"
    en = _run("a quiet river", "en", "serene", 1)
    assert en.summary["form"] == "quatrain"
    f = zh.files[0]
    assert (f.name, f.media_type) == ("poem.txt", "text/plain")
    assert f.data.decode("utf-8") == zh.summary["text"]
    assert zh.summary["text"].startswith("《" + zh.summary["title"] + "》")
    untitled = _run("在一片神秘的森林中，", "zh", "mysterious", 1, title=False)
    assert not untitled.summary["text"].startswith("《")


def test_deterministic():
    a = _run("在一片神秘的森林中，", "zh", "mysterious", 7, form="qilv")
    b = _run("在一片神秘的森林中，", "zh", "mysterious", 7, form="qilv")
    assert a.files[0].data == b.files[0].data
    c = _run("在一片神秘的森林中，", "zh", "mysterious", 8, form="qilv")
    assert a.files[0].data != c.files[0].data


def test_forest_prompt_gives_forest_imagery():
    forest = MOTIFS["forest"]
    places = set(words(forest.places))
    events = {e.lstrip("+-!~") for e in words(forest.events)}
    for seed in range(10):
        text = _run("在一片神秘的森林中，", "zh", "mysterious", seed).summary["text"]
        assert any(p in text for p in places) or any(e in text for e in events), text
        assert "林" in text or "松" in text or "竹" in text or "木" in text, text


def test_unknown_form_is_a_one_line_error():
    with pytest.raises(MuseforgeError, match="unknown form 'sonnet'; choose one of: auto, wujue"):
        _run("森林", "zh", "serene", 1, form="sonnet")
