"""A captioned training set made by the procedural painter: images, English captions, a manifest.

Layout of the folder ``make_dataset`` writes::

    images/000000.png   the paintings
    images/000000.txt   each caption, beside its image (the layout many trainers read)
    manifest.jsonl      one JSON object per image: file, sha256, caption, style, motifs, mood,
                        valence, arousal, palette, seed, prompt
    dataset.json        the arguments, library versions and ``manifest_sha256``, the SHA-256 of
                        manifest.jsonl, which therefore covers every image and caption

Item ``i`` depends only on ``(seed, i)``: its prompt, mood and style are drawn from a generator
seeded with ``derive_seed(seed, "dataset:i")``, so the bytes do not depend on the worker count.
"""

from __future__ import annotations

import colorsys
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from museforge import __version__
from museforge.atomic import new_folder
from museforge.emotion import MOOD_PROTOTYPES, MOODS, Emotion, art_direction
from museforge.engines import Request
from museforge.errors import MuseforgeError
from museforge.hashing import sha256_bytes
from museforge.image.procedural import STYLES, ProceduralPainting, ProceduralParams
from museforge.runtime import check_seed, derive_seed, library_versions, make_generator, numpy_rng

MAX_N = 1_000_000
MAX_WORKERS = 64
MIN_SIZE, MAX_SIZE = 16, 512

MOTIF_PHRASES = {
    "forest": "a forest", "tree": "a lone tree", "mountain": "mountains", "sea": "the sea",
    "river": "a river", "moon": "the moon", "sun": "the sun", "stars": "stars",
    "city": "a city", "flower": "flowers", "bird": "birds", "night": "night", "snow": "snow",
    "storm": "a storm", "cloud": "clouds",
}
"""Motif -> the English words for it, used in both the sampled prompt and the caption."""

STYLE_PHRASES = {
    "flow-field": "a swirling flow-field painting with thick brushstrokes",
    "ink-wash": "an ink wash painting",
    "geometric": "a geometric abstract painting",
    "pointillism": "a pointillist painting of small colour dots",
    "botanical": "a botanical illustration",
    "stained-glass": "a stained glass window",
}

_HUES = ((15, "red"), (40, "orange"), (65, "yellow"), (160, "green"), (195, "teal"),
         (250, "blue"), (290, "violet"), (340, "pink"), (360, "red"))


def colour_name(hex_colour: str) -> str:
    """A plain English name for a colour.

    >>> colour_name("#1a237e"), colour_name("#f5f5f0"), colour_name("#e07020")
    ('dark blue', 'white', 'orange')
    """
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    h, lt, s = colorsys.rgb_to_hls(r, g, b)
    if lt < 0.12:
        return "black"
    if s < 0.15 or (lt > 0.9 and s < 0.5):
        return "white" if lt > 0.85 else "grey" if lt > 0.3 else "charcoal"
    name = next(n for limit, n in _HUES if h * 360 < limit)
    if name == "orange" and lt < 0.35:
        name = "brown"
    if lt < 0.35:
        return f"dark {name}"
    return f"pale {name}" if lt > 0.75 else name


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def sample_item(seed: int, index: int) -> tuple[int, str, Emotion, str]:
    """The item seed, prompt, mood and style of item ``index``."""
    item_seed = derive_seed(seed, f"dataset:{index}")
    rng = numpy_rng(make_generator(item_seed))
    names = list(MOTIF_PHRASES)
    k = int(rng.choice([0, 1, 2, 2, 3, 3]))
    motifs = sorted(rng.choice(len(names), size=k, replace=False).tolist())
    prompt = _join([MOTIF_PHRASES[names[i]] for i in motifs]) if motifs else "an abstract composition"
    label = MOODS[int(rng.integers(0, len(MOODS)))]
    v0, a0 = MOOD_PROTOTYPES[label]
    v, a = (float(np.clip(x + rng.uniform(-0.15, 0.15), -1, 1)) for x in (v0, a0))
    style = list(STYLES)[int(rng.integers(0, len(STYLES)))]
    return item_seed, prompt, Emotion(label, round(v, 3), round(a, 3)), style


def caption(style: str, motifs: list[str], palette: list[str], emotion: Emotion,
            mood_words: tuple[str, ...]) -> str:
    """An English caption: style, motifs, colour words and mood words."""
    subject = _join([MOTIF_PHRASES.get(m, m) for m in motifs]) if motifs else "abstract shapes"
    colours = list(dict.fromkeys(colour_name(c) for c in palette))[:3]
    return (f"{STYLE_PHRASES[style]} of {subject}, in {_join(colours)}, "
            f"{emotion.label} mood, {_join(list(mood_words))}")


def make_item(job: tuple[int, int, int, str]) -> dict[str, Any]:
    """Paint, caption and write item ``index``; returns its manifest record."""
    seed, index, size, folder = job
    item_seed, prompt, emotion, style = sample_item(seed, index)
    req = Request(prompt, "en", emotion, item_seed, ProceduralParams(style=style, size=size))
    art = ProceduralPainting().run(req, make_generator(item_seed))
    png = art.files[0].data
    words_rng = np.random.default_rng(item_seed)
    pool = art_direction(emotion).mood_words["en"]
    if len(pool) < 2:
        raise MuseforgeError(f"mood {emotion.label!r} has too few words in museforge.emotion.mapping"
                             f".MOOD_WORDS for a caption; add two or more English ones there")
    words = tuple(pool[i] for i in sorted(words_rng.choice(len(pool), 2, replace=False)))
    text = caption(style, art.summary["motifs"], art.summary["palette"], emotion, words)
    name = f"images/{index:06d}.png"
    (Path(folder) / name).write_bytes(png)
    (Path(folder) / name).with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
    return {"file": name, "sha256": sha256_bytes(png), "caption": text, "style": style,
            "motifs": art.summary["motifs"], "mood": emotion.label, "valence": emotion.valence,
            "arousal": emotion.arousal, "palette": art.summary["palette"], "seed": item_seed,
            "prompt": prompt}


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _records(jobs: list[tuple[int, int, int, str]], workers: int) -> Iterator[dict[str, Any]]:
    if workers <= 1:
        yield from map(make_item, jobs)
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(workers, initializer=_init_worker) as pool:
        yield from pool.imap(make_item, jobs, chunksize=16)


def make_dataset(n: int, size: int, out: Path, seed: int = 0, workers: int = 0,
                 on_progress: Callable[[int], None] | None = None) -> Path:
    """Write ``n`` captioned paintings of ``size`` pixels to the new or empty folder ``out``."""
    if not 1 <= n <= MAX_N:
        raise MuseforgeError(f"--n must be from 1 to {MAX_N:,}, got {n}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise MuseforgeError(f"--size must be from {MIN_SIZE} to {MAX_SIZE} pixels, got {size}")
    if not 0 <= workers <= MAX_WORKERS:
        raise MuseforgeError(f"--workers must be from 0 (one per CPU core) to {MAX_WORKERS}, got {workers}")
    check_seed(seed)
    if out.exists() and not out.is_dir():
        raise MuseforgeError(f"{out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()):
        raise MuseforgeError(f"{out} already exists and is not empty; choose a new --out folder")
    workers = workers or min(os.cpu_count() or 1, 8)
    workers = min(workers, max(1, n // 64))  # small sets are faster in one process
    with new_folder(out) as tmp:
        (tmp / "images").mkdir()
        jobs = [(seed, i, size, str(tmp)) for i in range(n)]
        lines = []
        for i, record in enumerate(_records(jobs, workers)):
            lines.append(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
            if on_progress is not None and (i % 32 == 31 or i == n - 1):
                on_progress(i + 1)
        manifest = "".join(lines).encode()
        (tmp / "manifest.jsonl").write_bytes(manifest)
        info = {"format": 1, "generator": ProceduralPainting.name,
                "engine_version": ProceduralPainting.version, "museforge": __version__,
                "n": n, "size": size, "seed": seed, "styles": list(STYLES),
                "manifest": "manifest.jsonl", "manifest_sha256": sha256_bytes(manifest),
                "libraries": library_versions()}
        (tmp / "dataset.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return out
