"""Files a person uploads (a photo to stylise, a melody to harmonise, a poem draft to rewrite in
part), kept by content hash in the owner's own folder and checked by content, never by name:
images must open as images within the size and pixel limits (decompression bombs refused),
melodies must be MIDI files that parse, drafts UTF-8 text of at most 64 KiB.
A request names an upload as ``upload:SHA256`` or a built-in asset as ``builtin:NAME``; no path a
person sends ever reaches the file system."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError

MAX_BYTES = {"image": 25 * 2**20, "music": 2 * 2**20, "text": 64 * 2**10}
SHA = re.compile(r"^[0-9a-f]{64}$")
SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "BMP": ".bmp", "GIF": ".gif", "TIFF": ".tif"}


def kind_of(data: bytes) -> tuple[str, str]:
    """("image" or "music", the file suffix) from the bytes themselves; one-line error otherwise."""
    if data[:4] == b"MThd":
        import mido

        if len(data) > MAX_BYTES["music"]:
            raise MuseforgeError(f"a MIDI file of at most {MAX_BYTES['music'] // 2**20} MiB")
        try:
            mido.MidiFile(file=io.BytesIO(data))
        except (OSError, ValueError, EOFError, KeyError, IndexError) as err:
            raise MuseforgeError(f"not a MIDI file that can be read ({str(err)[:80]})") from None
        return "music", ".mid"
    if not _looks_like_image(data):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise MuseforgeError("not an image, a MIDI file or UTF-8 text") from None
        if b"\0" in data:
            raise MuseforgeError("not an image, a MIDI file or UTF-8 text")
        if len(data) > MAX_BYTES["text"]:
            raise MuseforgeError(f"a text of at most {MAX_BYTES['text'] // 2**10} KiB")
        return "text", ".txt"
    from museforge.style import io as sio

    if len(data) > MAX_BYTES["image"]:
        raise MuseforgeError(f"an image of at most {MAX_BYTES['image'] // 2**20} MiB")
    image = sio.check_image("upload", "upload", data)
    return "image", SUFFIX.get(image.format or "", ".img")


def _looks_like_image(data: bytes) -> bool:
    """Whether Pillow recognises a format in the bytes (a bomb counts: it is refused later)."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        return True
    except (UnidentifiedImageError, OSError, ValueError):
        return False
    return True


def folder(data: Path, owner: str) -> Path:
    return data / "uploads" / owner


def save(data: Path, owner: str, payload: bytes) -> dict[str, Any]:
    if not payload:
        raise MuseforgeError("the file is empty")
    kind, suffix = kind_of(payload)
    sha = hashlib.sha256(payload).hexdigest()
    target = folder(data, owner) / f"{sha}{suffix}"
    if not target.exists():
        from museforge.atomic import write_file

        write_file(target, payload)
    return {"id": f"upload:{sha}", "kind": kind, "bytes": len(payload)}


def resolve(engine: Any, role: str, ref: str, data: Path, owner: str) -> Any:
    """An InputFile for ``upload:SHA`` (this owner's) or ``builtin:NAME``."""
    from museforge.jobs import builtin_input, read_input

    kind, _, value = ref.partition(":")
    if kind == "upload" and SHA.match(value):
        found = [p for p in folder(data, owner).glob(f"{value}.*") if p.is_file()]
        if found:
            return read_input(role, found[0])
        raise MuseforgeError(f"no upload {value[:12]}...; upload the file again")
    if kind == "builtin" and value:
        asset = builtin_input(engine, role, value)
        if asset is not None:
            return asset
        raise MuseforgeError(f"{engine.name!r} has no built-in {role} called {value!r}")
    raise MuseforgeError(f"input {ref[:40]!r}: give upload:SHA256 (from POST /api/uploads) or builtin:NAME")


def resolve_all(
    inputs: dict[str, list[str]], data: Path, owner: str, engines: dict[str, str]
) -> dict[str, list]:
    """``{"image.content": ["upload:..."]}`` -> the same keys with InputFiles (``engines``: the
    request's modality -> engine, to find each input's engine)."""
    from museforge.engines import get_engine

    out: dict[str, list] = {}
    for key, refs in inputs.items():
        owner_name, _, role = key.partition(".")
        name = engines.get(owner_name, owner_name)
        try:
            engine = get_engine(name)
        except MuseforgeError:
            raise MuseforgeError(
                f"input {key!r}: no modality or engine {owner_name!r} in this request"
            ) from None
        out[key] = [resolve(engine, role, ref, data, owner) for ref in refs]
    return out
