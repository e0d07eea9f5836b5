"""Regulated Chinese verse composed from the phrase bank, correct by construction.

A poem follows one of the four standard tone sequences (the first line rhyming or not); each
line has the template of its kind, which fixes every tone the rules need (二四六分明, the rhyme
line's level end, the non-rhyming line's oblique end) and those that avoid 孤平 and 三平尾:

    five characters   A *ZPPZ   B PP*ZP   C *PPZZ   D *ZZPP
    seven characters  A *P*ZPPZ B *ZPP*ZP C *Z*PPZZ D *P*ZZPP

The sequences ABCD, CDAB, DBCD and BDAB (eight lines: then ABCD or CDAB) give 对 within each
couplet and 粘 between them. A line is a head (two or four characters) and a three-character
tail from the bank, each chosen among the units whose tones fit its part of the template under
*both* modern readings and the Pingshui book; the rhyme tails end in a character that rhymes by
both (one modern group, one shared Pingshui group). Every assembled line is read again in
context and dropped if a tone or rhyme moved, or if the copy guard finds it in the corpus, so
the poem keeps its form under either rhyme book. When no unit of the plan fits, the search
widens to the whole bank; a broken line is never written.

A poem keeps to one scene: its motifs (place and sky), season, time of day and one or two themes
(home, parting, frontier...; ``verse_bank.THEMES``). Units naming those labels are favoured, units
naming only labels foreign to the scene (neither its own nor a related one, ``RELATED``) are drawn
rarely, as are units naming the court or the immortals (``APART``) where the scene does not allow
them, whatever else they name (宫树 in a poem of home), and lines naming a person or an office
(``verse_bank.is_name``) are never written. Units holding the prompt's own characters weigh more
(``PROMPT_HIT``).

A line parses as a clause: it holds a noun or a verb, the sequence of its units' kinds (noun,
verb, adjective, adverb...; ``verse_bank.kind_of``) occurs at least ``GRAMMAR_MIN`` times in the
corpus' lines, and a two-character head stands only in the slots (first, second) the corpus
gives it. Units the corpus holds in one poem only are drawn less, units naming a dynasty (隋家,
汉使) rarely outside frontier and court poems, and a count of years (三十年前) stands only in a
line of the past, once, in a past-present poem.

Among several candidate lines the learned model (``critic``) keeps the one with the best loss
less ``ANTI_LM`` times its loss standing alone, after the header only (the model finds a generic
line such as one closing 为菊花 or 归何处 fluent anywhere; what counts is how much more fluent it is
here, after these lines: maximum mutual information rather than likelihood), less a cohesion
bonus (``cohesion``: the scene's labels the line names, and those it shares with the lines
before; half a point more when a unit carries the mood) and less its line fit
(``line_fit``: how close its head's characters stand to those of the lines before, by how Tang
poets put characters in one poem; the first line's, to the prompt's, the season's and the mood's
characters, ``opening``; the tail is left out of the bonus, which drew the same few tails, 为菊花,
into many poems of one prompt, but a tail that fits less than ``TAIL_FLOOR`` costs, so 内家香 or
待檀郎 seldom close a line of home). At least half the lines name the poem's place
(``Scene.place``: the prompt's, else the mood's; a forest, a river, a village; not the sky): when
the slots left are needed for it, only candidates naming it are kept, searched for wider if none
does. Among several poems (for eight lines, more while none keeps to the scene and reads back the
mood), the best is one whose lines name the scene's labels in at least half of them
(``keeps_scene``), then one whose mood the emotion detector reads back, then by mean loss less a
bonus for the share of line pairs that share a label and for the poem's mean line fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache, partial
from typing import TYPE_CHECKING

import numpy as np

from museforge.emotion import MOODS_TABLE
from museforge.text import pingshui
from museforge.text.bank_zh import MOTIFS
from museforge.text.critic import Critic, pick
from museforge.text.forms import line_final_group, verse_tones
from museforge.text.line_fit import load_line_fit
from museforge.text.verse_bank import NUMYEAR, THEMES, Bank, Unit, is_name, labels_of, load_bank

if TYPE_CHECKING:
    from museforge.originality.poems import PoemIndex

TEMPLATES = {
    5: {"A": "*ZPPZ", "B": "PP*ZP", "C": "*PPZZ", "D": "*ZZPP"},
    7: {"A": "*P*ZPPZ", "B": "*ZPP*ZP", "C": "*Z*PPZZ", "D": "*P*ZZPP"},
}
SEQUENCES = ("ABCD", "CDAB", "DBCD", "BDAB")  # the last two: the first line rhymes
STRUCTURES = {
    4: {
        "scene-feeling": ("scene", "scene", "scene", "feel"),
        "past-present": ("past", "scene", "present", "feel"),
        "question-answer": ("scene", "scene", "question", "feel"),
        "near-far": ("near", "scene", "far", "feel"),
    },
    8: {
        "scene-feeling": ("scene", "scene", "scene", "scene", "scene", "scene", "feel", "feel"),
        "past-present": ("past", "scene", "past", "scene", "present", "scene", "present", "feel"),
        "question-answer": ("scene", "scene", "scene", "scene", "scene", "feel", "question", "feel"),
        "near-far": ("near", "scene", "near", "scene", "far", "scene", "far", "feel"),
    },
}
ROLE_CHARS = {
    "question": "何谁几安岂哪孰",
    "past": "昔旧忆曾往",
    "present": "今此犹又",
    "near": "庭窗门阶床灯帘檐篱枕",
    "far": "远遥涯万关塞",
}
SEASONS = ("spring", "summer", "autumn", "winter")
LINE_CANDIDATES = 12
POEMS = {4: 4, 8: 2}
MORE_DRAFTS = {4: 0, 8: 4}  # drafts written beyond POEMS while none keeps the scene and reads the mood
LABELS = (*MOTIFS, *THEMES)
RELATED = {
    "forest": "mountain flower village wind cloud",
    "mountain": "forest cloud river hermit temple immortal",
    "river": "sea rain travel parting hermit",
    "sea": "river cloud travel",
    "village": "home forest flower hermit",
    "city": "court music wine",
    "flower": "forest village wine",
    "moon": "night cloud",
    "night": "moon wind",
    "wind": "cloud rain",
    "rain": "wind cloud river",
    "snow": "wind cloud",
    "cloud": "wind mountain",
    "home": "village travel parting age",
    "parting": "travel wine home river",
    "frontier": "travel parting wind snow",
    "court": "city music",
    "temple": "mountain hermit forest",
    "wine": "music parting flower",
    "music": "wine night",
    "age": "home parting",
    "hermit": "mountain river temple forest village immortal",
    "immortal": "mountain hermit temple cloud",
    "travel": "parting home river",
}
"""Labels that may share a poem with a scene's own (wind and cloud go anywhere)."""
GENERIC = frozenset({"wind", "cloud"})  # motifs any scene has
FOREIGN = 0.15  # weight of a unit naming only labels foreign to the scene
SINGLE = 0.3  # weight of a unit the corpus holds in one poem only
PROPER = 0.05  # weight of a unit naming a dynasty (隋家, 汉使) outside a frontier or court poem
HISTORY = frozenset({"frontier", "court"})
APART = ("court", "immortal")  # a unit naming one outside a scene allowing it is foreign, whatever else
GRAMMAR_MIN = 10  # a line's kinds sequence occurs at least this often in the corpus' lines
LINE_BONUS = 0.16  # loss per character a line's cohesion point is worth
MOOD_POINT = 0.5  # cohesion points a line is worth when one of its units carries the mood
POEM_BONUS = 0.4  # loss per character the share of line pairs sharing a label is worth
LINE_FIT = 2.0  # loss per character a point of a line head's fit with the lines before is worth
PROMPT_HIT = 2.0  # weight added per character of the prompt a unit holds (two at most)
TAIL_FLOOR = 0.85  # a line tail's fit with the lines before below this costs...
TAIL_MISFIT = 8.0  # ...this loss per character per point short (内家香, 待檀郎 in a poem of home)
ANTI_LM = 0.4  # a line's loss standing alone (after the header only) is taken off at this share
POEM_FIT = 2.0  # loss per character a point of the poem's mean line fit is worth, among drafts


@dataclass(frozen=True)
class Scene:
    """What the poem is about: the plan's motifs, season, time of day and mood."""

    motifs: frozenset[str]
    season: str
    evening: bool
    mood: str
    chars: frozenset[str] = frozenset()  # the prompt's and the mood's characters
    themes: frozenset[str] = frozenset()  # ``verse_bank.THEMES`` the poem keeps to
    night: bool = False  # the prompt names the night (夜, 月...): no dusk (夕阳, 日暮) either
    place: frozenset[str] = frozenset()  # the plan's own motifs (not the sky's): half the lines name one

    @property
    def labels(self) -> frozenset[str]:
        """The scene's own motifs and themes."""
        return self.motifs | self.themes

    @property
    def allowed(self) -> frozenset[str]:
        """Its own labels, the related ones, wind and cloud."""
        near = {r for lab in self.labels for r in RELATED.get(lab, "").split()}
        return self.labels | near | {"wind", "cloud"}


@dataclass
class _Slots:
    """Units of one kind and tone pattern with their tags as arrays, for fast weighting."""

    units: list[Unit]
    base: np.ndarray
    motif: np.ndarray  # bit mask over LABELS
    season: np.ndarray  # bit mask over SEASONS, 0: any
    time: np.ndarray  # 0 none, 1 day, 2 dusk, 3 night
    mood: np.ndarray  # index into MOODS_TABLE, -1 none
    roles: dict[str, np.ndarray]
    first: np.ndarray  # heads: taken line-initially in the corpus
    second: np.ndarray  # two-character heads: taken after another head in the corpus
    proper: np.ndarray
    numyear: np.ndarray


_MOTIF_BIT = {m: 1 << i for i, m in enumerate(LABELS)}
_MOOD_INDEX = {m: i for i, m in enumerate(MOODS_TABLE)}


@cache
def _slots(kind: str, pattern: str) -> _Slots:
    units = load_bank().matching(kind, pattern)
    single = np.array([u.single for u in units], dtype=bool)
    return _Slots(
        units,
        np.log1p(np.array([u.count for u in units], dtype=float)) * np.where(single, SINGLE, 1.0),
        np.array([sum(_MOTIF_BIT.get(m, 0) for m in u.motifs) for u in units], dtype=np.int64),
        np.array([sum(1 << SEASONS.index(s) for s in u.seasons) for u in units], dtype=np.int64),
        np.array([("", "day", "dusk", "night").index(u.time) for u in units]),
        np.array([_MOOD_INDEX.get(u.mood, -1) for u in units]),
        {r: np.array([any(c in u.text for c in cs) for u in units]) for r, cs in ROLE_CHARS.items()},
        np.array([kind != "head2" or "F" in u.place for u in units], dtype=bool),
        np.array([kind == "head2" and "S" in u.place for u in units], dtype=bool),
        np.array([u.proper for u in units], dtype=bool),
        np.array([NUMYEAR.search(u.text) is not None for u in units], dtype=bool),
    )


def _weights(s: _Slots, scene: Scene, role: str, slot: str = "F", years: bool = False) -> np.ndarray:
    """Sampling weights of ``s``'s units for a line of ``role`` in ``scene`` (0: does not fit), in
    ``slot`` (``F`` a line's first unit, ``S`` a second head, ``T`` its tail); ``years``: a count of
    years (三十年前) may stand here."""
    bits = sum(_MOTIF_BIT.get(m, 0) for m in scene.labels)
    motif_bits = sum(_MOTIF_BIT.get(m, 0) for m in scene.motifs)
    allowed = sum(_MOTIF_BIT.get(m, 0) for m in scene.allowed)
    sbit = 1 << SEASONS.index(scene.season) if scene.season in SEASONS else 0
    ok = (s.season == 0) | ((s.season & sbit) > 0) if sbit else np.ones(len(s.units), bool)
    ok &= _keeps_hour(s, scene)
    own = MOODS_TABLE[scene.mood].valence if scene.mood in MOODS_TABLE else 0.0
    valence = np.array([spec.valence for spec in MOODS_TABLE.values()] + [own])
    ok &= np.abs(valence[s.mood] - own) <= 1.0
    if slot == "F":
        ok &= s.first
    elif slot == "S":
        ok &= s.second
    if not years:
        ok &= ~s.numyear
    w = s.base * ok
    if not scene.themes & HISTORY:
        w *= np.where(s.proper, PROPER, 1.0)
    on_motif = (s.motif & motif_bits) > 0
    on_theme = (s.motif & (bits & ~motif_bits)) > 0
    in_mood = s.mood == _MOOD_INDEX.get(scene.mood, -2)
    w *= 1 + 3 * on_motif + 2 * on_theme + 3 * in_mood
    w *= np.where((s.mood >= 0) & ~in_mood, 0.3, 1.0)  # another mood's words: rarely
    apart = sum(_MOTIF_BIT[t] for t in APART if t not in scene.allowed)
    foreign = ((s.motif != 0) & ((s.motif & allowed) == 0)) | ((s.motif & apart) != 0)
    w *= np.where(foreign, FOREIGN, 1.0)  # another scene's
    w *= 1 + PROMPT_HIT * np.minimum(_hits(s, scene.chars), 2)
    if role == "scene":
        w *= 1 + 3 * on_motif  # scene lines: the place and the sky; the others: the theme
    elif role == "feel":
        w *= 1 + 3 * in_mood
    elif role in s.roles:
        w *= (1 + 8 * s.roles[role]) * (1 + 2 * on_motif)  # the turn's words, in the scene
    return w


def _keeps_hour(s: _Slots, scene: Scene) -> np.ndarray:
    """Which of ``s``'s units keep the scene's time of day: no day in an evening, no dusk at night."""
    ok = s.time != (1 if scene.evening else 3)
    return ok & (s.time != 2) if scene.night else ok


def _hits(s: _Slots, chars: frozenset[str]) -> np.ndarray:
    """How many of ``chars`` each unit holds."""
    key = (id(s), chars)
    if key not in _HITS:
        if len(_HITS) > 64:
            _HITS.clear()
        _HITS[key] = np.array([sum(c in chars for c in u.text) for u in s.units])
    return _HITS[key]


_HITS: dict[tuple[int, frozenset[str]], np.ndarray] = {}


def _parts(length: int, template: str, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """The line's units: (kind, tone pattern, slot), heads first."""
    if length == 5:
        return [("head2", template[:2], "F"), ("tail3", template[2:], "T")]
    if rng.random() < 0.5:
        return [("head4", template[:4], "F"), ("tail3", template[4:], "T")]
    return [("head2", template[:2], "F"), ("head2", template[2:4], "S"), ("tail3", template[4:], "T")]


def _rhyme_keys(text: str) -> set[tuple[str, str]]:
    """(modern group, Pingshui group) pairs a line or tail can rhyme in: its last character read
    level by both books."""
    last = text[-1]
    if verse_tones(text, "modern")[-1] != "P" or verse_tones(text, "pingshui")[-1] != "P":
        return set()
    g = line_final_group(text)
    return {(g, pg) for pg in pingshui.groups(last)} if g else set()


def line_keeps(line: str, template: str) -> bool:
    """Whether ``line`` keeps ``template`` by both books, read in context.

    >>> line_keeps("黄河入海流", "PP*ZP"), line_keeps("白日依山尽", "PP*ZP")
    (True, False)
    """
    return all(
        want == "*" or (m in (want, None) and p in (want, None))
        for want, m, p in zip(
            template, verse_tones(line, "modern"), verse_tones(line, "pingshui"), strict=True
        )
    )


def choose_rhyme(scene: Scene, length: int, need: int, rng: np.random.Generator) -> tuple[str, str]:
    """A rhyme (modern group, Pingshui group) with enough distinct end characters in the plan's
    tails of both rhyming kinds (B and D) for ``need`` rhyme lines, chosen with weight by how many
    fit; without one (a guard), any rhyme the bank's tails of both kinds hold."""
    keys, p = _rhyme_mass(scene, length, need)
    return keys[int(rng.choice(len(keys), p=p))]


@lru_cache(maxsize=64)
def _rhyme_mass(scene: Scene, length: int, need: int) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The rhymes ``choose_rhyme`` draws from and their probabilities (kept per scene)."""
    chars: dict[tuple[str, str], list[set[str]]] = {}
    mass: dict[tuple[str, str], float] = {}
    for k, kind in enumerate("BD"):
        s = _slots("tail3", TEMPLATES[length][kind][-3:])
        w = _weights(s, scene, "scene", "T")
        for i in np.flatnonzero(w > 0):
            for key in _tail_keys(s.units[i].text):
                chars.setdefault(key, [set(), set()])[k].add(s.units[i].text[-1])
                mass[key] = mass.get(key, 0.0) + float(w[i])
    keys = sorted(k for k, (b, d) in chars.items() if min(len(b), len(d)) >= need + 2)
    if not keys:
        b, d = (_slots("tail3", TEMPLATES[length][kind][-3:]).units for kind in "BD")
        keys = sorted({k for u in b for k in _tail_keys(u.text)} & {k for u in d for k in _tail_keys(u.text)})
        mass = {k: 1.0 for k in keys}
    p = np.array([mass[k] for k in keys])
    return keys, p / p.sum()


@cache
def _tail_keys(text: str) -> frozenset[tuple[str, str]]:
    return frozenset(_rhyme_keys(text))


class LineSearch:
    """Candidate lines for one slot of a poem, each keeping its template by construction."""

    def __init__(self, bank: Bank, scene: Scene, guard: PoemIndex | None) -> None:
        self.bank = bank
        self.scene = scene
        self.guard = guard
        self.in_mood: dict[str, bool] = {}  # candidate line -> whether a unit of it carries the mood

    def candidates(
        self,
        length: int,
        template: str,
        role: str,
        rhyme: tuple[str, str] | None,
        used: set[str],
        rhymed: set[str],
        rng: np.random.Generator,
        want: int = LINE_CANDIDATES,
        years: bool = False,
    ) -> list[str]:
        """Up to ``want`` distinct lines; the search widens (any unit and any kinds sequence, then
        repeated characters, last any time of day) until at least one is found. ``years``: a count
        of years may stand."""
        for stage in range(4):
            found = self._search(
                length,
                template,
                role,
                rhyme,
                used if stage < 2 else set(),
                rhymed,
                rng,
                want,
                wide=stage > 0,
                years=years,
                hour=stage < 3,
            )
            if found:
                return found
        raise RuntimeError("no line of the phrase bank fits the template")  # a guard, not a path

    def _search(
        self,
        length: int,
        template: str,
        role: str,
        rhyme: tuple[str, str] | None,
        used: set[str],
        rhymed: set[str],
        rng: np.random.Generator,
        want: int,
        wide: bool,
        years: bool = False,
        hour: bool = True,
    ) -> list[str]:
        parts = _parts(length, template, rng)
        pools = []
        for k, (kind, pattern, slot) in enumerate(parts):
            s = _slots(kind, pattern)
            w = s.base * ~s.numyear if wide else _weights(s, self.scene, role, slot, years)
            if wide and hour:
                w = w * _keeps_hour(s, self.scene)  # 夕阳 stays out of a night poem
            if k == len(parts) - 1 and rhyme is not None:
                w = w * np.array([rhyme in _tail_keys(u.text) and u.text[-1] not in rhymed for u in s.units])
            if w.sum() <= 0:
                return []
            pools.append((s.units, np.cumsum(w)))
        found: list[str] = []
        grammar = self.bank.grammar
        for _ in range(want * 12):
            picked = [
                units[min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(units) - 1)]
                for units, cdf in pools
            ]
            line = "".join(u.text for u in picked)
            if line in found or len(set(line)) < len(line) or set(line) & used or is_name(line):
                continue
            if not any(set(u.kind) & set("NV") for u in picked):
                continue  # function words only (何处 + 欲如何): no noun or verb to head the line
            if not wide and grammar.get(f"{length}:" + "+".join(u.kind for u in picked), 0) < GRAMMAR_MIN:
                continue
            if NUMYEAR.search(line) and not (years and any(NUMYEAR.search(u.text) for u in picked)):
                continue
            if not line_keeps(line, template):
                continue
            if rhyme is not None and rhyme not in _rhyme_keys(line):
                continue
            if self.guard is not None and self.guard.line_match(line) is not None:
                continue
            found.append(line)
            self.in_mood[line] = any(u.mood == self.scene.mood for u in picked)
            if len(found) >= want:
                break
        return found


def sequence_for(count: int, rng: np.random.Generator) -> str:
    """The kinds of a poem's lines, e.g. ``ABCD`` or ``DBCDABCD``."""
    first = SEQUENCES[int(rng.integers(len(SEQUENCES)))]
    return first if count == 4 else first + ("ABCD" if first[-1] == "D" else "CDAB")


def write(
    scene: Scene,
    length: int,
    count: int,
    header: str,
    rng: np.random.Generator,
    critic: Critic | None,
    guard: PoemIndex | None = None,
    read_mood: Callable[[list[str]], str] | None = None,
) -> tuple[list[str], dict]:
    """The lines of the chosen poem and how it was chosen (structure, sequence, loss, mood)."""
    search = LineSearch(load_bank(), scene, guard)
    fit = load_line_fit()
    place = scene.place - GENERIC  # what half the lines name
    first = opening(scene)
    alone = critic.start(header) if critic is not None and ANTI_LM else None  # lines with none before
    drafts = []
    for k in range(POEMS[count] + MORE_DRAFTS[count] if critic is not None else 1):
        if k >= POEMS[count] and any(not d[0] for d in drafts):
            break  # more drafts only while none reads back the mood and keeps to the scene
        names = sorted(STRUCTURES[count])
        structure = names[int(rng.integers(len(names)))]
        roles = STRUCTURES[count][structure]
        seq = sequence_for(count, rng)
        rhyme = choose_rhyme(scene, length, count // 2 + 1, rng)
        lines: list[str] = []
        losses: list[float] = []
        seen: set[str] = set()
        used: set[str] = set()
        rhymed: set[str] = set()
        years = structure == "past-present"  # one count of years, in a line of the past
        draft = critic.start(header) if critic is not None else None
        for i, kind in enumerate(seq):
            template = TEMPLATES[length][kind]
            rhymes = template[-1] == "P"
            slot = (length, template, roles[i], rhyme if rhymes else None, used, rhymed, rng)
            cands = search.candidates(*slot, years=years and roles[i] == "past")
            if place and 2 * (naming(lines, place) + count - i) <= count:
                cands = _naming(place, cands, partial(search.candidates, *slot, want=4 * LINE_CANDIDATES))
            fits = fit.against(lines or [first])
            bonus = [
                LINE_BONUS * (cohesion(c, scene, seen) + MOOD_POINT * search.in_mood[c])
                + LINE_FIT * fits(c[:-3])
                - TAIL_MISFIT * max(0.0, TAIL_FLOOR - fits(c[-3:]))
                for c in cands
            ]
            best = pick([-b for b in bonus])
            if draft is not None:
                scores = draft.losses([_punctuated(c, i) for c in cands])
                first_line = alone is None or i == 0  # standing alone is where it stands
                generic = scores if first_line else alone.losses([_punctuated(c, 0) for c in cands])
                best = pick(
                    [round(x - ANTI_LM * g - b, 4) for x, g, b in zip(scores, generic, bonus, strict=True)]
                )
                losses.append(scores[best])
                draft.append(_punctuated(cands[best], i))
            line = cands[best]
            years &= NUMYEAR.search(line) is None
            lines.append(line)
            seen |= labels_of(line)
            used |= set(line)
            if rhymes:
                rhymed.add(line[-1])
        mood_ok = read_mood(lines) == scene.mood if read_mood is not None else True
        kept = keeps_scene(lines, scene)
        loss = float(np.mean(losses)) if losses else 0.0
        pairs = shared_pairs(lines)
        poem_fit = fit.poem_score(lines)
        drafts.append(
            (
                (not mood_ok) + 2 * (not kept),
                round(loss - POEM_BONUS * pairs - POEM_FIT * poem_fit, 4),
                lines,
                {
                    "structure": structure,
                    "sequence": seq,
                    "rhyme": list(rhyme),
                    "themes": sorted(scene.themes),
                    "place": sorted(place),
                    "loss": round(loss, 4),
                    "shared_pairs": round(pairs, 4),
                    "line_fit": round(poem_fit, 4),
                    "mood_read_back": mood_ok,
                    "keeps_scene": kept,
                },
            )
        )
    best = min(range(len(drafts)), key=lambda k: (drafts[k][0], drafts[k][1], k))
    return drafts[best][2], drafts[best][3]


def opening(scene: Scene) -> str:
    """What the first line's fit is taken against, having no lines before it: the scene's own
    characters (the prompt's, the season's name, the mood's).

    >>> opening(Scene(frozenset(), "autumn", True, "nostalgic", chars=frozenset("夜秋")))
    '夜秋'
    """
    return "".join(sorted(scene.chars))


def _naming(place: frozenset[str], cands: list[str], more: Callable[[], list[str]]) -> list[str]:
    """The candidates naming one of ``place``'s labels, searching wider (``more``, up to three
    times) when none does; all of ``cands`` when none is found."""
    for _ in range(3):
        if found := [c for c in cands if labels_of(c) & place]:
            return found
        cands = cands + [c for c in more() if c not in cands]
    return [c for c in cands if labels_of(c) & place] or cands


def keeps_scene(lines: list[str], scene: Scene) -> bool:
    """Whether at least half of ``lines`` name one of the scene's own labels (always, for a scene
    without labels).

    >>> sc = Scene(frozenset({"forest"}), "autumn", True, "mysterious")
    >>> keeps_scene(["树影园林不见人", "梦中无计出风尘", "自怜深院多如此", "借问谁家有鬼神"], sc)
    False
    >>> keeps_scene(["松下幽人不见人", "梦中无计出风尘", "竹林深院多如此", "借问谁家有鬼神"], sc)
    True
    """
    return not scene.labels or 2 * naming(lines, scene.labels) >= len(lines)


def naming(lines: list[str], labels: frozenset[str]) -> int:
    """How many of ``lines`` name one of ``labels``.

    >>> naming(["松下幽人", "梦中无计", "竹林深院"], frozenset({"forest"}))
    2
    """
    return sum(bool(labels_of(ln) & labels) for ln in lines)


def cohesion(line: str, scene: Scene, seen: set[str]) -> float:
    """How well ``line`` keeps to the scene: the scene's labels it names (two at most), plus half
    a point if it shares a label with the lines before, less a point for each
    foreign label.

    >>> sc = Scene(frozenset({"moon"}), "autumn", True, "nostalgic", themes=frozenset({"home"}))
    >>> cohesion("故园明月照归人", sc, set()), cohesion("丞相宫中舞霓裳", sc, {"moon"})
    (2.0, -2.0)
    """
    labels = labels_of(line)
    own = len(labels & scene.labels)
    shared = len(labels & seen)
    foreign = len(labels - scene.allowed)
    return min(own, 2) + 0.5 * min(shared, 1) - foreign


def shared_pairs(lines: list[str]) -> float:
    """The share of a poem's line pairs that name a common label (motif or theme).

    >>> shared_pairs(["故园明月", "明月照人", "江上风"])
    0.3333
    """
    labels = [labels_of(ln) for ln in lines]
    pairs = [(a, b) for i, a in enumerate(labels) for b in labels[i + 1 :]]
    return round(sum(bool(a & b) for a, b in pairs) / len(pairs), 4) if pairs else 0.0


def _punctuated(line: str, index: int) -> str:
    return line + ("。" if index % 2 else "，") + "\n"
