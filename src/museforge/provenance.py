"""What is recorded in every artifact, how it is embedded, and how a manifest is signed.

Embedding puts the record inside each file a person may share alone: PNG text chunks (with an
AUTOMATIC1111-style ``parameters`` chunk that other tools display), a MIDI text meta event, a WAV
``LIST/INFO`` comment, SVG ``<metadata>``; other files get a ``NAME.provenance.json`` sidecar.
The record holds nothing that changes between runs (no times), so embedding keeps files
byte-identical under ``reproduce``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import mido
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from museforge import __version__
from museforge.engines import OutputFile

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RECORD_KEY = "museforge"


def canonical_json(data: Any) -> bytes:
    """Stable bytes for hashing and signing: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def a1111_parameters(record: dict[str, Any], size: tuple[int, int] | None) -> str:
    """The ``parameters`` text in the layout the AUTOMATIC1111 web UI writes and reads.

    >>> r = {"prompt": "moon", "engine": "e", "engine_version": "1", "seed": 3,
    ...      "model_sha256": None, "params": {"style": "ink"}, "emotion": {"label": "serene"}}
    >>> print(a1111_parameters(r, (64, 32)).replace(", Model", ",\\nModel"))
    moon
    Steps: 1, Sampler: e, Seed: 3, Size: 64x32,
    Model: e-1, Emotion: serene, Style: ink, Version: museforge 0.1.0
    """
    params = record.get("params", {})
    fields = [
        ("Steps", params.get("steps", 1)),
        ("Sampler", params.get("sampler", record["engine"])),
        ("Seed", record["seed"]),
    ]
    if size:
        fields.append(("Size", f"{size[0]}x{size[1]}"))
    if record.get("model_sha256"):
        fields.append(("Model hash", record["model_sha256"][:10]))
    fields.append(("Model", f"{record['engine']}-{record['engine_version']}"))
    fields.append(("Emotion", record["emotion"]["label"]))
    for key, value in sorted(params.items()):
        if key not in ("steps", "sampler", "size"):
            fields.append((key.replace("_", " ").capitalize(), value))
    fields.append(("Version", f"museforge {__version__}"))
    body = ", ".join(f"{k}: {_a1111_value(v)}" for k, v in fields)
    return f"{record['prompt']}\n{body}"


def _a1111_value(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if ("," in text or ":" in text) else text


# ---------------------------------------------------------------- PNG


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png_text_chunk(key: str, text: str) -> bytes:
    try:
        return _png_chunk(b"tEXt", key.encode("latin-1") + b"\0" + text.encode("latin-1"))
    except UnicodeEncodeError:  # as Pillow does: iTXt for text beyond Latin-1
        return _png_chunk(b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + text.encode())


def png_size(data: bytes) -> tuple[int, int]:
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    return struct.unpack(">II", data[16:24])


def embed_png(data: bytes, texts: dict[str, str]) -> bytes:
    """Insert text chunks right after IHDR, so readers see them before the image data."""
    ihdr_end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4
    chunks = b"".join(_png_text_chunk(k, v) for k, v in texts.items())
    return data[:ihdr_end] + chunks + data[ihdr_end:]


def read_png_texts(data: bytes) -> dict[str, str]:
    """All tEXt/iTXt chunks of a PNG (uncompressed iTXt only, as written here)."""
    texts: dict[str, str] = {}
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        payload = data[pos + 8 : pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = payload.partition(b"\0")
            texts[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = payload.partition(b"\0")
            if rest[:1] == b"\0":
                _lang, _, rest = rest[2:].partition(b"\0")
                _translated, _, value = rest.partition(b"\0")
                texts[key.decode("latin-1")] = value.decode()
        elif kind == b"IEND":
            break
        pos += 12 + length
    return texts


# ---------------------------------------------------------------- MIDI, WAV, SVG


def embed_midi(data: bytes, record_json: str) -> bytes:
    """Add the record as a text meta event at the start of the first track."""
    midi = mido.MidiFile(file=io.BytesIO(data))
    midi.tracks[0].insert(0, mido.MetaMessage("text", text=f"{RECORD_KEY}:{record_json}", time=0))
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()


def read_midi_record(data: bytes) -> str | None:
    midi = mido.MidiFile(file=io.BytesIO(data))
    for msg in midi.tracks[0]:
        if msg.type == "text" and msg.text.startswith(f"{RECORD_KEY}:"):
            return msg.text[len(RECORD_KEY) + 1 :]
    return None


def _riff_sub(kind: bytes, payload: bytes) -> bytes:
    payload += b"\0"  # INFO strings are NUL-terminated
    if len(payload) % 2:
        payload += b"\0"
    return kind + struct.pack("<I", len(payload)) + payload


def embed_wav(data: bytes, record_json: str) -> bytes:
    """Append a ``LIST/INFO`` chunk with the record as comment (ICMT) and the software (ISFT)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    info = b"INFO" + _riff_sub(b"ISFT", f"museforge {__version__}".encode())
    info += _riff_sub(b"ICMT", record_json.encode("ascii"))
    body = data[8:] + b"LIST" + struct.pack("<I", len(info)) + info
    return b"RIFF" + struct.pack("<I", len(body)) + body


def read_wav_record(data: bytes) -> str | None:
    pos = 12
    while pos + 8 <= len(data):
        kind, size = struct.unpack("<4sI", data[pos : pos + 8])
        if kind == b"LIST" and data[pos + 8 : pos + 12] == b"INFO":
            sub = pos + 12
            while sub + 8 <= pos + 8 + size:
                sub_kind, sub_size = struct.unpack("<4sI", data[sub : sub + 8])
                if sub_kind == b"ICMT":
                    return data[sub + 8 : sub + 8 + sub_size].rstrip(b"\0").decode("ascii")
                sub += 8 + sub_size + (sub_size % 2)
        pos += 8 + size + (size % 2)
    return None


def embed_svg(data: bytes, record_json: str) -> bytes:
    text = data.decode()
    match = re.search(r"<svg\b[^>]*>", text)
    if not match:
        raise ValueError("not an SVG file")
    escaped = record_json.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    meta = f'<metadata id="{RECORD_KEY}">{escaped}</metadata>'
    return (text[: match.end()] + meta + text[match.end() :]).encode()


def read_svg_record(data: bytes) -> str | None:
    match = re.search(rf'<metadata id="{RECORD_KEY}">(.*?)</metadata>', data.decode(), re.S)
    if not match:
        return None
    return match.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# ---------------------------------------------------------------- dispatch


def embed(file: OutputFile, record: dict[str, Any]) -> list[OutputFile]:
    """The file with its record embedded, plus a sidecar when the format cannot hold one."""
    ascii_json = json.dumps(record, sort_keys=True, ensure_ascii=True)
    suffix = Path(file.name).suffix.lower()
    if suffix == ".png":
        texts = {
            "parameters": a1111_parameters(record, png_size(file.data)),
            RECORD_KEY: json.dumps(record, sort_keys=True, ensure_ascii=False),
        }
        return [OutputFile(file.name, embed_png(file.data, texts), file.media_type)]
    if suffix in (".mid", ".midi"):
        return [OutputFile(file.name, embed_midi(file.data, ascii_json), file.media_type)]
    if suffix == ".wav":
        return [OutputFile(file.name, embed_wav(file.data, ascii_json), file.media_type)]
    if suffix == ".svg":
        return [OutputFile(file.name, embed_svg(file.data, ascii_json), file.media_type)]
    sidecar = json.dumps(record, sort_keys=True, ensure_ascii=False, indent=2).encode() + b"\n"
    return [file, OutputFile(f"{file.name}.provenance.json", sidecar, "application/json")]


def read_embedded(path: Path) -> dict[str, Any] | None:
    """The record embedded in (or beside) a file, or None when there is none."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    text: str | None
    if suffix == ".png":
        text = read_png_texts(data).get(RECORD_KEY)
    elif suffix in (".mid", ".midi"):
        text = read_midi_record(data)
    elif suffix == ".wav":
        text = read_wav_record(data)
    elif suffix == ".svg":
        text = read_svg_record(data)
    else:
        sidecar = path.with_name(path.name + ".provenance.json")
        text = sidecar.read_text() if sidecar.exists() else None
    return json.loads(text) if text else None


# ---------------------------------------------------------------- signing


def key_path() -> Path:
    home = os.environ.get("MUSEFORGE_HOME") or Path.home() / ".local" / "share" / "museforge"
    return Path(home) / "signing-key.pem"


def load_signing_key() -> Ed25519PrivateKey:
    """This person's Ed25519 key, made on first use; a throwaway key when it cannot be stored."""
    path = key_path()
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, Ed25519PrivateKey):
            return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pem)
        path.chmod(0o600)
    except OSError as exc:
        warnings.warn(
            f"cannot store the signing key at {path} ({exc.strerror}); this Work is signed with a"
            " one-off key. Set MUSEFORGE_HOME to a writable folder to keep one key.",
            stacklevel=2,
        )
    return key


def sign_manifest(manifest: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, str]:
    """A signature over the canonical JSON of the manifest without its ``signature`` field."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "algorithm": "ed25519",
        "public_key": base64.b64encode(public).decode(),
        "value": base64.b64encode(key.sign(canonical_json(body))).decode(),
    }


def verify_manifest(manifest: dict[str, Any]) -> bool:
    """True when the manifest's signature matches its content and its public key."""
    sig = manifest.get("signature")
    if not isinstance(sig, dict) or sig.get("algorithm") != "ed25519":
        return False
    body = {k: v for k, v in manifest.items() if k != "signature"}
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(sig["public_key"]))
        public.verify(base64.b64decode(sig["value"]), canonical_json(body))
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True
