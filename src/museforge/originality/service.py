"""The originality service: one index per modality of the data the built-in models learned
from, checked after every job of a learned engine, and ``museforge check`` over any file.

=========  ==========================================  =============================
modality   index (shipped beside its model)             item
=========  ==========================================  =============================
text       :class:`~museforge.originality.poems.PoemIndex`   a poem's lines
image      :class:`~museforge.originality.image.ImageIndex`  an RGB image
music      :class:`~museforge.originality.tunes.TuneIndex`   a melody's notes
=========  ==========================================  =============================

Rule engines learned from no data, and a person's own model (a Stable Diffusion checkpoint, a
transformers poet) from data museforge has no index of: their artifacts are recorded as not
checked, with the reason.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError
from museforge.originality.verdicts import Verdict

COPY_RETRIES = 3
"""A ``copy`` is made again with a new seed this many times before the job fails."""


@dataclass(frozen=True)
class Trained:
    """Which shipped index covers an engine's training data, and the parameter naming its model
    (the index applies only while that parameter names the built-in model)."""

    modality: str
    index: str
    model_param: str = ""
    builtin: tuple[str, ...] = ("",)


TRAINED_ON: dict[str, Trained] = {
    "learned-poet": Trained("text", "text-poet", "model", ("",)),
    "diffusion": Trained("image", "image-diffusion", "model", ("image-diffusion", "")),
    "gan": Trained("image", "image-diffusion", "model", ("image-gan", "")),
    "folk-continuer": Trained("music", "music-melody"),
    "learned-composer": Trained("music", "music-melody"),
}
"""Learned engines -> the index of their training data (the GAN learned from the diffusion
model's data set)."""


SHIPPED = {"text-poet": "poems", "image-diffusion": "image", "music-melody": "tunes"}
"""Shipped index -> the module (under museforge.originality) whose ``default_index`` loads it."""


def shipped(name: str) -> Any:
    """A shipped index by name (``text-poet``, ``image-diffusion``, ``music-melody``), or None
    when it is not installed."""
    import importlib

    return importlib.import_module(f"museforge.originality.{SHIPPED[name]}").default_index()


def calibrations() -> dict[str, dict[str, Any]]:
    """Every installed shipped index's thresholds and calibration (for reports)."""
    out = {}
    for name in SHIPPED:
        index = shipped(name)
        if index is not None and index.thresholds is not None:
            out[name] = index.thresholds.to_json()
    return out


# ---------------------------------------------------------------- items


def poem_of(text: str) -> list[str]:
    """A poem's lines (a title line in 《》 and blank lines left out)."""
    return [ln for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("《")]


def image_of(data: bytes, name: str = "image") -> np.ndarray:
    """An RGB uint8 array from image bytes (size-checked like every image input)."""
    from PIL import Image

    from museforge.style import io as sio

    sio.check_image(name, "image", data)
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def melody_of(name: str, data: bytes) -> np.ndarray:
    """The top line of MIDI or MusicXML bytes as a ``(n, 3)`` note array (pitch, duration,
    onset in quarters)."""
    from museforge.music.io import melody_of as top_line
    from museforge.music.io import read_music_bytes

    line = top_line(read_music_bytes(name, data))
    return np.array([(n.pitch, n.duration, n.start) for n in line], dtype=np.float64).reshape(-1, 3)


# ---------------------------------------------------------------- jobs


def artifact_item(modality: str, files: Sequence[Any]) -> Any:
    """The item an artifact is checked as: the poem, the first painting, the melody."""
    by_suffix = {f.name.rsplit(".", 1)[-1].lower(): f for f in reversed(list(files))}
    if modality == "text" and "txt" in by_suffix:
        return poem_of(by_suffix["txt"].data.decode("utf-8"))
    if modality == "image" and "png" in by_suffix:
        return image_of(by_suffix["png"].data, by_suffix["png"].name)
    if modality == "music":
        for suffix in ("mid", "musicxml"):
            if suffix in by_suffix:
                return melody_of(by_suffix[suffix].name, by_suffix[suffix].data)
    return None


def check_artifact(engine: str, params: Any, modality: str, files: Sequence[Any]) -> dict[str, Any]:
    """The originality entry of one artifact for the Work's record: a verdict against the index
    of its engine's training data, or why it was not checked."""
    trained = TRAINED_ON.get(engine)
    if trained is None:
        return {"checked": False, "reason": "this engine learned from no data"}
    model = str(getattr(params, trained.model_param, "")) if trained.model_param else ""
    if model not in trained.builtin:
        return {"checked": False, "reason": "a model of your own: no index of its training data"}
    index = shipped(trained.index)
    if index is None or index.thresholds is None:
        return {"checked": False, "reason": f"the index {trained.index!r} is not installed"}
    item = artifact_item(modality, files)
    if item is None:
        return {"checked": False, "reason": "no file of this artifact can be checked"}
    return {"checked": True, **index.check(item).to_json()}


def originality_notes(entries: Any) -> list[str]:
    """A line per checked artifact that is not plainly original (for the command line)."""
    notes = []
    for modality, v in (entries or {}).items():
        if isinstance(v, dict) and v.get("checked") and v.get("verdict") != "original":
            near = v["nearest"][0]["item"] if v.get("nearest") else ""
            kept = " (kept: --allow-copy)" if v.get("overridden") else ""
            notes.append(f"originality: the {modality} is {v['verdict']}{kept}, score {v['score']:.2f}"
                         + (f", nearest {near!r}" if near else "") + f" in {v['index']}")
    return notes


# ---------------------------------------------------------------- files


def kind_of(name: str, data: bytes) -> str:
    """``image``, ``music`` or ``text`` by content; a one-line error for anything else."""
    if not data:
        raise MuseforgeError(f"{name} is empty (0 bytes): nothing to check")
    webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or webp:
        return "image"
    if data[:4] == b"MThd":
        return "music"
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if any(n.endswith((".xml", ".musicxml")) for n in z.namelist()):
                    return "music"
        except zipfile.BadZipFile:
            pass
        raise MuseforgeError(f"{name} is a zip archive but not compressed MusicXML: nothing to check")
    head = data[:2048].lstrip()
    if head.startswith(b"<?xml") and (b"score-partwise" in data[:4096] or b"score-timewise" in data[:4096]):
        return "music"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MuseforgeError(f"{name} is not a poem (UTF-8 text), an image (PNG, JPEG, WebP) or music "
                             "(MIDI, MusicXML)") from None
    if "\x00" in text or not text.strip():
        raise MuseforgeError(f"{name} holds no text to check")
    return "text"


SHIPPED_BY_MODALITY = {"text": "text-poet", "image": "image-diffusion", "music": "music-melody"}


def item_of(kind: str, name: str, data: bytes) -> Any:
    if kind == "image":
        return image_of(data, name)
    if kind == "music":
        return melody_of(name, data)
    return poem_of(data.decode("utf-8"))


def load_index(path: Path) -> tuple[str, Any]:
    """``(modality, index)`` of an index file built by ``museforge check --build``."""
    try:
        with np.load(path) as data:
            import json

            features = json.loads(bytes(data["meta"]).decode("utf-8")).get("features", "")
    except Exception as err:  # any unreadable file is one line
        raise MuseforgeError(f"cannot read the index {path}: {type(err).__name__}: {err}") from None
    if features.startswith("poem-lines"):
        from museforge.originality.poems import PoemIndex

        return "text", PoemIndex.load(path)
    if features.startswith("tune-"):
        from museforge.originality.tunes import TuneIndex

        return "music", TuneIndex.load(path)
    from museforge.originality.image import ImageIndex

    return "image", ImageIndex.load(path)


def check_bytes(name: str, data: bytes, extra: Sequence[tuple[str, Any]] = ()) -> tuple[str, list[Verdict]]:
    """A file's kind and its verdicts against the shipped index of its modality and every extra
    ``(modality, index)`` of the same modality."""
    kind = kind_of(name, data)
    modality = kind  # the kinds of file are the modalities
    item = item_of(kind, name, data)
    indexes = [idx for m, idx in extra if m == modality]
    base = shipped(SHIPPED_BY_MODALITY[modality])
    if base is not None:
        indexes.insert(0, base)
    if not indexes:
        raise MuseforgeError(f"no {modality} index is installed; build one with "
                             "'museforge check --build DIR'")
    return modality, [idx.check(item) for idx in indexes]


# ---------------------------------------------------------------- building


HELD_OUT_EVERY = 10
"""A folder's index is calibrated on every tenth item held out from an index of the rest."""


def read_folder(folder: Path) -> tuple[dict[str, list[tuple[str, Any]]], list[str]]:
    """Every checkable file under ``folder`` (sorted, recursively) as ``modality -> [(name,
    item)]``, and the files skipped with why."""
    if not folder.is_dir():
        raise MuseforgeError(f"{folder} is not a folder")
    items: dict[str, list[tuple[str, Any]]] = {"text": [], "image": [], "music": []}
    skipped = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if path.name.endswith(".provenance.json"):
            continue
        name = str(path.relative_to(folder))
        try:
            data = path.read_bytes()
            kind = kind_of(name, data)
            item = item_of(kind, name, data)
        except (MuseforgeError, OSError) as err:
            skipped.append(f"{name}: {err}")
            continue
        items[kind].append((name, item))
    return {m: v for m, v in items.items() if v}, skipped


def build_index(modality: str, items: Sequence[tuple[str, Any]], name: str) -> Any:
    """A calibrated index of named items of one modality (every tenth held out to calibrate an
    index of the rest; the result holds them all)."""
    import importlib

    if len(items) < HELD_OUT_EVERY:
        raise MuseforgeError(f"{len(items)} {modality} files: an index needs {HELD_OUT_EVERY} or more "
                             "to calibrate its verdicts")
    held = [it for i, it in enumerate(items) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
    train = [it for i, it in enumerate(items) if i % HELD_OUT_EVERY != HELD_OUT_EVERY - 1]
    module = importlib.import_module(f"museforge.originality.{SHIPPED[SHIPPED_BY_MODALITY[modality]]}")
    if modality == "text":
        docs = ["《" + n + "》\n" + "\n".join(lines) for n, lines in items]
        train_docs = [d for i, d in enumerate(docs) if i % HELD_OUT_EVERY != HELD_OUT_EVERY - 1]
        calib = module.PoemIndex.build(train_docs)
        thresholds = calib.calibrate([lines for _, lines in held],
                                     list(enumerate(lines for _, lines in train)))
        index = module.PoemIndex.build(docs, name=name)
    elif modality == "music":
        calib = module.TuneIndex.build(train)
        thresholds = module.calibrate_index(calib, [p for _, p in train], [p for _, p in held])
        index = module.TuneIndex.build(items, name=name)
    else:
        calib = module.ImageIndex.build(train, name=name)
        thresholds = calib.calibrate([im for _, im in held])
        index = module.ImageIndex.build(items, name=name)
    index.thresholds = thresholds
    return index
