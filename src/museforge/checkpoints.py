"""One save/load for every model museforge ships or trains: a safetensors file that describes itself.

The header holds the model's ``kind`` (``museforge-gpt``, ``museforge-fast-style``, ...), its
``config`` and whatever else loading or provenance needs (``tokenizer``, the training-data
manifest hash, ``recipe``, metrics); every header value is JSON text, so types survive the trip.
``load_checkpoint`` returns the tensors and the decoded header; loading never needs another file.

Files written before this module keep loading unchanged: the GPT's (``format: museforge-gpt``,
plain-string values), the music models' (``class``; strings plain, anything else JSON) and the
AdaIN decoder's (JSON values, no ``kind``) are recognised and decoded to the same dictionary, with
``kind`` filled in. Saving is atomic (a temporary file, then a rename) and byte-deterministic (the
header's keys are sorted; the safetensors library leaves them in hash order).

>>> import tempfile, torch
>>> path = Path(tempfile.mkdtemp()) / "m.safetensors"
>>> _ = save_checkpoint(path, {"w": torch.ones(2)}, config={"n": 2}, kind="museforge-demo", recipe="r")
>>> tensors, meta = load_checkpoint(path, kind="museforge-demo")
>>> meta["config"], meta["recipe"], tensors["w"].tolist()
({'n': 2}, 'r', [1.0, 1.0])
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from museforge.errors import MuseforgeError

if TYPE_CHECKING:
    import torch

GPT_LEGACY_JSON = ("config", "extra", "tokenizer")
"""Header values of a pre-``checkpoints`` GPT file that hold JSON (the rest are plain strings)."""
MUSIC_KINDS = {"Harmonizer": "museforge-harmonizer", "MelodyModel": "museforge-melody"}
"""The ``kind`` of a music model, from its class (older music files name only the class)."""


def save_checkpoint(
    path: str | os.PathLike[str],
    tensors: Mapping[str, torch.Tensor],
    *,
    config: Mapping[str, Any],
    kind: str,
    tokenizer: Mapping[str, Any] | None = None,
    data_sha256: str | None = None,
    recipe: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write ``tensors`` and a self-describing header to ``path`` (folders made as needed).

    ``metadata`` adds JSON-able entries (metrics, the style image's hash, ...); ``dtype`` (say
    ``torch.float16``) converts floating-point tensors for storage. Returns ``path``.
    """
    from safetensors.torch import save

    if not kind:
        raise MuseforgeError("a checkpoint needs a kind (such as 'museforge-gpt')")
    header: dict[str, Any] = dict(metadata or {})
    header.update(kind=kind, config=dict(config))
    for key, value in (("tokenizer", tokenizer), ("data_sha256", data_sha256), ("recipe", recipe)):
        if value is not None:
            header[key] = value
    try:
        meta = {k: json.dumps(v, ensure_ascii=False) for k, v in header.items()}
    except TypeError as err:
        raise MuseforgeError(f"checkpoint metadata must be JSON-able: {err}") from err
    out = {}
    for name, t in tensors.items():
        t = t.detach().cpu()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        out[name] = t.contiguous()
    data = _sorted_header(save(out, metadata=meta))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # a model is read by everyone (mkstemp makes 0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _sorted_header(data: bytes) -> bytes:
    """The same safetensors bytes with the header's JSON keys sorted, so equal models give equal
    files; padded with spaces to 8 bytes as the format asks."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data[8 + n :]


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The decoded header of a checkpoint, without reading its tensors (errors as ``load_checkpoint``)."""
    return _open(Path(path), tensors=False)[1]


def load_checkpoint(
    path: str | os.PathLike[str], kind: str | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, metadata)`` of a checkpoint, tensors as stored, on the CPU.

    ``metadata`` is the decoded header (``kind`` always present); with ``kind`` given, a file of
    another kind is an error. Missing, truncated and foreign files each give a one-line
    ``MuseforgeError``.
    """
    tensors, meta = _open(Path(path), tensors=True)
    if kind is not None and meta["kind"] != kind:
        raise MuseforgeError(f"{path} holds a {meta['kind']} model, not a {kind}")
    return tensors, meta


def _open(path: Path, tensors: bool) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    from safetensors import safe_open

    if not path.is_file():
        raise MuseforgeError(f"no model file at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = dict(f.metadata() or {})
            names = list(f.keys())
            out = {k: f.get_tensor(k) for k in names} if tensors else {}
    except Exception as err:  # header unreadable, or the data shorter than it says
        reason = (str(err).splitlines() or [type(err).__name__])[0]
        raise MuseforgeError(
            f"{path} is not a readable safetensors file: truncated or corrupt ({reason})"
        ) from None
    return out, decode_metadata(raw, names, path)


def decode_metadata(raw: Mapping[str, str], names: list[str] | None = None, path: Any = "") -> dict[str, Any]:
    """A safetensors header (strings) as museforge metadata: values decoded, ``kind`` set.

    >>> decode_metadata({"kind": '"museforge-x"', "config": '{"n": 1}'})
    {'kind': 'museforge-x', 'config': {'n': 1}}
    >>> decode_metadata({"class": "Harmonizer", "recipe": "r.py", "config": "{}"})["kind"]
    'museforge-harmonizer'
    """
    names = names or []
    where = f"{path} " if path else ""
    foreign = MuseforgeError(f"{where}is not a museforge checkpoint (its header names no model kind)".strip())
    try:
        if raw.get("format") == "museforge-gpt" and "kind" not in raw:  # GPT.save before checkpoints
            meta: dict[str, Any] = {k: json.loads(v) if k in GPT_LEGACY_JSON else v for k, v in raw.items()}
            meta["kind"] = "museforge-gpt"
        elif "class" in raw and "kind" not in raw:  # music save_checkpoint: str plain, the rest JSON
            meta = {k: _json_or_text(v) for k, v in raw.items()}
            meta["kind"] = MUSIC_KINDS.get(raw["class"], f"museforge-{raw['class'].lower()}")
        elif "kind" in raw or any(n.startswith("decoder.") for n in names):  # every value JSON
            if "kind" in raw and not raw["kind"].startswith('"'):
                raise foreign  # a "kind" that is not a JSON string: someone else's header
            meta = {k: json.loads(v) for k, v in raw.items()}
            meta.setdefault("kind", "museforge-adain")  # the AdaIN decoder before checkpoints
        else:
            raise foreign
    except json.JSONDecodeError as err:
        raise MuseforgeError(f"{where}has a corrupt header: a value is not JSON ({err})".strip()) from None
    if not isinstance(meta["kind"], str):
        raise foreign
    return meta


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def metadata_strings(meta: Mapping[str, Any]) -> dict[str, str]:
    """The metadata as strings, as the music models' callers read it: strings unchanged, anything
    else as JSON (so a pre-``checkpoints`` header comes back as it was written).

    >>> metadata_strings({"recipe": "r.py", "metrics": {"nll": 1.0}})
    {'recipe': 'r.py', 'metrics': '{"nll": 1.0}'}
    """
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}
