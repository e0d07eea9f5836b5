"""Brush helpers: direction fields, stroke tracing, stroke drawing and impasto relief."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from museforge.image.procedural.canvas import blur, fbm, luminance


def direction_field(rng: np.random.Generator, reference: np.ndarray, swirl: float, cells: float,
                    structure: float = 1.0,
                    vortex: tuple[float, float, float] | None = None,
                    hint: np.ndarray | None = None) -> np.ndarray:
    """Unit vectors ``(H, W, 2)`` (dx, dy): noise swirls bent along the reference's edges.

    ``swirl`` scales how far the noise angle turns; ``structure`` how strongly strokes follow
    the contours of ``reference``; ``vortex`` ``(x, y, radius)`` adds a whirl around a point;
    ``hint`` ``(H, W, 3)`` pulls toward a preferred direction (dx, dy) with a weight.
    """
    h, w = reference.shape[:2]
    ang = fbm(rng, h, w, cells, 3) * swirl * 2 * np.pi
    vx, vy = np.cos(ang), np.sin(ang)
    lum = blur(luminance(reference), max(1.0, w / 150))
    gy, gx = np.gradient(lum)
    mag = np.sqrt(gx**2 + gy**2)
    scale = float(np.percentile(mag, 90)) + 1e-6
    k = np.clip(mag / scale, 0, 1) * structure
    tx, ty = -gy / (mag + 1e-9), gx / (mag + 1e-9)
    flip = np.where(tx * vx + ty * vy < 0, -1.0, 1.0)
    vx = vx * (1 - k) + tx * flip * k * 2
    vy = vy * (1 - k) + ty * flip * k * 2
    if hint is not None:
        hx, hy, hw = hint[..., 0], hint[..., 1], hint[..., 2]
        hn = np.sqrt(hx**2 + hy**2) + 1e-9
        sgn = np.where(hx * vx + hy * vy < 0, -1.0, 1.0)
        vx = vx * (1 - hw) + sgn * hx / hn * hw * 2
        vy = vy * (1 - hw) + sgn * hy / hn * hw * 2
    if vortex is not None:
        cx, cy, r = vortex
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        dx, dy = xx - cx, yy - cy
        d = np.sqrt(dx**2 + dy**2) + 1e-6
        fall = np.exp(-((d / (r * 5)) ** 2)) * 2.5 * (d > r * 1.05)
        vx = vx + (-dy / d) * fall
        vy = vy + (dx / d) * fall
    n = np.sqrt(vx**2 + vy**2) + 1e-9
    return np.stack([vx / n, vy / n], axis=-1).astype(np.float32)


def trace(field: np.ndarray, seeds: np.ndarray, steps: int, step_len: float | np.ndarray,
          jitter: np.ndarray | None = None) -> np.ndarray:
    """Follow ``field`` from each seed: paths of shape ``(N, steps + 1, 2)``, all at once."""
    h, w = field.shape[:2]
    pts = np.empty((len(seeds), steps + 1, 2), np.float32)
    pts[:, 0] = seeds
    prev = None
    cur = seeds.astype(np.float32).copy()
    sl = np.asarray(step_len, np.float32).reshape(-1, 1) if np.ndim(step_len) else step_len
    for k in range(steps):
        ix = np.clip(cur[:, 0].astype(np.int32), 0, w - 1)
        iy = np.clip(cur[:, 1].astype(np.int32), 0, h - 1)
        v = field[iy, ix]
        if jitter is not None:
            c, s = np.cos(jitter[:, k]), np.sin(jitter[:, k])
            v = np.stack([v[:, 0] * c - v[:, 1] * s, v[:, 0] * s + v[:, 1] * c], axis=1)
        if prev is not None:
            v = np.where((v * prev).sum(1, keepdims=True) < 0, -v, v)
        cur = cur + v * sl
        pts[:, k + 1] = cur
        prev = v
    return pts


def sample(img: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Colours of ``img`` at points ``(N, 2)`` (nearest pixel)."""
    h, w = img.shape[:2]
    ix = np.clip(xy[:, 0].astype(np.int32), 0, w - 1)
    iy = np.clip(xy[:, 1].astype(np.int32), 0, h - 1)
    return img[iy, ix]


def draw_strokes(canvas: Image.Image, height: Image.Image | None, paths: np.ndarray,
                 colours: np.ndarray, widths: np.ndarray, rng: np.random.Generator,
                 curve: bool = True) -> None:
    """Paint polylines onto ``canvas`` and, when given, their ridges into the ``height`` map."""
    d = ImageDraw.Draw(canvas)
    dh = ImageDraw.Draw(height) if height is not None else None
    cols = np.clip(colours * 255 + 0.5, 0, 255).astype(np.int32).tolist()
    hv = rng.integers(60, 255, len(paths)).tolist()
    joint = "curve" if curve else None
    for p, c, wd, hh in zip(paths.reshape(len(paths), -1).tolist(), cols, widths.tolist(), hv,
                            strict=True):
        w = max(1, int(wd))
        d.line(p, fill=tuple(c), width=w, joint=joint)
        if dh is not None:
            dh.line(p, fill=hh, width=w)


def impasto(img: np.ndarray, height: Image.Image, strength: float) -> np.ndarray:
    """Light the painted surface from the upper left using the stroke height map."""
    hm = blur(np.asarray(height, np.float32) / 255.0, 1.0)
    gy, gx = np.gradient(hm)
    shade = (-gx - gy) * strength
    return np.clip(img * (1.0 + shade[..., None]) + 0.15 * np.clip(shade, 0, None)[..., None],
                   0, 1)
