"""How fast ``museforge data ingest`` turns a folder into a data set, in files a second.

Generates a mixed folder (60 % PNG of 64-256 px, 30 % short texts, 10 % short MIDI files, a
LICENSE at the top; seeded) and times, in the same run, the anchor (a plain loop that reads and
sha256-hashes every file: the I/O floor) and the whole ingest with 1 and with 2 worker
processes. Each figure is the median of ``--runs`` runs; the page cache is warm for all of them
(the folder was just written).

    python benchmarks/ingest_speed.py --files 10000 --runs 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WORDS = [
    "moon",
    "river",
    "mountain",
    "wind",
    "autumn",
    "lake",
    "night",
    "snow",
    "spring",
    "willow",
    "bright",
    "quiet",
    "old",
    "swallow",
    "bell",
    "cloud",
    "rain",
    "road",
    "home",
    "far",
    "boat",
    "lamp",
    "frost",
    "silver",
]


def make_folder(root: Path, n: int, seed: int = 0) -> dict[str, int]:
    """``n`` files: 60 % PNG, 30 % text, 10 % MIDI, in ten sub-folders; returns counts by kind."""
    from PIL import Image

    from museforge.music.midi import score_to_midi
    from museforge.music.score import Key, Meter, Note, Score, Track

    rng = np.random.default_rng(seed)
    (root / "LICENSE").write_text("SPDX-License-Identifier: CC-BY-4.0\n")
    counts = {"image": 0, "text": 0, "music": 0}
    for i in range(n):
        folder = root / f"part{i % 10}"
        folder.mkdir(exist_ok=True)
        kind = "image" if i % 10 < 6 else "text" if i % 10 < 9 else "music"
        counts[kind] += 1
        if kind == "image":
            w, h = (int(x) for x in rng.integers(64, 257, 2))
            low = rng.integers(0, 256, (max(2, h // 8), max(2, w // 8), 3), dtype=np.uint8)
            Image.fromarray(low).resize((w, h), Image.Resampling.BILINEAR).save(folder / f"{i:05d}.png")
        elif kind == "text":
            lines = [" ".join(rng.choice(WORDS, 6)) for _ in range(4)]
            (folder / f"{i:05d}.txt").write_text(f"{i}\n" + "\n".join(lines) + "\n")
        else:
            pitches = rng.integers(55, 80, 24)
            notes = [Note(k * 0.5, 0.5, int(p), 80) for k, p in enumerate(pitches)]
            score = Score([Track("melody", 0, 0, notes)], 100, Meter(4, 4), Key("C", "major"), 3)
            (folder / f"{i:05d}.mid").write_bytes(score_to_midi(score, title=f"t{i}"))
    return counts


def anchor(root: Path) -> float:
    """Seconds to read and sha256-hash every file under ``root``."""
    t0 = time.perf_counter()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            hashlib.sha256(path.read_bytes()).hexdigest()
    return time.perf_counter() - t0


def run_ingest(root: Path, out: Path, workers: int) -> tuple[float, int]:
    from museforge.data.ingest import Options, ingest

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    result = ingest(root, out, Options(workers=workers))
    return time.perf_counter() - t0, result.card["items"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=10_000, help="files to generate (default 10000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (median; default 3)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp) / "mine", Path(tmp) / "set"
        root.mkdir()
        t0 = time.perf_counter()
        counts = make_folder(root, args.files)
        made = time.perf_counter() - t0
        rows: dict[str, dict[str, float]] = {}
        anchors = [anchor(root) for _ in range(args.runs)]
        rows["anchor: read + sha256 every file"] = {"seconds": statistics.median(anchors)}
        items = 0
        for workers in args.workers:
            times = []
            for _ in range(args.runs):
                seconds, items = run_ingest(root, out, workers)
                times.append(seconds)
            rows[f"museforge data ingest --workers {workers}"] = {"seconds": statistics.median(times)}
        for row in rows.values():
            row["files_per_s"] = args.files / row["seconds"]
    figures = {"files": args.files, "kinds": counts, "items": items, "generate_s": made, "rows": rows}
    if args.json:
        json.dump(figures, sys.stdout, indent=1)
        print()
        return
    print(
        f"{args.files} files ({counts}), {items} items ingested; generated in {made:.1f} s; median of "
        f"{args.runs}"
    )
    print("| measurement | seconds | files/s |\n|---|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['seconds']:.2f} | {row['files_per_s']:,.0f} |")


if __name__ == "__main__":
    main()
