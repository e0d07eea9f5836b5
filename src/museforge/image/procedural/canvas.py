"""Shared canvas helpers: noise, blur, colour arithmetic, paper texture and PNG encoding.

Images are float32 arrays of shape ``(H, W, 3)`` with values in ``[0, 1]`` unless said otherwise.
All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import colorsys
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from museforge.emotion import ArtDirection
from museforge.runtime import Progress

RGB = tuple[int, int, int]


def value_noise(rng: np.random.Generator, h: int, w: int, cells: float) -> np.ndarray:
    """Smooth noise in [0, 1]: a random grid of about ``cells`` cells across, upsampled bicubically."""
    gw = max(2, round(cells) + 3)
    gh = max(2, round(cells * h / w) + 3)
    grid = rng.random((gh, gw), dtype=np.float32)
    big = Image.fromarray(grid, "F").resize((w + 2 * (w // gw + 1), h + 2 * (h // gh + 1)),
                                            Image.Resampling.BICUBIC)
    ox, oy = w // gw + 1, h // gh + 1
    out = np.asarray(big, dtype=np.float32)[oy:oy + h, ox:ox + w]
    return np.clip(out, 0.0, 1.0)


def fbm(rng: np.random.Generator, h: int, w: int, cells: float, octaves: int = 4,
        persistence: float = 0.5) -> np.ndarray:
    """Fractal noise: ``octaves`` layers of value noise, normalised to [0, 1]."""
    total = np.zeros((h, w), np.float32)
    amp, norm = 1.0, 0.0
    for i in range(octaves):
        total += amp * value_noise(rng, h, w, cells * 2**i)
        norm += amp
        amp *= persistence
    total /= norm
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / max(hi - lo, 1e-6)


def noise_1d(rng: np.random.Generator, n: int, cells: float, octaves: int = 4) -> np.ndarray:
    """A smooth random curve of ``n`` samples in [0, 1] (one row of 2-D fractal noise)."""
    return fbm(rng, 2, n, cells, octaves)[0]


def _box(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    if r <= 0:
        return a
    pad = [(0, 0)] * a.ndim
    pad[axis] = (r + 1, r)
    c = np.cumsum(np.pad(a, pad, mode="edge"), axis=axis, dtype=np.float64)
    n = a.shape[axis]
    hi = np.take(c, np.arange(2 * r + 1, 2 * r + 1 + n), axis=axis)
    lo = np.take(c, np.arange(0, n), axis=axis)
    return ((hi - lo) / (2 * r + 1)).astype(np.float32)


def blur(a: np.ndarray, radius: float) -> np.ndarray:
    """Approximate Gaussian blur (three box passes) of a 2-D or 3-D float array."""
    r = max(0, round(radius / 1.7))
    for _ in range(3):
        a = _box(_box(a, r, 0), r, 1)
    return a


def to_rgb01(c: RGB | str) -> np.ndarray:
    """An ``(r, g, b)`` 0-255 tuple or ``#rrggbb`` string as a float array in [0, 1]."""
    if isinstance(c, str):
        c = (int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16))
    return np.asarray(c, np.float32) / 255.0


def to_rgb255(c: np.ndarray) -> RGB:
    r, g, b = (round(float(x) * 255) for x in np.clip(c, 0.0, 1.0))
    return (r, g, b)


def hex_colour(c: np.ndarray | RGB) -> str:
    rgb = to_rgb255(np.asarray(c)) if isinstance(c, np.ndarray) else c
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def mix(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    return a + (b - a) * t


def hls(h_deg: float, lightness: float, saturation: float) -> np.ndarray:
    """A colour from hue (degrees), lightness and saturation, as floats in [0, 1]."""
    return np.asarray(colorsys.hls_to_rgb((h_deg % 360) / 360, float(np.clip(lightness, 0, 1)),
                                          float(np.clip(saturation, 0, 1))), np.float32)


def shift(c: np.ndarray, dl: float = 0.0, ds: float = 0.0, dh: float = 0.0) -> np.ndarray:
    """``c`` with its lightness, saturation and hue (degrees) moved."""
    h, lt, s = colorsys.rgb_to_hls(*np.clip(c, 0, 1).tolist())
    return hls(h * 360 + dh, lt + dl, s + ds)


def luminance(a: np.ndarray) -> np.ndarray:
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


def apply_contrast(a: np.ndarray, contrast: float) -> np.ndarray:
    """Stretch an image about its mean luminance: ``contrast`` 0.35 (soft) .. 1.0 (hard)."""
    k = 0.75 + 0.6 * contrast
    m = float(luminance(a).mean())
    return np.clip((a - m) * k + m, 0.0, 1.0)


def paper(rng: np.random.Generator, h: int, w: int, base: np.ndarray,
          grain: float = 0.04) -> np.ndarray:
    """A paper or canvas ground: ``base`` colour with soft mottling and fine grain."""
    mottle = fbm(rng, h, w, 6, 4) - 0.5
    fine = rng.random((h, w), dtype=np.float32) - 0.5
    tex = 1.0 + grain * (1.2 * mottle + 0.5 * blur(fine, 0.8) + 0.35 * fine)
    return np.clip(base[None, None, :] * tex[..., None], 0.0, 1.0)


def canvas_weave(h: int, w: int, strength: float, period: int = 4) -> np.ndarray:
    """A multiplicative linen-weave pattern around 1.0."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    weave = np.sin(x * 2 * np.pi / period) * np.sin(y * 2 * np.pi / period)
    return (1.0 + strength * weave)[..., None]


def vignette(h: int, w: int, strength: float) -> np.ndarray:
    """A multiplicative darkening toward the corners, shape ``(h, w, 1)``."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    d = ((x / w - 0.5) ** 2 + (y / h - 0.5) ** 2) * 2.0
    return (1.0 - strength * d**1.5)[..., None]


def vertical_gradient(h: int, w: int, stops: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """A sky-like gradient from ``(position, colour)`` stops, position 0 = top, 1 = bottom."""
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)
    pos = np.array([p for p, _ in stops], np.float32)
    cols = np.stack([c for _, c in stops])
    col = np.stack([np.interp(ys, pos, cols[:, i]) for i in range(3)], axis=-1)
    return np.broadcast_to(col[:, None, :], (h, w, 3)).astype(np.float32).copy()


def to_image(a: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), "RGB")


def from_image(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), np.float32) / 255.0


def png_bytes(img: Image.Image) -> bytes:
    """Encode without metadata and with fixed settings, so equal pixels give equal bytes."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6, optimize=False)
    return buf.getvalue()


@dataclass
class Context:
    """Everything a style needs to paint one picture."""

    prompt: str
    motifs: tuple[str, ...]
    direction: ArtDirection
    size: int
    density: float
    texture: float
    rng: np.random.Generator
    progress: Progress


@dataclass
class Painting:
    """What a style returns: the raster, and SVG text for vector styles."""

    image: Image.Image
    svg: str | None = None
