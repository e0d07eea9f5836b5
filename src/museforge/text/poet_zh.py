"""The rule-based Chinese poet: a plan from the prompt, then verse from the phrase bank.

A poem is planned before it is written: one primary motif from the prompt's nouns (森林 ->
forest), a sky motif (moon, wind, rain...), one season, one time of day, the mood and one or two
themes (思乡 -> home; else one of the mood's, ``bank_zh.Mood.themes``). Phrases whose characters
contradict the season or time (落叶 in spring, 月 at noon) are left out; those naming the scene's
motifs and themes or carrying the mood are favoured, those of another scene drawn rarely.
``verse_zh`` writes the lines from the phrase bank so that every rule of the form holds by
construction; the title joins a scene head (a motif's 江上, 月下..., or the season and time,
秋夜) and a tail of the mood or the theme (怀旧, 思归, 送别...), both fitting season and time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from museforge.emotion import Emotion, art_direction
from museforge.emotion.moods import MOODS_TABLE, SEASONS, mood_words
from museforge.text import verse_zh
from museforge.text.bank_zh import MOODS, MOTIFS, Mood, words
from museforge.text.critic import Critic
from museforge.text.forms import Form, line_final_group, tones
from museforge.text.verse_bank import THEMES, labels_of
from museforge.text.verse_zh import Scene

_SEASON_CHARS = {
    "spring": "春柳桃燕莺杏蝶",
    "summer": "夏蝉荷莲萤",
    "autumn": "秋枫菊雁芦砧",
    "winter": "雪冰朔",
}
_SEASON_PHRASES = {
    "落叶": ("autumn",),
    "黄叶": ("autumn",),
    "红叶": ("autumn",),
    "落木": ("autumn",),
    "落花": ("spring",),
    "落红": ("spring",),
    "花落": ("spring",),
    "芳草": ("spring", "summer"),
    "新绿": ("spring", "summer"),
    "花开": ("spring", "summer"),
    "寒": ("autumn", "winter"),
    "霜": ("autumn", "winter"),
    "暖": ("spring", "summer"),
    "梅": ("winter", "spring"),
    "稻": ("summer", "autumn"),
    "麦": ("spring", "summer"),
}
_FLOWER_SEASONS = ("spring", "summer")  # 花 alone; 芦花, 菊花, 梅花 are tagged by their own char
_NIGHT = "月夜星灯宵眠漏萤更"
_DUSK = "暮夕晚昏"
_DUSK_PHRASES = ("斜阳", "落日", "斜晖", "夕照", "残阳", "夕阳")
_DAY = "日晴朝晨晓午霁"
_PROMPT_SEASON = {
    "spring": "春 spring",
    "summer": "夏 summer",
    "autumn": "秋 autumn fall",
    "winter": "冬 winter",
}
_PROMPT_NIGHT = "夜 月 星 晚 暮 黄昏 night moon star evening dusk midnight"
_PROMPT_DEEP_NIGHT = "夜 月 星 宵 night moon star midnight"
_PROMPT_DAY = "晨 朝 日 白天 清晨 day morning noon sun dawn"
THEME_TITLES = {
    "home": "思归 望乡 怀乡 忆家 归思 乡思",
    "parting": "送别 赠别 留别 寄远 怀人 别友",
    "frontier": "出塞 戍边 从军 边思 征人 塞下",
    "court": "宫词 早朝 宫怨 侍宴",
    "temple": "访僧 禅思 题寺 听钟 宿寺",
    "wine": "独酌 对酒 醉歌 小饮 醉吟",
    "music": "听琴 闻笛 夜歌 弹琴 闻歌",
    "age": "叹老 自遣 书怀 遣怀 述怀",
    "hermit": "隐居 渔樵 访隐 归隐 幽居",
    "travel": "旅思 羁旅 客中 行役 旅怀",
    "immortal": "游仙 访仙 仙境 求仙 仙游",
}
"""Title tails of each theme."""
_SEASON_HEADS = {True: "夜 晚 夕 暮", False: "日 晓 朝 晴"}


@dataclass(frozen=True)
class Phrase:
    """A bank entry with what the composer needs to know about its sound and setting."""

    text: str
    mark: str
    tones: tuple[str | None, ...]
    seasons: frozenset[str]
    time: str | None  # "day", "dusk", "night" or None

    @property
    def end_group(self) -> str | None:
        return line_final_group(self.text)


@lru_cache(maxsize=4096)
def phrase(entry: str) -> Phrase:
    """Parse a bank entry (an optional mark, then Han characters) and tag it.

    >>> p = phrase("-落叶飞")
    >>> p.text, p.mark, sorted(p.seasons), p.tones
    ('落叶飞', '-', ['autumn'], ('Z', 'Z', 'P'))
    """
    mark = entry[0] if entry[0] in "+-!~" else ""
    text = entry[len(mark) :]
    seasons = set(SEASONS)
    for season, chars in _SEASON_CHARS.items():
        if any(c in text for c in chars):
            seasons &= {season}
    for key, allowed in _SEASON_PHRASES.items():
        if key in text:
            seasons &= set(allowed)
    if "花" in text and not any(c in text for c in "芦菊梅雪霜"):
        seasons &= set(_FLOWER_SEASONS)
    time = None
    if any(p in text for p in _DUSK_PHRASES) or any(c in text for c in _DUSK):
        time = "dusk"
    elif any(c in text for c in _NIGHT):
        time = "night"
    elif any(c in text for c in _DAY):
        time = "day"
    return Phrase(text, mark, tones(text), frozenset(seasons), time)


@dataclass
class Plan:
    """The choices made before any line is written."""

    motifs: list[str]  # place motifs, primary first
    sky: list[str]  # universal motifs
    sky_named: bool  # whether the prompt named the sky motif
    title_motif: str  # the motif the prompt names first
    season: str
    evening: bool
    mood: str
    valence: float
    arousal: float
    mood_chars: frozenset[str]
    themes: tuple[str, ...] = ()
    night: bool = False  # the prompt names the night itself, not dusk


def mood_bank(mood: str) -> Mood:
    """The Chinese words of a mood, or a one-line error naming the missing words."""
    return mood_words(MOODS, mood, "museforge.text.bank_zh.MOODS")


def detect_motifs(prompt: str) -> list[str]:
    """Motifs named in the prompt, in order of first mention (longest keyword wins).

    >>> detect_motifs("在一片神秘的森林中，明月高悬")
    ['forest', 'moon']
    """
    text = _to_simplified(prompt).lower()
    found: list[tuple[int, str]] = []
    for name, motif in MOTIFS.items():
        positions = [text.find(k) for k in words(motif.keys) if k in text]
        if positions:
            found.append((min(positions), name))
    return [name for _, name in sorted(found)]


@lru_cache(maxsize=1)
def _converter() -> Any:
    try:
        import opencc

        return opencc.OpenCC("t2s")
    except Exception:  # opencc missing or its data absent: traditional prompts match less
        return None


def _to_simplified(text: str) -> str:
    conv = _converter()
    return conv.convert(text) if conv is not None else text


def _mentions(text: str, keys: str) -> bool:
    return any(k in text for k in keys.split())


THEME_PLACE = {
    "frontier": "mountain",
    "temple": "mountain",
    "hermit": "mountain",
    "immortal": "mountain",
    "court": "city",
}
"""The place of a prompt that names one of these themes and no place: 塞外秋风 is the frontier's
passes (关山), not the mood's forest; a temple or a hermit is in the mountains, the court in the city."""


def make_plan(prompt: str, emotion: Emotion, rng: np.random.Generator) -> Plan:
    """Choose motifs, season, time of day from the prompt, falling back on the mood."""
    text = _to_simplified(prompt).lower()
    found = detect_motifs(prompt)
    places = [m for m in found if not MOTIFS[m].universal]
    sky = [m for m in found if MOTIFS[m].universal]
    sky_named = bool(sky)
    spec = MOODS_TABLE[emotion.label]
    named = [t for t in THEMES if t in labels_of(text)]
    if not places:
        places = [THEME_PLACE[t] for t in named if t in THEME_PLACE][:1]
    if not places:
        places = [spec.place or str(rng.choice(["forest", "mountain", "river"]))]
    seasons = [s for s, keys in _PROMPT_SEASON.items() if _mentions(text, keys)]
    if "snow" in sky:
        seasons = seasons or ["winter"]
    if "flower" in places and not seasons:
        seasons = ["spring"]
    season = seasons[0] if seasons else str(rng.choice(spec.seasons))
    if "moon" in sky or "night" in sky or _mentions(text, _PROMPT_NIGHT):
        evening = True
    elif _mentions(text, _PROMPT_DAY):
        evening = False
    else:
        evening = bool(rng.random() < spec.evening)
    if not sky:
        options = ["moon", "night", "wind"] if evening else ["wind", "cloud", "rain"]
        if season == "winter":
            options.append("snow")
        sky = [str(rng.choice(options))]
    zh_words = art_direction(emotion).mood_words["zh"]
    mood_chars = frozenset(mood_bank(emotion.label).chars + "".join(zh_words))
    title_motif = found[0] if found else places[0]
    own = mood_bank(emotion.label).themes.split() or ["home"]
    themes = named[:1] + [t for t in [str(rng.choice(own))] if t not in named[:1]]
    return Plan(
        places[:2],
        sky[:2],
        sky_named,
        title_motif,
        season,
        evening,
        emotion.label,
        emotion.valence,
        emotion.arousal,
        mood_chars,
        tuple(themes),
        "moon" in sky or "night" in sky or _mentions(text, _PROMPT_DEEP_NIGHT),
    )


_SEASON_NAME = {"spring": "春", "summer": "夏", "autumn": "秋", "winter": "冬"}
_STOP = set("的一在中了着是个这那我你他她它们和与及之于把被很都也就又还")


def scene_of(plan: Plan, prompt: str) -> Scene:
    """The plan as the phrase bank's composer needs it, with the characters to favour: the
    prompt's, the season's name and the mood's own (``bank_zh.MOODS``); its own motifs, not the
    sky's, are the place (``Scene.place``)."""
    chars = {c for c in _to_simplified(prompt) if "\u4e00" <= c <= "\u9fff" and c not in _STOP}
    chars |= set(_SEASON_NAME.get(plan.season, "")) | set(mood_bank(plan.mood).chars)
    return Scene(
        frozenset(plan.motifs + plan.sky),
        plan.season,
        plan.evening,
        plan.mood,
        frozenset(chars),
        frozenset(plan.themes),
        plan.night,
        frozenset(plan.motifs),
    )


def read_mood(lines: list[str]) -> str:
    """The mood the emotion detector reads in a poem's lines."""
    from museforge.emotion.detect import detect_emotion

    return detect_emotion("，".join(lines) + "。", "zh").label


def compose(
    prompt: str,
    emotion: Emotion,
    form: Form,
    rng: np.random.Generator,
    critic: Critic | None = None,
    tag: str = "",
) -> tuple[str, list[str], dict]:
    """A title, the lines of a poem in ``form`` (a Chinese form) and how they were chosen.

    ``critic`` ranks the candidates (``verse_zh.write``); ``tag`` is the form's tag in the
    critic's training documents (``<qijue>``...).
    """
    from museforge.originality.poems import default_index

    plan = make_plan(prompt, emotion, rng)
    title = _title(plan, rng)
    n = form.length[0] if form.length else 7
    header = f"{tag}《{title}》\n"
    lines, info = verse_zh.write(
        scene_of(plan, prompt), n, form.lines, header, rng, critic, default_index(), read_mood
    )
    return title, lines, info


def _pick(entries: list[str], plan: Plan, rng: np.random.Generator) -> str:
    fitting = [e for e in entries if _fits(phrase(e), plan)] or entries
    return fitting[int(rng.integers(len(fitting)))].lstrip("+-!~")


def _fits(p: Phrase, plan: Plan) -> bool:
    if plan.season not in p.seasons:
        return False
    if plan.evening and p.time == "day":
        return False
    return not (not plan.evening and p.time == "night")


def _title(plan: Plan, rng: np.random.Generator) -> str:
    """A scene head (林中, 江上, 秋夜...) and a mood's or theme's tail (秋思, 怀乡, 送别...), each
    fitting the plan's season and time."""
    heads = [
        h for m in dict.fromkeys([plan.title_motif, *plan.motifs, *plan.sky]) for h in words(MOTIFS[m].titles)
    ]
    heads += [_SEASON_NAME[plan.season] + t for t in _SEASON_HEADS[plan.evening].split()]
    tails = words(mood_bank(plan.mood).titles) + [t for th in plan.themes for t in THEME_TITLES[th].split()]
    for _ in range(50):
        head, tail = _pick(heads, plan, rng), _pick(tails, plan, rng)
        if not set(head) & set(tail):
            return head + tail
    return head + tail
