"""The hashed n-gram copy index, and the learned-poet engine's fallbacks."""

import pytest
import torch

from museforge.originality.text import build_index, copy_rate, keys

DOCS = [
    "<qilv>《t》\n萧晨骑马出皇都，\n闻说埋冤在路隅。<eos>",
    "<sonnet>\nFrom fairest creatures we desire increase,\nThat thereby beauty's rose might never die,<eos>",
]


def test_whole_lines_and_runs_are_found():
    ix = build_index(DOCS)
    assert ix.hits(["萧晨骑马出皇都"], "zh") == ["line:萧晨骑马出皇都"]
    assert "run:晨骑马出皇都闻说埋冤" in ix.hits(["晨骑马出皇都", "闻说埋冤"], "zh")
    assert ix.hits(["白日依山尽", "黄河入海流"], "zh") == []
    hits = ix.hits(["we desire increase that thereby beauty's rose might"], "en")
    assert any(h.startswith("run:") for h in hits)
    assert ix.hits(["the quiet river sleeps"], "en") == []


def test_short_runs_do_not_count():
    ix = build_index(DOCS)
    assert ix.hits(["骑马出皇"], "zh") == []  # 4 characters: not a whole line of the corpus
    assert [k for k, _ in keys(["abc"], "en")] == []


def test_copy_rate_and_save(tmp_path):
    ix = build_index(DOCS)
    assert copy_rate([["萧晨骑马出皇都"], ["白日依山尽"]], "zh", ix) == 0.5
    ix.save(tmp_path / "i.npz")
    from museforge.originality.text import TextIndex

    assert TextIndex.load(tmp_path / "i.npz").hits(["萧晨骑马出皇都"], "zh")


def _request(form):
    from museforge.emotion.moods import emotion_from_label
    from museforge.engines import Request, make_params
    from museforge.text.learned_poet import LearnedPoetParams

    params = make_params(LearnedPoetParams, {"form": form})
    return Request("森林", "zh", emotion_from_label("serene"), 1, params)


def test_learned_poet_falls_back_to_the_rule_poet(monkeypatch, tmp_path):
    import museforge.text.learned_poet as lp

    monkeypatch.setattr(lp, "default_model_path", lambda: tmp_path / "missing.safetensors")
    art = lp.LearnedPoet().run(_request("wujue"), torch.Generator().manual_seed(1))
    assert art.modality == "text" and "rule poet" in art.warnings[0]
    assert not [v for v in art.summary["violations"] if v["kind"] != "tone"]


def test_bad_form_param():
    from museforge.errors import MuseforgeError

    with pytest.raises(MuseforgeError, match="unknown form 'ode'"):
        _request("ode")


@pytest.mark.slow
@pytest.mark.parametrize("form", ["wujue", "qijue", "wulv", "qilv", "haiku"])
def test_shipped_poet_writes_valid_forms(form):
    from museforge.text.learned_poet import LearnedPoet
    from museforge.text.poet import default_model_path

    if not default_model_path().is_file():
        pytest.skip("models/text-poet is not in this checkout")
    art = LearnedPoet().run(_request(form), torch.Generator().manual_seed(1))
    assert not art.warnings, art.warnings
    assert not [v for v in art.summary["violations"] if v["kind"] != "tone"], art.summary["text"]
