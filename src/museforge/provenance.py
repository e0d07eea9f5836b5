"""The record inside every file a person may share alone, its seal, and signing.

Each format carries the record where other tools look for metadata: PNG text chunks (with an
AUTOMATIC1111-style ``parameters`` chunk that other tools display), a MIDI text meta event, a WAV
``LIST/INFO`` comment, SVG ``<metadata>``; other files get a ``NAME.provenance.json`` sidecar.

Beside the record each file carries a *seal*: the SHA-256 of the file's own content (the file
without what museforge embedded), a hash per block of it, and an Ed25519 signature over the
record and those hashes. So a lone file verifies on its own, and a change is located to the
block. Embedding is a pure insertion at one place per format, so it can be undone exactly, and
records hold nothing that changes between runs (no times): ``reproduce`` stays byte-exact.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from museforge import __version__
from museforge.errors import MuseforgeError
from museforge.files import read_at_most
from museforge.hashing import sha256_bytes
from museforge.keys import public_b64
from museforge.record import Record, RecordError

if TYPE_CHECKING:
    from museforge.engines import OutputFile

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RECORD_KEY = "museforge"
SEAL_KEY = "museforge-seal"
SIDECAR_SUFFIX = ".provenance.json"
MAX_BLOCKS = 512
MIN_BLOCK = 64
MAX_SIDECAR_BYTES = 16 * 1024 * 1024


def canonical_json(data: Any) -> bytes:
    """Stable bytes for hashing and signing: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _record_json(record: Record | Mapping[str, Any]) -> dict[str, Any]:
    return record.to_json() if isinstance(record, Record) else dict(record)


# ---------------------------------------------------------------- AUTOMATIC1111 parameters


def a1111_parameters(record: Record | Mapping[str, Any], size: tuple[int, int] | None) -> str:
    """The ``parameters`` text in the layout the AUTOMATIC1111 web UI writes and reads; empty
    values are left out (A1111's parser reads ``Key: ,`` as an error).

    >>> r = {"prompt": "moon", "lang": "en", "engine": "e", "engine_version": "1", "seed": 3,
    ...      "model_sha256": None, "params": {"style": "ink", "key": ""}, "libraries": {},
    ...      "emotion": {"label": "serene", "valence": 0.6, "arousal": -0.6}}
    >>> print(a1111_parameters(r, (64, 32)).replace(", Model", ",\\nModel"))
    moon
    Steps: 1, Sampler: e, Seed: 3, Size: 64x32,
    Model: e-1, Emotion: serene, Style: ink, Version: museforge 0.1.0
    """
    from museforge.image.diffusion import SAMPLER_NAMES

    rec = record if isinstance(record, Record) else Record.from_json(dict(record))
    params = rec.params
    sampler = params.get("sampler", rec.engine)
    fields: list[tuple[str, Any]] = [
        ("Steps", params.get("steps", 1)),
        ("Sampler", SAMPLER_NAMES.get(sampler, sampler) if isinstance(sampler, str) else sampler),
    ]
    if isinstance(params.get("cfg"), int | float):
        fields.append(("CFG scale", f"{params['cfg']:g}"))
    fields.append(("Seed", rec.seed))
    if size:
        fields.append(("Size", f"{size[0]}x{size[1]}"))
    if rec.model_sha256:
        fields.append(("Model hash", rec.model_sha256[:10]))
    model = params.get("model")
    fields.append(("Model", _model_name(model) if isinstance(model, str) and model else
                   f"{rec.engine}-{rec.engine_version}"))
    edits = any(item.role == "init" for item in rec.inputs)
    if edits and isinstance(params.get("strength"), int | float):
        fields.append(("Denoising strength", f"{params['strength']:g}"))
    if rec.emotion is not None:
        fields.append(("Emotion", rec.emotion.label))
    sampled = "cfg" in params  # a diffusion sampler's record: strength means something only for edits
    shown = {"steps", "sampler", "size", "cfg", "negative", "model"}
    if edits or sampled:
        shown.add("strength")
    for key, value in sorted(params.items()):
        if key not in shown:
            fields.append((key.replace("_", " ").capitalize(), value))
    roles: dict[str, list[str]] = {}
    for item in rec.inputs:
        roles.setdefault(item.role, []).append(item.name)
    fields += [(role.replace("_", " ").capitalize(), ";".join(names)) for role, names in roles.items()]
    fields.append(("Version", f"museforge {__version__}"))
    body = ", ".join(f"{k}: {_a1111_value(v)}" for k, v in fields if str(v).strip() != "")
    negative = params.get("negative")
    negative_line = [f"Negative prompt: {negative}"] if isinstance(negative, str) and negative else []
    return "\n".join([rec.prompt, *negative_line, body])


def _model_name(model: str) -> str:
    """The name A1111 shows for a checkpoint: the file's name without its suffix, or the folder's."""
    parts = model.rstrip("/").rsplit("/", 2)
    stem, dot, suffix = parts[-1].rpartition(".")
    if not (dot and suffix in ("safetensors", "ckpt", "pt", "bin")):
        return parts[-1]
    return parts[-2] if stem == "model" and len(parts) > 1 else stem


def _a1111_value(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if ("," in text or ":" in text) else text


# ---------------------------------------------------------------- containers


@dataclass(frozen=True)
class Embedded:
    """A file with museforge's texts inserted: ``inserted`` bytes at offset ``at``."""

    data: bytes
    at: int
    inserted: int


class Container:
    """How one file format carries museforge's texts (``museforge`` and ``museforge-seal``)."""

    def embed(self, payload: bytes, texts: dict[str, str]) -> Embedded:
        raise NotImplementedError

    def read(self, data: bytes) -> dict[str, str]:
        raise NotImplementedError

    def strip(self, data: bytes) -> bytes:
        """The file as the engine made it, before anything was embedded."""
        raise NotImplementedError


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png_text_chunk(key: str, text: str) -> bytes:
    try:
        return _png_chunk(b"tEXt", key.encode("latin-1") + b"\0" + text.encode("latin-1"))
    except UnicodeEncodeError:  # as Pillow does: iTXt for text beyond Latin-1
        return _png_chunk(b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + text.encode())


def png_size(data: bytes) -> tuple[int, int]:
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24:
        raise ValueError("not a PNG file")
    return struct.unpack(">II", data[16:24])


def _png_chunks(data: bytes) -> list[tuple[int, int, bytes, bytes]]:
    """``(start, end, kind, payload)`` of each chunk."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("truncated PNG chunk")
        chunks.append((pos, end, kind, data[pos + 8 : pos + 8 + length]))
        pos = end
        if kind == b"IEND":
            break
    return chunks


def _png_text(kind: bytes, payload: bytes) -> tuple[str, str] | None:
    if kind == b"tEXt":
        key, _, value = payload.partition(b"\0")
        return key.decode("latin-1"), value.decode("latin-1")
    if kind == b"iTXt":
        key, _, rest = payload.partition(b"\0")
        if rest[:1] == b"\0":  # uncompressed, as written here
            _lang, _, rest = rest[2:].partition(b"\0")
            _translated, _, value = rest.partition(b"\0")
            return key.decode("latin-1"), value.decode("utf-8", "replace")
    return None


def read_png_texts(data: bytes) -> dict[str, str]:
    """All tEXt/iTXt chunks of a PNG (uncompressed iTXt only, as written here)."""
    texts: dict[str, str] = {}
    for _, _, kind, payload in _png_chunks(data):
        found = _png_text(kind, payload)
        if found:
            texts[found[0]] = found[1]
    return texts


class PngContainer(Container):
    """Text chunks right after IHDR, so readers see them before the image data."""

    KEYS = ("parameters", RECORD_KEY, SEAL_KEY)

    def embed(self, payload: bytes, texts: dict[str, str]) -> Embedded:
        at = 8 + 8 + struct.unpack(">I", payload[8:12])[0] + 4
        size = png_size(payload)
        texts = {"parameters": a1111_parameters(json.loads(texts[RECORD_KEY]), size), **texts}
        chunks = b"".join(_png_text_chunk(k, texts[k]) for k in self.KEYS if k in texts)
        return Embedded(payload[:at] + chunks + payload[at:], at, len(chunks))

    def read(self, data: bytes) -> dict[str, str]:
        return read_png_texts(data)

    def strip(self, data: bytes) -> bytes:
        kept = [data[:8]]
        for start, end, kind, payload in _png_chunks(data):
            found = _png_text(kind, payload)
            if not (found and found[0] in self.KEYS):
                kept.append(data[start:end])
        return b"".join(kept)


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _read_varlen(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos
    raise ValueError("bad MIDI variable-length number")


class MidiContainer(Container):
    """Text meta events (``museforge:{...}``) at the start of the first track."""

    def _track0(self, data: bytes) -> int:
        if data[:4] != b"MThd" or len(data) < 22:
            raise ValueError("not a MIDI file")
        at = 8 + struct.unpack(">I", data[4:8])[0]
        if data[at : at + 4] != b"MTrk":
            raise ValueError("not a MIDI file")
        return at

    def embed(self, payload: bytes, texts: dict[str, str]) -> Embedded:
        track = self._track0(payload)
        events = b""
        for key in (RECORD_KEY, SEAL_KEY):
            if key in texts:
                text = f"{key}:{texts[key]}".encode("latin-1")
                events += b"\x00\xff\x01" + _varlen(len(text)) + text
        length = struct.unpack(">I", payload[track + 4 : track + 8])[0] + len(events)
        at = track + 8
        data = payload[: track + 4] + struct.pack(">I", length) + events + payload[at:]
        return Embedded(data, at, len(events))

    def _events(self, data: bytes) -> tuple[int, int, dict[str, str]]:
        """Offset of track 0's events, the end of museforge's events there, and their texts."""
        track = self._track0(data)
        pos = start = track + 8
        texts: dict[str, str] = {}
        while data[pos : pos + 3] == b"\x00\xff\x01":
            length, body = _read_varlen(data, pos + 3)
            text = data[body : body + length].decode("latin-1")
            key, sep, value = text.partition(":")
            if not sep or key not in (RECORD_KEY, SEAL_KEY):
                break
            texts[key] = value
            pos = body + length
        return start, pos, texts

    def read(self, data: bytes) -> dict[str, str]:
        return self._events(data)[2]

    def strip(self, data: bytes) -> bytes:
        start, end, _ = self._events(data)
        track = start - 8
        length = struct.unpack(">I", data[track + 4 : track + 8])[0] - (end - start)
        return data[: track + 4] + struct.pack(">I", length) + data[end:]


def _riff_sub(kind: bytes, payload: bytes) -> bytes:
    payload += b"\0"  # INFO strings are NUL-terminated
    if len(payload) % 2:
        payload += b"\0"
    return kind + struct.pack("<I", len(payload)) + payload


class WavContainer(Container):
    """A ``LIST/INFO`` chunk appended to the file: software (ISFT), the record as comment (ICMT)
    and the seal (ISGN)."""

    IDS: ClassVar[dict[str, bytes]] = {RECORD_KEY: b"ICMT", SEAL_KEY: b"ISGN"}

    def _chunks(self, data: bytes) -> list[tuple[int, int, bytes]]:
        if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
            raise ValueError("not a WAV file")
        chunks, pos = [], 12
        while pos + 8 <= len(data):
            kind, size = struct.unpack("<4sI", data[pos : pos + 8])
            end = pos + 8 + size + (size % 2)
            chunks.append((pos, min(end, len(data)), kind))
            pos = end
        return chunks

    def embed(self, payload: bytes, texts: dict[str, str]) -> Embedded:
        self._chunks(payload)
        info = b"INFO" + _riff_sub(b"ISFT", f"museforge {__version__}".encode())
        for key, sub in self.IDS.items():
            if key in texts:
                info += _riff_sub(sub, texts[key].encode("ascii"))
        chunk = b"LIST" + struct.pack("<I", len(info)) + info
        body = payload[8:] + chunk
        return Embedded(b"RIFF" + struct.pack("<I", len(body)) + body, len(payload), len(chunk))

    def _ours(self, data: bytes) -> tuple[int, int] | None:
        chunks = self._chunks(data)
        if chunks and chunks[-1][2] == b"LIST" and data[chunks[-1][0] + 8 : chunks[-1][0] + 12] == b"INFO":
            return chunks[-1][0], chunks[-1][1]
        return None

    def read(self, data: bytes) -> dict[str, str]:
        found = self._ours(data)
        if not found:
            return {}
        start, end = found
        texts, sub = {}, start + 12
        names = {v: k for k, v in self.IDS.items()}
        while sub + 8 <= end:
            kind, size = struct.unpack("<4sI", data[sub : sub + 8])
            if kind in names:
                texts[names[kind]] = data[sub + 8 : sub + 8 + size].rstrip(b"\0").decode("ascii", "replace")
            sub += 8 + size + (size % 2)
        return texts

    def strip(self, data: bytes) -> bytes:
        found = self._ours(data)
        if not found or not self.read(data):
            return data
        body = data[8 : found[0]] + data[found[1] :]
        return b"RIFF" + struct.pack("<I", len(body)) + body


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class SvgContainer(Container):
    """``<metadata id="museforge">`` elements right after the opening ``<svg>`` tag."""

    PATTERN = re.compile(r'<metadata id="(museforge|museforge-seal)">(.*?)</metadata>', re.S)

    def embed(self, payload: bytes, texts: dict[str, str]) -> Embedded:
        text = payload.decode()
        match = re.search(r"<svg\b[^>]*>", text)
        if not match:
            raise ValueError("not an SVG file")
        meta = "".join(f'<metadata id="{k}">{_xml_escape(texts[k])}</metadata>'
                       for k in (RECORD_KEY, SEAL_KEY) if k in texts)
        at = len(text[: match.end()].encode())
        inserted = meta.encode()
        return Embedded(payload[:at] + inserted + payload[at:], at, len(inserted))

    def read(self, data: bytes) -> dict[str, str]:
        return {k: _xml_unescape(v) for k, v in self.PATTERN.findall(data.decode("utf-8", "replace"))}

    def strip(self, data: bytes) -> bytes:
        return self.PATTERN.sub("", data.decode("utf-8", "replace")).encode()


CONTAINERS: dict[str, Container] = {
    ".png": PngContainer(),
    ".mid": MidiContainer(),
    ".midi": MidiContainer(),
    ".wav": WavContainer(),
    ".svg": SvgContainer(),
}


def container_of(name: str) -> Container | None:
    """The container for a file name, or None when the record goes in a sidecar."""
    return CONTAINERS.get(Path(name).suffix.lower())


def sidecar_name(name: str) -> str:
    return name + SIDECAR_SUFFIX


# ---------------------------------------------------------------- seals


def block_size(length: int) -> int:
    """Block size for per-block hashes: at least 64 bytes, at most 512 blocks a file.

    >>> block_size(10_000), block_size(10_000_000)
    (64, 32768)
    """
    size = MIN_BLOCK
    while length > size * MAX_BLOCKS:
        size *= 2
    return size


def file_stamp(name: str, media_type: str, payload: bytes) -> dict[str, Any]:
    """What a seal says about a file's own content: hash, size and a hash per block."""
    block = block_size(len(payload))
    return {
        "name": name,
        "media_type": media_type,
        "sha256": sha256_bytes(payload),
        "bytes": len(payload),
        "block": block,
        "blocks": [sha256_bytes(payload[i : i + block])[:16] for i in range(0, len(payload), block)],
    }


def make_seal(record: dict[str, Any], stamp: dict[str, Any], key: Ed25519PrivateKey,
              signer: str = "") -> dict[str, Any]:
    """The seal of one file: its stamp, the signer's name, and a signature over the record, the
    stamp and the name."""
    message = canonical_json({"record": record, "file": stamp, "signer": signer})
    return {
        "file": stamp,
        "signer": signer,
        "algorithm": "ed25519",
        "public_key": public_b64(key),
        "signature": base64.b64encode(key.sign(message)).decode(),
    }


def seal_signature_ok(record: dict[str, Any], seal: Any) -> bool:
    """True when ``seal`` carries a valid Ed25519 signature over ``record`` and its stamp."""
    if not (isinstance(seal, dict) and seal.get("algorithm") == "ed25519"
            and isinstance(seal.get("file"), dict)):
        return False
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(seal["public_key"]))
        signer = seal.get("signer", "")
        public.verify(base64.b64decode(seal["signature"]),
                      canonical_json({"record": record, "file": seal["file"], "signer": signer}))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


# ---------------------------------------------------------------- embedding


def _texts(record: dict[str, Any], seal: dict[str, Any] | None, ascii_only: bool) -> dict[str, str]:
    texts = {RECORD_KEY: json.dumps(record, sort_keys=True, ensure_ascii=ascii_only)}
    if seal is not None:
        texts[SEAL_KEY] = json.dumps(seal, sort_keys=True, ensure_ascii=True)
    return texts


def _sidecar(record: dict[str, Any], seal: dict[str, Any] | None) -> bytes:
    body = dict(record)
    if seal is not None:
        body["seal"] = seal
    return json.dumps(body, sort_keys=True, ensure_ascii=False, indent=2).encode() + b"\n"


def embed_texts(name: str, payload: bytes, record: dict[str, Any],
                seal: dict[str, Any] | None) -> Embedded:
    """``payload`` with the record (and seal) embedded; for formats without a container the
    payload itself (its sidecar is made by :func:`embed`)."""
    container = container_of(name)
    if container is None:
        return Embedded(payload, len(payload), 0)
    ascii_only = not isinstance(container, PngContainer)
    return container.embed(payload, _texts(record, seal, ascii_only))


def embed(file: OutputFile, record: Record | Mapping[str, Any],
          key: Ed25519PrivateKey | None = None, signer: str = "") -> list[OutputFile]:
    """The file with its record embedded (and, given a signing key, sealed in the name of
    ``signer``), plus a sidecar when the format cannot hold a record."""
    from museforge.engines import OutputFile

    data = _record_json(record)
    stamp = file_stamp(file.name, file.media_type, file.data)
    seal = make_seal(data, stamp, key, signer) if key else None
    embedded = embed_texts(file.name, file.data, data, seal)
    out = [OutputFile(file.name, embedded.data, file.media_type)]
    if container_of(file.name) is None:
        out.append(OutputFile(sidecar_name(file.name), _sidecar(data, seal), "application/json"))
    return out


@dataclass(frozen=True)
class Embedding:
    """What a file carries: its record and seal as JSON, and the file's own content."""

    record: dict[str, Any] | None
    seal: dict[str, Any] | None
    payload: bytes
    at: int = 0
    inserted: int = 0


def read_embedding(path: Path, data: bytes | None = None) -> Embedding:
    """The record, seal and own content of a file (a sidecar is read for other formats)."""
    data = read_lone(path) if data is None else data
    container = container_of(path.name)
    try:
        if container is None:
            sidecar = path.with_name(sidecar_name(path.name))
            if not sidecar.is_file():
                return Embedding(None, None, data)
            text = read_at_most(sidecar, MAX_SIDECAR_BYTES + 1)
            if len(text) > MAX_SIDECAR_BYTES:
                raise ValueError("the sidecar is larger than any museforge writes")
            body = json.loads(text.decode("utf-8"))
            if not isinstance(body, dict):
                raise ValueError("the sidecar is not an object")
            seal = body.pop("seal", None)
            return Embedding(body, seal, data, len(data), 0)
        texts = container.read(data)
        payload = container.strip(data)
    except (ValueError, IndexError, struct.error, UnicodeDecodeError, RecursionError, OSError) as err:
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise MuseforgeError(f"{path}: cannot read its museforge record ({reason})") from None
    if RECORD_KEY not in texts:
        return Embedding(None, None, data)
    try:
        record = json.loads(texts[RECORD_KEY])
        seal = json.loads(texts[SEAL_KEY]) if SEAL_KEY in texts else None
    except (ValueError, RecursionError) as err:
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise MuseforgeError(f"{path}: its museforge record is damaged ({reason})") from None
    if not isinstance(record, dict):
        raise MuseforgeError(f"{path}: its museforge record is not an object")
    return Embedding(record, seal, payload, *_insertion(path.name, payload, record, seal))


def _insertion(name: str, payload: bytes, record: dict[str, Any], seal: Any) -> tuple[int, int]:
    try:
        embedded = embed_texts(name, payload, record, seal if isinstance(seal, dict) else None)
    except (ValueError, UnicodeEncodeError, struct.error, KeyError, RecordError):
        return 0, 0
    return embedded.at, embedded.inserted


def read_embedded(path: Path) -> dict[str, Any] | None:
    """The record embedded in (or beside) a file, as JSON, or None when there is none."""
    return read_embedding(Path(path)).record


def reseal(name: str, payload: bytes, record: dict[str, Any], seal: dict[str, Any] | None) -> bytes:
    """A file rebuilt from its content, record and seal (the inverse of reading an embedding)."""
    return embed_texts(name, payload, record, seal).data


# ---------------------------------------------------------------- checking a lone file


@dataclass(frozen=True)
class FileVerdict:
    """What ``verify`` finds about one file."""

    name: str
    status: str
    """``ok``, ``changed``, ``unsigned``, ``no record``, ``forged`` or ``missing``."""
    detail: str = ""
    public_key: str = ""
    """The key that sealed it (base64), when the seal is valid."""
    signer: str = ""
    """The name the key's owner gave it, as the seal says."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def changed_ranges(payload: bytes, stamp: dict[str, Any], at: int, inserted: int) -> list[tuple[int, int]]:
    """File offsets (first, last) of the content blocks whose hashes differ from the stamp; the
    bytes museforge inserted at ``at`` are skipped over."""
    block = stamp.get("block") or MIN_BLOCK
    blocks = stamp.get("blocks") or []
    spans: list[tuple[int, int]] = []
    for i in range(max(len(blocks), -(-len(payload) // block))):
        piece = payload[i * block : (i + 1) * block]
        if i < len(blocks) and piece and sha256_bytes(piece)[:16] == blocks[i]:
            continue
        first = i * block
        last = max(first, len(payload) - 1) if i >= len(blocks) - 1 else min(len(payload), first + block) - 1
        spans.append((first, last))
        if i >= len(blocks) - 1:
            break
    ranges: list[tuple[int, int]] = []
    for first, last in spans:
        parts = [(first, last)] if last < at or first >= at else [(first, at - 1), (at, last)]
        for a, b in parts:
            a, b = (a + inserted, b + inserted) if a >= at else (a, b)
            if ranges and ranges[-1][1] + 1 >= a:
                ranges[-1] = (ranges[-1][0], b)
            else:
                ranges.append((a, b))
    return ranges


def describe_ranges(ranges: list[tuple[int, int]]) -> str:
    """``bytes 1,024-2,047 and 8,192-8,200``."""
    parts = [f"{a:,}" if a == b else f"{a:,}-{b:,}" for a, b in ranges[:4]]
    more = f" and {len(ranges) - 4} more ranges" if len(ranges) > 4 else ""
    single = len(ranges) == 1 and ranges[0][0] == ranges[0][1]
    return ("byte " if single else "bytes ") + ", ".join(parts) + more


def _stamp_ok(stamp: dict[str, Any]) -> bool:
    """A stamp of the shape :func:`file_stamp` writes (a signed stamp can still be hostile)."""
    block, blocks = stamp.get("block"), stamp.get("blocks")
    return (isinstance(stamp.get("sha256"), str) and type(stamp.get("bytes")) is int
            and type(block) is int and MIN_BLOCK <= block <= 2**31
            and isinstance(blocks, list) and len(blocks) <= MAX_BLOCKS + 1
            and all(isinstance(b, str) for b in blocks))


MAX_LONE_BYTES = 512 * 1024 * 1024
"""The largest lone file ``verify`` reads (the whole of it is needed to take the record out)."""


def read_lone(path: Path) -> bytes:
    """The bytes of a lone file, with a one-line error for what cannot be one (a pipe, a device,
    a kernel file that would make us wait, or more than :data:`MAX_LONE_BYTES`)."""
    try:
        data = read_at_most(path, MAX_LONE_BYTES + 1)
    except OSError as err:
        raise MuseforgeError(f"{path}: cannot read it ({err.strerror or err})") from None
    if len(data) > MAX_LONE_BYTES:
        raise MuseforgeError(f"{path} is larger than {MAX_LONE_BYTES // 2**20} MiB: not a file museforge "
                             "made")
    return data


def check_file(path: Path) -> FileVerdict:
    """Verify a lone file: its seal's signature, its content against the sealed hashes (naming
    the bytes that changed), and that the embedded texts are exactly what was sealed."""
    name = path.name
    if not path.is_file():
        return FileVerdict(name, "missing", "not a regular file")
    if path.stat().st_size > MAX_LONE_BYTES:
        limit = MAX_LONE_BYTES // 2**20
        return FileVerdict(name, "no record", f"larger than {limit} MiB: not a file museforge made")
    data = read_lone(path)
    found = read_embedding(path, data)
    if found.record is None:
        return FileVerdict(name, "no record", "it carries no museforge record")
    if found.seal is None:
        return FileVerdict(name, "unsigned", "its record is not sealed (made before seals existed)")
    if not seal_signature_ok(found.record, found.seal):
        return FileVerdict(name, "forged", "the record or its seal was changed after signing")
    public_key, signer = str(found.seal.get("public_key", "")), str(found.seal.get("signer", ""))
    stamp = found.seal["file"]
    if not _stamp_ok(stamp):
        return FileVerdict(name, "forged", "its seal is not one museforge writes", public_key, signer)
    if sha256_bytes(found.payload) != stamp.get("sha256") or len(found.payload) != stamp.get("bytes"):
        ranges = changed_ranges(found.payload, stamp, found.at, found.inserted)
        where = describe_ranges(ranges) if ranges else "its length"
        return FileVerdict(name, "changed", f"{where} changed since it was signed", public_key, signer)
    if reseal(name, found.payload, found.record, found.seal) != data:
        return FileVerdict(name, "changed", "the embedded text (parameters or record) was edited", public_key,
                           signer)
    return FileVerdict(name, "ok", "", public_key, signer)


def strip_seal(path: Path, data: bytes | None = None) -> bytes:
    """The file's bytes with its seal left out (record kept): what ``reproduce`` compares, as a
    seal depends on the key that signed it."""
    found = read_embedding(path, data)
    if found.record is None:
        return path.read_bytes() if data is None else data
    if container_of(path.name) is None:
        return found.payload + b"\0" + _sidecar(found.record, None)
    return reseal(path.name, found.payload, found.record, None)


# ---------------------------------------------------------------- manifests


def sign_manifest(manifest: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, str]:
    """A signature over the canonical JSON of the manifest without its ``signature`` field."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return {
        "algorithm": "ed25519",
        "public_key": public_b64(key),
        "value": base64.b64encode(key.sign(canonical_json(body))).decode(),
    }


def verify_manifest(manifest: Mapping[str, Any]) -> bool:
    """True when the manifest's signature matches its content and its public key."""
    sig = manifest.get("signature")
    if not isinstance(sig, dict) or sig.get("algorithm") != "ed25519":
        return False
    body = {k: v for k, v in manifest.items() if k != "signature"}
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(sig["public_key"]))
        public.verify(base64.b64decode(sig["value"]), canonical_json(body))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True
