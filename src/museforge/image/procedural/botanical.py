"""Generative botanicals: L-system trees and flowering stems, like a naturalist's plate.

Stochastic bracketed L-systems grow the plants; a turtle draws branches that taper with depth,
leaves at the tips and blossoms in the accent colour. A forest becomes a receding stand of trees
fading into the ground colour; a tree one specimen; flowers a cluster of stems.
Stroke energy sets the branching angle spread and the wind that bends the plants.
"""

from __future__ import annotations

import numpy as np
from PIL import ImageDraw

from museforge.image.procedural.canvas import (
    Context,
    Painting,
    from_image,
    mix,
    paper,
    to_image,
    to_rgb01,
    vertical_gradient,
    vignette,
)

RULES = {
    "tree": ("FF[+F[-F]L][-F[+F]L]F[+FL][-FL]", "F[+FL]F[-FL][FL]", "FF[-F[+FL]][+F[-FL]]"),
    "flower": ("F[+FB]F[-FB]FB", "F[-FL]F[+FB]B", "FF[+FL][-FB]FB"),
    "kelp": ("FF[+L]F[-L]", "F[-L]FF[+L]", "FF[+FL]F"),
}
"""Bracketed L-system rules. ``kelp`` is the specimen of a sea or river without plants."""


def grow(rng: np.random.Generator, kind: str, depth: int) -> str:
    """Expand the axiom ``F`` ``depth`` times, each F picking one of its rules at random."""
    s = "F"
    for _ in range(depth):
        out = []
        for ch in s:
            if ch == "F":
                rules = RULES[kind]
                out.append(rules[int(rng.integers(0, len(rules)))])
            elif ch in "LB":
                continue  # leaves and blossoms only at the final generation
            else:
                out.append(ch)
        s = "".join(out)
        if len(s) > 40000:
            break
    return s


def draw_plant(d: ImageDraw.ImageDraw, rng: np.random.Generator, kind: str, x: float, y: float,
               height: float, colours: dict[str, tuple[int, int, int]], energy: float,
               depth: int) -> None:
    """Interpret an L-system with a turtle starting at (x, y), pointing up."""
    program = grow(rng, kind, depth)
    step = height / (2.2 ** depth) * {"tree": 1.6, "kelp": 1.5}.get(kind, 1.1)
    spread = np.radians(18 + 14 * energy)
    wind = (0.01 + 0.04 * energy) * rng.choice([-1, 1])
    sway = 0.12 + 0.2 * energy if kind == "kelp" else 0.0
    n_f = 0
    stack: list[tuple[float, float, float, int]] = []
    ang, lvl = -np.pi / 2, 0
    width0 = height * {"tree": 0.035, "kelp": 0.03}.get(kind, 0.012)
    rand = rng.normal(0, 1, len(program)).tolist()
    for i, ch in enumerate(program):
        if ch == "F":
            L = step * (1 + 0.25 * rand[i]) * (0.9**lvl)
            nx, ny = x + np.cos(ang) * L, y + np.sin(ang) * L
            w = max(1, int(width0 * 0.68**lvl))
            d.line([(x, y), (nx, ny)], fill=colours["branch"], width=w)
            x, y = nx, ny
            n_f += 1
            ang += wind + sway * np.sin(n_f * 0.9 + rand[0])
        elif ch == "+":
            ang += spread * (1 + 0.3 * rand[i])
        elif ch == "-":
            ang -= spread * (1 + 0.3 * rand[i])
        elif ch == "[":
            stack.append((x, y, ang, lvl))
            lvl += 1
        elif ch == "]":
            x, y, ang, lvl = stack.pop()
        elif ch == "L":
            r = height * (0.02 if kind == "tree" else 0.03) * (1 + 0.3 * abs(rand[i])) + 0.5
            c = colours["leaf"] if rand[i] > -0.6 else colours["leaf2"]
            lx, ly = x + np.cos(ang) * r, y + np.sin(ang) * r
            d.ellipse([lx - r, ly - r * 0.6, lx + r, ly + r * 0.6], fill=c)
        elif ch == "B":
            r = height * 0.035
            for a in np.linspace(0, 2 * np.pi, 5, endpoint=False):
                px, py = x + np.cos(a + ang) * r * 0.7, y + np.sin(a + ang) * r * 0.7
                d.ellipse([px - r * 0.55, py - r * 0.55, px + r * 0.55, py + r * 0.55],
                          fill=colours["bloom"])
            d.ellipse([x - r * 0.3, y - r * 0.3, x + r * 0.3, y + r * 0.3], fill=colours["eye"])


def _c(a: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in np.clip(a * 255 + 0.5, 0, 255))
    return (r, g, b)


def paint(ctx: Context) -> Painting:
    s, rng, e = ctx.size, ctx.rng, ctx.direction.stroke_energy
    m = set(ctx.motifs)
    pal = [to_rgb01(c) for c in ctx.direction.palette]
    night = "night" in m
    top = mix(pal[3], np.array([0.95, 0.93, 0.86], np.float32), 0.5)
    low = mix(pal[4], np.array([0.93, 0.88, 0.78], np.float32), 0.5)
    if night:
        navy = np.array([0.12, 0.14, 0.24], np.float32)
        top, low = mix(pal[0], navy, 0.6), mix(mix(pal[1], pal[0], 0.5), navy * 1.8, 0.5)
    img = vertical_gradient(s, s, [(0.0, top), (0.75, low), (1.0, low * 0.9)])
    img = img * paper(rng, s, s, np.ones(3, np.float32), 0.06 * ctx.texture)
    ground = mix(pal[1], np.array([0.3, 0.35, 0.2], np.float32), 0.4)
    canvas = to_image(img)
    d = ImageDraw.Draw(canvas)
    base_y = s * 0.9
    d.rectangle([0, base_y, s, s], fill=_c(ground))
    leaf = mix(pal[1], np.array([0.2, 0.45, 0.22], np.float32), 0.55)
    if "snow" in m:
        leaf = mix(leaf, np.ones(3, np.float32), 0.6)
    plants: list[tuple[str, float, float, float, int]] = []
    if "forest" in m:
        for k in range(7):
            far = 1 - k / 6
            plants.append(("tree", rng.uniform(0.05, 0.95) * s, base_y - s * 0.12 * far,
                           s * (0.35 + 0.35 * (1 - far)), 4))
    elif "tree" in m:
        plants.append(("tree", s * rng.uniform(0.4, 0.6), base_y, s * 0.78, 5))
    elif m & {"sea", "river"} and "flower" not in m:
        # a plate of seaweed: fronds swaying up from the sea floor
        for k in range(7):
            plants.append(("kelp", s * (0.12 + 0.76 * (k + rng.uniform(0.2, 0.8)) / 7),
                           base_y + s * 0.02, s * rng.uniform(0.3, 0.5), 4))
    elif "flower" not in m:
        # no plant named: a flowering spray as the specimen of the plate
        for k in range(3):
            plants.append(("flower", s * (0.35 + 0.15 * k + rng.normal(0, 0.02)),
                           base_y + s * 0.02, s * rng.uniform(0.42, 0.55), 3))
    plants.sort(key=lambda p: p[2])
    for i, (kind, x, y, h, depth) in enumerate(plants):
        fade = float(np.clip((base_y - y) / (s * 0.12), 0, 1)) * 0.6 if kind == "tree" else 0.0
        haze = low
        colours = {
            "branch": _c(mix(mix(pal[0], np.array([0.25, 0.17, 0.1], np.float32), 0.5), haze,
                             fade)),
            "leaf": _c(mix(leaf, haze, fade)),
            "leaf2": _c(mix(mix(leaf, pal[5], 0.35), haze, fade)),
            "bloom": _c(mix(pal[5], np.array([0.95, 0.5, 0.6], np.float32), 0.3)),
            "eye": (245, 205, 80),
        }
        draw_plant(d, rng, kind, x, y, h, colours, e, depth)
        ctx.progress("painting", 0.2 + 0.7 * (i + 1) / len(plants))
    inset = s * 0.035  # the plate's double rule
    rule = _c(mix(pal[0], np.array([0.3, 0.25, 0.2], np.float32), 0.5))
    d.rectangle([inset, inset, s - inset, s - inset], outline=rule, width=max(1, s // 300))
    d.rectangle([inset * 1.35, inset * 1.35, s - inset * 1.35, s - inset * 1.35], outline=rule,
                width=max(1, s // 600))
    out = from_image(canvas) * vignette(s, s, 0.2)
    return Painting(to_image(out))
