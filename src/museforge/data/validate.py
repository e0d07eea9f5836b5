"""One file of a person's folder, checked by its content and converted into a training item:
images to RGB PNG (EXIF orientation applied, the longest side capped, never upscaled), texts to
UTF-8 NFC, MusicXML to MIDI (MIDI kept as it is once it reads). Anything else is refused with a
reason, never an exception.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError
from museforge.files import read_at_most

CORRUPT = "corrupt"
EMPTY = "empty"
TOO_LARGE = "too large"
TOO_SMALL = "too small"
UNSUPPORTED = "unsupported type"
MISNAMED = "name does not match content"
EXACT = "exact duplicate"
NEAR = "near duplicate"
NO_LICENCE = "no licence"
OPTED_OUT = "opted out"
REASONS = (CORRUPT, EMPTY, TOO_LARGE, TOO_SMALL, UNSUPPORTED, MISNAMED, EXACT, NEAR, NO_LICENCE, OPTED_OUT)

SUFFIXES = {
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"), "image"),
    ".txt": "text",
    **dict.fromkeys((".mid", ".midi", ".xml", ".musicxml", ".mxl"), "music"),
}
"""File name endings of the items ingest reads, and the kind each one promises."""
EXTENSION = {"image": ".png", "text": ".txt", "music": ".mid"}
MAX_PIXELS = 100_000_000
"""An image with more pixels than this is refused before its pixels are decoded."""
MIN_SIDE = 8
MAX_TEXT_CHARS = 1_000_000
THUMB = 8
PNG_LEVEL = 1
"""zlib level of the converted PNGs: encoding twice as fast as the default 6 for about 13 % more bytes
(measured on 200 px images; encoding was most of the time an image took)."""


class Refused(Exception):
    """A file that cannot be an item: a reason from :data:`REASONS` and a detail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (Refused, (self.reason, self.detail))


@dataclass
class Task:
    """What a worker needs to make one item."""

    path: str
    rel: str
    out: str
    max_side: int
    max_bytes: int
    caption: str | None = None


@dataclass
class Converted:
    """A file made into an item (already written under ``out/items``), with what dedup and the
    manifest need."""

    rel: str
    kind: str
    path: str
    sha256: str
    source_sha256: str
    bytes: int
    facts: dict[str, Any] = field(default_factory=dict)
    near: Any = None
    """Images: (pHash, 8x8 RGB thumbnail); texts and music: a hash of the normalised content."""


def content_kind(data: bytes) -> str | None:
    """``image``, ``music`` or ``text`` by the bytes themselves (``None``: none of them).

    >>> content_kind(b"MThd\\x00\\x00\\x00\\x06"), content_kind("月光".encode()), content_kind(b"\\xff\\x00")
    ('music', 'text', None)
    """
    head = data[:16]
    if head.startswith(
        (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
    ) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head.startswith(b"MThd"):
        return "music"
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if "META-INF/container.xml" in z.namelist():
                    return "music"
        except zipfile.BadZipFile:
            return None
        return None
    start = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"<") and (b"<score-partwise" in data[:8192] or b"<score-timewise" in data[:8192]):
        return "music"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else "text"


def read_source(task: Task) -> bytes:
    """The file's bytes, refused when empty, larger than the limit or unreadable."""
    try:
        size = os.stat(task.path).st_size
        if size > task.max_bytes:
            raise Refused(
                TOO_LARGE,
                f"{size / 2**20:.1f} MiB; the limit is {task.max_bytes / 2**20:g} MiB (--max-file-mb)",
            )
        data = read_at_most(task.path, task.max_bytes + 1)
    except OSError as exc:
        raise Refused(
            UNSUPPORTED if exc.errno == errno.EINVAL else CORRUPT, f"cannot read it ({exc.strerror or exc})"
        ) from None
    if len(data) > task.max_bytes:
        raise Refused(TOO_LARGE, f"more than {task.max_bytes / 2**20:g} MiB (--max-file-mb)")
    if not data:
        raise Refused(EMPTY, "0 bytes")
    return data


def _image(data: bytes, max_side: int) -> tuple[bytes, dict[str, Any], tuple[int, bytes]]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    from museforge.originality.image import phash

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise Refused(TOO_LARGE, f"{w}x{h} pixels; the limit is {MAX_PIXELS:,} pixels")
            if img.format == "JPEG" and max(w, h) >= 2 * max_side:
                img.draft("RGB", (max_side, max_side))
            img.load()
            img = ImageOps.exif_transpose(img) or img
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                rgb = Image.new("RGB", rgba.size, (255, 255, 255))
                rgb.paste(rgba, mask=rgba.getchannel("A"))
            else:
                rgb = img.convert("RGB")
    except Image.DecompressionBombError:
        raise Refused(TOO_LARGE, f"more than {MAX_PIXELS:,} pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Refused(
            CORRUPT, f"not an image Pillow can read ({str(exc)[:80] or type(exc).__name__})"
        ) from None
    if min(rgb.size) < MIN_SIDE:
        raise Refused(TOO_SMALL, f"{rgb.width}x{rgb.height}; each side needs at least {MIN_SIDE} px")
    scale = max_side / max(rgb.size)
    if scale < 1:
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    rgb.save(buf, "PNG", compress_level=PNG_LEVEL)
    pixels = np.asarray(rgb)
    thumb = np.asarray(rgb.resize((THUMB, THUMB), Image.Resampling.BILINEAR)).tobytes()
    return buf.getvalue(), {"width": rgb.width, "height": rgb.height}, (phash(pixels), thumb)


def _text(data: bytes) -> tuple[bytes, str]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refused(CORRUPT, f"not UTF-8 text (byte {exc.start})") from None
    if len(text) > MAX_TEXT_CHARS:
        raise Refused(TOO_LARGE, f"{len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        raise Refused(EMPTY, "only white space")
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8"), text


def _music(name: str, data: bytes) -> tuple[bytes, Any]:
    from museforge.music.io import MAX_MUSIC_BYTES, read_music_bytes
    from museforge.music.midi import score_to_midi

    if len(data) > MAX_MUSIC_BYTES:
        raise Refused(
            TOO_LARGE, f"larger than {MAX_MUSIC_BYTES // 2**20} MiB, the limit for MIDI and MusicXML"
        )
    midi = data.startswith(b"MThd")
    suffix = ".mid" if midi else (".mxl" if data.startswith(b"PK") else ".musicxml")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = read_music_bytes(f"{name}{suffix}", data)
    except MuseforgeError as exc:
        reason = EMPTY if "holds no notes" in str(exc) else CORRUPT
        raise Refused(reason, str(exc)[:160]) from None
    except Exception as exc:  # music21 and mido raise many kinds on a malformed file
        raise Refused(CORRUPT, f"cannot read it ({str(exc)[:120] or type(exc).__name__})") from None
    return (data if midi else score_to_midi(score, title=Path(name).stem)), score


def _write(out: str, rel: str, data: bytes) -> None:
    target = Path(out) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def convert(task: Task) -> Converted | Refused:
    """Check one file by its content and write its item under ``task.out``; the refusal when it
    cannot be one."""
    from museforge.data import annotate

    try:
        expected = SUFFIXES.get(Path(task.rel).suffix.lower())
        if expected is None:
            raise Refused(
                UNSUPPORTED,
                f"{Path(task.rel).suffix or 'no name ending'!r} is not an image, a "
                "text (.txt) or music (MIDI, MusicXML)",
            )
        data = read_source(task)
        found = content_kind(data)
        if found is None:
            raise Refused(CORRUPT, f"its bytes are not {expected} data")
        if found != expected:
            raise Refused(MISNAMED, f"named as {expected} but holds {found} data")
        facts: dict[str, Any] = {}
        if found == "image":
            item, facts, near = _image(data, task.max_side)
            facts["mood"] = annotate.mood_of(task.caption)
        elif found == "text":
            item, text = _text(data)
            facts = {"chars": len(text.rstrip("\n")), "mood": annotate.mood_of(task.caption or text)}
            near = annotate.text_key(text)
        else:
            item, score = _music(Path(task.rel).stem, data)
            facts = annotate.music_facts(score)
            facts["mood"] = annotate.mood_of(task.caption)
            near = annotate.melody_key(score)
        sha = hashlib.sha256(item).hexdigest()
        rel = f"items/{found}/{sha[:16]}{EXTENSION[found]}"
        _write(task.out, rel, item)
        return Converted(task.rel, found, rel, sha, hashlib.sha256(data).hexdigest(), len(item), facts, near)
    except Refused as refused:
        return refused
    except MemoryError:
        return Refused(TOO_LARGE, "not enough memory to read it")
