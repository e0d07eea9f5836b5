"""``procedural-painting``: a rule-based painter with several styles, no model weights."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from PIL import Image

from museforge.emotion import ArtDirection, art_direction
from museforge.engines import Artifact, Engine, OutputFile, Request, param
from museforge.errors import MuseforgeError
from museforge.image.procedural import (
    botanical,
    flow,
    geometric,
    ink_wash,
    pointillism,
    stained_glass,
)
from museforge.image.procedural.canvas import Context, Painting, hex_colour, png_bytes
from museforge.image.procedural.motifs import find_motifs
from museforge.runtime import numpy_rng

STYLES: dict[str, Callable[[Context], Painting]] = {
    "flow-field": flow.paint,
    "ink-wash": ink_wash.paint,
    "geometric": geometric.paint,
    "pointillism": pointillism.paint,
    "botanical": botanical.paint,
    "stained-glass": stained_glass.paint,
}
"""Style name -> painter. Vector styles also return SVG."""

MIN_SIZE, MAX_SIZE = 16, 2048


@dataclass(frozen=True)
class ProceduralParams:
    style: str = param("auto", "auto (chosen from the prompt's motifs and the mood) or a style",
                       choices=("auto", *STYLES))
    size: int = param(768, "width and height in pixels", range=(MIN_SIZE, MAX_SIZE))
    density: float = param(1.0, "stroke/mark density multiplier", range=(0.1, 4.0))
    texture: float = param(1.0, "strength of paper, canvas and paint texture", range=(0.0, 2.0))


def choose_style(motifs: tuple[str, ...], direction: ArtDirection) -> str:
    """The style ``auto`` picks: landscapes in ink, turbulence in brushwork, and so on."""
    m, e = set(motifs), direction.stroke_energy
    pick = "flow-field"
    if m & {"mountain", "river"} and e < 0.6:
        pick = "ink-wash"
    elif m & {"storm", "sea", "stars", "night", "moon", "forest"}:
        pick = "flow-field"
    elif m & {"flower", "tree"}:
        pick = "botanical"
    elif "city" in m:
        pick = "stained-glass"
    elif not m:
        pick = "geometric" if e >= 0.5 else "pointillism"
    return pick if pick in STYLES else "flow-field"


def dominant_colours(img: Image.Image, k: int = 6) -> list[str]:
    """The ``k`` most used colours of a painting, most used first, as ``#rrggbb``."""
    small = img.resize((64, 64), Image.Resampling.BOX)
    q = small.quantize(colors=k, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal = q.getpalette() or []
    counts = sorted(q.getcolors() or [], key=lambda t: (-t[0], t[1]))
    return [hex_colour(tuple(pal[3 * i:3 * i + 3])) for _, i in counts]


class ProceduralPainting(Engine):
    name = "procedural-painting"
    modality = "image"
    version = "1"
    description = ("rule-based paintings: flow-field brushwork, ink wash, geometric abstraction, "
                   "pointillism, botanicals, stained glass")
    Params = ProceduralParams
    priority = 10

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        p: ProceduralParams = request.params
        if not isinstance(p.size, int) or not MIN_SIZE <= p.size <= MAX_SIZE:
            raise MuseforgeError(
                f"size must be an integer from {MIN_SIZE} to {MAX_SIZE} pixels, got {p.size!r}")
        if not 0.1 <= p.density <= 4.0:
            raise MuseforgeError(f"density must lie in 0.1..4, got {p.density}")
        if not 0.0 <= p.texture <= 2.0:
            raise MuseforgeError(f"texture must lie in 0..2, got {p.texture}")
        if p.style != "auto" and p.style not in STYLES:
            raise MuseforgeError(
                f"unknown style {p.style!r}; choose auto or one of: {', '.join(STYLES)}")
        direction = art_direction(request.emotion)
        motifs = find_motifs(request.prompt)
        style = choose_style(motifs, direction) if p.style == "auto" else p.style
        rng = numpy_rng(generator)
        request.progress("painting", 0.0)
        ctx = Context(request.prompt, motifs, direction, p.size, float(p.density),
                      float(p.texture), rng, request.progress)
        painting = STYLES[style](ctx)
        img = painting.image.convert("RGB")
        if img.size != (p.size, p.size):
            raise AssertionError(f"style {style} painted {img.size}, not {p.size}")
        files = [OutputFile("painting.png", png_bytes(img), "image/png")]
        if painting.svg is not None:
            files.append(OutputFile("painting.svg", painting.svg.encode(), "image/svg+xml"))
        request.progress("painting", 1.0)
        summary = {"style": style, "width": p.size, "height": p.size, "motifs": list(motifs),
                   "palette": dominant_colours(img)}
        return Artifact("image", files, summary)


