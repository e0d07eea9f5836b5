"""Reading images for style transfer safely, and writing results.

Sizes are checked from the file header before any pixel is decoded, so a 20000x20000 file is
refused without allocating it. CMYK, palette, 16-bit, grayscale and alpha inputs become RGB
(alpha composited on white).
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from museforge.errors import MuseforgeError
from museforge.files import read_at_most

MAX_EDGE = 8192
"""Longest side accepted for any input image, in pixels."""
MIN_EDGE = 16
"""Shortest side accepted for any input image, in pixels."""
MAX_FILE_BYTES = 256 * 1024 * 1024
"""The largest image file read by name."""


def check_image(path: Path | str, what: str = "image", data: bytes | None = None) -> Image.Image:
    """The image opened lazily (header read, no pixel decoded) after the size checks; one-line
    errors for what cannot be used. ``data``: the file's bytes, ``path`` naming it."""
    path = Path(path)
    if data is None and not path.is_file():
        raise MuseforgeError(f"{what} {path}: no such file")
    if data is None:
        try:
            data = read_at_most(path, MAX_FILE_BYTES + 1)
        except OSError as err:
            raise MuseforgeError(f"{what} {path}: cannot read it ({err.strerror or err})") from None
        if len(data) > MAX_FILE_BYTES:
            raise MuseforgeError(f"{what} {path}: larger than {MAX_FILE_BYTES // 2**20} MiB; use a smaller "
                                 "file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:
        found = re.search(r"\((\d+) pixels\)", str(err))
        count = f"{int(found.group(1)):,} pixels" if found else "its size"
        raise MuseforgeError(
            f"{what} {path}: {count} exceeds the {MAX_EDGE}-pixel edge limit "
            f"(at most {MAX_EDGE}x{MAX_EDGE}); downscale it first"
        ) from err
    except (UnidentifiedImageError, OSError, ValueError) as err:  # ValueError: a text chunk too large
        raise MuseforgeError(f"{what} {path}: not an image Pillow can read (PNG, JPEG, WebP, ...)") from err
    w, h = img.size
    if max(w, h) > MAX_EDGE:
        raise MuseforgeError(
            f"{what} {path}: {w}x{h} exceeds the {MAX_EDGE}-pixel edge limit; downscale it first"
        )
    if min(w, h) < MIN_EDGE:
        raise MuseforgeError(f"{what} {path}: {w}x{h} is too small; each side needs at least {MIN_EDGE} px")
    return img


def open_rgb(path: Path | str, what: str = "image", data: bytes | None = None) -> Image.Image:
    """An RGB PIL image from a file (or from its bytes ``data``, ``path`` naming it), with
    one-line errors for what cannot be used."""
    img = check_image(path, what, data)
    try:
        img = ImageOps.exif_transpose(img)
        return flatten(img)
    except (OSError, ValueError) as err:
        raise MuseforgeError(f"{what} {path}: the file is damaged ({err})") from err


def flatten(img: Image.Image) -> Image.Image:
    """Any mode to RGB: alpha over white, CMYK and grayscale converted."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() or 1.0
        img = Image.fromarray(np.round(arr / top * 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def fit(img: Image.Image, size: int) -> Image.Image:
    """Resize so the longer side is ``size`` pixels (LANCZOS), keeping the aspect ratio."""
    w, h = img.size
    scale = size / max(w, h)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img if new == img.size else img.resize(new, Image.Resampling.LANCZOS)


def to_tensor(img: Image.Image) -> Tensor:
    """PIL RGB to a float tensor (1, 3, H, W) in [0, 1]."""
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_image(x: Tensor) -> Image.Image:
    """A (1, 3, H, W) tensor in [0, 1] to a PIL RGB image."""
    arr = (x.detach().float().cpu().clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255.0).round()
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def png_bytes(img: Image.Image) -> bytes:
    """PNG bytes with no ancillary chunks, so equal pixels give equal bytes."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
