"""The one mapping from an Emotion to the choices every engine makes.

Write ``a = (arousal + 1) / 2`` and ``v = (valence + 1) / 2``, both in [0, 1]. Then:

Images
    hue          the mood's base hue (``MoodSpec.hue``); the palette spreads around it by
                 ``20 + 40 a`` degrees and adds one accent a third of the wheel away
    saturation   ``0.30 + 0.50 a``     calm moods are muted, excited ones vivid
    lightness    ``0.30 + 0.40 v``     sad moods are dark, glad ones light
    contrast     ``0.35 + 0.65 a``
    stroke energy ``a``                length, curvature noise and density of marks
Music
    mode         ``MoodSpec.mode`` (major, minor, dorian, phrygian, lydian, mixolydian)
    tonic        ``MoodSpec.tonic``
    tempo        ``round(56 + 84 a + 8 valence)`` beats per minute
    register     melody centre ``60 + round(7 valence)`` (MIDI pitch)
    dynamics     velocity ``round(46 + 64 a)``
    density      ``0.75 + 1.5 a`` notes per beat in the melody
Text
    mood words   ``MOOD_WORDS[label][lang]``: imagery the poem leans toward (none for a mood
                 without an entry there)
    line energy  ``a``: short, exclamatory lines when high; long, quiet lines when low
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

from museforge.emotion.moods import MOODS_TABLE, Emotion

# Imagery words per mood and language (vocabulary; every other per-mood setting is in MOODS_TABLE).
MOOD_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "joyful": {
        "zh": ("春", "花", "笑", "歌", "晴", "暖", "莺", "桃", "喜", "光"),
        "en": ("bright", "sun", "bloom", "laughter", "dance", "gold", "song", "spring", "warm", "light"),
    },
    "awed": {
        "zh": ("天", "星", "峰", "云", "浩", "万", "辉", "海", "高", "长"),
        "en": (
            "vast",
            "stars",
            "summit",
            "endless",
            "thunder",
            "radiant",
            "cathedral",
            "sky",
            "sea",
            "ancient",
        ),
    },
    "serene": {
        "zh": ("静", "月", "清", "泉", "松", "闲", "烟", "鹤", "竹", "溪"),
        "en": ("still", "quiet", "moon", "calm", "pond", "soft", "dew", "mist", "rest", "gentle"),
    },
    "nostalgic": {
        "zh": ("旧", "故", "乡", "忆", "归", "昔", "年", "家", "梦", "远"),
        "en": (
            "old",
            "home",
            "remember",
            "faded",
            "letters",
            "childhood",
            "autumn",
            "return",
            "once",
            "dusk",
        ),
    },
    "melancholy": {
        "zh": ("愁", "泪", "孤", "寒", "落", "秋", "残", "暮", "别", "雨"),
        "en": ("alone", "rain", "grey", "tears", "fading", "cold", "sorrow", "falling", "empty", "lost"),
    },
    "mysterious": {
        "zh": ("幽", "雾", "深", "隐", "影", "谜", "暗", "林", "玄", "古"),
        "en": ("shadow", "mist", "hidden", "secret", "whisper", "deep", "veil", "strange", "forest", "dim"),
    },
    "tense": {
        "zh": ("急", "危", "惊", "紧", "疾", "险", "风", "鼓", "追", "夜"),
        "en": (
            "edge",
            "sharp",
            "racing",
            "storm",
            "breath",
            "pulse",
            "trembling",
            "dark",
            "chase",
            "warning",
        ),
    },
    "angry": {
        "zh": ("怒", "火", "雷", "烈", "狂", "战", "血", "剑", "吼", "焚"),
        "en": ("fire", "rage", "burning", "thunder", "iron", "blood", "roar", "fury", "storm", "break"),
    },
}


def imagery(label: str) -> dict[str, tuple[str, ...]]:
    """A mood's imagery words by language; none for a mood without an entry in ``MOOD_WORDS``.

    >>> imagery("serene")["en"][:3], imagery("no such mood")
    (('still', 'quiet', 'moon'), {'zh': (), 'en': ()})
    """
    return MOOD_WORDS.get(label) or {"zh": (), "en": ()}


@dataclass(frozen=True)
class ArtDirection:
    """The concrete choices derived from one Emotion; every engine reads the same object."""

    palette: tuple[tuple[int, int, int], ...]
    saturation: float
    lightness: float
    contrast: float
    stroke_energy: float
    mode: str
    tonic: str
    tempo: int
    register: int
    velocity: int
    density: float
    mood_words: dict[str, tuple[str, ...]]


def _rgb(hue_deg: float, lightness: float, saturation: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hls_to_rgb((hue_deg % 360.0) / 360.0, lightness, saturation)
    return (round(r * 255), round(g * 255), round(b * 255))


def make_palette(emotion: Emotion, size: int = 6) -> tuple[tuple[int, int, int], ...]:
    """Colours from darkest to lightest around the mood's hue, the last one an accent.

    >>> len(make_palette(Emotion("serene", 0.6, -0.6)))
    6
    """
    a = (emotion.arousal + 1) / 2
    v = (emotion.valence + 1) / 2
    hue = MOODS_TABLE[emotion.label].hue
    spread = 20 + 40 * a
    sat = 0.30 + 0.50 * a
    light = 0.30 + 0.40 * v
    colours = []
    for i in range(size - 1):
        t = i / max(size - 2, 1)
        colours.append(_rgb(hue - spread / 2 + spread * t, light * (0.45 + 0.9 * t), sat))
    colours.append(_rgb(hue + 120 + 60 * (1 - v), min(0.85, light + 0.15), min(1.0, sat + 0.2)))
    return tuple(colours)


def art_direction(emotion: Emotion) -> ArtDirection:
    """Apply the mapping in this module's docstring.

    >>> d = art_direction(Emotion("angry", -0.8, 0.8))
    >>> (d.mode, d.tempo, d.velocity)
    ('phrygian', 125, 104)
    """
    a = (emotion.arousal + 1) / 2
    v = (emotion.valence + 1) / 2
    spec = MOODS_TABLE[emotion.label]
    return ArtDirection(
        palette=make_palette(emotion),
        saturation=0.30 + 0.50 * a,
        lightness=0.30 + 0.40 * v,
        contrast=0.35 + 0.65 * a,
        stroke_energy=a,
        mode=spec.mode,
        tonic=spec.tonic,
        tempo=round(56 + 84 * a + 8 * emotion.valence),
        register=60 + round(7 * emotion.valence),
        velocity=round(46 + 64 * a),
        density=0.75 + 1.5 * a,
        mood_words=imagery(emotion.label),
    )
