"""The learned poet hands over to the rule poet, with a warning, when it cannot keep the form.

Two cases, both without a real model: the model file is missing (``MUSEFORGE_MODELS`` points at
an empty folder), and the model wrote a poem that still has a fault on line count, length or
rhyme (a stand-in backend and ``write_poem``). In both the engine must return exactly the poem the
rule poet writes for the same request and generator, in the same form (the sonnet included) and
by the same rhyme book, and say so in a warning; a learned poem with only tone faults is kept.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

import museforge.text.learned_poet as lp
from museforge.emotion import emotion_from_label
from museforge.engines import Request, make_params
from museforge.text.forms import check_poem
from museforge.text.poet import Poem
from museforge.text.rule_poet import RulePoet, RulePoetParams

SEED = 7
HARD = ("lines", "length", "rhyme")
LEARNED_TEXT = "《林》\n\n森林深处鸟声稀，\n月色无声照客衣。\n"


def request(form: str, lang: str = "zh", rhymes: str = "modern") -> Request:
    prompt = "神秘的森林" if lang == "zh" else "a mysterious forest"
    params = make_params(lp.LearnedPoetParams, {"form": form, "rhymes": rhymes})
    return Request(prompt, lang, emotion_from_label("melancholy"), SEED, params)


def rule_poem(req: Request, form: str):
    """What the rule poet writes for this request, given the generator as the learned poet leaves
    it (it draws its sampling seed first)."""
    g = torch.Generator().manual_seed(SEED)
    torch.randint(0, 2**31 - 1, (1,), generator=g)
    return RulePoet().run(replace(req, params=RulePoetParams(form=form)), g)


def assert_rule_poem(art, req: Request, form: str) -> None:
    expected = rule_poem(req, form)
    assert art.summary["text"] == expected.summary["text"]
    assert art.files[0].data == expected.files[0].data
    assert art.summary["form"] == form
    assert "model" not in art.summary  # the learned poet's summary names its model
    assert any("rule poet" in w for w in art.warnings), art.warnings
    hard = [v for v in check_poem(art.summary["text"], form) if v.kind in HARD]
    assert not hard, hard


@pytest.mark.parametrize(("form", "lang"), [("qijue", "zh"), ("wulv", "zh"), ("haiku", "en")])
def test_missing_model_falls_back_to_the_rule_poet(form, lang, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MUSEFORGE_MODELS", str(tmp_path))  # empty: no text-poet/model.safetensors
    req = request(form, lang)
    assert lp.LearnedPoet().model_sha256(req.params) is None
    art = lp.LearnedPoet().run(req, torch.Generator().manual_seed(SEED))
    assert_rule_poem(art, req, form)
    assert "missing" in art.warnings[0]


def test_auto_form_falls_back_to_the_rule_poets_qijue(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MUSEFORGE_MODELS", str(tmp_path))
    req = request("auto")
    assert_rule_poem(lp.LearnedPoet().run(req, torch.Generator().manual_seed(SEED)), req, "qijue")


class FakeBackend:
    name = "fake-model"
    sha256 = "0" * 64


def learned(monkeypatch, tmp_path, violations: list[dict], form: str = "qijue") -> None:
    """A model file that exists, and a ``write_poem`` that returns LEARNED_TEXT with
    ``violations``."""
    model = tmp_path / "text-poet" / "model.safetensors"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"stand-in")
    monkeypatch.setenv("MUSEFORGE_MODELS", str(tmp_path))
    monkeypatch.setattr(lp, "load_backend", lambda path="", device="cpu": FakeBackend())

    def write_poem(backend, prompt, form_, **kw):
        assert isinstance(backend, FakeBackend) and form_ == form
        lang = "en" if form in ("haiku", "sonnet") else "zh"
        return Poem(
            "林", ["森林深处鸟声稀", "月色无声照客衣"], LEARNED_TEXT, form, lang, violations=violations
        )

    monkeypatch.setattr(lp, "write_poem", write_poem)


@pytest.mark.parametrize("kind", HARD)
@pytest.mark.parametrize("form", ["wujue", "qijue", "wulv", "qilv", "haiku", "sonnet"])
def test_form_faults_fall_back_to_the_rule_poet(kind, form, tmp_path, monkeypatch) -> None:
    learned(monkeypatch, tmp_path, [{"kind": kind, "line": 2, "message": "a fault"}], form)
    req = request(form, "en" if form in ("haiku", "sonnet") else "zh")
    art = lp.LearnedPoet().run(req, torch.Generator().manual_seed(SEED))
    assert art.summary["text"] != LEARNED_TEXT
    assert_rule_poem(art, req, form)
    assert "form faults" in art.warnings[0]


def test_tone_faults_alone_keep_the_learned_poem(tmp_path, monkeypatch) -> None:
    learned(monkeypatch, tmp_path, [{"kind": "tone", "line": 2, "message": "a tone fault"}])
    art = lp.LearnedPoet().run(request("qijue"), torch.Generator().manual_seed(SEED))
    assert art.summary["text"] == LEARNED_TEXT and art.files[0].data == LEARNED_TEXT.encode()
    assert art.summary["model"] == "fake-model" and not art.warnings


def test_a_clean_learned_poem_is_kept(tmp_path, monkeypatch) -> None:
    learned(monkeypatch, tmp_path, [])
    art = lp.LearnedPoet().run(request("qijue"), torch.Generator().manual_seed(SEED))
    assert art.summary["text"] == LEARNED_TEXT and not art.warnings


def test_the_fallback_keeps_the_rhyme_book(tmp_path, monkeypatch) -> None:
    """--rhymes pingshui reaches the rule poet: its poem is checked by the Pingshui book."""
    monkeypatch.setenv("MUSEFORGE_MODELS", str(tmp_path))
    books: list[str] = []
    real = RulePoet.run

    def run(self, req, generator):
        books.append(req.params.rhymes)
        return real(self, req, generator)

    monkeypatch.setattr(RulePoet, "run", run)
    art = lp.LearnedPoet().run(request("qilv", rhymes="pingshui"), torch.Generator().manual_seed(SEED))
    assert books == ["pingshui"] and art.summary["violations"] == []
    assert check_poem(art.summary["text"], "qilv", "pingshui") == []
