"""Stained glass: a Voronoi window of the motif scene, with lead came and backlit glass.

Cells come from a jittered grid plus extra seeds along the scene's edges, so the motifs keep
their outlines. Each cell takes the scene colour at its seed, snapped to a small set of glass
colours; the raster adds mottled glass and light falling through from the sun or moon. The same
polygons are written as SVG.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from museforge.image.procedural.canvas import (
    Context,
    Painting,
    apply_contrast,
    blur,
    fbm,
    from_image,
    luminance,
    to_image,
    to_rgb255,
)
from museforge.image.procedural.motifs import build_scene
from museforge.image.procedural.vector import Shape, to_svg

Point = tuple[float, float]


def _clip(poly: list[Point], p: np.ndarray, q: np.ndarray) -> list[Point]:
    """Keep the part of ``poly`` closer to ``p`` than to ``q`` (one Sutherland-Hodgman step)."""
    nx, ny = float(q[0] - p[0]), float(q[1] - p[1])
    c = (float(q[0] ** 2 + q[1] ** 2) - float(p[0] ** 2 + p[1] ** 2)) / 2.0
    out: list[Point] = []
    n = len(poly)
    for i in range(n):
        ax, ay = poly[i]
        bx, by = poly[(i + 1) % n]
        da, db = ax * nx + ay * ny - c, bx * nx + by * ny - c
        if da <= 0:
            out.append((ax, ay))
        if (da <= 0) != (db <= 0):
            t = da / (da - db)
            out.append((ax + (bx - ax) * t, ay + (by - ay) * t))
    return out


def voronoi_cells(seeds: np.ndarray, size: float, k: int = 32) -> list[list[Point]]:
    """The Voronoi polygon of each seed inside the square ``[0, size]^2``."""
    d2 = ((seeds[:, None, :] - seeds[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    k = min(k, len(seeds) - 1)
    near = np.argpartition(d2, k, axis=1)[:, :k]
    cells = []
    for i, p in enumerate(seeds):
        order = near[i][np.argsort(d2[i, near[i]])]
        poly: list[Point] = [(0.0, 0.0), (size, 0.0), (size, size), (0.0, size)]
        for j in order:
            r2 = max((x - p[0]) ** 2 + (y - p[1]) ** 2 for x, y in poly)
            if d2[i, j] > 4 * r2:
                break
            poly = _clip(poly, p, seeds[j])
            if len(poly) < 3:
                break
        cells.append(poly)
    return cells


def _glass_colours(cols: np.ndarray, e: float, rng: np.random.Generator) -> np.ndarray:
    """Saturate colours like glass and snap them to a small set of glass colours."""
    mean = cols.mean(1, keepdims=True)
    cols = np.clip(mean + (cols - mean) * (1.5 + 0.6 * e), 0, 1)
    n_glass = 10 + round(6 * e)
    q = to_image(cols[None, :, :]).quantize(colors=n_glass, method=Image.Quantize.MEDIANCUT,
                                            dither=Image.Dither.NONE).convert("RGB")
    return np.clip(from_image(q)[0] * rng.uniform(0.88, 1.12, (len(cols), 1)), 0, 1)


def _cut_along_motifs(ref: np.ndarray, cells: list[list[Point]], e: float, lead_w: float,
                      frame_w: float, lead: tuple[int, int, int],
                      rng: np.random.Generator) -> np.ndarray:
    """The raster window: Voronoi panes cut again where the scene changes colour.

    The scene is posterised into a few flat regions; every pane is split along their borders, so
    lead runs around the trees, hills and moon as a glazier would cut it. Each piece takes the
    mean scene colour under it, snapped to glass colours.
    """
    s = ref.shape[0]
    label = Image.new("I", (s, s), 0)
    d = ImageDraw.Draw(label)
    for i, c in enumerate(cells):
        if len(c) >= 3:
            d.polygon(c, fill=i + 1)
    cell_id = np.asarray(label, np.int64)
    k = 7 + round(3 * e)
    poster = to_image(blur(ref, max(1.0, s / 256))).quantize(
        colors=k, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    poster = poster.filter(ImageFilter.ModeFilter(max(3, (s // 128) | 1)))
    region = np.asarray(poster, np.int64)
    piece = cell_id * (k + 1) + region
    _, inv = np.unique(piece.ravel(), return_inverse=True)
    inv = inv.reshape(s, s)
    n = int(inv.max()) + 1
    area = np.bincount(inv.ravel(), minlength=n).astype(np.float64)
    mean = np.stack([np.bincount(inv.ravel(), ref[..., c].ravel(), n) for c in range(3)], 1)
    glass = _glass_colours((mean / np.maximum(area, 1)[:, None]).astype(np.float32), e, rng)
    img = glass[inv]
    edge = np.zeros((s, s), bool)
    edge[:, 1:] |= inv[:, 1:] != inv[:, :-1]
    edge[1:, :] |= inv[1:, :] != inv[:-1, :]
    size = max(1, round(lead_w)) | 1
    mask = Image.fromarray(edge.astype(np.uint8) * 255)
    if size > 1:
        mask = mask.filter(ImageFilter.MaxFilter(size))
    m = np.asarray(mask.filter(ImageFilter.GaussianBlur(0.6)), np.float32)[..., None] / 255
    fw = round(frame_w)
    m[:fw], m[-fw:], m[:, :fw], m[:, -fw:] = 1, 1, 1, 1
    return img * (1 - m) + np.asarray(lead, np.float32) / 255 * m


def paint(ctx: Context) -> Painting:
    s, rng, e = ctx.size, ctx.rng, ctx.direction.stroke_energy
    scene = build_scene(ctx.motifs, ctx.direction, s, rng)
    ref = apply_contrast(scene.image, ctx.direction.contrast)
    ctx.progress("painting", 0.3)
    g = max(5, round((10 + 8 * e) * ctx.density**0.5))
    cell = s / g
    gy, gx = np.mgrid[0:g, 0:g].astype(np.float32)
    grid = np.stack([gx.ravel(), gy.ravel()], 1) + rng.uniform(0.2, 0.8, (g * g, 2))
    seeds = grid * cell
    # seed pairs straddling the scene's strong edges put lead lines along the motifs' outlines
    lum = blur(luminance(ref), max(1.0, cell * 0.08))
    gyy, gxx = np.gradient(lum)
    mag = np.sqrt(gxx**2 + gyy**2)
    strong = np.where(mag > np.percentile(mag, 85), mag, 0.0).ravel()
    n_edge = int(g * g * 1.2)
    idx = rng.choice(s * s, size=n_edge, p=(strong + 1e-12) / (strong + 1e-12).sum())
    ex, ey = (idx % s).astype(np.float32), (idx // s).astype(np.float32)
    nx, ny = gxx.ravel()[idx], gyy.ravel()[idx]
    nn = np.sqrt(nx**2 + ny**2) + 1e-9
    off = cell * 0.22
    ox, oy = nx / nn * off, ny / nn * off
    pairs = np.concatenate([np.stack([ex + ox, ey + oy], 1), np.stack([ex - ox, ey - oy], 1)])
    seeds = np.concatenate([seeds, pairs]).astype(np.float64)
    seeds = np.clip(seeds, 0.5, s - 0.5)
    # thin out seeds that crowd each other, edge pairs first
    d2 = ((seeds[:, None] - seeds[None]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    keep = np.ones(len(seeds), bool)
    lim = (cell * 0.4) ** 2
    for i in range(len(seeds)):
        if keep[i]:
            clash = np.nonzero(d2[i, i + 1:] < lim)[0] + i + 1
            keep[clash[keep[clash]]] = False
            if i >= g * g:  # keep the partner of an edge seed
                partner = i + n_edge if i < g * g + n_edge else i - n_edge
                keep[partner] = keep[partner] or partner > i
    seeds = seeds[keep]
    cells = voronoi_cells(seeds, float(s))
    ctx.progress("painting", 0.6)

    soft = blur(ref, cell * 0.2)
    h, w = soft.shape[:2]
    cols = soft[np.clip(seeds[:, 1].astype(int), 0, h - 1), np.clip(seeds[:, 0].astype(int),
                                                                      0, w - 1)]
    glass = _glass_colours(cols, e, rng)
    lead_w = max(1.0, s / 300) * (1.15 - 0.3 * e)
    lead = (28, 26, 30)
    shapes = [Shape("polygon", c, fill=to_rgb255(col), stroke=lead, width=lead_w)
              for c, col in zip(cells, glass, strict=True) if len(c) >= 3]
    fw = max(2.0, s / 60)
    shapes.append(Shape("line", [(0, 0), (s, 0), (s, s), (0, s), (0, 0)], stroke=lead,
                        width=fw * 2))
    ctx.progress("painting", 0.7)
    img = _cut_along_motifs(ref, cells, e, lead_w, fw, lead, rng)
    ctx.progress("painting", 0.8)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    mottle = 0.86 + 0.28 * fbm(rng, s, s, 14, 3)
    streak = 0.95 + 0.1 * fbm(rng, s, s // 8 + 2, 3, 2)[:, :1]
    glow = 0.9
    if scene.light is not None:
        lx, ly, _ = scene.light
        glow = 0.82 + 0.35 * np.exp(-(((xx - lx) ** 2 + (yy - ly) ** 2) / (s * 0.45) ** 2))
    tex = 1 + (mottle * streak * glow - 1) * ctx.texture
    img = np.clip(img * tex[..., None], 0, 1)
    title = f"museforge stained glass: {ctx.prompt}"
    return Painting(to_image(img), to_svg(shapes, s, lead, title))
