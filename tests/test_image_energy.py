"""The mood's stroke energy reaches the procedural painter and changes what it paints.

``art_direction(emotion).stroke_energy`` (arousal) is meant to set how many strokes, dabs, beams
or glass pieces a style lays down and how long, curled or jittered they are. The first test holds
everything else fixed (same mood, palette, contrast, seed) and changes only the stroke energy
that the engine receives, so a painter that ignores it (a constant in any style, or in the
engine) paints byte-identical images and fails. The second checks the whole path from a mood:
an angry painting has more strokes than a serene one.
"""

from __future__ import annotations

import dataclasses
import io
import re

import numpy as np
import pytest
from PIL import Image

import museforge.image.procedural.engine as engine
from museforge.emotion import art_direction, emotion_from_label
from museforge.engines import Request
from museforge.image.procedural import STYLES, ProceduralPainting, ProceduralParams
from museforge.runtime import make_generator

SIZE = 96
SEEDS = (0, 1)
PROMPTS = {  # a scene where each style's energy-driven marks show
    "flow-field": "a forest by the sea",
    "ink-wash": "mountains and a river",
    "botanical": "a forest",
    "geometric": "calm",  # no motif: mountains and beams
    "pointillism": "a forest by the sea",
    "stained-glass": "a forest by the sea",
}
# least ratio of edge energy, stroke energy 1 over stroke energy 0 (mean of SEEDS); measured at
# 96 px: flow-field 1.7-1.9, ink-wash 1.17-1.28, botanical 1.06-1.31, geometric 1.69-1.85,
# pointillism 1.37-1.43, stained-glass 1.10-1.18. A constant energy gives exactly 1.
MIN_RATIO = {
    "flow-field": 1.4,
    "ink-wash": 1.08,
    "botanical": 1.03,
    "geometric": 1.3,
    "pointillism": 1.2,
    "stained-glass": 1.05,
}


def paint(style: str, seed: int, mood: str = "mysterious", energy: float | None = None):
    """One painting through the engine; ``energy`` overrides only the direction's stroke energy."""
    req = Request(
        PROMPTS[style], "en", emotion_from_label(mood), seed, ProceduralParams(style=style, size=SIZE)
    )
    with pytest.MonkeyPatch.context() as mp:
        if energy is not None:
            mp.setattr(
                engine,
                "art_direction",
                lambda emo: dataclasses.replace(art_direction(emo), stroke_energy=energy),
            )
        return ProceduralPainting().run(req, make_generator(seed))


def edge_energy(art) -> float:
    """Mean absolute luminance step between neighbouring pixels."""
    lum = np.asarray(Image.open(io.BytesIO(art.files[0].data)).convert("L"), np.float32)
    return float(np.abs(np.diff(lum, axis=0)).mean() + np.abs(np.diff(lum, axis=1)).mean())


def svg_count(art, tag: str) -> int:
    svg = next(f.data for f in art.files if f.name.endswith(".svg"))
    return len(re.findall(rb"<" + tag.encode() + rb"\b", svg))


def test_every_style_is_checked() -> None:
    assert set(MIN_RATIO) == set(STYLES)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_stroke_energy_alone_changes_the_painting(style: str) -> None:
    calm = [paint(style, s, energy=0.0) for s in SEEDS]
    wild = [paint(style, s, energy=1.0) for s in SEEDS]
    for a, b in zip(calm, wild, strict=True):
        assert a.files[0].data != b.files[0].data, f"{style}: stroke energy changed nothing"
    ratio = np.mean([edge_energy(b) / edge_energy(a) for a, b in zip(calm, wild, strict=True)])
    assert ratio >= MIN_RATIO[style], f"{style}: edge energy x{ratio:.3f} at full stroke energy"
    if style == "stained-glass":  # more, smaller pieces of glass
        for a, b in zip(calm, wild, strict=True):
            assert svg_count(b, "polygon") >= 2 * svg_count(a, "polygon")
    if style == "geometric":  # more beams across the canvas
        for a, b in zip(calm, wild, strict=True):
            assert svg_count(b, "polyline") >= svg_count(a, "polyline") + 5


def test_angry_has_more_energy_than_serene() -> None:
    angry, serene = art_direction(emotion_from_label("angry")), art_direction(emotion_from_label("serene"))
    tense = art_direction(emotion_from_label("tense"))
    assert angry.stroke_energy > serene.stroke_energy + 0.5
    assert tense.stroke_energy > serene.stroke_energy + 0.5


@pytest.mark.parametrize("style", ["flow-field", "ink-wash", "geometric", "pointillism"])
def test_angry_paints_more_edges_than_serene(style: str) -> None:
    # the whole path from a mood (palette, contrast and energy together); measured 1.08-1.35
    ratio = np.mean(
        [edge_energy(paint(style, s, "angry")) / edge_energy(paint(style, s, "serene")) for s in SEEDS]
    )
    assert ratio > 1.04, f"{style}: angry/serene edge energy x{ratio:.3f}"


def test_angry_stained_glass_has_more_pieces_than_serene() -> None:
    # angry glass is darker (its lead lines show less), but it is cut into more pieces
    for s in SEEDS:
        assert svg_count(paint("stained-glass", s, "angry"), "polygon") > 1.5 * svg_count(
            paint("stained-glass", s, "serene"), "polygon"
        )
