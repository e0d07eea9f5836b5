"""The Chinese phrase bank: units of Tang verse by kind, tone pattern, motif, season and mood.

``assets/phrases_zh.json`` is built by ``recipes/verse_bank.py`` from the Tang poems the
built-in poet trained on (public domain): two-character heads (``head2``), four-character heads
(``head4``, seven-character lines) and three-character tails (``tail3``), never whole lines.
Each unit carries its tones by modern readings and by the Pingshui book; a unit *fits* a tone
pattern (``P`` level, ``Z`` oblique, ``*`` free) when both readings agree with it wherever the
pattern fixes a tone. Its labels are the motifs (``bank_zh.MOTIFS``) and themes (``THEMES``) its
characters name (``labels_of``); units naming a person or an office (``is_name``: 潘家, 谢公,
文吏...) are left out of the bank. Each unit also carries its *kind*, the parts of speech of its
words (``kind_of``: ``N`` noun, ``V`` verb, ``A`` adjective, ``D`` adverb or function word, ``M``
numeral), the slots a two-character head takes in the corpus (``F`` first, ``S`` second), and
whether it names a dynasty (``proper_of``: 隋家, 汉使) and whether the corpus holds it in
one poem only (``single``); the bank records how often
each sequence of kinds occurs in the corpus' lines (``Bank.grammar``).

>>> bank = load_bank()
>>> all(fits(u, "PZ") for u in bank.matching("head2", "PZ")[:20])
True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from museforge.errors import MuseforgeError

FILE = "phrases_zh.json"

EXTRA_MOTIF_CHARS = {
    "forest": "叶枝藤苔树",
    "mountain": "峦壑岫",
    "river": "波浪舟帆渡汀洲",
    "sea": "涛鸥",
    "village": "家园篱柴田桑",
    "city": "宫阙楼巷",
    "flower": "芳蕊蝶",
    "moon": "蟾",
    "night": "灯星漏烛",
    "wind": "飙",
    "rain": "霖",
    "snow": "霰",
    "cloud": "霞岚",
}
"""Characters that name a motif besides its one-character keys."""

THEMES = {
    "home": "乡归故家园旧梓",
    "parting": "别送离辞远客",
    "frontier": "塞戍征兵胡烽关戈甲边",
    "court": "宫殿阙御臣帝",
    "temple": "僧寺禅佛钟磬经",
    "wine": "酒杯醉樽觞",
    "music": "琴笛箫歌管弦瑟",
    "age": "老鬓衰翁岁",
    "hermit": "隐樵渔钓蓑",
    "travel": "路途驿舟帆行马征",
    "immortal": "仙",
}
"""Themes a poem keeps to, by the characters that name them (a unit may carry several; 朝 is left
to ``THEME_WORDS``: 今朝 and 明朝 are days, 朝天 and 朝衣 the court)."""

THEME_WORDS = {
    "court": (
        "天子 君王 圣主 明主 至尊 天颜 龙颜 圣朝 圣代 圣恩 皇恩 承恩 恩波 昭阳 建章 未央宫 长乐 "
        "朝天 朝廷 朝衣 朝回 朝元 朝野 朝士 朝簪 朝谒 朝客 朝服 朝端 朝班 登朝 入朝 下朝 早朝 退朝 "
        "满朝 中朝 先朝 前朝 市朝 阁老 "
        "长门 椒房 上林 紫禁 紫宸 紫阁 丹墀 丹禁 玉阶 龙楼 凤城 凤池 金门 玉堂 金銮 銮舆 九重 禁中 "
        "银台 兰台 粉署 青琐 黄阁 台阁 台郎 郎官 诸郎 檀郎 内家 簪缨 冠冕 朱门 侯门 豪家 五侯 诸侯 "
        "公侯 相府 金吾 羽林 天仗 仙仗 五陵 恩门 中使"
    ),
    "immortal": "蓬莱 瀛洲 蓬瀛 三岛 王母 瑶池 瑶台 玉京 紫府 洞天 丹砂 金丹 长生 羽客 九天 天台 刘阮",
}
"""Words that name a theme with none of its characters (天子, 昭阳, 豪家: the court and its houses;
蓬莱, 王母: the immortals); their characters name nothing else (豪家 is no home)."""
_THEME_WORD = {name: re.compile("|".join(words.split())) for name, words in THEME_WORDS.items()}

_SURNAMES = (
    "陆潘谢陶阮嵇萧卫贾庾鲍孟韩杜刘张王李陈赵周郑孙冯褚蒋沈韦杨朱秦许吕曹崔卢裴苏范彭郭梁宋袁徐邓薛羊颜荀石白"
)
_NAME_RULES = (
    f"[{_SURNAMES}][家郎公侯生令君卿]",  # 潘家, 谢公, 刘郎, 陶令, 贾生...
    "潘岳|潘安|谢安|谢朓|陶潜|渊明|阮籍|嵇康|相如|文君|宋玉|屈原|屈平|贾谊|班超|李广|苏武|张翰|王粲"
    "|庾信|萧史|弄玉|西施|昭君|明妃|项羽|范蠡|孔子|仲尼|伯夷|叔齐|汉武|秦皇|汉皇|明皇|武帝|文帝"
    "|子房|韩信|张良|孟尝|信陵|荆轲|廉颇|马援|卫青|子猷|王乔|安期|羲之|右军|子胥|夫差|勾践|太白"
    "|少陵|嫖姚|卫霍|李白|杜甫|王维|梁王|汉家|侯家|金马|玉辇|帝乡|颜回|金谷|谢客|星郎|仙郎|玄晖|摩诘|子美|逸少",
    "文吏|丞相|太守|刺史|御史|尚书|侍郎|县令|使君|都护|校尉|中丞|学士|拾遗|员外|参军|主簿|明府"
    "|廷尉|侍中|仆射|长史|别驾|少府|公卿|卿相|将相|司马",
)
NAME_PATTERN = re.compile("|".join(_NAME_RULES))
"""Persons (a surname with 家, 郎, 公...; names of history), and offices: never in a poem."""


DYNASTY = re.compile("[秦汉魏晋隋唐吴楚越齐梁陈燕赵蜀][家使宫帝王将朝皇主室国]")
"""A dynasty or state with its house, envoy, court...: history, which a scene seldom gives."""
NUMYEAR = re.compile("[一二三四五六七八九十百千两数半][一二三四五六七八九十]?[年岁]")
"""A count of years or an age (三十年前, 半年, 七岁): filler unless the poem turns from past to present."""

_COARSE = {"v": "V", "a": "A", "z": "A", "b": "A", "d": "D", "p": "D", "c": "D", "u": "D", "r": "D"}
_COARSE |= {"y": "D", "e": "D", "o": "D", "h": "D", "k": "D", "x": "D"}
_NUMERALS = "一二三四五六七八九十百千万两"


def kind_of(text: str) -> str:
    """The parts of speech of ``text``'s words (jieba's tagger, build time only), repeats merged.

    >>> kind_of("明月"), kind_of("事不齐"), kind_of("三十年前")
    ('N', 'ND', 'MN')
    """
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.ERROR)
    out = ""
    for w in jieba.posseg.cut(text, HMM=False):
        flag = w.flag
        if flag.startswith("m") or flag == "q":
            k = "M" if any(c in _NUMERALS for c in w.word) else "N"
        elif flag == "zg":
            k = "V"
        else:
            k = _COARSE.get(flag[0], "N")
        if not out.endswith(k):
            out += k
    return out


def proper_of(text: str) -> bool:
    """Whether ``text`` names a dynasty or state with its house, envoy or court (``DYNASTY``).

    >>> proper_of("隋家夜合"), proper_of("故园")
    (True, False)
    """
    return DYNASTY.search(text) is not None


def is_name(text: str) -> bool:
    """Whether ``text`` names a person or an office (``NAME_PATTERN``).

    >>> is_name("路是潘家"), is_name("文吏何曾"), is_name("襄阳道"), is_name("故园")
    (True, True, False, False)
    """
    return NAME_PATTERN.search(text) is not None


_NOT_LABEL = {"flower": "园"}  # 故园, 田园: home, not a garden


@cache
def label_chars() -> dict[str, str]:
    """Label (motif or theme) -> the characters that name it."""
    from museforge.text.bank_zh import MOTIFS, words

    out = {}
    for name, motif in MOTIFS.items():
        keys = "".join(k for k in words(motif.keys) if len(k) == 1 and "\u4e00" <= k <= "\u9fff")
        out[name] = "".join(c for c in keys if c not in _NOT_LABEL.get(name, "")) + EXTRA_MOTIF_CHARS.get(
            name, ""
        )
    return out | THEMES


def labels_of(text: str) -> frozenset[str]:
    """The motifs and themes whose characters or words (``THEME_WORDS``) ``text`` holds.

    >>> sorted(labels_of("故园秋月")), sorted(labels_of("况是豪家"))
    (['home', 'moon', 'village'], ['court'])
    """
    named = set()
    for name, pattern in _THEME_WORD.items():
        text, found = pattern.subn("", text)  # 豪家 names the court, not a home
        if found:
            named.add(name)
    return frozenset(named | {name for name, cs in label_chars().items() if any(c in text for c in cs)})


@dataclass(frozen=True)
class Unit:
    """One phrase of the bank and its tags."""

    text: str
    count: int
    tones_modern: str
    tones_pingshui: str
    motifs: frozenset[str]  # motif and theme labels
    seasons: frozenset[str]  # empty: any season
    time: str  # "day", "dusk", "night" or ""
    mood: str  # the mood the emotion lexicon reads in it, or ""
    kind: str = ""  # parts of speech (``kind_of``)
    place: str = ""  # two-character heads: the slots it takes, F first, S second
    proper: bool = False  # a dynasty or a state's house, envoy... (``proper_of``)
    single: bool = False  # found in only one poem of the corpus


def fits(unit: Unit, pattern: str) -> bool:
    """Whether both readings of ``unit`` keep ``pattern`` (unknown tones, ``?``, are unchecked).

    >>> fits(Unit("归未得", 1, "PZP", "PZZ", frozenset(), frozenset(), "", ""), "PZZ")
    False
    """
    return all(
        want == "*" or (m in (want, "?") and p in (want, "?"))
        for want, m, p in zip(pattern, unit.tones_modern, unit.tones_pingshui, strict=True)
    )


_SEASON = {"s": "spring", "u": "summer", "a": "autumn", "w": "winter"}


class Bank:
    """The units by kind, with the units fitting each tone pattern cached."""

    def __init__(self, data: dict) -> None:
        self.meta = {k: v for k, v in data.items() if k not in ("units", "grammar")}
        self.grammar: dict[str, int] = data.get("grammar", {})
        self.units: dict[str, list[Unit]] = {
            kind: [
                Unit(t, n, tm, tp, frozenset(m.split()), frozenset(_SEASON[c] for c in s), time, mood, *more)
                for t, n, tm, tp, m, s, time, mood, *more in rows
                if not is_name(t)
            ]
            for kind, rows in data["units"].items()
        }
        self.kinds = {kind: {u.text: u.kind for u in units} for kind, units in self.units.items()}
        self._fitting: dict[tuple[str, str], list[Unit]] = {}

    def line_kinds(self, line: str, four: bool = False) -> str | None:
        """The kinds sequence of ``line`` cut 2+3, 2+2+3 or (``four``) 4+3, as ``grammar`` counts
        it; None when a part is not in the bank."""
        cuts = {5: ((0, 2, "head2"),), 7: ((0, 4, "head4"),) if four else ((0, 2, "head2"), (2, 4, "head2"))}
        parts = [self.kinds[k].get(line[a:b]) for a, b, k in cuts.get(len(line), ())]
        parts.append(self.kinds["tail3"].get(line[-3:]))
        return None if None in parts or len(parts) < 2 else f"{len(line)}:" + "+".join(parts)  # type: ignore[arg-type]

    def matching(self, kind: str, pattern: str) -> list[Unit]:
        """Units of ``kind`` that fit ``pattern``, most frequent first."""
        key = (kind, pattern)
        if key not in self._fitting:
            self._fitting[key] = [u for u in self.units[kind] if fits(u, pattern)]
        return self._fitting[key]


@cache
def load_bank() -> Bank:
    """The shipped bank (read once), or a one-line error saying how to rebuild it."""
    path = resources.files("museforge.text") / "assets" / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise MuseforgeError(
            f"cannot read the phrase bank {FILE}: {err}; rebuild it with recipes/verse_bank.py"
        ) from None
    return Bank(data)
