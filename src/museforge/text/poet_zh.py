"""A rule-based composer of Chinese quatrains and regulated verse from the word banks.

A poem is planned before it is written: one primary motif from the prompt's nouns (森林 ->
forest), a sky motif (moon, wind, rain...), one season, one time of day and one rhyme group.
Phrases whose characters contradict the season or time (落叶 in spring, 月 at noon) are left out.
The lines then follow the quatrain's shape: two scene lines (place + event), a turn (a person
acting) and a feeling (quantifier + feeling + tail), which eight-line forms stretch with more
scene lines. Each line is a small seeded search: candidates are drawn with the numpy generator,
weighted towards the mood's characters, and the first that meets every constraint of the form
(rhyme, tone pattern, 粘对, no repeated character) is kept; after a bounded number of tries the
best one found is kept, so rhyme and length always hold and the tone pattern usually does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np

from museforge.emotion import Emotion, art_direction
from museforge.emotion.moods import MOODS_TABLE, SEASONS, mood_words
from museforge.text.bank_zh import MOODS, MOTIFS, Mood, words
from museforge.text.forms import Form, line_final_group, tones

_SEASON_CHARS = {
    "spring": "春柳桃燕莺杏蝶",
    "summer": "夏蝉荷莲萤",
    "autumn": "秋枫菊雁芦砧",
    "winter": "雪冰朔",
}
_SEASON_PHRASES = {
    "落叶": ("autumn",), "黄叶": ("autumn",), "红叶": ("autumn",), "落木": ("autumn",),
    "落花": ("spring",), "落红": ("spring",), "花落": ("spring",), "芳草": ("spring", "summer"),
    "新绿": ("spring", "summer"), "花开": ("spring", "summer"), "寒": ("autumn", "winter"),
    "霜": ("autumn", "winter"), "暖": ("spring", "summer"), "梅": ("winter", "spring"),
    "稻": ("summer", "autumn"), "麦": ("spring", "summer"),
}
_FLOWER_SEASONS = ("spring", "summer")  # 花 alone; 芦花, 菊花, 梅花 are tagged by their own char
_NIGHT = "月夜星灯宵眠漏萤更"
_DUSK = "暮夕晚昏"
_DUSK_PHRASES = ("斜阳", "落日", "斜晖", "夕照", "残阳", "夕阳")
_DAY = "日晴朝晨晓午霁"
_PROMPT_SEASON = {
    "spring": "春 spring", "summer": "夏 summer", "autumn": "秋 autumn fall", "winter": "冬 winter",
}
_PROMPT_NIGHT = "夜 月 星 晚 暮 黄昏 night moon star evening dusk midnight"
_PROMPT_DAY = "晨 朝 日 白天 清晨 day morning noon sun dawn"
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
    text = entry[len(mark):]
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


def make_plan(prompt: str, emotion: Emotion, rng: np.random.Generator) -> Plan:
    """Choose motifs, season, time of day from the prompt, falling back on the mood."""
    text = _to_simplified(prompt).lower()
    found = detect_motifs(prompt)
    places = [m for m in found if not MOTIFS[m].universal]
    sky = [m for m in found if MOTIFS[m].universal]
    sky_named = bool(sky)
    spec = MOODS_TABLE[emotion.label]
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
    return Plan(places[:2], sky[:2], sky_named, title_motif, season, evening, emotion.label,
                emotion.valence, emotion.arousal, mood_chars)


_LOOSE = Plan(["forest"], [], False, "forest", "any", False, "serene", 0.0, 0.0, frozenset())
"""A plan that every unmarked phrase fits: the last resort for a rhyme."""


def _fits(p: Phrase, plan: Plan) -> bool:
    if plan.season == "any":
        return True
    if plan.season not in p.seasons:
        return False
    if plan.evening and p.time == "day":
        return False
    if not plan.evening and p.time == "night":
        return False
    if p.mark == "+" and plan.valence < -0.2:
        return False
    if p.mark == "-" and plan.valence > 0.3:
        return False
    if p.mark == "!" and plan.arousal < 0.6:
        return False
    return not (p.mark == "~" and plan.arousal > 0.5)


class _Pool:
    """Phrases that fit the plan, with sampling weights leaning towards the mood."""

    def __init__(self, entries: list[str], plan: Plan, boost: float = 1.0) -> None:
        self.items = [p for p in (phrase(e) for e in entries) if _fits(p, plan)]
        w = np.array([boost * (1.0 + 2.0 * sum(c in plan.mood_chars for c in p.text))
                      for p in self.items], dtype=float)
        self.raw_total = float(w.sum())
        self.weights = w / w.sum() if len(w) else w

    def draw(self, rng: np.random.Generator) -> Phrase:
        return self.items[int(rng.choice(len(self.items), p=self.weights))]

    def ending_in(self, group: str) -> list[Phrase]:
        return [p for p in self.items if p.tones[-1] == "P" and group == p.end_group]


def _bank(plan: Plan, name: str, entries: str | None = None) -> _Pool:
    return _Pool(words(entries if entries is not None else getattr(mood_bank(plan.mood), name)), plan)


@dataclass
class _Line:
    parts: list[Phrase]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts)

    @property
    def tones(self) -> tuple[str | None, ...]:
        return tuple(t for p in self.parts for t in p.tones)


def _line_cost(
    line: _Line, index: int, rhymes: bool, prev_second: str | None, used: set[str]
) -> int:
    t = line.tones
    fixed = [p for p in (2, 4, 6) if p < len(t)]
    cost = sum(1 for a, b in pairwise(fixed) if t[a - 1] and t[a - 1] == t[b - 1])
    if rhymes and t[-1] == "Z":
        cost += 1
    if not rhymes and index > 0 and t[-1] == "P":
        cost += 1
    if prev_second and t[1]:
        opposed = prev_second != t[1]
        cost += int(opposed != (index % 2 == 1))
    cost += 2 * sum(1 for c in set(line.text) if c in used)
    cost += 2 * (len(line.text) - len(set(line.text)))
    return cost


def compose(prompt: str, emotion: Emotion, form: Form, rng: np.random.Generator,
            attempts: int = 4) -> tuple[str, list[str]]:
    """A title and the lines of a poem in ``form`` (a Chinese form).

    Up to ``attempts`` drafts are written; the first without fault (or the least faulty) wins.
    """
    plan = make_plan(prompt, emotion, rng)
    best: tuple[int, list[str]] | None = None
    for _ in range(attempts):
        cost, lines = _draft(plan, form, rng)
        if best is None or cost < best[0]:
            best = (cost, lines)
        if cost == 0:
            break
    assert best is not None
    return _title(plan, set("".join(best[1])), rng), best[1]


def _draft(plan: Plan, form: Form, rng: np.random.Generator,
           tries: int = 200) -> tuple[int, list[str]]:
    """One draft: its total cost (tone faults, repeated characters) and its lines."""
    n, count = form.length[0] if form.length else 7, form.lines
    long = n == 7
    roles = ["scene", "scene", "turn", "feel"] if count == 4 else [
        "scene", "scene", "scene", "scene", "turn", "scene", "turn", "feel"]
    primary = MOTIFS[plan.motifs[0]]
    places = {m: _Pool(words(MOTIFS[m].places), plan) for m in plan.motifs}
    sky_events = _Pool([e for m in plan.sky for e in words(MOTIFS[m].events)], plan,
                       boost=5.0 if plan.sky_named else 0.6)
    events = {m: _Pool(words(MOTIFS[m].events), plan) for m in plan.motifs}
    for pool in events.values():
        pool.items += sky_events.items
        pool.weights = np.concatenate([pool.weights * pool.raw_total, sky_events.weights
                                       * sky_events.raw_total])
        pool.weights /= pool.weights.sum()
    conds = _bank(plan, "conds")
    actors = _Pool(words(mood_bank(plan.mood).actors) + words(primary.actors), plan)
    actions = _bank(plan, "actions")
    quants, feelings, tails = _bank(plan, "quants"), _bank(plan, "feelings"), _bank(plan, "tails")
    turn_heads = _Pool(words(mood_bank(plan.mood).conds) + words(primary.places), plan)

    rhyme_lines = [i for i in range(count) if i % 2 == 1]
    scene_rhymes = sum(1 for i in rhyme_lines if roles[i] == "scene")
    spare_sky = _Pool([e for m in MOTIFS.values() if m.universal for e in words(m.events)], plan)
    spare_any = _Pool([e.lstrip("+-!~") for m in MOTIFS.values() if m.universal
                       for e in words(m.events)], _LOOSE)
    group = _choose_group([*events.values(), spare_sky, spare_any], tails, scene_rhymes, rng)

    lines: list[_Line] = []
    total = 0
    used: set[str] = set()
    rhymed: set[str] = set()
    prev_second: str | None = None
    for i, role in enumerate(roles):
        must_rhyme = i in rhyme_lines
        soft_rhyme = i == 0 and long
        motif = plan.motifs[(i // 2) % len(plan.motifs)]
        best: tuple[int, _Line] | None = None
        for _ in range(tries):
            if role == "scene":
                ev = _draw_end(events[motif], rng, group if must_rhyme or soft_rhyme else None,
                               used, rhymed, strict=must_rhyme, spares=(spare_sky, spare_any))
                parts = [places[motif].draw(rng), ev]
                if long:
                    parts.insert(0, conds.draw(rng))
            elif role == "turn":
                parts = [actors.draw(rng), actions.draw(rng)]
                if long:
                    parts.insert(0, turn_heads.draw(rng))
            else:
                parts = [feelings.draw(rng), _draw_end(tails, rng, group, used, rhymed, strict=True)]
                if long:
                    parts.insert(0, quants.draw(rng))
            line = _Line(parts)
            cost = _line_cost(line, i, must_rhyme, prev_second, used)
            if soft_rhyme and not (group == line.parts[-1].end_group and line.tones[-1] == "P"):
                cost += 1 if line.tones[-1] == "Z" else 2
            if best is None or cost < best[0]:
                best = (cost, line)
            if cost == 0:
                break
        assert best is not None
        total += best[0]
        line = best[1]
        lines.append(line)
        used |= set(line.text)
        if must_rhyme or soft_rhyme:
            rhymed.add(line.text[-1])
        prev_second = line.tones[1]
    return total, [ln.text for ln in lines]


def _draw_end(pool: _Pool, rng: np.random.Generator, group: str | None, used: set[str],
              rhymed: set[str], strict: bool, spares: tuple[_Pool, ...] = ()) -> Phrase:
    """A phrase from ``pool``; with ``group``, one ending level in that group on a character
    not yet rhymed, preferably not yet used (always, when ``strict``; half the time otherwise).

    When ``pool`` has no such phrase, the ``spares`` are tried in turn, so a rhyme never fails.
    """
    if group is not None and (strict or rng.random() < 0.5):
        for source in (pool, *spares):
            allowed = [p for p in source.ending_in(group) if p.text[-1] not in rhymed]
            options = [p for p in allowed if p.text[-1] not in used] or allowed
            if options:
                w = np.array([source.weights[source.items.index(p)] for p in options])
                return options[int(rng.choice(len(options), p=w / w.sum()))]
    return pool.draw(rng)


def _choose_group(events: list[_Pool], tails: _Pool, scene_rhymes: int,
                  rng: np.random.Generator) -> str:
    """A rhyme group with enough distinct level endings for every rhyming line; the pools in
    ``events`` are tried cumulatively, the plan's own first, the spares after."""
    groups = sorted({p.end_group for p in tails.items if p.tones[-1] == "P" and p.end_group})
    scored: list[tuple[str, int]] = []
    for k in range(1, len(events) + 1):
        for g in groups:
            ends = {p.text[-1] for pool in events[:k] for p in pool.ending_in(g)}
            tail_ends = {p.text[-1] for p in tails.ending_in(g)} - ends
            if len(ends) >= scene_rhymes + 1 and tail_ends:
                scored.append((g, len(ends) + len(tail_ends)))
        if scored:
            break
    if not scored:  # the spares hold every group; this is a guard, not a path
        raise RuntimeError("no rhyme group fits the word banks")
    w = np.array([s for _, s in scored], dtype=float)
    return scored[int(rng.choice(len(scored), p=w / w.sum()))][0]


def _title(plan: Plan, used: set[str], rng: np.random.Generator) -> str:
    heads = _Pool(words(MOTIFS[plan.title_motif].titles), plan)
    tails = _bank(plan, "titles")
    for _ in range(50):
        head, tail = heads.draw(rng).text, tails.draw(rng).text
        if not set(head) & set(tail):
            return head + tail
    return head + tail

