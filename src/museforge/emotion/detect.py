"""Text -> Emotion: a lexicon detector for Chinese and English.

Each language has a mood lexicon of our own (``lexicon_en.tsv``, ``lexicon_zh.tsv``: a term, a
mood and a weight per row). The text is cut into words (jieba for Chinese, a regular expression
for English); every lexicon word votes for its mood with its weight, scaled by a preceding
intensifier ("very", "很") and turned toward an opposite mood by a preceding negation ("not",
"不"). The label is the mood with most votes; valence and arousal are the vote-weighted mean of
the voting moods' prototypes, blended for English with VADER's valence. With no vote at all the
label is the mood nearest to (VADER valence, 0) and the confidence stays low.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from museforge.emotion.moods import MOODS_TABLE, Emotion, nearest_mood

_HAN = re.compile(r"[\u3400-\u9fff]")
_EN_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|[.,;:!?]")
_ZH_BREAK = frozenset("，。、；：！？,.;:!?…—\n「」『』“”《》（）()")

# A negated word votes this much for the mood it leans toward, its mood's ``MoodSpec.negated``
# ("not happy" -> melancholy, "不怕" -> serene); a negated word of a mood without one ("no
# secret", "not old") casts no vote.
NEGATION_WEIGHT = 0.6
INSIDE_WORD_WEIGHT = 0.5  # a lexicon term found inside a longer, unknown Chinese word
NEGATION_SCOPE = 3  # words after a negation that it can reach
VADER_SHARE = 0.4  # share of VADER's valence in the English valence when the lexicon voted


def _words(text: str) -> list[str]:
    """The space-separated words of a literal list."""
    return text.split()


EN_NEGATIONS = frozenset(
    _words(
        "not no never nor neither none nothing nobody nowhere without cannot hardly barely "
        "scarcely lack lacking lacks isnt arent wasnt werent dont doesnt didnt cant wont"
    )
)
EN_INTENSIFIERS = {
    **dict.fromkeys(
        _words(
            "very so really extremely incredibly deeply utterly truly totally completely "
            "absolutely terribly awfully immensely intensely profoundly overwhelmingly "
            "most too such exceptionally remarkably"
        ),
        1.5,
    ),
    **dict.fromkeys(_words("slightly somewhat mildly barely faintly little bit rather"), 0.6),
}
ZH_NEGATIONS = frozenset(
    _words(
        "不 没 没有 无 未 别 莫 勿 非 毫无 并不 并非 不再 不是 从不 从未 毫不 绝不 决不 "
        "无法 不会 不要 不必 不用 不曾 未曾 没什么 一点也不 一点都不 不太"
    )
)
ZH_INTENSIFIERS = {
    **dict.fromkeys(
        _words(
            "很 非常 极 极其 极为 十分 特别 太 好 超 超级 格外 万分 无比 最 更 更加 越发 "
            "分外 尤其 如此 那么 这么 真 真是 实在 相当 多么 何等 甚 颇 深深 深感 满怀 满心 "
            "好不 异常 倍感 愈发"
        ),
        1.5,
    ),
    **dict.fromkeys(_words("有点 有点儿 有些 稍 稍微 略 略微 微微 一点 一些 些许 淡淡"), 0.6),
}
# Words that undo a preceding negation: "could not stop smiling", "can't believe they lied".
EN_NEGATION_BREAKERS = frozenset(_words("stop stopped help wait believe only just doubt"))
_ZH_NEGATION_PREFIXES = ("不", "没", "无", "未", "非")


@dataclass(frozen=True)
class Lexicon:
    """A mood lexicon: term -> {mood: weight}, plus Chinese characters that never count inside
    a longer word (``solo``) and the longest term, in words (English) or characters (Chinese)."""

    entries: dict[str, dict[str, float]]
    solo: frozenset[str]
    max_len: int


@dataclass(frozen=True)
class Hit:
    """One lexicon term found in the text, with its scale (intensity) and whether negated."""

    term: str
    moods: dict[str, float]
    scale: float = 1.0
    negated: bool = False


def detect_language(text: str) -> str:
    """``"zh"`` when the text holds Han characters, else ``"en"``.

    >>> detect_language("在一片神秘的森林中，")
    'zh'
    """
    return "zh" if _HAN.search(text) else "en"


def detect_emotion(text: str, lang: str | None = None) -> Emotion:
    """The mood of a text, with valence, arousal and a confidence in [0, 1].

    >>> detect_emotion("a stormy sea at night").label
    'tense'
    >>> detect_emotion("举头望明月，低头思故乡").label
    'nostalgic'
    """
    text = text or ""
    lang = lang or detect_language(text)
    if lang not in ("zh", "en"):
        lang = detect_language(text)
    if not text.strip():
        return _fallback(0.0, 0.0)
    hits = list(_zh_hits(text)) if lang == "zh" else list(_en_hits(text))
    vader = _vader_valence(text) if lang == "en" else None
    arousal_bonus = min(0.3, 0.1 * (text.count("!") + text.count("！")))
    return _combine(hits, vader, arousal_bonus)


# ---------------------------------------------------------------- scoring


def _votes(hits: Iterable[Hit]) -> dict[str, float]:
    """Sum each hit's weights per mood, a negated hit voting for the opposite mood."""
    votes: dict[str, float] = defaultdict(float)
    for hit in hits:
        for mood, weight in hit.moods.items():
            if hit.negated:
                opposite = MOODS_TABLE[mood].negated
                if opposite is not None:
                    votes[opposite] += weight * hit.scale * NEGATION_WEIGHT
            else:
                votes[mood] += weight * hit.scale
    return votes


def _strongest(hits: Iterable[Hit]) -> dict[str, float]:
    """The largest single vote per mood: breaks ties toward explicit emotion words."""
    best: dict[str, float] = defaultdict(float)
    for hit in hits:
        if not hit.negated:
            for mood, weight in hit.moods.items():
                best[mood] = max(best[mood], weight * hit.scale)
    return best


def _combine(hits: list[Hit], vader: float | None, arousal_bonus: float) -> Emotion:
    """Turn the hits into an Emotion: label by votes, valence/arousal by prototypes."""
    votes = _votes(hits)
    strongest = _strongest(hits)
    total = sum(votes.values())
    if total <= 0.0:
        valence = 0.8 * vader if vader else 0.0
        return _fallback(valence, arousal_bonus, 0.3 * abs(valence))
    label = max(MOODS_TABLE, key=lambda m: (votes.get(m, 0.0), strongest.get(m, 0.0)))
    valence = sum(w * MOODS_TABLE[m].valence for m, w in votes.items()) / total
    arousal = sum(w * MOODS_TABLE[m].arousal for m, w in votes.items()) / total
    if vader:
        valence = (1 - VADER_SHARE) * valence + VADER_SHARE * vader
    share = votes[label] / total
    confidence = share * (1.0 - math.exp(-total / 2.5))
    return Emotion(
        label,
        _clip(valence),
        _clip(arousal + arousal_bonus),
        round(min(0.95, max(0.05, confidence)), 4),
        "detected",
    )


def _fallback(valence: float, arousal: float, confidence: float = 0.0) -> Emotion:
    """No lexicon vote: the mood nearest to the point, with a low confidence."""
    valence, arousal = _clip(valence), _clip(arousal)
    label = nearest_mood(valence, arousal)
    return Emotion(label, valence, arousal, round(min(0.2, confidence), 4), "detected")


def _clip(x: float) -> float:
    return round(max(-1.0, min(1.0, x)), 4)


# ---------------------------------------------------------------- lexicons


@cache
def load_lexicon(lang: str) -> Lexicon:
    """Read ``lexicon_<lang>.tsv`` shipped beside this module (once)."""
    path = resources.files("museforge.emotion") / f"lexicon_{lang}.tsv"
    entries: dict[str, dict[str, float]] = defaultdict(dict)
    solo: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        term, mood, weight, *flags = line.split("\t")
        if mood not in MOODS_TABLE:
            raise ValueError(f"{path.name}: unknown mood {mood!r} for {term!r}")
        entries[term][mood] = float(weight)
        if "solo" in flags:
            solo.add(term)
    size = (lambda t: len(t.split())) if lang == "en" else len
    return Lexicon(dict(entries), frozenset(solo), max(map(size, entries)))


# ---------------------------------------------------------------- English


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _vader_valence(text: str) -> float:
    """VADER's compound score in [-1, 1]; it handles negation and intensifiers itself."""
    return float(_vader().polarity_scores(text)["compound"])


def _en_forms(word: str) -> Iterator[str]:
    """The word and a few plain de-inflected forms of it (plurals, -ed, -ing, -ly)."""
    yield word
    if word.endswith("'s"):
        yield word[:-2]
    for suffix, repl in (
        ("ies", "y"),
        ("ied", "y"),
        ("ily", "y"),
        ("es", ""),
        ("s", ""),
        ("ed", ""),
        ("ed", "e"),
        ("ing", ""),
        ("ing", "e"),
        ("ly", ""),
    ):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3 and not word.endswith("ss"):
            yield stem + repl
            if repl == "" and len(stem) >= 4 and stem[-1] == stem[-2]:
                yield stem[:-1]  # running -> run, stopped -> stop


def _en_lookup(word: str, lexicon: Lexicon) -> tuple[str, dict[str, float]] | None:
    for form in _en_forms(word):
        if form in lexicon.entries:
            return form, lexicon.entries[form]
    return None


def _en_match(tokens: list[str], i: int, lexicon: Lexicon) -> tuple[int, str, dict] | None:
    """The longest lexicon phrase or word starting at ``tokens[i]``: (length, term, moods)."""
    for n in range(min(lexicon.max_len, len(tokens) - i), 1, -1):
        words = tokens[i : i + n]
        if any(w in _EN_PUNCT for w in words):
            continue
        for last in _en_forms(words[-1]):
            phrase = " ".join([*words[:-1], last])
            if phrase in lexicon.entries:
                return n, phrase, lexicon.entries[phrase]
    found = _en_lookup(tokens[i], lexicon)
    return (1, *found) if found else None


_EN_PUNCT = frozenset(".,;:!?")


def _is_en_negation(token: str) -> bool:
    return token in EN_NEGATIONS or token.endswith("n't")


def _en_hits(text: str) -> Iterator[Hit]:
    """Lexicon hits in English text, with negation and intensifier scope."""
    lexicon = load_lexicon("en")
    tokens = _EN_TOKEN.findall(text.lower().replace("’", "'"))
    negation_left, scale, i = 0, 1.0, 0
    while i < len(tokens):
        token = tokens[i]
        if token in _EN_PUNCT:
            negation_left, scale, i = 0, 1.0, i + 1
            continue
        match = _en_match(tokens, i, lexicon)
        if match and (match[0] > 1 or not (_is_en_negation(token) or token in EN_INTENSIFIERS)):
            n, term, moods = match
            yield Hit(term, moods, scale, negation_left > 0)
            negation_left, scale, i = 0, 1.0, i + n
            continue
        if _is_en_negation(token):
            negation_left = NEGATION_SCOPE + 1
        elif token in EN_NEGATION_BREAKERS:
            negation_left = 0
        elif token in EN_INTENSIFIERS:
            scale = EN_INTENSIFIERS[token]
        negation_left = max(0, negation_left - 1)
        i += 1


# ---------------------------------------------------------------- Chinese


@cache
def _zh_tokenizer() -> Any:
    """A private jieba tokenizer that knows every lexicon term (built once, about a second)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for term in load_lexicon("zh").entries:
        if len(term) > 1 and term not in tokenizer.FREQ:
            tokenizer.add_word(term, tokenizer.suggest_freq(term, tune=False))
    for word in (*ZH_NEGATIONS, *ZH_INTENSIFIERS):
        if len(word) > 1 and word not in tokenizer.FREQ:
            tokenizer.add_word(word)
    return tokenizer


@cache
def _to_simplified() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def _inside_word(word: str, lexicon: Lexicon) -> Iterator[tuple[str, dict[str, float]]]:
    """Lexicon terms inside an unknown longer word, longest first, left to right."""
    i = 0
    while i < len(word):
        for n in range(min(lexicon.max_len, len(word) - i), 0, -1):
            part = word[i : i + n]
            if part != word and part in lexicon.entries and part not in lexicon.solo:
                yield part, lexicon.entries[part]
                i += n
                break
        else:
            i += 1


def _zh_word_hits(word: str, lexicon: Lexicon, scale: float, negated: bool) -> list[Hit]:
    """Hits for one jieba word: the word itself, a negated word (不安静), or its parts."""
    if word in lexicon.entries:
        return [Hit(word, lexicon.entries[word], scale, negated)]
    if word[0] in _ZH_NEGATION_PREFIXES and word[1:] in lexicon.entries:
        return [Hit(word[1:], lexicon.entries[word[1:]], scale, not negated)]
    if word.isascii():
        found = _en_lookup(word.lower(), load_lexicon("en"))
        return [Hit(found[0], found[1], scale, negated)] if found else []
    return [
        Hit(part, moods, scale * INSIDE_WORD_WEIGHT, negated) for part, moods in _inside_word(word, lexicon)
    ]


def _zh_hits(text: str) -> Iterator[Hit]:
    """Lexicon hits in Chinese text (converted to simplified characters first)."""
    lexicon = load_lexicon("zh")
    text = _to_simplified().convert(text)
    negation_left, scale = 0, 1.0
    for word in _zh_tokenizer().lcut(text, HMM=False):
        if not word.strip() or word in _ZH_BREAK:
            negation_left, scale = 0, 1.0
            continue
        if word in ZH_NEGATIONS:
            negation_left = NEGATION_SCOPE
            scale = 0.6 if word == "不太" else scale
            continue
        if word in ZH_INTENSIFIERS and word not in lexicon.entries:
            scale = ZH_INTENSIFIERS[word]
            continue
        hits = _zh_word_hits(word, lexicon, scale, negation_left > 0)
        yield from hits
        if hits:
            negation_left, scale = 0, 1.0
        else:
            negation_left = max(0, negation_left - 1)
