"""Pointillism: the motif scene built from small dabs of pure, separated colour, after Seurat.

A pale primed ground shows between round dabs. Each dab takes the scene colour pushed toward
a purer hue and a lighter or darker value; a share of dabs in complementary or neighbouring
hues mix optically, as in divisionism. Stroke energy sets the number of dabs and their spread.
"""

from __future__ import annotations

import numpy as np
from PIL import ImageDraw

from museforge.image.procedural.brush import sample
from museforge.image.procedural.canvas import (
    Context,
    Painting,
    apply_contrast,
    blur,
    from_image,
    paper,
    to_image,
    vignette,
)
from museforge.image.procedural.motifs import build_scene


def paint(ctx: Context) -> Painting:
    s, rng, e = ctx.size, ctx.rng, ctx.direction.stroke_energy
    scene = build_scene(ctx.motifs, ctx.direction, s, rng)
    ref = apply_contrast(scene.image, ctx.direction.contrast)
    ctx.progress("painting", 0.25)
    ground = paper(rng, s, s, np.array([0.93, 0.90, 0.83], np.float32), 0.05 * ctx.texture)
    base = 0.35 * ground + 0.65 * blur(ref, s / 40)
    img = to_image(base)
    d = ImageDraw.Draw(img)
    r0 = max(1.0, s / 150)
    mean = ref.mean(-1, keepdims=True)
    vivid = blur(np.clip(mean + (ref - mean) * (1.4 + 0.4 * e), 0, 1), r0)
    for i, rad in enumerate((r0 * 1.5, r0 * 1.1, r0 * 0.8)):
        # dabs on a jittered grid: even coverage without the clumps of uniform scatter
        gap = rad * 1.7 / np.sqrt(max(ctx.density * (0.8 + 0.6 * e), 0.1))
        g = max(2, int(s / gap))
        gy, gx = np.mgrid[0:g, 0:g].astype(np.float32)
        xy = (np.stack([gx.ravel(), gy.ravel()], 1) + rng.uniform(0, 1, (g * g, 2))) * (s / g)
        xy = xy[rng.permutation(len(xy))].astype(np.float32)
        n = len(xy)
        c = sample(vivid, xy)
        # divisionist touches: a little value and hue jitter, few complementary dabs in shadows
        c = c * (1 + rng.normal(0, 0.02 + 0.03 * e, (n, 1))) + rng.normal(0, 0.012 + 0.02 * e,
                                                                             (n, 3))
        lum = c.mean(1, keepdims=True)
        comp = (rng.random((n, 1)) < 0.02 + 0.03 * e) & (lum < 0.4)
        c = np.where(comp, np.clip(lum * 2 - c, 0, 1) * 0.5 + c * 0.5, c)
        warm = rng.random((n, 1)) < 0.05
        c = np.where(warm & (lum > 0.5), c * 0.7 + np.array([1.0, 0.85, 0.5]) * 0.3, c)
        cols = np.clip(c * 255 + 0.5, 0, 255).astype(np.int32).tolist()
        rr = (rad * rng.uniform(0.75, 1.25, n)).tolist()
        for (x, y), col, r in zip(xy.tolist(), cols, rr, strict=True):
            d.ellipse([x - r, y - r * 0.9, x + r, y + r * 0.9], fill=tuple(col))
        ctx.progress("painting", 0.4 + 0.2 * i)
    out = from_image(img) * vignette(s, s, 0.15)
    return Painting(to_image(out))
