"""Ink wash (shan shui): layered peaks fading into mist on rice paper, with much left empty.

Peaks are built far to near; each is darkest along its ridge and dissolves downward into mist,
and hides what lies behind it. Texture strokes (cun) model the rock, the prompt's motifs are
brushed in (pines and dotted trees along ridges for a forest, ripple lines for water, a pale
moon or a vermilion sun, birds, pavilions, snow, rain) and a red seal signs the corner.
Arousal sharpens the ridges, darkens the ink and adds strokes; valence sets the paper's tone.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from museforge.image.procedural.canvas import (
    Context,
    Painting,
    blur,
    fbm,
    mix,
    noise_1d,
    paper,
    to_image,
    to_rgb01,
)


def _peaks(rng: np.random.Generator, s: int, base: float, height: float, centre: float,
           jag: float) -> np.ndarray:
    """A ridge (y per column): a towering main peak near ``centre`` and lesser ones."""
    x = np.arange(s) / s
    ridge = np.zeros(s, np.float32)
    for k in range(4):
        c = centre + (rng.normal(0, 0.18) if k else 0.0)
        w = rng.uniform(0.08, 0.18) * (1.3 if k == 0 else 1.0)
        a = 1.0 if k == 0 else rng.uniform(0.35, 0.7)
        ridge = np.maximum(ridge, a * np.exp(-np.abs((x - c) / w) ** 2.2))
    ridge = ridge * 0.85 + 0.15 * noise_1d(rng, s, 2, 2)
    detail = noise_1d(rng, s, 10, 5) - 0.5
    return base - height * ridge - s * 0.05 * jag * detail * (0.3 + ridge)


def _pine(d: ImageDraw.ImageDraw, x: float, y: float, h: float, rng: np.random.Generator,
          ink: int = 255) -> None:
    """A pine: a bent, knotted trunk and fans of needle strokes on short limbs."""
    lean = rng.normal(0, 0.2) * h
    ts = np.linspace(0, 1, 8)
    pts = [(x + lean * t**1.5 + rng.normal(0, h * 0.012), y - h * t) for t in ts]
    for i in range(len(pts) - 1):
        w = max(1, int(h * 0.05 * (1 - 0.7 * ts[i])))
        d.line([pts[i], pts[i + 1]], fill=ink, width=w)
    nw = max(1, int(h * 0.008))
    for t in np.linspace(0.4, 1.0, 6):
        bx, by = x + lean * t**1.5, y - h * t
        side = rng.choice([-1, 1])
        span = h * rng.uniform(0.12, 0.22) * (1.25 - 0.6 * t)
        cx, cy = bx + side * span * 0.8, by - h * rng.uniform(0.0, 0.04)
        d.line([(bx, by), (cx, cy)], fill=ink, width=max(1, int(h * 0.018)))
        for c in range(3):  # needle fans: short strokes radiating upward
            fx = cx + (c - 1) * span * 0.55
            fy = cy + rng.normal(0, h * 0.008)
            r = span * 0.5
            for a in np.linspace(np.pi * 1.05, np.pi * 1.95, 9):
                d.line([(fx, fy), (fx + np.cos(a) * r, fy + np.sin(a) * r * 0.45)],
                       fill=int(ink * 0.85), width=nw)


def _dot_tree(d: ImageDraw.ImageDraw, x: float, y: float, h: float,
              rng: np.random.Generator) -> None:
    """A tree of ink dots on a thin trunk (dian ye)."""
    d.line([(x, y), (x + rng.normal(0, h * 0.05), y - h * 0.7)], fill=230,
           width=max(1, int(h * 0.05)))
    for _ in range(int(18 + h / 4)):
        px = x + rng.normal(0, h * 0.2)
        py = y - h * 0.7 + rng.normal(0, h * 0.17)
        r = max(0.7, h * rng.uniform(0.03, 0.06))
        d.ellipse([px - r, py - r * 0.7, px + r, py + r * 0.7], fill=int(rng.uniform(150, 255)))


def paint(ctx: Context) -> Painting:
    s, rng, e = ctx.size, ctx.rng, ctx.direction.stroke_energy
    m = set(ctx.motifs)
    pal = [to_rgb01(c) for c in ctx.direction.palette]
    tone = 0.80 + 0.4 * (ctx.direction.lightness - 0.3)
    night = "night" in m or ("moon" in m and "sun" not in m)
    paper_col = mix(np.array([0.95, 0.91, 0.82], np.float32) * tone, pal[4], 0.10)
    if night:
        paper_col = paper_col * 0.88
    ink_col = mix(np.array([0.07, 0.07, 0.09], np.float32), pal[0] * 0.5, 0.35)
    ground = paper(rng, s, s, paper_col, 0.05 * ctx.texture)
    D = np.zeros((s, s), np.float32)
    yy = np.arange(s, dtype=np.float32)[:, None]
    ctx.progress("painting", 0.1)

    # sky: washes for night, storm and snow
    if night or "storm" in m or "snow" in m:
        wash = fbm(rng, s, s, 2.5, 4)
        D += (0.18 + 0.12 * ("storm" in m)) * (0.6 + 0.6 * wash) * np.clip(1 - yy / (s * 0.8),
                                                                             0, 1)
    side = rng.choice([0.27, 0.73])
    has_mountain = "mountain" in m or not (m & {"sea", "city", "flower"})
    water = bool(m & {"sea", "river"})
    layers = 4 if has_mountain else 2
    inkiness = 0.55 + 0.4 * ctx.direction.contrast
    ridges = []
    for li in range(layers):
        near = li / max(layers - 1, 1)
        if has_mountain:
            base = s * (0.55 + 0.3 * near) if not water else s * (0.5 + 0.2 * near)
            height = s * (0.5 - 0.22 * near) if li < layers - 1 else s * 0.2
            centre = side if li % 2 == 0 else 1 - side + rng.normal(0, 0.05)
        else:  # low far hills only, leave the rest to water or sky
            base, height, centre = s * (0.55 + 0.05 * li), s * 0.08, rng.uniform(0.2, 0.8)
        ridge = _peaks(rng, s, base, height, centre, 0.5 + 1.5 * e)
        dist = yy - ridge[None, :]
        inside = dist > 0
        fade = s * (0.1 + 0.08 * near)
        body = np.exp(-np.clip(dist, 0, None) / fade)
        tex = 0.35 + 1.3 * fbm(rng, s, s, 6 + 6 * near, 5) ** 2
        edge = np.exp(-np.clip(dist, 0, None) / (s * 0.004)) * (0.5 + 0.4 * near)
        strength = (0.22 + 0.6 * near) * inkiness
        alpha = inside * np.clip(body * tex * 0.8 + edge, 0, 1) * strength
        if "snow" in m:
            alpha *= np.clip(dist / (s * 0.05), 0.15, 1)
        D = D * (1 - inside * np.clip(body * 1.6, 0, 0.95)) + alpha
        ridges.append(ridge)
        # cun texture: short downward strokes along the slopes
        cun = Image.new("L", (s, s), 0)
        dc = ImageDraw.Draw(cun)
        n = int(s * (0.8 + 1.0 * e) * ctx.density * (0.5 + near))
        xs = rng.uniform(0, s, n)
        ix = np.clip(xs.astype(int), 0, s - 1)
        ys = ridge[ix] + np.abs(rng.normal(0, fade * 0.5, n))
        slope = np.gradient(ridge)[ix]
        ln = s * rng.uniform(0.01, 0.03, n) * (0.6 + near)
        for x0, y0, sl, L in zip(xs.tolist(), ys.tolist(), slope.tolist(), ln.tolist(),
                                 strict=True):
            ang = np.arctan2(1.0, -sl * 0.8) + rng.normal(0, 0.2)
            dc.line([(x0, y0), (x0 + np.cos(ang) * L, y0 + np.sin(ang) * L)],
                    fill=int(rng.uniform(60, 160)), width=max(1, s // 500))
        c = np.asarray(cun, np.float32) / 255.0
        D = np.clip(D + c * strength * 0.9 * body, 0, 1)
        ctx.progress("painting", 0.15 + 0.5 * (li + 1) / layers)

    trees = Image.new("L", (s, s), 0)
    dt = ImageDraw.Draw(trees)
    if "forest" in m or "tree" in m:
        count_layers = ridges[-2:] if "forest" in m else ridges[-1:]
        for k, ridge in enumerate(count_layers):
            th = s * (0.035 if k == 0 and len(count_layers) > 1 else 0.07)
            n = int(s / th * (1.6 if "forest" in m else 0.3))
            xs = np.sort(rng.uniform(0.02, 0.98, n)) * s
            for x in xs:
                y = ridge[int(x)] + th * rng.uniform(0.1, 0.6)
                if y < s * 0.98:
                    (_pine if rng.random() < 0.45 else _dot_tree)(dt, x, y,
                                                                   th * rng.uniform(0.7, 1.3),
                                                                   rng)
        # a large pine in the foreground corner
        fx = s * (1 - side + rng.normal(0, 0.05))
        _pine(dt, fx, s * 1.02, s * rng.uniform(0.45, 0.6), rng)
    if "city" in m:
        ridge = ridges[-2] if len(ridges) > 1 else ridges[-1]
        x0 = s * rng.uniform(0.2, 0.8)
        for j in range(int(rng.integers(2, 5))):
            x = x0 + j * s * 0.035
            y = ridge[int(np.clip(x, 0, s - 1))] + s * 0.01
            w = s * 0.025
            dt.polygon([(x - w * 1.3, y - w * 0.6), (x + w * 1.3, y - w * 0.6), (x, y - w * 1.4)],
                       fill=220)
            dt.rectangle([x - w * 0.8, y - w * 0.6, x + w * 0.8, y + w * 0.3], fill=120)
    if "bird" in m:
        bx, by = s * (1 - side), s * rng.uniform(0.15, 0.3)
        for _ in range(int(rng.integers(3, 7))):
            x, y, w = bx + rng.normal(0, s * 0.06), by + rng.normal(0, s * 0.03), s * 0.012
            dt.line([(x - w, y - w * 0.3), (x, y + w * 0.2), (x + w, y - w * 0.5)], fill=230,
                    width=max(1, s // 400))
    if water:
        top = int(max(ridges[-1].max() * 0.0 + s * 0.62, 0))
        for _ in range(int(12 + 20 * e)):
            y = rng.uniform(top, s)
            x = rng.uniform(0, s)
            L = s * rng.uniform(0.03, 0.12) * (0.5 + (y - top) / s)
            amp = s * 0.0015 * (1 + 2 * e * ("storm" in m))
            pts = [(x + t * L, y + amp * np.sin(t * 5 + x)) for t in np.linspace(0, 1, 10)]
            dt.line(pts, fill=int(rng.uniform(90, 170)), width=max(1, s // 450))
        if "river" in m or "sea" in m:  # clear a band of water through the mist
            band = np.clip(1 - np.abs(yy - s * 0.8) / (s * 0.15), 0, 1)
            D *= 1 - 0.7 * band
    if "storm" in m:
        for _ in range(int(s * (0.3 + 0.5 * e))):
            x, y = rng.uniform(-0.2 * s, s), rng.uniform(0, s)
            dt.line([(x, y), (x + s * 0.015, y + s * 0.06)], fill=45, width=1)
    if "flower" in m:  # a plum branch from the edge
        x, y = (0 if side > 0.5 else s), s * rng.uniform(0.2, 0.4)
        direction = 1 if side > 0.5 else -1
        pts = [(x, y)]
        for _ in range(7):
            x += direction * s * rng.uniform(0.04, 0.08)
            y += s * rng.normal(0.01, 0.03)
            pts.append((x, y))
        dt.line(pts, fill=255, width=max(1, s // 120), joint="curve")
    T = blur(np.asarray(trees, np.float32) / 255.0, max(0.5, s / 900)) * inkiness * 1.1
    D = np.clip(D + T * (1 - D), 0, 1)
    # ink bleeding and grain
    D = blur(D, max(0.5, s / 1200)) * (0.92 + 0.16 * fbm(rng, s, s, 40, 2))
    img = mix(ground, np.broadcast_to(ink_col, ground.shape), np.clip(D, 0, 1)[..., None])
    ctx.progress("painting", 0.8)

    yyf, xxf = np.mgrid[0:s, 0:s].astype(np.float32)
    vermilion = np.array([0.78, 0.2, 0.14], np.float32)
    if "moon" in m or (night and "storm" not in m) or "sun" in m:
        lx, ly, lr = s * (1 - side) + rng.normal(0, s * 0.05), s * 0.2, s * 0.055
        disc = np.clip(lr - np.sqrt((xxf - lx) ** 2 + (yyf - ly) ** 2) + 1, 0, 1)[..., None]
        if "sun" in m and not night:
            img = mix(img, np.broadcast_to(mix(vermilion, pal[5], 0.2), img.shape), disc * 0.85)
        else:
            halo = np.exp(-((np.sqrt((xxf - lx) ** 2 + (yyf - ly) ** 2) - lr) / (s * 0.05)) ** 2)
            img = img * (1 - 0.12 * halo[..., None] * (1 - disc))
            img = mix(img, np.broadcast_to(paper_col * 1.06, img.shape), disc)
    if "flower" in m:
        for _ in range(int(10 + 10 * e)):
            fx, fy, r = rng.uniform(0, s), rng.uniform(0.15 * s, 0.45 * s), s * 0.012
            blossom = np.clip(r - np.sqrt((xxf - fx) ** 2 + (yyf - fy) ** 2), 0, 1)[..., None]
            img = mix(img, np.broadcast_to(mix(vermilion, pal[5], 0.35), img.shape),
                      blossom * 0.8)
    # the seal
    sw = max(4, int(s * 0.055))
    sx = int(s * (0.08 if side > 0.5 else 0.92 - 0.055))
    sy = int(s * 0.86)
    seal = Image.new("L", (sw, sw), 255)
    dsl = ImageDraw.Draw(seal)
    lw = max(1, sw // 12)
    for _ in range(7):
        if rng.random() < 0.5:
            y0 = rng.uniform(0.15, 0.85) * sw
            dsl.line([(sw * 0.15, y0), (sw * 0.85, y0)], fill=0, width=lw)
        else:
            x0 = rng.uniform(0.15, 0.85) * sw
            dsl.line([(x0, sw * 0.15), (x0, sw * 0.85)], fill=0, width=lw)
    sm = np.asarray(seal, np.float32) / 255.0 * (0.75 + 0.25 * rng.random((sw, sw)))
    region = img[sy:sy + sw, sx:sx + sw]
    sm = sm[:region.shape[0], :region.shape[1]]  # on a small canvas the seal runs over the edge
    img[sy:sy + sw, sx:sx + sw] = mix(region, np.broadcast_to(vermilion, region.shape),
                                      sm[..., None] * 0.9)
    return Painting(to_image(img))
