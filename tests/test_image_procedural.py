"""The procedural painting engine: sizes, determinism, motifs and the emotion mapping."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from museforge.emotion import Emotion, emotion_from_label
from museforge.engines import Request
from museforge.errors import MuseforgeError
from museforge.image.procedural import STYLES, ProceduralPainting, ProceduralParams, find_motifs
from museforge.runtime import make_generator


def paint(prompt: str = "a forest by the sea", style: str = "flow-field", size: int = 64,
          seed: int = 1, emotion: Emotion | None = None):
    emotion = emotion or emotion_from_label("mysterious")
    req = Request(prompt, "en", emotion, seed, ProceduralParams(style=style, size=size))
    return ProceduralPainting().run(req, make_generator(seed))


def pixels(artifact) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(artifact.files[0].data)).convert("RGB"), np.float32)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_each_style_renders(style: str) -> None:
    art = paint(style=style)
    img = Image.open(io.BytesIO(art.files[0].data))
    assert img.size == (64, 64) and img.mode == "RGB"
    assert art.summary["style"] == style and art.summary["width"] == 64
    assert all(c.startswith("#") and len(c) == 7 for c in art.summary["palette"])
    if style in ("stained-glass", "geometric"):
        assert art.files[1].name == "painting.svg"
        assert art.files[1].data.startswith(b"<svg")


@pytest.mark.parametrize("style", ["flow-field", "stained-glass", "ink-wash"])
def test_same_seed_same_bytes(style: str) -> None:
    a, b, c = paint(style=style, seed=3), paint(style=style, seed=3), paint(style=style, seed=4)
    assert a.files[0].data == b.files[0].data
    assert a.files[0].data != c.files[0].data


def test_motifs_from_prompt() -> None:
    assert "forest" in find_motifs("在一片神秘的森林中，")
    assert "forest" in paint("a mysterious forest").summary["motifs"]
    assert {"sea", "night", "storm"} <= set(find_motifs("A stormy sea at night"))
    assert find_motifs("明月照江") == ("moon", "river")


def test_auto_style() -> None:
    art = paint("the mountains and the river", style="auto", emotion=emotion_from_label("serene"))
    assert art.summary["style"] == "ink-wash"


def edge_density(a: np.ndarray) -> float:
    lum = a.mean(-1)
    return float(np.abs(np.diff(lum, axis=0)).mean() + np.abs(np.diff(lum, axis=1)).mean())


def test_arousal_raises_edge_density() -> None:
    calm = paint(style="flow-field", size=96, emotion=Emotion("mysterious", 0.0, -0.9))
    wild = paint(style="flow-field", size=96, emotion=Emotion("mysterious", 0.0, 0.9))
    assert edge_density(pixels(wild)) > edge_density(pixels(calm))


def test_low_valence_is_darker() -> None:
    sad = paint(style="flow-field", size=64, emotion=Emotion("mysterious", -0.9, 0.0))
    glad = paint(style="flow-field", size=64, emotion=Emotion("mysterious", 0.9, 0.0))
    assert pixels(sad).mean() < pixels(glad).mean()


@pytest.mark.parametrize("size", [8, 4096])
def test_bad_size(size: int) -> None:
    with pytest.raises(MuseforgeError, match="2048"):
        paint(size=size)


def test_unknown_style() -> None:
    with pytest.raises(MuseforgeError, match="unknown style"):
        paint(style="cubism")
