"""Training images for the diffusion model: a procedural set (``museforge dataset procedural``,
with its labels) or any folder of images with a caption in a ``.txt`` file beside each (the
layout the common training scripts read).

Images are centre-cropped to squares and resized once, kept as uint8 in memory. One item in ten
(by its position in the manifest, or in the sorted file list) is held out for evaluation and
never trained on. Unreadable images are listed and skipped, never fatal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from museforge.errors import MuseforgeError
from museforge.hashing import sha256_bytes
from museforge.image.diffusion.text import caption

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
HELD_OUT_EVERY = 10
MAX_PIXELS = 40_000_000
"""Larger images are refused (a decompression bomb, or not a training image)."""


@dataclass
class ImageSet:
    """Images ``[N, S, S, 3]`` uint8, their captions and (procedural sets) labels."""

    images: np.ndarray
    captions: list[str]
    labels: list[dict[str, Any]]
    names: list[str]
    manifest_sha256: str
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.captions)

    def subset(self, rows: list[int]) -> ImageSet:
        return ImageSet(self.images[rows], [self.captions[i] for i in rows], [self.labels[i] for i in rows],
                        [self.names[i] for i in rows], self.manifest_sha256)

    def training_caption(self, row: int, rng: np.random.Generator, drop: float = 0.1) -> str:
        """The caption to train row ``row`` on this time: empty with chance ``drop`` (so the model
        also learns the unconditional image, for classifier-free guidance); for a labelled item, a
        random part of its labels in English or Chinese, or its full caption."""
        if rng.random() < drop:
            return ""
        labels = self.labels[row]
        if not labels.get("style"):
            return self.captions[row]
        roll = rng.random()
        if roll < 0.2:
            return self.captions[row]
        return caption(labels, "zh" if roll < 0.6 else "en", rng)


def _square(image: Image.Image, size: int) -> np.ndarray:
    image = image.convert("RGB")
    w, h = image.size
    edge = min(w, h)
    box = ((w - edge) // 2, (h - edge) // 2, (w - edge) // 2 + edge, (h - edge) // 2 + edge)
    return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS, box=box), dtype=np.uint8)


def _read_image(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as image:
        if image.width * image.height > MAX_PIXELS:
            raise MuseforgeError(f"{image.width}x{image.height} is larger than {MAX_PIXELS:,} pixels")
        return _square(image, size)


def _procedural_items(folder: Path) -> Iterator[tuple[Path, str, dict[str, Any]]]:
    from museforge.image.dataset import colour_name

    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        colours = list(dict.fromkeys(colour_name(c) for c in record.get("palette", ())))[:3]
        labels = {"style": record.get("style"), "motifs": record.get("motifs", []),
                  "mood": record.get("mood"), "colours": colours}
        yield folder / record["file"], record.get("caption", ""), labels


def _folder_items(folder: Path) -> Iterator[tuple[Path, str, dict[str, Any]]]:
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        text = path.with_suffix(".txt")
        yield path, text.read_text(encoding="utf-8", errors="replace").strip() if text.is_file() else "", {}


def load_images(folder: Path, size: int, split: str = "train", limit: int | None = None,
                progress: Any = None) -> ImageSet:
    """The ``split`` ("train", "held-out" or "all") of the images under ``folder`` at ``size`` px."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MuseforgeError(f"{folder} is not a folder; pass a folder of images with .txt captions")
    procedural = (folder / "manifest.jsonl").is_file()
    if (folder / "manifest.parquet").is_file():
        return _load_dataset(folder, size, split, limit, progress)
    items = list(_procedural_items(folder) if procedural else _folder_items(folder))
    if not items:
        raise MuseforgeError(f"no images in {folder} (looked for {', '.join(IMAGE_SUFFIXES)})")
    rows = [i for i in range(len(items)) if split == "all" or (i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1)
            == (split == "held-out")]
    rows = rows[:limit] if limit else rows
    images, captions, labels, names, skipped = [], [], [], [], []
    digest = []
    for n, i in enumerate(rows):
        path, text, label = items[i]
        try:
            images.append(_read_image(path, size))
        except (OSError, UnidentifiedImageError, ValueError, MuseforgeError,
                Image.DecompressionBombError) as err:
            skipped.append(f"{path.name}: {str(err).splitlines()[0][:120]}")
            continue
        captions.append(text)
        labels.append(label)
        names.append(str(path.relative_to(folder)))
        digest.append(f"{names[-1]}\t{text}")
        if progress is not None:
            progress("reading images", (n + 1) / len(rows))
    if not images:
        raise MuseforgeError(f"none of the {len(rows)} images in {folder} could be read: {skipped[0]}")
    manifest = (folder / "manifest.jsonl").read_bytes() if procedural else "\n".join(digest).encode()
    return ImageSet(np.stack(images), captions, labels, names, sha256_bytes(manifest), skipped)


def _load_dataset(folder: Path, size: int, split: str, limit: int | None, progress: Any) -> ImageSet:
    """The images of a data set made by ``museforge data ingest`` (its own train/val split)."""
    from museforge.data.manifest import open_dataset

    dataset = open_dataset(folder)
    want = {"train": "train", "held-out": "val"}.get(split)
    rows = [r for r in dataset.items("image") if want is None or r["split"] == want][: limit or None]
    if not rows:
        raise MuseforgeError(f"the data set {folder} has no {split} images")
    images = []
    for n, row in enumerate(rows):
        images.append(_read_image(dataset.file(row), size))
        if progress is not None:
            progress("reading images", (n + 1) / len(rows))
    return ImageSet(np.stack(images), [r.get("caption") or "" for r in rows], [{} for _ in rows],
                    [r["source"] for r in rows], dataset.manifest_sha256)
