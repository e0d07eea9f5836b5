"""A rule-based composer of English quatrains (ABAB), sonnets and haiku from template lines.

A line is an opening clause plus an adverbial ending: scene lines open with ``the + mood
adjective + motif subject + verb`` ("The hidden pines lean"), the turn with a person acting,
the close with a feeling; rhymes come from endings grouped by the sound of their last word in the
CMU dictionary (``pronouncing``): hand-written ones ("into the night", "beyond the light") and a
preposition before a noun of the landscape ("across the bay", "beneath the pine", ``NOUNS``), so
every quatrain rhymes ABAB by construction. A rhyme set is drawn with weight by how many distinct
last words it holds, so no ending word dominates. Sonnet lines add a filler ("once more") between
clause and ending and are searched for ten syllables; haiku for 5-7-5. Several drafts are written
and the learned model, as a critic, keeps the most fluent whose mood reads back right.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

import numpy as np

from museforge.emotion import Emotion, art_direction
from museforge.emotion.moods import mood_words
from museforge.text.critic import Critic
from museforge.text.forms import line_syllables
from museforge.text.poet_zh import detect_motifs

T = TypeVar("T")

# (plural subject, plural verb) pairs per motif; every pair reads "the <adj> <subject> <verb>".
SUBJECTS: dict[str, list[tuple[str, str]]] = {
    "forest": [
        ("pines", "lean"),
        ("oaks", "stand"),
        ("branches", "sway"),
        ("ferns", "tremble"),
        ("leaves", "fall"),
        ("paths", "wind on"),
    ],
    "mountain": [
        ("peaks", "rise"),
        ("cliffs", "stand"),
        ("ridges", "climb"),
        ("stones", "wait"),
        ("clouds", "gather"),
        ("springs", "run"),
    ],
    "river": [
        ("waters", "run"),
        ("reeds", "bend"),
        ("currents", "turn"),
        ("ripples", "spread"),
        ("willows", "lean"),
        ("boats", "drift"),
    ],
    "sea": [
        ("waves", "break"),
        ("tides", "return"),
        ("gulls", "cry"),
        ("sails", "fade"),
        ("breakers", "roll"),
        ("shores", "wait"),
    ],
    "city": [
        ("streets", "hum"),
        ("towers", "stand"),
        ("lamps", "flicker"),
        ("windows", "glow"),
        ("crowds", "pass"),
        ("bells", "ring"),
    ],
    "flower": [
        ("blossoms", "open"),
        ("petals", "scatter"),
        ("roses", "bend"),
        ("gardens", "wake"),
        ("lilies", "float"),
        ("vines", "climb"),
    ],
    "village": [
        ("rooftops", "rest"),
        ("chimneys", "smoke"),
        ("fields", "lie still"),
        ("gates", "stand open"),
        ("orchards", "ripen"),
        ("lanes", "wind home"),
    ],
    "moon": [("moonbeams", "spill"), ("shadows", "lengthen"), ("silver clouds", "drift")],
    "night": [("stars", "burn"), ("shadows", "gather"), ("lanterns", "flicker")],
    "wind": [("winds", "rise"), ("breezes", "wander"), ("gusts", "sweep on")],
    "rain": [("raindrops", "patter"), ("gutters", "sing"), ("storm clouds", "roll")],
    "snow": [("snowflakes", "settle"), ("drifts", "deepen"), ("frozen boughs", "bend")],
    "cloud": [("clouds", "drift"), ("skies", "clear"), ("high clouds", "wander")],
}


@dataclass(frozen=True)
class Voice:
    """How a mood writes in English: scene adjectives ("the <adj> pines lean"), turns (a person
    acting) and closing feelings."""

    adjectives: tuple[str, ...]
    turns: tuple[str, ...]
    feelings: tuple[str, ...]


# The words of each mood (vocabulary; its other settings are in emotion.moods.MOODS_TABLE).
VOICES: dict[str, Voice] = {
    "joyful": Voice(
        adjectives=("bright", "golden", "laughing", "sunlit", "warm", "blooming"),
        turns=("we sing and wander", "our laughter rises", "the children dance", "I run"),
        feelings=(
            "and all my heart is singing",
            "and joy runs over",
            "and every hope takes wing",
            "and all the day is kind",
            "and my whole heart is light",
            "and the bright bells ring out",
        ),
    ),
    "awed": Voice(
        adjectives=("vast", "ancient", "endless", "radiant", "towering", "solemn"),
        turns=("I stand and marvel", "I climb and wonder", "the whole world opens"),
        feelings=(
            "and all my words fall silent",
            "and I am small and glad",
            "and wonder fills me",
            "and the old mountains speak",
            "and the great heavens turn",
            "and the wide sky opens",
        ),
    ),
    "serene": Voice(
        adjectives=("still", "quiet", "gentle", "soft", "calm", "patient"),
        turns=("I sit and listen", "I rest a while", "a heron waits", "the hours drift"),
        feelings=(
            "and all my cares are resting",
            "and peace comes slowly",
            "and nothing calls me",
            "and the whole world is still",
            "and my breathing is slow",
            "and the still pond is calm",
        ),
    ),
    "nostalgic": Voice(
        adjectives=("old", "faded", "familiar", "distant", "weathered", "remembered"),
        turns=("I walk the old roads", "I think of home", "the years come back", "I read old letters"),
        feelings=(
            "and old days wait for me",
            "and I am young once more",
            "and memory stays",
            "and the old songs still play",
            "and the lamp burns so low",
        ),
    ),
    "melancholy": Voice(
        adjectives=("grey", "cold", "lonely", "fading", "empty", "weary"),
        turns=("I walk alone", "my footsteps linger", "a single bird calls", "the last friend leaves"),
        feelings=(
            "and sorrow lingers",
            "and all my tears are falling",
            "and no one waits",
            "and the cold wind will stay",
            "and the last of light fades",
            "and the cold rain will fall",
        ),
    ),
    "mysterious": Voice(
        adjectives=("hidden", "silent", "secret", "dim", "strange", "veiled"),
        turns=("I follow a whisper", "a lantern wanders", "I stop and listen", "a stranger passes"),
        feelings=(
            "and something calls my name",
            "and secrets stir",
            "and no one answers",
            "and a door opens wide",
            "and the shadows all know",
            "and a distant bell rings",
        ),
    ),
    "tense": Voice(
        adjectives=("restless", "trembling", "sharp", "uneasy", "watchful", "dark"),
        turns=("I hold my breath", "the drums are beating", "a warning sounds", "I hurry on"),
        feelings=(
            "and every heartbeat quickens",
            "and danger waits",
            "and nothing rests",
            "and the storm is coming",
            "and my hands are shaking",
            "and the night holds its breath",
        ),
    ),
    "angry": Voice(
        adjectives=("burning", "iron", "furious", "wild", "scorched", "raging"),
        turns=("I draw my sword", "the thunder answers", "I shout my anger", "the old walls shake"),
        feelings=(
            "and all my rage is burning",
            "and fury rises",
            "and nothing yields",
            "and the whole sky burns red",
            "and my fists are clenched tight",
            "and the iron will break",
        ),
    ),
}


def voice(emotion: Emotion) -> Voice:
    """The English words of the emotion's mood, or a one-line error naming the missing words."""
    return mood_words(VOICES, emotion.label, "museforge.text.poet_en.VOICES")


# Rhyme sets: endings that follow any clause. "motif:" restricts an ending to that motif.
RHYMES: dict[str, list[str]] = {
    "night": [
        "into the night",
        "beyond the light",
        "in silver light",
        "out of sight",
        "in the failing light",
    ],
    "day": [
        "at the close of day",
        "along the way",
        "in the morning grey",
        "far away",
        "till the break of day",
    ],
    "sea": ["sea:beside the sea", "forest:beneath the tree", "for none to see", "where I long to be"],
    "stone": ["all alone", "on weathered stone", "into the unknown", "where the winds have blown"],
    "snow": ["snow:through drifts of snow", "river:where rivers flow", "soft and slow", "far below"],
    "rain": ["rain:in the falling rain", "across the plain", "down the lane", "once again"],
    "sound": ["without a sound", "on sacred ground", "all around", "where dreams are found"],
    "deep": [
        "where the shadows sleep",
        "in the silence deep",
        "on the hillside steep",
        "where the willows weep",
    ],
    "star": ["beneath a distant star", "near and far", "wherever we are"],
    "song": ["all the evening long", "in a wordless song", "where the winds are strong"],
    "sky": [
        "across the sky",
        "as the hours go by",
        "where the swallows fly",
        "with a quiet sigh",
        "as the years pass by",
    ],
    "home": ["far from home", "sea:through the foam", "where the wanderers roam", "beneath the dome"],
    "heart": ["deep in my heart", "before we part", "where the old roads start", "set apart"],
    "air": ["in the evening air", "beyond compare", "here and there", "without a care"],
    "gold": [
        "in green and gold",
        "as the tale is told",
        "in the morning cold",
        "where the bells have tolled",
    ],
    "hill": ["upon the hill", "against my will", "so calm and still", "where the waters spill"],
    "shore": ["along the shore", "sea:on the ocean floor", "as once before", "beside the door"],
    "grace": ["with gentle grace", "in this quiet place", "face to face", "without a trace"],
    "year": ["year after year", "when the skies are clear", "far and near", "as the dusk draws near"],
    "rest": ["towards the west", "within my breast", "at last to rest", "on the mountain crest"],
}
NOUNS: dict[str, str] = {
    "across the|beyond the|over the": "plain field moor heath vale dale lea fen glen glade grass ground corn "
    "ravine marsh lawn wold pass heather park countryside green moss bog rise maze peak fields hills "
    "moors downs plains dales fens glens heaths meadows lawns shire fell vales broom thyme land",
    "across the|beyond the|over the@sea river": "bay sand dune lake mere sea seas lagoon waves lakes dunes "
    "lagoons",
    "along the|beside the|by the": "lane road ridge hedge wall path trail hill dell well grove mill stone "
    "gate door tower spire bridge ledge fence bank nook pane sill wood crest hollow fold mound hall stile "
    "briar rose swan flock cross nest inn pool cave church mountainside lanes ridges hedges ledges walls "
    "halls towers gates stones rocks groves mills stiles caves wells inns log cascade trails sills",
    "along the|beside the|by the@sea river": "shore coast stream brook creek river strand quay pier rill "
    "weir cove brake isle riverside riverbed reach beach burn falls streams reeds rills coves isles "
    "springs brooks",
    "beneath the|under the": "moon sky stars clouds boughs eaves pine vine thorn oak elms trees yew bower "
    "skies fern birch palm lime leaves sheaves pines vines stars ferns birches bell beech",
    "in the|through the": "dawn dusk gloom haze mist frost storm breeze rain snow hail dew shade glow glare "
    "gleam foam air bloom night light dark cold morn gale hush blue fire smoke weather flood fall squall "
    "wake noon shower mire snows rush brush fog cool calm wave rime din rains gales showers flowers hours "
    "mists frosts days dream sheen",
    "in the|through the@sea river": "spray brine",
}
"""Nouns of the landscape by the prepositions that may stand before them (``|``) and the motifs
they are kept to (``@``, none: any); each is an ending ("beneath the pine") rhymed by its sound."""
FILLERS = (
    "",
    "now",
    "still",
    "again",
    "once more",
    "so slowly",
    "in silence",
    "as ever",
    "while I wait",
    "through the hours",
    "and softly",
    "for a while",
)
"""Words that may stand between a clause and its ending, to bring a line to its syllables."""


def _own_rng(prompt: str, rng: np.random.Generator) -> np.random.Generator:
    """A generator drawn from ``rng`` and the prompt: the same seed gives different prompts
    different rhymes and words (still one poem per prompt and seed)."""
    return np.random.default_rng([int(rng.integers(2**63)), zlib.crc32(prompt.encode("utf-8"))])


def _pick(items: Sequence[T], rng: np.random.Generator) -> T:
    return items[int(rng.integers(len(items)))]


def _subjects(prompt: str, rng: np.random.Generator) -> tuple[list[str], list[tuple[str, str]]]:
    motifs = [m for m in detect_motifs(prompt) if m in SUBJECTS] or [
        str(rng.choice(["forest", "river", "mountain"]))
    ]
    pairs = [p for m in motifs[:2] for p in SUBJECTS[m]]
    return motifs, pairs


def _adjectives(emotion: Emotion) -> list[str]:
    mine = voice(emotion).adjectives
    given = [w for w in art_direction(emotion).mood_words["en"] if w in mine]
    return [*mine, *given]  # words the shared mapping also names are drawn twice as often


def _sound(word: str) -> str | None:
    """The rhyming part of ``word``'s first reading in the CMU dictionary (None: unknown)."""
    try:
        import pronouncing
    except ImportError:  # without the dictionary: the hand-grouped sets only
        return None
    phones = pronouncing.phones_for_word(word.lower())
    return pronouncing.rhyming_part(phones[0]) if phones else None


@cache
def rhyme_sets() -> dict[str, tuple[str, ...]]:
    """Rhyme sets of endings (``"tag:text"``; a tag restricts an ending to motifs), keyed by the
    sound of their last word: ``RHYMES`` merged by sound, then ``NOUNS`` with their prepositions
    (``"across the|beyond the bay"``); a set needs two distinct last words.

    >>> sets = rhyme_sets()
    >>> len(sets) > 30, all(len({e.split()[-1] for e in v}) >= 2 for v in sets.values())
    (True, True)
    """
    sets: dict[str, list[str]] = {}
    for key, endings in RHYMES.items():
        for e in endings:
            sets.setdefault(_sound(e.split()[-1]) or key, []).append(e)
    for head, nouns in NOUNS.items():
        preps, _, tags = head.partition("@")
        tag = ",".join(tags.split())
        for noun in nouns.split():
            sound = _sound(noun)
            if sound is not None:
                sets.setdefault(sound, []).append(f"{tag}:{preps} {noun}" if tag else f"{preps} {noun}")
    return {
        k: tuple(dict.fromkeys(v)) for k, v in sorted(sets.items()) if len({e.split()[-1] for e in v}) >= 2
    }


def _endings(key: str, motifs: list[str]) -> list[str]:
    out = []
    for e in rhyme_sets()[key]:
        tag, _, text = e.rpartition(":")
        if not tag or set(tag.split(",")) & set(motifs):
            out.append(text)
    return out


def _words(key: str, motifs: list[str]) -> int:
    """How many distinct last words a rhyme set offers for ``motifs``."""
    return len({e.split()[-1] for e in _endings(key, motifs)})


def _rhyme_order(motifs: list[str], rng: np.random.Generator, count: int) -> list[str]:
    """``count`` rhyme sets (all if fewer) for ``motifs``, drawn without replacement with weight
    by their distinct last words."""
    keys = [k for k in rhyme_sets() if _words(k, motifs) >= 2]
    p = np.array([_words(k, motifs) for k in keys], dtype=float)
    pick = rng.choice(len(keys), size=min(count, len(keys)), replace=False, p=p / p.sum())
    return [keys[int(i)] for i in pick]


def _resolve(ending: str, rng: np.random.Generator) -> str:
    """An ending with its preposition chosen: ``"across the|beyond the bay"`` -> ``"beyond the bay"``."""
    if "|" not in ending:
        return ending
    *preps, last = ending.split("|")
    *prep, noun = last.split()
    options = [*preps, " ".join(prep)]
    return f"{_pick(options, rng)} {noun}"


def _two_rhymes(endings: list[str], rng: np.random.Generator) -> list[str]:
    """Two endings of one rhyme set whose last words differ (light/night, not light/light), the
    words drawn first so that a word with several endings is not drawn more often."""
    by_word: dict[str, list[str]] = {}
    for e in endings:
        by_word.setdefault(e.split()[-1], []).append(e)
    order = [str(w) for w in rng.permutation(sorted(by_word))]
    return [_resolve(_pick(by_word[w], rng), rng) for w in order[:2]]


def _scene(adjs: list[str], pairs: list[tuple[str, str]], rng: np.random.Generator, used: set[str]) -> str:
    for _ in range(20):
        adj, (noun, verb) = _pick(adjs, rng), _pick(pairs, rng)
        if adj not in used and noun not in used:
            break
    used |= {adj, noun}
    return f"the {adj} {noun} {verb}"


def compose_quatrain(
    prompt: str, emotion: Emotion, rng: np.random.Generator, critic: Critic | None = None, drafts: int = 6
) -> tuple[str, list[str]]:
    """A title and four lines rhymed ABAB: ``drafts`` candidates (with a critic), the most fluent
    whose mood reads back as the one asked."""
    rng = _own_rng(prompt, rng)
    cands = [_quatrain(prompt, emotion, rng) for _ in range(drafts if critic is not None else 1)]
    return cands[_best(cands, emotion, critic)]


def _best(cands: list[tuple[str, list[str]]], emotion: Emotion, critic: Critic | None) -> int:
    """The candidate whose mood reads back as asked, then the most fluent (the first on a tie)."""
    if critic is None or len(cands) == 1:
        return 0
    from museforge.emotion import detect_emotion

    keys = []
    for _, lines in cands:
        body = "\n".join(lines) + "\n"
        keys.append(
            (detect_emotion(body, "en").label != emotion.label, round(critic.text_loss("<verse>\n", body), 4))
        )
    return min(range(len(cands)), key=lambda i: (keys[i], i))


def _quatrain(prompt: str, emotion: Emotion, rng: np.random.Generator) -> tuple[str, list[str]]:
    motifs, pairs = _subjects(prompt, rng)
    adjs = _adjectives(emotion)
    words = voice(emotion)
    a, b = _rhyme_order(motifs, rng, 2)
    ea, eb = _two_rhymes(_endings(a, motifs), rng), _two_rhymes(_endings(b, motifs), rng)
    used: set[str] = set()
    lines = [
        f"{_scene(adjs, pairs, rng, used)} {ea[0]},",
        f"{_scene(adjs, pairs, rng, used)} {eb[0]};",
        f"{_pick(words.turns, rng)} {ea[1]},",
        f"{_pick(words.feelings, rng)} {eb[1]}.",
    ]
    lines = [ln[0].upper() + ln[1:] for ln in lines]
    return _title(motifs, adjs, rng), lines


def compose_haiku(
    prompt: str, emotion: Emotion, rng: np.random.Generator, critic: Critic | None = None, drafts: int = 4
) -> tuple[str, list[str]]:
    """A title and three lines of 5, 7 and 5 syllables; with a critic, the best of ``drafts``. The
    closing feeling is drawn once per poem among the mood's five-syllable ones, so the critic's
    favourite does not close every poem of a mood."""
    rng = _own_rng(prompt, rng)
    feelings = voice(emotion).feelings
    fives = [f for f in feelings if line_syllables(f.removeprefix("and ")) == 5] or list(feelings)
    feeling = _pick(fives, rng)
    cands = [
        _haiku(prompt, emotion, rng, feeling=feeling) for _ in range(drafts if critic is not None else 1)
    ]
    return cands[_best(cands, emotion, critic)]


def _haiku(
    prompt: str, emotion: Emotion, rng: np.random.Generator, tries: int = 300, feeling: str | None = None
) -> tuple[str, list[str]]:
    """A title and three lines searched for 5, 7 and 5 syllables; ``feeling``: the closing feeling
    line (else any of the mood's)."""
    motifs, pairs = _subjects(prompt, rng)
    adjs = _adjectives(emotion)
    words = voice(emotion)
    endings = [e for k in rhyme_sets() for e in _endings(k, motifs)]
    makers = [
        lambda: f"{_pick(adjs, rng)} {' '.join(_pick(pairs, rng))}",
        lambda: (
            f"{_pick(words.turns, rng)} {_resolve(_pick(endings, rng), rng)}"
            if rng.random() < 0.5
            else f"{_pick(adjs, rng)} {' '.join(_pick(pairs, rng))} {_resolve(_pick(endings, rng), rng)}"
        ),
        lambda: (
            (feeling or _pick(words.feelings, rng)).removeprefix("and ")
            if rng.random() < 0.5
            else f"{_pick(adjs, rng)} {' '.join(_pick(pairs, rng))}"
        ),
    ]
    lines = []
    for need, make in zip((5, 7, 5), makers, strict=True):
        best = make()
        for _ in range(tries):
            cand = make()
            if cand in lines:
                continue
            if abs(line_syllables(cand) - need) < abs(line_syllables(best) - need):
                best = cand
            if line_syllables(best) == need:
                break
        lines.append(best[0].upper() + best[1:])
    return _title(motifs, adjs, rng), lines


def compose_sonnet(
    prompt: str, emotion: Emotion, rng: np.random.Generator, critic: Critic | None = None, drafts: int = 2
) -> tuple[str, list[str]]:
    """A title and fourteen lines of ten syllables rhymed ABAB CDCD EFEF GG."""
    rng = _own_rng(prompt, rng)
    cands = [_sonnet(prompt, emotion, rng) for _ in range(drafts if critic is not None else 1)]
    return cands[_best(cands, emotion, critic)]


_SONNET_ROLES = (
    "scene",
    "scene",
    "scene",
    "scene",
    "scene",
    "turn",
    "scene",
    "turn",
    "turn",
    "scene",
    "turn",
    "feel",
    "feel",
    "feel",
)
_SONNET_RHYMES = (0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 6)


def _sonnet(prompt: str, emotion: Emotion, rng: np.random.Generator) -> tuple[str, list[str]]:
    motifs, pairs = _subjects(prompt, rng)
    adjs = _adjectives(emotion)
    words = voice(emotion)
    pending = _rhyme_order(motifs, rng, len(rhyme_sets()))
    used: set[str] = set()
    lines: dict[int, str] = {}
    for group in range(7):  # each rhyme pair from the first rhyme set whose endings fit ten syllables
        at = [i for i, g in enumerate(_SONNET_RHYMES) if g == group]
        for key in pending:
            pair = _two_rhymes(_endings(key, motifs), rng)
            written = []
            for i, ending in zip(at, pair, strict=True):
                line = _ten(
                    _SONNET_ROLES[i], ending, adjs, pairs, words, rng, used, [*lines.values(), *written]
                )
                if line is None:
                    break
                written.append(line)
            if len(written) == 2:
                lines.update(zip(at, written, strict=True))
                pending.remove(key)
                break
        else:
            raise RuntimeError("no rhyme set fits a sonnet line")  # a guard, not a path
    ordered = [lines[i] for i in range(14)]
    ordered = [ln[0].upper() + ln[1:] + ("." if i in (3, 7, 11, 13) else ",") for i, ln in enumerate(ordered)]
    return _title(motifs, adjs, rng), ordered


def _ten(
    role: str,
    ending: str,
    adjs: list[str],
    pairs: list[tuple[str, str]],
    words: Voice,
    rng: np.random.Generator,
    used: set[str],
    lines: list[str],
    need: int = 10,
) -> str | None:
    """A line of ``need`` syllables ending in ``ending``: a clause of the role, a filler, the
    ending; the first exact one in a seeded search, widening to any role (None if none is found)."""
    roles = (role, "scene", "turn", "feel")
    for attempt in range(600):
        kind = roles[min(attempt // 150, 3)]
        fresh = attempt < 200  # no clause or adjective twice, while that can be had
        adj = _pick([a for a in adjs if a not in used] or adjs if fresh else adjs, rng)
        if kind == "scene":
            noun, verb = _pick(pairs, rng)
            clause = f"the {adj} {noun} {verb}"
        elif kind == "turn":
            clause = _pick(words.turns, rng)
        else:
            clause = _pick(words.feelings, rng)
        new_fillers = [f for f in FILLERS if not f or f not in used]
        filler = _pick(new_fillers if attempt < 450 else FILLERS, rng)  # fillers stay fresh longer
        if ending.split()[-1] in clause.split():  # "the rooftops rest ... at last to rest"
            continue
        line = " ".join(p for p in (clause, filler, ending) if p)
        if line_syllables(line) == need and line not in lines and (clause not in used or not fresh):
            used.update((clause, filler, adj) if kind == "scene" else (clause, filler))
            return line
    return None


def _title(motifs: list[str], adjs: list[str], rng: np.random.Generator) -> str:
    noun = {
        "forest": "Woods",
        "mountain": "Heights",
        "river": "River",
        "sea": "Sea",
        "city": "City",
        "flower": "Garden",
        "village": "Home",
        "moon": "Moon",
        "night": "Night",
        "wind": "Wind",
        "rain": "Rain",
        "snow": "Snow",
        "cloud": "Sky",
    }[motifs[0]]
    return f"{_pick(adjs, rng).title()} {noun}"
