"""``museforge check``: is a poem, an image or a melody a copy of something an index holds?"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from museforge.errors import MuseforgeError

COPY_EXIT = 3
SUFFIX = {"text": "poems", "image": "images", "music": "tunes"}


def add_check_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "check",
        help="is a poem, image or melody a copy? checked against the training data's indexes",
        description="Check poems (UTF-8 text), images (PNG, JPEG, WebP) and melodies (MIDI, MusicXML) "
        "against the indexes of the data museforge's built-in models learned from (Tang poems and "
        "Shakespeare, the procedural paintings, the folk tunes) and any index you build. Each verdict "
        "is original, similar (the nearest items shown) or copy, by thresholds calibrated on held-out "
        "data. Exit status 3 when any file is a copy. Matching ignores punctuation, traditional and "
        "simplified forms, line order, flips, crops, resizing, colour shifts and JPEG, transposition "
        "and tempo.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="files to check")
    p.add_argument("--index", action="append", default=[], metavar="FILE",
                   help="also check against this index (made by --build); may be repeated")
    p.add_argument("--build", metavar="DIR",
                   help="build indexes of every poem, image and melody under DIR instead of checking")
    p.add_argument("--out", metavar="PREFIX",
                   help="with --build: write PREFIX.poems.npz, PREFIX.images.npz, PREFIX.tunes.npz "
                   "(default: the folder's name, here)")
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    p.set_defaults(func=cmd_check)
    return p


def cmd_check(args: argparse.Namespace) -> int:
    if args.build:
        if args.files:
            raise MuseforgeError("give either --build DIR or files to check, not both")
        return _build(Path(args.build), args.out)
    if not args.files:
        raise MuseforgeError("name one or more files to check (or --build DIR to make an index)")
    from museforge.originality.service import check_bytes, load_index

    extra = [load_index(Path(p)) for p in args.index]
    results, copies = [], 0
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise MuseforgeError(f"{name}: no such file")
        modality, verdicts = check_bytes(path.name, path.read_bytes(), extra)
        copies += any(v.label == "copy" for v in verdicts)
        results.append({"file": name, "modality": modality, "verdicts": [v.to_json() for v in verdicts]})
        if not args.json:
            for v in verdicts:
                print(f"{name}: {v.label} ({modality}, score {v.score:.2f}; similar from "
                      f"{v.thresholds.similar:.2f}, copy from {v.thresholds.copy:.2f}; index {v.index})")
                for m in v.matches:
                    detail = f": {m.detail}" if m.detail else ""
                    print(f"    nearest {m.item} ({m.similarity:.2f}){detail}")
    if args.json:
        json.dump(results, sys.stdout, ensure_ascii=False, indent=1)
        print()
    return COPY_EXIT if copies else 0


def _build(folder: Path, out: str | None) -> int:
    from museforge.originality.service import build_index, read_folder

    items, skipped = read_folder(folder)
    for line in skipped:
        print(f"museforge: skipped {line}", file=sys.stderr)
    if not items:
        raise MuseforgeError(f"{folder} holds no poem, image or melody to index")
    prefix = out or folder.resolve().name
    for modality, named in items.items():
        index = build_index(modality, named, f"{folder.name} {SUFFIX[modality]}")
        path = Path(f"{prefix}.{SUFFIX[modality]}.npz")
        index.save(path)
        t = index.thresholds
        print(f"{path}: {len(named)} {SUFFIX[modality]}; similar from {t.similar:.2f}, "
              f"copy from {t.copy:.2f}")
    return 0
