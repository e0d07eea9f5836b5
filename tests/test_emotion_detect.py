"""The lexicon emotion detector: language, labels per mood, negation, empty text, ranges."""

from __future__ import annotations

import pytest

from museforge.emotion import MOODS, Emotion, detect_emotion, detect_language
from museforge.emotion.detect import load_lexicon

CASES = {
    "joyful": [
        "we danced and laughed all night at my sister's wedding",
        "a cheerful tune for a sunny picnic",
        "孩子们在院子里放风筝，欢声笑语",
        "收到好消息，全家都非常高兴",
    ],
    "awed": [
        "the milky way arched over the vast desert",
        "a hymn to the majestic peaks of the Alps",
        "登上山巅，云海浩瀚无边",
        "银河璀璨，宇宙壮丽",
    ],
    "serene": [
        "a calm pond at daybreak, dew on the lotus leaves",
        "sipping tea in a peaceful garden",
        "湖面平静，柳枝轻拂",
        "竹林清幽，一壶清茶",
    ],
    "nostalgic": [
        "old photos of my grandmother's village",
        "I remember the summers of my childhood",
        "想起儿时的老屋和外婆",
        "游子思念故乡",
    ],
    "melancholy": [
        "tears at the funeral in the cold rain",
        "a lonely widow mourning by the grave",
        "秋风萧瑟，孤雁哀鸣",
        "离别之后，她独自流泪",
    ],
    "mysterious": [
        "a secret passage hidden behind the ancient mirror",
        "whispers in the foggy forest",
        "迷雾笼罩着幽深的古堡",
        "神秘的洞穴里藏着谜团",
    ],
    "tense": [
        "the hunters chased us through the storm",
        "panic as the alarm sirens wailed",
        "暴风雨中，追兵越来越近",
        "他紧张得心跳加速，十分害怕",
    ],
    "angry": [
        "furious at the betrayal and the lies",
        "the crowd raged against injustice",
        "他愤怒地砸碎了杯子",
        "对这种欺压感到怒火中烧",
    ],
}


def test_language_detection() -> None:
    assert detect_language("在一片神秘的森林中，") == "zh"
    assert detect_language("a stormy sea at night") == "en"
    assert detect_language("") == "en"
    assert detect_language("my 故乡 in autumn") == "zh"


@pytest.mark.parametrize(("mood", "text"), [(mood, text) for mood, texts in CASES.items() for text in texts])
def test_clear_sentences_get_their_mood(mood: str, text: str) -> None:
    emotion = detect_emotion(text)
    assert emotion.label == mood, emotion
    assert emotion.source == "detected"
    assert emotion.confidence > 0.3


def test_negation_lowers_valence() -> None:
    assert detect_emotion("我不快乐").valence < detect_emotion("我很快乐").valence
    assert detect_emotion("I am not happy").valence < detect_emotion("I am very happy").valence
    assert detect_emotion("我不快乐").label != "joyful"
    assert detect_emotion("I am not happy at all").label != "joyful"


def test_negated_fear_is_calmer() -> None:
    assert detect_emotion("我不害怕").valence > detect_emotion("我很害怕").valence


def test_intensifier_raises_confidence() -> None:
    assert detect_emotion("我非常悲伤").confidence > detect_emotion("我有点悲伤").confidence


def test_traditional_characters_are_read() -> None:
    assert detect_emotion("秋風蕭瑟，孤雁哀鳴").label == "melancholy"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "。，！", "I had lunch.", "12345"])
def test_empty_or_neutral_text_is_low_confidence(text: str) -> None:
    emotion = detect_emotion(text)
    assert isinstance(emotion, Emotion)
    assert emotion.label in MOODS
    assert emotion.confidence <= 0.2


@pytest.mark.parametrize(
    "text",
    [
        "WAR WAR WAR!!! rage fury blood fire!!!",
        "非常非常非常快乐快乐快乐！！！",
        "not not not calm",
        "a stormy sea at night",
        "写一首关于故乡秋天的七言绝句",
    ],
)
def test_ranges_hold(text: str) -> None:
    emotion = detect_emotion(text)
    assert -1.0 <= emotion.valence <= 1.0
    assert -1.0 <= emotion.arousal <= 1.0
    assert 0.0 <= emotion.confidence <= 1.0
    assert emotion.label in MOODS


def test_explicit_language_overrides_detection() -> None:
    assert detect_emotion("a stormy sea at night", lang="en").label == "tense"
    assert detect_emotion("暴风雨", lang="zh").label == "tense"


def test_lexicons_cover_every_mood() -> None:
    for lang in ("en", "zh"):
        entries = load_lexicon(lang).entries
        for mood in MOODS:
            assert sum(mood in moods for moods in entries.values()) >= 150, (lang, mood)
