"""Preprocess music21's bundled corpus into the cached arrays the music recipes train on.

    python recipes/music_data.py            # chorales, then folk tunes (about 25 CPU minutes)
    python recipes/music_data.py --part essenFolksong   # one folk collection (run three at once)

Writes ``chorales.npz`` and ``folk.npz`` under ``$MUSEFORGE_CACHE/music`` (default
``~/.cache/museforge/music``) and prints their SHA-256 data hashes. Safe to rerun: cached files
are kept.
"""

from __future__ import annotations

import sys
import time

from museforge.music.data import chorale_dataset, folk_dataset, folk_part, load_chorales, load_folk


def _progress(name: str):
    def report(i: int, n: int) -> None:
        if i % 25 == 0:
            print(f"{name}: {i}/{n}", file=sys.stderr, flush=True)
    return report


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--part":
        folk_part(sys.argv[2], _progress(sys.argv[2]))
        return
    t = time.perf_counter()
    chorale_dataset(_progress("chorales"))
    chorales, sha = load_chorales()
    print(f"chorales: {len(chorales)} ({sum(c['split'] == 2 for c in chorales)} held out), "
          f"sha256 {sha}, {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    folk_dataset(_progress("folk"))
    tunes, sha = load_folk()
    print(f"folk tunes: {len(tunes)} ({sum(x['test'] for x in tunes)} held out), sha256 {sha}, "
          f"{time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
