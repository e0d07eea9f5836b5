"""Geometric abstraction after Kandinsky: circles, haloes, beams, grids and arcs on a ground.

Motifs become signs: the sun or moon a haloed circle, mountains triangles, the sea and rivers
waves of parallel lines, trees and forests verticals crowned with circles, a city a block grid,
birds chevrons, flowers petal rings, a storm zigzags. Calm moods keep lines level and few;
high arousal tilts them, multiplies them and raises contrast. The shapes are written as SVG too.
"""

from __future__ import annotations

import numpy as np

from museforge.image.procedural.canvas import (
    Context,
    Painting,
    fbm,
    from_image,
    mix,
    shift,
    to_image,
    to_rgb01,
    to_rgb255,
)
from museforge.image.procedural.vector import Shape, render, to_svg


def paint(ctx: Context) -> Painting:
    s, rng, e = ctx.size, ctx.rng, ctx.direction.stroke_energy
    m = set(ctx.motifs)
    pal = [to_rgb01(c) for c in ctx.direction.palette]
    night = "night" in m
    bg = mix(pal[4], np.array([0.95, 0.92, 0.84], np.float32), 0.55)
    if night:
        bg = mix(pal[0], np.array([0.05, 0.06, 0.12], np.float32), 0.5)
    ink = np.array([0.08, 0.08, 0.10], np.float32) if not night else np.array(
        [0.92, 0.9, 0.82], np.float32)
    colours = [shift(c, ds=0.15) for c in pal[1:]] + [np.array([0.85, 0.2, 0.15], np.float32),
                                                      np.array([0.95, 0.75, 0.2], np.float32),
                                                      np.array([0.15, 0.3, 0.65], np.float32)]

    def col() -> tuple[int, int, int]:
        return to_rgb255(colours[int(rng.integers(0, len(colours)))])

    tilt = rng.normal(0, 0.15 + 0.7 * e)
    lw = s * 0.004
    shapes: list[Shape] = []
    # a soft colour field behind everything
    cx, cy = s * rng.uniform(0.3, 0.7), s * rng.uniform(0.3, 0.7)
    shapes.append(Shape("circle", [(cx, cy)], fill=to_rgb255(mix(bg, pal[2], 0.35)),
                        radius=s * 0.42, opacity=0.6))
    # main circle: sun or moon, or the mood's own sign
    lx, ly = s * rng.uniform(0.25, 0.75), s * rng.uniform(0.2, 0.4)
    r = s * rng.uniform(0.1, 0.16)
    halo = to_rgb255(pal[5]) if not night else to_rgb255(mix(pal[4], bg, 0.3))
    shapes.append(Shape("circle", [(lx, ly)], fill=halo, radius=r * 1.6, opacity=0.7))
    core = (240, 225, 170) if "moon" in m or night else to_rgb255(
        mix(pal[5], np.array([0.95, 0.3, 0.1], np.float32), 0.5))
    shapes.append(Shape("circle", [(lx, ly)], fill=core, radius=r))
    shapes.append(Shape("circle", [(lx + r * 0.25, ly - r * 0.2)], fill=to_rgb255(pal[0]),
                        radius=r * 0.35))
    # beams across the canvas
    for _ in range(int(3 + 7 * e)):
        a = tilt + rng.normal(0, 0.2 + e)
        x0, y0 = rng.uniform(0, s), rng.uniform(0, s)
        L = s * rng.uniform(0.3, 0.9)
        shapes.append(Shape("line", [(x0 - np.cos(a) * L / 2, y0 - np.sin(a) * L / 2),
                                     (x0 + np.cos(a) * L / 2, y0 + np.sin(a) * L / 2)],
                            stroke=to_rgb255(ink), width=lw * rng.uniform(0.5, 2.5)))
    if "mountain" in m or not m:
        for _ in range(3):
            bx, w, h = rng.uniform(0.1, 0.9) * s, s * rng.uniform(0.15, 0.3), s * rng.uniform(
                0.2, 0.4)
            shapes.append(Shape("polygon", [(bx - w, s * 0.8), (bx + w, s * 0.8), (bx, s * 0.8 - h)],
                                fill=col(), stroke=to_rgb255(ink), width=lw, opacity=0.85))
    if m & {"sea", "river", "storm"}:
        for k in range(int(5 + 6 * e)):
            y = s * (0.62 + 0.05 * k) if "sea" in m else s * rng.uniform(0.5, 0.95)
            amp = s * (0.01 + 0.03 * e) * (1.5 if "storm" in m else 1.0)
            xs = np.linspace(0, s, 40)
            pts = [(float(x), float(y + amp * np.sin(x / s * (6 + 8 * e) + k))) for x in xs]
            shapes.append(Shape("line", pts, stroke=col(), width=lw * 1.5))
    if "storm" in m:
        x, y = s * rng.uniform(0.2, 0.8), 0.0
        pts = [(x, y)]
        while y < s * 0.6:
            x += s * rng.uniform(-0.08, 0.08)
            y += s * rng.uniform(0.05, 0.1)
            pts.append((x, y))
        shapes.append(Shape("line", pts, stroke=to_rgb255(pal[5]), width=lw * 3))
    if m & {"forest", "tree"}:
        n = 9 if "forest" in m else 3
        for k in range(n):
            x = s * (0.08 + 0.84 * (k + rng.uniform(0.2, 0.8)) / n)
            top = s * rng.uniform(0.35, 0.6)
            shapes.append(Shape("line", [(x, s * 0.92), (x, top)], stroke=to_rgb255(ink),
                                width=lw * 2))
            if rng.random() < 0.5:
                w = s * 0.05
                shapes.append(Shape("polygon", [(x - w, top + w * 1.8), (x + w, top + w * 1.8),
                                                (x, top - w * 0.6)], fill=col()))
            else:
                shapes.append(Shape("circle", [(x, top)], fill=col(), radius=s * 0.045,
                                    stroke=to_rgb255(ink), width=lw))
    if "city" in m:
        gx, gy, cell = s * 0.08, s * 0.55, s * 0.07
        for i in range(6):
            for j in range(4):
                if rng.random() < 0.7:
                    shapes.append(Shape("polygon", [(gx + i * cell, gy + j * cell),
                                                    (gx + (i + 1) * cell, gy + j * cell),
                                                    (gx + (i + 1) * cell, gy + (j + 1) * cell),
                                                    (gx + i * cell, gy + (j + 1) * cell)],
                                        fill=col() if rng.random() < 0.5 else to_rgb255(bg),
                                        stroke=to_rgb255(ink), width=lw))
    if "flower" in m:
        for _ in range(3):
            fx, fy, fr = rng.uniform(0.15, 0.85) * s, rng.uniform(0.5, 0.85) * s, s * 0.05
            c = col()
            for a in np.linspace(0, 2 * np.pi, 7, endpoint=False):
                shapes.append(Shape("circle", [(fx + np.cos(a) * fr, fy + np.sin(a) * fr)],
                                    fill=c, radius=fr * 0.6, opacity=0.8))
            shapes.append(Shape("circle", [(fx, fy)], fill=(240, 200, 60), radius=fr * 0.5))
    if "bird" in m:
        for _ in range(5):
            bx, by, w = rng.uniform(0.2, 0.8) * s, rng.uniform(0.1, 0.4) * s, s * 0.03
            shapes.append(Shape("line", [(bx - w, by - w * 0.5), (bx, by), (bx + w, by - w * 0.5)],
                                stroke=to_rgb255(ink), width=lw * 1.5))
    # small circles, checkers and arcs: the Kandinsky vocabulary
    for _ in range(int(6 + 18 * e)):
        x, y, rr = rng.uniform(0, s), rng.uniform(0, s), s * rng.uniform(0.01, 0.05)
        shapes.append(Shape("circle", [(x, y)], fill=col(), radius=rr,
                            stroke=to_rgb255(ink) if rng.random() < 0.5 else None, width=lw))
    x0, y0, c = s * rng.uniform(0.55, 0.8), s * rng.uniform(0.55, 0.8), s * 0.025
    for i in range(4):
        for j in range(4):
            if (i + j) % 2 == 0:
                shapes.append(Shape("polygon", [(x0 + i * c, y0 + j * c), (x0 + (i + 1) * c,
                                                                          y0 + j * c),
                                                (x0 + (i + 1) * c, y0 + (j + 1) * c),
                                                (x0 + i * c, y0 + (j + 1) * c)],
                                    fill=to_rgb255(ink)))
    for _ in range(int(2 + 4 * e)):
        ax, ay, ar = rng.uniform(0, s), rng.uniform(0, s), s * rng.uniform(0.08, 0.2)
        a0 = rng.uniform(0, 2 * np.pi)
        ts = np.linspace(a0, a0 + rng.uniform(1, 3), 30)
        shapes.append(Shape("line", [(float(ax + np.cos(t) * ar), float(ay + np.sin(t) * ar))
                                     for t in ts], stroke=col(), width=lw * 2))
    ctx.progress("painting", 0.6)
    bg255 = to_rgb255(bg)
    img = from_image(render(shapes, s, bg255))
    grain = 1 + (fbm(rng, s, s, 30, 2) - 0.5) * 0.08 * ctx.texture
    img = img * grain[..., None]
    return Painting(to_image(img), to_svg(shapes, s, bg255, f"museforge geometric: {ctx.prompt}"))
