"""Motifs: the things a prompt names, and a flat reference scene that shows them.

``KEYWORD_MOTIFS`` maps a word (English, matched as a whole word, plural ``s`` allowed) or a
Chinese character or word (matched as a substring) to a motif name. Extend it freely::

    from museforge.image.procedural.motifs import KEYWORD_MOTIFS
    KEYWORD_MOTIFS["lighthouse"] = "city"

Motifs: forest, tree, mountain, sea, river, moon, sun, stars, city, flower, bird, night, snow,
storm, cloud. ``build_scene`` lays the motifs out as a simple landscape (sky, light, mountains,
water, city, trees, flowers, birds, weather) coloured from the mood palette; the painterly styles
then paint over it, so what the prompt names stays visible in every style.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from museforge.emotion import ArtDirection
from museforge.image.procedural.canvas import (
    blur,
    fbm,
    mix,
    noise_1d,
    shift,
    to_rgb01,
    vertical_gradient,
)

KEYWORD_MOTIFS: dict[str, str] = {
    # forest
    "forest": "forest", "woods": "forest", "wood": "forest", "jungle": "forest",
    "grove": "forest", "森林": "forest", "林": "forest", "丛": "forest",
    # tree
    "tree": "tree", "pine": "tree", "oak": "tree", "willow": "tree", "bamboo": "tree",
    "树": "tree", "松": "tree", "柳": "tree", "竹": "tree", "枝": "tree",
    # mountain
    "mountain": "mountain", "hill": "mountain", "peak": "mountain", "cliff": "mountain",
    "山": "mountain", "峰": "mountain", "岭": "mountain", "岳": "mountain",
    # water
    "sea": "sea", "ocean": "sea", "wave": "sea", "shore": "sea", "beach": "sea",
    "海": "sea", "洋": "sea", "浪": "sea", "潮": "sea",
    "river": "river", "stream": "river", "lake": "river", "brook": "river",
    "江": "river", "河": "river", "溪": "river", "川": "river", "湖": "river", "水": "river",
    # sky
    "moon": "moon", "moonlight": "moon", "月": "moon",
    "sun": "sun", "sunrise": "sun", "sunset": "sun", "dawn": "sun", "sunlight": "sun",
    "日": "sun", "阳": "sun", "晨": "sun", "朝": "sun",
    "star": "stars", "starry": "stars", "galaxy": "stars", "星": "stars",
    "cloud": "cloud", "sky": "cloud", "云": "cloud", "天": "cloud",
    "night": "night", "midnight": "night", "evening": "night", "dark": "night",
    "夜": "night", "晚": "night", "暮": "night",
    "storm": "storm", "stormy": "storm", "thunder": "storm", "lightning": "storm",
    "tempest": "storm", "rain": "storm", "风暴": "storm", "暴": "storm", "雷": "storm",
    "雨": "storm",
    "snow": "snow", "winter": "snow", "frost": "snow", "ice": "snow", "雪": "snow",
    "冬": "snow", "冰": "snow",
    # life and people's places
    "city": "city", "town": "city", "street": "city", "village": "city", "tower": "city",
    "城": "city", "市": "city", "楼": "city", "村": "city", "塔": "city",
    "flower": "flower", "blossom": "flower", "rose": "flower", "garden": "flower",
    "bloom": "flower", "lotus": "flower", "花": "flower", "梅": "flower", "兰": "flower",
    "菊": "flower", "荷": "flower", "莲": "flower",
    "bird": "bird", "crane": "bird", "swallow": "bird", "crow": "bird", "geese": "bird",
    "鸟": "bird", "雁": "bird", "鹤": "bird", "燕": "bird", "鸦": "bird",
}

MOTIF_ORDER = ("night", "storm", "snow", "cloud", "stars", "moon", "sun", "mountain", "sea",
               "river", "city", "forest", "tree", "flower", "bird")
"""The canonical order motifs are reported in."""

_LANDSCAPE = {"mountain", "sea", "river", "city", "forest", "tree", "flower"}


def find_motifs(prompt: str, table: dict[str, str] | None = None) -> tuple[str, ...]:
    """The motifs a prompt names, in ``MOTIF_ORDER``.

    >>> find_motifs("在一片神秘的森林中，")
    ('forest',)
    >>> find_motifs("A stormy sea at night")
    ('night', 'storm', 'sea')
    """
    table = KEYWORD_MOTIFS if table is None else table
    text = prompt.lower()
    words = set(re.findall(r"[a-z]+", text))
    words |= {w[:-1] for w in words if w.endswith("s")}
    words |= {w[:-2] for w in words if w.endswith("es")}
    found = set()
    for key, motif in table.items():
        if key.isascii():
            if key in words:
                found.add(motif)
        elif key in text:
            found.add(motif)
    extra = sorted(found - set(MOTIF_ORDER))
    return tuple(m for m in MOTIF_ORDER if m in found) + tuple(extra)


@dataclass
class Scene:
    """A flat reference painting of the motifs and the colours chosen for it."""

    image: np.ndarray
    """``(H, W, 3)`` float32 in [0, 1]."""
    motifs: tuple[str, ...]
    horizon: float
    """Fraction of the height where sky meets land or water."""
    colours: dict[str, np.ndarray] = field(default_factory=dict)
    light: tuple[float, float, float] | None = None
    """``(x, y, radius)`` in pixels of the sun or moon, if drawn."""
    hint: np.ndarray | None = None
    """``(H, W, 3)``: a preferred stroke direction (dx, dy) and its weight in [0, 1]."""


def scene_colours(direction: ArtDirection, night: bool) -> dict[str, np.ndarray]:
    """Named colours (sky, ground, foliage, water, ...) pulled from the mood palette."""
    p = [to_rgb01(c) for c in direction.palette]
    dark, mid, light, accent = p[0], p[2], p[4], p[5]
    c: dict[str, np.ndarray] = {}
    if night:
        c["sky_top"] = mix(dark * 0.5, np.array([0.03, 0.05, 0.14], np.float32), 0.6)
        c["sky_low"] = mix(p[1], np.array([0.16, 0.20, 0.34], np.float32), 0.5)
    else:
        c["sky_top"] = mix(p[3], np.array([0.35, 0.55, 0.80], np.float32), 0.35)
        c["sky_low"] = mix(light, np.array([0.95, 0.90, 0.80], np.float32), 0.35)
    c["mist"] = mix(c["sky_low"], light, 0.25)
    c["far"] = mix(c["sky_low"], mid, 0.45)
    c["ground"] = mix(p[1], np.array([0.22, 0.30, 0.16], np.float32), 0.4)
    c["foliage"] = mix(dark, np.array([0.08, 0.20, 0.12], np.float32), 0.45)
    c["trunk"] = mix(dark, np.array([0.20, 0.13, 0.08], np.float32), 0.5)
    c["water"] = mix(mid, np.array([0.10, 0.28, 0.40], np.float32), 0.55)
    c["accent"] = accent
    c["flower"] = shift(accent, dl=0.05, ds=0.1)
    c["sun"] = mix(accent, np.array([1.0, 0.85, 0.45], np.float32), 0.6)
    c["moon"] = mix(light, np.array([0.98, 0.96, 0.85], np.float32), 0.65)
    c["light"] = c["moon"] if night else c["sun"]
    c["window"] = np.array([1.0, 0.82, 0.45], np.float32)
    if night:
        for k in ("ground", "foliage", "far", "water", "trunk"):
            c[k] = c[k] * 0.6
    return c


def _composite(img: np.ndarray, mask: Image.Image, colour: np.ndarray | np.ndarray) -> None:
    m = np.asarray(mask, np.float32)[..., None] / 255.0
    img *= 1.0 - m
    img += m * colour


def _ridge(rng: np.random.Generator, w: int, base: float, amp: float, cells: float) -> np.ndarray:
    n = noise_1d(rng, w, cells, 5)
    peak = np.exp(-(((np.arange(w) / w) - rng.uniform(0.2, 0.8)) ** 2) / 0.08)
    return base - amp * (0.55 * n + 0.45 * peak)


def draw_conifer(d: ImageDraw.ImageDraw, x: float, base: float, h: float, fill: int,
                 rng: np.random.Generator) -> None:
    """A fir: a thin trunk and stacked, slightly ragged triangles."""
    w = h * rng.uniform(0.28, 0.38)
    d.rectangle([x - h * 0.02, base - h * 0.25, x + h * 0.02, base], fill=fill)
    tiers = 4
    for i in range(tiers):
        t0 = base - h * (0.15 + 0.85 * i / tiers)
        top = base - h * (0.15 + 0.85 * (i + 1.6) / tiers)
        ww = w * (1 - i / (tiers + 1))
        j = rng.uniform(-0.08, 0.08) * ww
        d.polygon([(x - ww + j, t0), (x + ww + j, t0 - h * 0.03), (x, max(top, base - h))],
                  fill=fill)


def draw_broadleaf(d: ImageDraw.ImageDraw, x: float, base: float, h: float, fill: int,
                   rng: np.random.Generator) -> None:
    """A broadleaf tree: tapering trunk, two limbs, and a crown of overlapping blobs."""
    tw = h * 0.035
    crown_y = base - h * 0.62
    d.polygon([(x - tw * 1.6, base), (x + tw * 1.6, base), (x + tw * 0.6, crown_y),
               (x - tw * 0.6, crown_y)], fill=fill)
    for side in (-1, 1):
        d.line([(x, base - h * 0.45), (x + side * h * 0.16, crown_y - h * 0.05)], fill=fill,
               width=max(1, int(tw)))
    r = h * 0.2
    for _ in range(9):
        cx = x + rng.normal(0, h * 0.14)
        cy = crown_y - h * 0.1 + rng.normal(0, h * 0.09)
        rr = r * rng.uniform(0.6, 1.05)
        d.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], fill=fill)


def _lightning(img: np.ndarray, rng: np.random.Generator, s: int, hy: float,
               col: dict[str, np.ndarray]) -> np.ndarray:
    """A forked bolt from the clouds to the horizon, with a glow that lights the clouds."""
    mask = Image.new("L", (s, s), 0)
    d = ImageDraw.Draw(mask)
    x0 = s * rng.uniform(0.15, 0.45) if rng.random() < 0.5 else s * rng.uniform(0.55, 0.85)

    def bolt(x: float, y: float, y_end: float, width: float, depth: int) -> None:
        pts = [(x, y)]
        while y < y_end:
            y += s * rng.uniform(0.02, 0.06)
            x += s * rng.normal(0, 0.03)
            pts.append((x, min(y, y_end)))
            if depth < 2 and rng.random() < 0.12:
                bolt(x, y, y + (y_end - y) * rng.uniform(0.2, 0.5), width * 0.6, depth + 1)
        d.line(pts, fill=255, width=max(1, round(width)), joint="curve")

    bolt(x0, hy * rng.uniform(0.02, 0.15), hy, max(1.0, s / 300), 0)
    m = np.asarray(mask, np.float32) / 255.0
    glow = blur(m, s / 40)
    glow = glow / max(float(glow.max()), 1e-6)
    flash = mix(col["moon"], np.array([0.85, 0.85, 1.0], np.float32), 0.6)
    img = mix(img, np.broadcast_to(flash, img.shape), (glow * 0.45)[..., None])
    core = np.clip(m + blur(m, 1.2) * 0.8, 0, 1)
    return mix(img, np.ones_like(img), core[..., None])


def build_scene(motifs: tuple[str, ...], direction: ArtDirection, size: int,
                rng: np.random.Generator) -> Scene:
    """Lay the motifs out as a landscape and colour it from the mood."""
    s = size
    night = "night" in motifs or ("moon" in motifs and "sun" not in motifs) or (
        "stars" in motifs and "sun" not in motifs)
    col = scene_colours(direction, night)
    has = set(motifs)
    if not has & _LANDSCAPE:
        has.add("hills")
    horizon = 0.62
    if "sea" in has:
        horizon = 0.5
    elif "forest" in has:
        horizon = 0.72
    elif "mountain" in has:
        horizon = 0.68

    hint = np.zeros((s, s, 3), np.float32)
    img = vertical_gradient(s, s, [(0.0, col["sky_top"]), (horizon, col["sky_low"]),
                                   (1.0, col["sky_low"])])
    hy = horizon * s
    yy = np.arange(s, dtype=np.float32)[:, None]
    xx = np.arange(s, dtype=np.float32)[None, :]

    # light: moon or sun
    light = None
    if True:  # a sun or moon anchors every sky; storms veil it
        lx = s * rng.uniform(0.22, 0.78)
        ly = hy * rng.uniform(0.3, 0.5)
        lr = s * (0.055 if night else 0.07)
        lc = col["moon"] if night else col["sun"]
        dist = np.sqrt((xx - lx) ** 2 + (yy - ly) ** 2)
        glow = np.exp(-((dist / (lr * 4.0)) ** 2)) * 0.55
        img = mix(img, np.broadcast_to(lc, img.shape), glow[..., None])
        disc = np.clip(lr - dist + 1.0, 0, 1)
        img = mix(img, np.broadcast_to(lc, img.shape), disc[..., None])
        light = (lx, ly, lr)

    # clouds / storm
    if "cloud" in has or "storm" in has:
        n = fbm(rng, s, s, 3, 5)
        stretch = np.clip((n - (0.45 if "storm" in has else 0.55)) * 3.0, 0, 1)
        band = np.clip(1.2 - yy / max(hy, 1), 0, 1) * (yy < hy)
        cloud_col = col["sky_top"] * 0.7 if "storm" in has else mix(col["sky_low"], col["moon"],
                                                                      0.5)
        img = mix(img, np.broadcast_to(cloud_col, img.shape), (stretch * band)[..., None] * 0.8)

    if "storm" in has:
        img = _lightning(img, rng, s, hy, col)

    if night and ("stars" in has or ("storm" not in has and "cloud" not in has)):
        k = int(s * s / 2500)
        sx = rng.uniform(0, s, k)
        sy = rng.uniform(0, hy * 0.9, k) ** 1.0
        b = rng.uniform(0.4, 1.0, k)
        for x, y, bb in zip(sx.astype(int), sy.astype(int), b, strict=True):
            img[y, x] = mix(img[y, x], np.ones(3, np.float32), float(bb))

    def silhouette(ridge: np.ndarray, colour: np.ndarray, mist_depth: float) -> None:
        below = yy > ridge[None, :]
        fade = np.clip((yy - ridge[None, :]) / max(mist_depth, 1.0), 0, 1)
        layer = mix(np.broadcast_to(colour, img.shape), np.broadcast_to(col["mist"], img.shape),
                    (fade * 0.7)[..., None])
        np.copyto(img, layer, where=below[..., None])

    if "mountain" in has:
        for i, (amp, shade) in enumerate(((0.42, 0.25), (0.3, 0.5), (0.2, 0.8))):
            ridge = _ridge(rng, s, hy + s * 0.04 * i, s * amp, 3 + 2 * i)
            colour = mix(col["far"], col["foliage"] if i == 2 else col["far"] * 0.8, shade)
            if "snow" in has and i == 0:
                colour = mix(colour, np.ones(3, np.float32), 0.5)
            silhouette(ridge, colour, s * (0.12 + 0.05 * i))
    if "hills" in has:
        for i in range(2):
            ridge = _ridge(rng, s, hy + s * 0.05 * i, s * (0.12 - 0.04 * i), 2)
            silhouette(ridge, mix(col["far"], col["ground"], 0.4 + 0.4 * i), s * 0.3)

    # water or ground below the horizon
    low = yy >= hy
    if "sea" in has:
        depth = np.clip((yy - hy) / max(s - hy, 1), 0, 1)
        water = mix(np.broadcast_to(mix(col["sky_low"], col["water"], 0.5), img.shape),
                    np.broadcast_to(col["water"] * 0.6, img.shape), depth[..., None])
        rough = 1.0 if "storm" in has else 0.4
        wav = fbm(rng, s, s, 6, 4)
        phase = xx / s * 18 + wav * 8 + rng.uniform(0, 6)
        freq = 10 + 40 * (1 - depth) ** 2
        crest = np.sin(yy / s * freq * np.pi * 2 + phase) * 0.5 + 0.5
        crest = np.clip((crest - (0.9 - 0.22 * rough * depth)) * 5, 0, 1) * (0.25 + 0.75 * depth)
        foam = mix(col["sky_low"], np.ones(3, np.float32), 0.6)
        water = mix(water, np.broadcast_to(foam, img.shape), (crest * 0.8)[..., None])
        if "storm" in has:  # breaking crests: broken foam riding the swell, larger near us
            swell = np.sin(yy / s * (6 + 14 * (1 - depth)) * np.pi * 2 + phase * 0.7)
            trough = np.clip(-swell, 0, 1) * 0.35 * depth
            water = water * (1 - trough[..., None])
            spray = fbm(rng, s, s, 24, 3)
            caps = np.clip((swell - 0.72) * 6, 0, 1) * np.clip((spray - 0.45) * 4, 0, 1)
            caps = caps * (0.35 + 0.65 * depth)
            water = mix(water, np.broadcast_to(mix(foam, np.ones(3, np.float32), 0.5),
                                               img.shape), caps[..., None])
        if light is not None:
            glint = np.exp(-(((xx - light[0]) / (light[2] * (1.2 + 2.0 * depth))) ** 2))
            glint = glint * (crest > 0.05) * (1 - depth * 0.5)
            water = mix(water, np.broadcast_to(col["light"], img.shape), glint[..., None] * 0.9)
        np.copyto(img, water, where=low[..., None])
        hint[..., 0] = 1.0
        hint[..., 1] = (np.sin(phase) * 0.25)
        hint[..., 2] = low * 0.7
    else:
        depth = np.clip((yy - hy) / max(s - hy, 1), 0, 1)
        g = fbm(rng, s, s, 5, 4)[..., None]
        ground = mix(np.broadcast_to(col["ground"], img.shape),
                     np.broadcast_to(mix(col["ground"], col["foliage"], 0.6) * 0.6, img.shape),
                     depth[..., None])
        ground = ground * (0.85 + 0.3 * g)
        if "snow" in has:
            ground = mix(ground, np.broadcast_to(mix(col["sky_low"], np.ones(3), 0.7),
                                                 img.shape), 0.8)
        np.copyto(img, ground.astype(np.float32), where=low[..., None])
        if "river" in has:
            t = np.clip((yy - hy) / max(s - hy, 1), 0, 1)
            centre = s * (0.5 + 0.25 * np.sin(t * 5.0 + rng.uniform(0, 6)) * t)
            half = s * (0.01 + 0.16 * t**1.4)
            river = (np.abs(xx - centre) < half) & low
            rc = mix(col["sky_low"], col["water"], 0.4)
            rcol = mix(np.broadcast_to(rc, img.shape), np.broadcast_to(col["water"], img.shape),
                       (t * 0.6)[..., None] * np.ones_like(xx)[..., None])
            np.copyto(img, rcol.astype(np.float32), where=river[..., None])

    if "city" in has:
        mask = Image.new("L", (s, s), 0)
        d = ImageDraw.Draw(mask)
        win = Image.new("L", (s, s), 0)
        dw = ImageDraw.Draw(win)
        x = -rng.uniform(0, s * 0.03)
        base = hy + s * 0.01
        while x < s:
            bw = s * rng.uniform(0.035, 0.08)
            bh = s * rng.uniform(0.05, 0.22) * (1.0 - 0.5 * abs(x / s - 0.5))
            d.rectangle([x, base - bh, x + bw, base + s * 0.02], fill=255)
            if rng.random() < 0.2:
                d.polygon([(x, base - bh), (x + bw / 2, base - bh - bw * 0.8),
                           (x + bw, base - bh)], fill=255)
            step = max(3.0, s / 110)
            for wy in np.arange(base - bh + step, base - step, step * 1.8):
                for wx in np.arange(x + step * 0.6, x + bw - step, step * 1.6):
                    if rng.random() < (0.45 if night else 0.2):
                        dw.rectangle([wx, wy, wx + step * 0.6, wy + step * 0.8], fill=255)
            x += bw * rng.uniform(0.8, 1.05)
        _composite(img, mask, mix(col["far"], col["foliage"], 0.6) * 0.8)
        _composite(img, win, col["window"] if night else col["sky_low"])

    if "forest" in has or "tree" in has:
        forest = "forest" in has
        layers = 4 if forest else 1
        for li in range(layers):
            near = (li + 1) / layers
            mask = Image.new("L", (s, s), 0)
            d = ImageDraw.Draw(mask)
            base_y = hy + (s - hy) * (0.05 + 0.95 * near**1.5) if forest else s * 0.93
            if forest:
                count = (16, 11, 7, 3)[li]
                hgt = s * (0.16, 0.26, 0.4, 0.62)[li]
                xs = (np.arange(count) + rng.uniform(0.1, 0.9, count)) / count
                if li >= 2:  # leave a clearing toward the light
                    centre = (light[0] / s) if light else 0.5
                    xs = np.where(np.abs(xs - centre) < 0.16,
                                  centre + np.sign(xs - centre + 1e-3) * 0.2, xs)
                for x in xs * s:
                    draw_conifer(d, x, base_y + rng.normal(0, s * 0.01),
                                 hgt * rng.uniform(0.75, 1.15), 255, rng)
            else:
                count = 1 + int(rng.integers(0, 3))
                for k in range(count):
                    x = s * (0.25 + 0.5 * (k + rng.uniform(0.2, 0.8)) / count)
                    hgt = s * rng.uniform(0.45, 0.65) * (1 if k == 0 else 0.7)
                    draw_broadleaf(d, x, base_y, hgt, 255, rng)
            m = np.asarray(mask, np.float32) / 255.0
            hint[..., 1] += m * 1.0
            hint[..., 2] = np.maximum(hint[..., 2], m * 0.5)
            shade = mix(col["mist"], col["foliage"], 0.25 + 0.75 * near) if forest else col[
                "foliage"]
            if "snow" in has:
                shade = mix(shade, np.ones(3, np.float32), 0.25)
            _composite(img, mask, shade)
            if forest and li < layers - 1:
                fog = np.clip(1 - np.abs(yy - base_y) / (s * 0.12), 0, 1) * 0.35
                img = mix(img, np.broadcast_to(col["mist"], img.shape),
                          (fog * np.ones_like(xx))[..., None])

    if "flower" in has:
        mask_stem = Image.new("L", (s, s), 0)
        ds = ImageDraw.Draw(mask_stem)
        mask_fl = Image.new("L", (s, s), 0)
        df = ImageDraw.Draw(mask_fl)
        mask_c = Image.new("L", (s, s), 0)
        dc = ImageDraw.Draw(mask_c)
        for _ in range(int(14 + rng.integers(0, 8))):
            x = s * rng.uniform(0.03, 0.97)
            y0 = s * rng.uniform(0.93, 1.02)
            h = s * rng.uniform(0.12, 0.32)
            top = (x + rng.normal(0, s * 0.03), y0 - h)
            ds.line([(x, y0), top], fill=255, width=max(1, s // 300))
            r = s * rng.uniform(0.018, 0.035)
            for a in np.linspace(0, 2 * np.pi, 6, endpoint=False) + rng.uniform(0, 1):
                px, py = top[0] + np.cos(a) * r, top[1] + np.sin(a) * r
                df.ellipse([px - r * 0.7, py - r * 0.7, px + r * 0.7, py + r * 0.7], fill=255)
            dc.ellipse([top[0] - r * 0.45, top[1] - r * 0.45, top[0] + r * 0.45,
                        top[1] + r * 0.45], fill=255)
        _composite(img, mask_stem, col["foliage"])
        _composite(img, mask_fl, col["flower"])
        _composite(img, mask_c, col["sun"])

    if "bird" in has:
        mask = Image.new("L", (s, s), 0)
        d = ImageDraw.Draw(mask)
        cx, cy = s * rng.uniform(0.3, 0.7), hy * rng.uniform(0.2, 0.5)
        for _ in range(int(rng.integers(3, 8))):
            bx, by = cx + rng.normal(0, s * 0.12), cy + rng.normal(0, s * 0.05)
            bw = s * rng.uniform(0.015, 0.03)
            d.line([(bx - bw, by - bw * 0.4), (bx - bw * 0.4, by - bw * 0.1), (bx, by + bw * 0.2),
                    (bx + bw * 0.4, by - bw * 0.1), (bx + bw, by - bw * 0.4)], fill=255,
                   width=max(1, s // 250), joint="curve")
        _composite(img, mask, col["foliage"] * 0.5)

    if "snow" in has:
        k = int(s * s / 900)
        fx, fy = rng.uniform(0, s, k), rng.uniform(0, s, k)
        mask = Image.new("L", (s, s), 0)
        d = ImageDraw.Draw(mask)
        for x, y in zip(fx, fy, strict=True):
            r = s / 400 * rng.uniform(0.6, 1.6)
            d.ellipse([x - r, y - r, x + r, y + r], fill=220)
        _composite(img, mask, np.ones(3, np.float32))
    if "storm" in has and "sea" not in has:
        k = int(s * 0.6)
        xs, ys = rng.uniform(0, s, k), rng.uniform(0, s, k)
        mask = Image.new("L", (s, s), 0)
        d = ImageDraw.Draw(mask)
        for x, y in zip(xs, ys, strict=True):
            d.line([(x, y), (x - s * 0.01, y + s * 0.05)], fill=90, width=1)
        _composite(img, mask, col["mist"])

    img = blur(img, max(0.5, s / 700))
    return Scene(np.clip(img, 0, 1).astype(np.float32), tuple(m for m in motifs), horizon, col,
                 light, hint)
