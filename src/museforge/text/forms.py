"""Poetic forms and a checker that names every fault of a poem against its form.

Chinese regulated verse (近体诗) is checked on four things:

* line count and Han characters per line (punctuation is not counted);
* rhyme on the even lines, by the pinyin final of the last character (``Style.FINALS``,
  tone-insensitive), with near-equal finals grouped as in the thirteen rhyme classes (十三辙)
  of modern recitation: ``an/ian/uan/üan`` are one group, ``eng/ing/ong/iong`` another, ...;
* level and oblique tones (平仄): tones 1 and 2 are level (平), 3 and 4 oblique (仄). The 2nd,
  4th (and 6th) characters of a line must alternate, a rhyming line ends level and a
  non-rhyming line (after the first) ends oblique, the lines of a couplet oppose (对) at the 2nd
  character and a couplet's first line sticks (粘) to the line before.

Modern Mandarin tones only approximate Middle Chinese: the entering tone (入声) has vanished and
many of its characters now read level. ``ENTERING_LEVEL`` lists common ones, which count as
oblique here; other divergences remain, so a tone fault is a hint, not a verdict.
``rhymes="pingshui"`` judges by the Pingshui rhyme book instead (``museforge.text.pingshui``):
the rhyme characters must share one of its 106 groups (level tone) and each character's tone is
the book's (its modern reading where the book lists it under both tones or not at all). Tang
poems keep the book, not modern finals.

English forms: the quatrain (four lines rhymed ABAB), the haiku (5-7-5 syllables) and the
Shakespearean sonnet (fourteen lines of ten syllables, ABAB CDCD EFEF GG; stress is not checked). Syllables
and rhymes come from the CMU dictionary when the optional ``pronouncing`` package is installed,
and from a spelling heuristic otherwise.

>>> check_poem("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", "wujue")
[]
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from itertools import pairwise

from pypinyin import Style, lazy_pinyin

from museforge.errors import MuseforgeError


@dataclass(frozen=True)
class Form:
    """A poetic form: its language, line count, line length (characters or syllables)."""

    name: str
    lang: str
    lines: int
    length: tuple[int, ...] | None
    description: str


FORMS: dict[str, Form] = {
    "wujue": Form("wujue", "zh", 4, (5,) * 4, "五言绝句: four lines of five characters"),
    "qijue": Form("qijue", "zh", 4, (7,) * 4, "七言绝句: four lines of seven characters"),
    "wulv": Form("wulv", "zh", 8, (5,) * 8, "五言律诗: eight lines of five characters"),
    "qilv": Form("qilv", "zh", 8, (7,) * 8, "七言律诗: eight lines of seven characters"),
    "quatrain": Form("quatrain", "en", 4, None, "four lines rhymed ABAB"),
    "haiku": Form("haiku", "en", 3, (5, 7, 5), "three lines of 5, 7 and 5 syllables"),
    "sonnet": Form(
        "sonnet",
        "en",
        14,
        (10,) * 14,
        "Shakespearean sonnet: fourteen lines of ten syllables rhymed ABAB CDCD EFEF GG",
    ),
}

RHYME_PAIRS: dict[str, tuple[tuple[int, int], ...]] = {
    "quatrain": ((1, 3), (2, 4)),
    "sonnet": ((1, 3), (2, 4), (5, 7), (6, 8), (9, 11), (10, 12), (13, 14)),
}
"""English rhyme schemes as (earlier line, later line), 1-based."""


def get_form(name: str) -> Form:
    """The form called ``name``, or a one-line error listing the forms.

    >>> get_form("qijue").lines
    4
    """
    if name not in FORMS:
        raise MuseforgeError(f"unknown form {name!r}; choose one of: {', '.join(FORMS)}")
    return FORMS[name]


@dataclass(frozen=True)
class Violation:
    """One fault of a poem: its kind (lines, length, rhyme, tone), the line (1-based) and words."""

    kind: str
    line: int | None
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- Chinese phonology

RHYME_GROUPS: dict[str, tuple[str, ...]] = {
    "a": ("a", "ia", "ua"),
    "o": ("o", "uo", "e"),
    "ie": ("ie", "ve"),
    "i": ("i", "v", "er"),
    "u": ("u",),
    "ai": ("ai", "uai"),
    "ei": ("ei", "uei"),
    "ao": ("ao", "iao"),
    "ou": ("ou", "iou"),
    "an": ("an", "ian", "uan", "van"),
    "en": ("en", "in", "uen", "vn"),
    "ang": ("ang", "iang", "uang"),
    "eng": ("eng", "ing", "ueng", "ong", "iong"),
}
_FINAL_TO_GROUP = {f: g for g, finals in RHYME_GROUPS.items() for f in finals}

ENTERING_LEVEL = frozenset(
    "白国竹独石十黑一七八节夕昔湿笛席急击读足福德杂烛蝶接出说发缺屋哭菊别觉拂薄叠格隔阁学"
    "折舌杰结洁捷截职直值植食识失实拾宅泽竭极集及吉疾级积夹答达乏伐罚敌滴决绝橘局佛俗族"
    "卒逐轴熟叔合盒活获惑毒伏服幅割葛鸽泼脱托膝息惜析锡悉汁织只拙琢酌浊啄卓着贼革笃不"
)
"""Entering-tone (入声) characters that modern Mandarin reads level; counted oblique."""

RHYME_BOOKS = ("modern", "pingshui")
"""How Chinese rhyme and tone are judged: modern readings (13 groups) or the Pingshui book."""

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPLIT_ZH = re.compile(r"[\n，。！？；、,.!?;:：]+")


def han_chars(text: str) -> str:
    """The Han characters of ``text``, punctuation and spaces dropped.

    >>> han_chars("白日依山尽，")
    '白日依山尽'
    """
    return "".join(_HAN.findall(text))


def rhyme_group(final: str) -> str:
    """The rhyme group of a pinyin final (tone marks or digits ignored).

    >>> rhyme_group("ian"), rhyme_group("iou"), rhyme_group("ing3")
    ('an', 'ou', 'eng')
    """
    final = final.rstrip("012345")
    return _FINAL_TO_GROUP.get(final, final)


EITHER_TONE = frozenset("看过听忘思重教醒论叹望")
"""Characters read level or oblique in verse by sense (看 kān/kàn, 重 chóng/zhòng); their tone is
not checked."""


@lru_cache(maxsize=8192)
def tones(text: str, strict: bool = False) -> tuple[str | None, ...]:
    """``"P"`` (level 平), ``"Z"`` (oblique 仄) or None (unknown) for each Han character.

    Readings come from the whole string, so context picks among a character's readings; unless
    ``strict``, a character of ``EITHER_TONE`` is None.

    >>> "".join(t or "?" for t in tones("白日依山尽"))
    'ZZPPZ'
    """
    text = han_chars(text)
    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    out: list[str | None] = []
    for char, syl in zip(text, syllables, strict=True):
        digit = syl[-1] if syl and syl[-1].isdigit() else ""
        if not strict and char in EITHER_TONE:
            out.append(None)
        elif char in ENTERING_LEVEL or digit in ("3", "4"):
            out.append("Z")
        elif digit in ("1", "2"):
            out.append("P")
        else:
            out.append(None)
    return tuple(out)


def verse_tones(text: str, rhymes: str = "modern") -> tuple[str | None, ...]:
    """``tones`` by modern readings, or by the Pingshui book where it gives one tone.

    >>> "".join(t or "?" for t in verse_tones("独坐幽篁里", "pingshui"))
    'ZZPPZ'
    """
    modern = tones(text)
    if rhymes == "modern":
        return modern
    from museforge.text import pingshui

    book = (pingshui.tone(c) for c in han_chars(text))
    return tuple(b if b in ("P", "Z") else m for b, m in zip(book, modern, strict=True))


@lru_cache(maxsize=8192)
def line_final_group(line: str) -> str | None:
    """The rhyme group of the last Han character of a line, read in context.

    >>> line_final_group("黄河入海流"), line_final_group("更上一层楼")
    ('ou', 'ou')
    """
    chars = han_chars(line)
    if not chars:
        return None
    final = lazy_pinyin(chars, style=Style.FINALS)[-1]
    return rhyme_group(final) if final else None


# ---------------------------------------------------------------- English phonology

try:  # optional: the CMU pronouncing dictionary
    import pronouncing as _pronouncing
except ImportError:  # pragma: no cover - depends on the environment
    _pronouncing = None

_WORD = re.compile(r"[A-Za-z']+")
_VOWELS = "aeiouy"


def _heuristic_syllables(word: str) -> int:
    word = word.lower().strip("'")
    if not word:
        return 0
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    if word.endswith("es") and len(word) > 3 and word[-3] not in "scxzhg" and count > 1:
        count -= 1
    if word.endswith("ed") and len(word) > 3 and word[-3] not in "td" and count > 1:
        count -= 1
    return max(count, 1)


def syllables(word: str) -> int:
    """Syllables of an English word: CMU dictionary if available, else a heuristic.

    >>> syllables("forest"), syllables("moon")
    (2, 1)
    """
    if _pronouncing is not None:
        phones = _pronouncing.phones_for_word(word.lower().strip("'"))
        if phones:
            return _pronouncing.syllable_count(phones[0])
    return _heuristic_syllables(word)


def line_syllables(line: str) -> int:
    """Syllables of a line of English verse."""
    return sum(syllables(w) for w in _WORD.findall(line))


def _rhyme_keys(word: str) -> set[str]:
    word = word.lower().strip("'")
    keys: set[str] = set()
    if _pronouncing is not None:
        for phones in _pronouncing.phones_for_word(word):
            keys.add(_pronouncing.rhyming_part(phones))
    if not keys:  # spelling: last vowel group and what follows, silent e dropped
        stem = word[:-1] if word.endswith("e") and len(word) > 2 else word
        match = re.search(r"[aeiouy]+[^aeiouy]*$", stem)
        keys.add(match.group(0) if match else stem)
    return keys


def words_rhyme(a: str, b: str) -> bool:
    """Whether two English words rhyme (identical words do not count).

    >>> words_rhyme("night", "light"), words_rhyme("night", "sea")
    (True, False)
    """
    a, b = a.lower(), b.lower()
    return a != b and bool(_rhyme_keys(a) & _rhyme_keys(b))


# ---------------------------------------------------------------- checking


def split_lines(text: str, lang: str) -> list[str]:
    """The verse lines of a poem; a title (a line in 《》, or a first line followed by a blank
    line) is dropped.

    Chinese lines are also split at clause punctuation, so a couplet printed on one line counts
    as two lines.

    >>> split_lines("Dusk\\n\\nthe old pond\\na frog jumps in", "en")
    ['the old pond', 'a frog jumps in']
    """
    all_lines = [ln.strip() for ln in text.strip().splitlines()]
    titled = len(all_lines) > 2 and all_lines[0] and not all_lines[1]
    raw = [ln for ln in all_lines[1:] if ln] if titled else [ln for ln in all_lines if ln]
    if raw and raw[0].startswith("《") and raw[0].endswith("》"):
        raw = raw[1:]
    if lang != "zh":
        return raw
    return [part for ln in raw for part in _SPLIT_ZH.split(ln) if han_chars(part)]


def check_poem(text: str, form: str, rhymes: str = "modern") -> list[Violation]:
    """Every fault of ``text`` against ``form``, each named in words; empty if none. ``rhymes``
    picks the rhyme book for Chinese forms (``RHYME_BOOKS``).

    >>> faults = check_poem("白日依山尽\\n黄河入海流水\\n欲穷千里目", "wujue")
    >>> [v.message for v in faults][:2]
    ['the poem has 3 lines, the form needs 4', 'line 2 has 6 characters, the form needs 5']
    """
    spec = get_form(form)
    if rhymes not in RHYME_BOOKS:
        raise MuseforgeError(f"unknown rhyme book {rhymes!r}; choose one of: {', '.join(RHYME_BOOKS)}")
    lines = split_lines(text, spec.lang)
    faults: list[Violation] = []
    if len(lines) != spec.lines:
        faults.append(
            Violation("lines", None, f"the poem has {len(lines)} lines, the form needs {spec.lines}")
        )
    if spec.lang == "zh":
        faults += _check_chinese(lines, spec, rhymes)
    else:
        faults += _check_english(lines, spec)
    return faults


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


_TONE_WORD = {"P": "level", "Z": "oblique"}


def _check_chinese(lines: list[str], spec: Form, rhymes: str = "modern") -> list[Violation]:
    faults: list[Violation] = []
    need = spec.length[0] if spec.length else 0
    for i, line in enumerate(lines, 1):
        n = len(han_chars(line))
        if n != need:
            faults.append(Violation("length", i, f"line {i} has {n} characters, the form needs {need}"))
    faults += _check_rhyme_pingshui(lines) if rhymes == "pingshui" else _check_rhyme(lines)
    faults += _check_tones(lines, need, rhymes)
    return faults


def _rhyme_lines(lines: list[str]) -> list[tuple[int, str]]:
    return [(i, han_chars(ln)) for i, ln in enumerate(lines, 1) if i % 2 == 0 and han_chars(ln)]


def _check_rhyme_pingshui(lines: list[str]) -> list[Violation]:
    """Rhyme by the Pingshui book: every even line ends in a level character of one shared group."""
    from museforge.text import pingshui

    faults: list[Violation] = []
    common: frozenset[str] | None = None
    seen: dict[str, int] = {}
    for i, chars in _rhyme_lines(lines):
        last = chars[-1]
        own = pingshui.groups(last)
        if not own:
            faults.append(
                Violation("rhyme", i, f"line {i} ends in {last}, which is in no level group of Pingshui")
            )
            continue
        if common is not None and not own & common:
            first_i = min(seen.values())
            faults.append(
                Violation(
                    "rhyme",
                    i,
                    f"line {i} ends in {last} ({'/'.join(sorted(own))}), which shares no Pingshui group "
                    f"with line {first_i} ({'/'.join(sorted(common))})",
                )
            )
            continue
        if last in seen:
            faults.append(
                Violation("rhyme", i, f"line {i} repeats the rhyme character {last} of line {seen[last]}")
            )
        common = own if common is None else common & own
        seen.setdefault(last, i)
    return faults


def _check_rhyme(lines: list[str]) -> list[Violation]:
    faults: list[Violation] = []
    even = _rhyme_lines(lines)
    if len(even) < 2:
        return faults
    first_i, first = even[0]
    group = line_final_group(first)
    seen = {first[-1]: first_i}
    for i, chars in even[1:]:
        last = chars[-1]
        own = line_final_group(chars)
        if own != group:
            faults.append(
                Violation(
                    "rhyme",
                    i,
                    f"line {i} ends in {last} (rhyme group {own}), which does not rhyme "
                    f"with {first[-1]} (rhyme group {group}) of line {first_i}",
                )
            )
        elif last in seen:
            faults.append(
                Violation("rhyme", i, f"line {i} repeats the rhyme character {last} of line {seen[last]}")
            )
        seen.setdefault(last, i)
    return faults


def _check_tones(lines: list[str], length: int, rhymes: str = "modern") -> list[Violation]:
    faults: list[Violation] = []
    fixed = [p for p in (2, 4, 6) if p < length]
    second: list[str | None] = []
    for i, line in enumerate(lines, 1):
        chars = han_chars(line)
        t = verse_tones(chars, rhymes)
        if len(t) != length:
            second.append(None)
            continue
        for a, b in pairwise(fixed):
            if t[a - 1] and t[a - 1] == t[b - 1]:
                faults.append(
                    Violation(
                        "tone",
                        i,
                        f"line {i}: the {_ordinal(a)} and {_ordinal(b)} characters "
                        f"({chars[a - 1]}, {chars[b - 1]}) are both {_TONE_WORD[t[a - 1]]}; "
                        "they should alternate",
                    )
                )
        end = t[-1]
        if i % 2 == 0 and end == "Z":
            faults.append(
                Violation("tone", i, f"line {i} rhymes, so it should end level; {chars[-1]} is oblique")
            )
        if i % 2 == 1 and i > 1 and end == "P":
            faults.append(
                Violation(
                    "tone", i, f"line {i} does not rhyme, so it should end oblique; {chars[-1]} is level"
                )
            )
        second.append(t[1])
    for i in range(2, len(second) + 1):
        prev, cur = second[i - 2], second[i - 1]
        if prev is None or cur is None:
            continue
        if i % 2 == 0 and prev == cur:
            faults.append(
                Violation(
                    "tone",
                    i,
                    f"line {i} should oppose line {i - 1} at the 2nd character (对); both are "
                    f"{_TONE_WORD[cur]}",
                )
            )
        if i % 2 == 1 and prev != cur:
            faults.append(
                Violation(
                    "tone",
                    i,
                    f"line {i} should match line {i - 1} at the 2nd character (粘); it is "
                    f"{_TONE_WORD[cur]}, line {i - 1} {_TONE_WORD[prev]}",
                )
            )
    return faults


def _last_word(line: str) -> str:
    words = _WORD.findall(line)
    return words[-1] if words else ""


def _check_english(lines: list[str], spec: Form) -> list[Violation]:
    faults: list[Violation] = []
    if spec.length:
        for i, (line, need) in enumerate(zip(lines, spec.length, strict=False), 1):
            n = line_syllables(line)
            if n != need:
                faults.append(Violation("length", i, f"line {i} has {n} syllables, the form needs {need}"))
    for a, b in RHYME_PAIRS.get(spec.name, ()):
        if len(lines) >= b:
            wa, wb = _last_word(lines[a - 1]), _last_word(lines[b - 1])
            if not words_rhyme(wa, wb):
                faults.append(
                    Violation(
                        "rhyme", b, f"line {b} ends in {wb!r}, which does not rhyme with {wa!r} of line {a}"
                    )
                )
    return faults
