"""Text -> Emotion. (Placeholder until the lexicon detector lands.)"""

from __future__ import annotations

import re

from museforge.emotion.moods import MOOD_PROTOTYPES, Emotion

_HAN = re.compile(r"[\u3400-\u9fff]")


def detect_language(text: str) -> str:
    """``"zh"`` when the text holds Han characters, else ``"en"``.

    >>> detect_language("在一片神秘的森林中，")
    'zh'
    """
    return "zh" if _HAN.search(text) else "en"


def detect_emotion(text: str, lang: str | None = None) -> Emotion:
    v, a = MOOD_PROTOTYPES["mysterious"]
    return Emotion("mysterious", v, a, 0.0, "detected")
