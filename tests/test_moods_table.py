"""The one mood table: a ninth mood is one MoodSpec plus its words, and nothing else keeps a
per-mood table of its own."""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

import numpy as np
import pytest

from museforge.emotion import (
    MOOD_PROTOTYPES,
    MOODS,
    MOODS_TABLE,
    Emotion,
    MoodSpec,
    art_direction,
    detect,
    detect_emotion,
    emotion_from_label,
    nearest_mood,
)
from museforge.emotion.mapping import MOOD_WORDS
from museforge.emotion.moods import Instrument
from museforge.engines import Request, make_params
from museforge.errors import MuseforgeError
from museforge.image.procedural import STYLES, ProceduralPainting, ProceduralParams
from museforge.music.theory import MODES, parse_key
from museforge.runtime import make_generator
from museforge.text import bank_zh, poet_en
from museforge.text.forms import check_poem
from museforge.text.rule_poet import RulePoet, RulePoetParams

compose = importlib.import_module("museforge.music.compose")  # the package re-exports compose()

SRC = Path(__file__).parents[1] / "src" / "museforge"

WISTFUL = MoodSpec(
    valence=-0.2, arousal=-0.2, hue=200.0, mode="minor", tonic="A",
    instruments=(Instrument("oboe", 68), Instrument("harp", 46), Instrument("cello", 42)),
    seasons=("spring", "autumn"), evening=0.6, place="river",
)
WISTFUL_IMAGERY = {
    "zh": ("怅", "望", "远", "归", "帆", "梦", "斜", "晖", "思", "别"),
    "en": ("distant", "longing", "dusk", "letters", "far", "sail", "wish", "evening", "echo", "pale"),
}
WISTFUL_ZH = bank_zh.Mood(
    chars="怅惘思远望斜晖归帆影淡梦",
    conds="日斜 风细 云淡 秋晚 春尽 人远 楼空 天远 梦醒 潮落",
    actors="游子 佳人 离人 旅人 故人",
    actions="空凝望 频回首 独倚栏 思远道 望归帆 题旧句 拾落花 看云去",
    quants="一片 几许 无限 半生 满怀",
    feelings="怅惘 幽思 远思 归思 心事 情怀",
    tails="寄斜晖 随水流 共云归 望天涯 入梦来 对残阳 寄远山 逐孤帆 付流年 忆从前 向天边 似当时",
    titles="怅望 远思 春尽 凭栏 望归",
)
WISTFUL_EN = poet_en.Voice(
    adjectives=("pale", "distant", "tender", "dreaming", "faraway", "quiet"),
    turns=("I watch the road", "I wait for letters", "a far bell rings", "I linger here"),
    feelings=("and longing lingers", "and half my heart is far", "and something calls me back"),
)


@pytest.fixture
def table_only(monkeypatch: pytest.MonkeyPatch) -> str:
    """A ninth mood with its table entry and no words of its own."""
    monkeypatch.setitem(MOODS_TABLE, "wistful", WISTFUL)
    return "wistful"


@pytest.fixture
def wistful(table_only: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ninth mood: one table entry plus its words."""
    monkeypatch.setitem(MOOD_WORDS, "wistful", WISTFUL_IMAGERY)
    monkeypatch.setitem(bank_zh.MOODS, "wistful", WISTFUL_ZH)
    monkeypatch.setitem(poet_en.VOICES, "wistful", WISTFUL_EN)
    return table_only


def _poem(prompt: str, lang: str, mood: str, seed: int, form: str):
    req = Request(prompt, lang, emotion_from_label(mood), seed, make_params(RulePoetParams, {"form": form}))
    return RulePoet().run(req, make_generator(seed))


def _painting(mood: str, style: str):
    req = Request("a misty river at dusk", "en", emotion_from_label(mood), 3,
                  ProceduralParams(style=style, size=64))
    return ProceduralPainting().run(req, make_generator(3))


def test_a_ninth_mood_is_one_table_entry_plus_its_words(wistful: str):
    emotion = emotion_from_label(" Wistful ")
    assert (emotion.label, emotion.valence, emotion.arousal) == ("wistful", -0.2, -0.2)
    assert "wistful" in MOODS and MOODS[-1] == "wistful" and len(MOODS) == 9
    assert MOOD_PROTOTYPES["wistful"] == (-0.2, -0.2)
    assert nearest_mood(-0.2, -0.2) == "wistful"
    Emotion("wistful", 0.0, 0.0)  # a valid label now

    direction = art_direction(emotion)
    assert (direction.mode, direction.tonic) == ("minor", "A")
    assert direction.mood_words is WISTFUL_IMAGERY and len(direction.palette) == 6

    for seed, form in enumerate(["wujue", "qijue", "wulv", "qilv"]):
        art = _poem(["秋天的江边", "在一片神秘的森林中，", "你好"][seed % 3], "zh", "wistful", seed, form)
        hard = [v for v in check_poem(art.summary["text"], form) if v.kind != "tone"]
        assert hard == [], art.summary["text"]
    for seed, form in enumerate(["quatrain", "haiku"]):
        art = _poem("a river at dusk", "en", "wistful", seed, form)
        assert art.summary["form"] == form and art.summary["text"].strip()

    for style in STYLES:
        assert _painting("wistful", style).files[0].data.startswith(b"\x89PNG")

    score = compose.compose(direction, np.random.default_rng(1), compose.Form(bars=8), mood="wistful")
    assert [t.program for t in score.tracks[:3]] == [68, 46, 42]
    assert score.tracks[0].name == "melody (oboe)"
    assert score.key == parse_key("A minor")


def test_a_ninth_mood_can_be_detected_once_its_lexicon_has_words(wistful: str,
                                                                  monkeypatch: pytest.MonkeyPatch):
    lexicon = detect.load_lexicon("en")
    entries = {**lexicon.entries, "wistful": {"wistful": 3.0}}
    monkeypatch.setattr(detect, "load_lexicon", lambda lang: dataclasses.replace(lexicon, entries=entries))
    assert detect_emotion("a wistful evening by the river", "en").label == "wistful"
    assert detect_emotion("not wistful at all", "en").label in MOODS  # no opposite: no vote


def test_a_mood_without_words_paints_and_composes_and_names_the_words_it_lacks(table_only: str):
    direction = art_direction(emotion_from_label("wistful"))
    assert direction.mood_words == {"zh": (), "en": ()}
    assert _painting("wistful", "flow-field").files
    assert compose.compose(direction, np.random.default_rng(0), compose.Form(bars=4), mood="wistful").tracks
    with pytest.raises(MuseforgeError, match=r"'wistful' has no words in museforge\.text\.bank_zh\.MOODS"):
        _poem("秋天的江边", "zh", "wistful", 0, "qijue")
    with pytest.raises(MuseforgeError, match=r"'wistful' has no words in museforge\.text\.poet_en\.VOICES"):
        _poem("a river", "en", "wistful", 0, "quatrain")


def test_every_mood_has_its_words():
    lexicons = {lang: detect.load_lexicon(lang) for lang in ("en", "zh")}
    missing = []
    for mood in MOODS_TABLE:
        if set(MOOD_WORDS.get(mood, {})) != {"zh", "en"}:
            missing.append(f"{mood}: museforge.emotion.mapping.MOOD_WORDS (zh and en)")
        if mood not in bank_zh.MOODS:
            missing.append(f"{mood}: museforge.text.bank_zh.MOODS")
        if mood not in poet_en.VOICES:
            missing.append(f"{mood}: museforge.text.poet_en.VOICES")
        for lang, lexicon in lexicons.items():
            if not any(mood in moods for moods in lexicon.entries.values()):
                missing.append(f"{mood}: museforge/emotion/lexicon_{lang}.tsv")
    assert missing == []
    assert set(MOOD_WORDS) == set(bank_zh.MOODS) == set(poet_en.VOICES) == set(MOODS_TABLE)


def test_every_setting_in_the_table_is_usable():
    for mood, spec in MOODS_TABLE.items():
        parse_key(f"{spec.tonic} {spec.mode}")
        assert spec.place is None or (spec.place in bank_zh.MOTIFS
                                      and not bank_zh.MOTIFS[spec.place].universal), mood
        assert spec.negated is None or (spec.negated in MOODS_TABLE and spec.negated != mood), mood
    # a piece in a bare key borrows the instruments of a mood in its mode: every mode needs one
    assert set(MODES) <= {spec.mode for spec in MOODS_TABLE.values()}


def test_a_bad_mood_spec_is_a_one_line_error():
    with pytest.raises(MuseforgeError, match="valence must lie in"):
        dataclasses.replace(WISTFUL, valence=1.5)
    with pytest.raises(MuseforgeError, match="seasons must be some of"):
        dataclasses.replace(WISTFUL, seasons=("monsoon",))
    with pytest.raises(MuseforgeError, match="unknown emotion 'wistful'"):
        emotion_from_label("wistful")


# The word banks: the only dicts keyed by mood names besides the table itself.
ALLOWED = {
    ("emotion/moods.py", "MOODS_TABLE"),
    ("emotion/mapping.py", "MOOD_WORDS"),
    ("text/bank_zh.py", "MOODS"),
    ("text/poet_en.py", "VOICES"),
    ("image/diffusion/text.py", "MOOD_WORDS"),
}


def _mood_tables(tree: ast.Module) -> list[tuple[int, str, int]]:
    """(line, assigned name or "", mood keys) of each dict literal keyed by two or more moods."""
    names: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names[id(node.value)] = ", ".join(ast.unparse(t) for t in targets)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "dict":
            keys = [k.arg for k in node.keywords]
        else:
            continue
        n = sum(k in MOODS_TABLE for k in keys)
        if n >= 2:
            found.append((node.lineno, names.get(id(node), ""), n))
    return found


def _mood_branches(tree: ast.Module) -> list[int]:
    """Lines that compare something with a mood name (``label == "angry"``, ``in ("awed", ...)``)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                values = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                if any(isinstance(v, ast.Constant) and v.value in MOODS_TABLE for v in values):
                    lines.append(node.lineno)
    return lines


def test_no_module_keeps_a_per_mood_table_of_its_own():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, name, n in _mood_tables(tree):
            if (rel, name) not in ALLOWED:
                offenders.append(f"{rel}:{line} {name or 'a dict'} is keyed by {n} moods")
        offenders += [f"{rel}:{line} branches on a mood name" for line in _mood_branches(tree)]
    assert offenders == [], "per-mood settings belong in museforge.emotion.moods.MOODS_TABLE:\n" + "\n".join(
        offenders)
    assert all(name in MOODS for name in ("joyful", "angry"))  # the scan saw the real moods
