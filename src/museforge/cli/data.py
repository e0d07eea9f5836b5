"""``museforge data``: bring your own data (ingest a folder, verify a data set, show its card)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from museforge.cli.common import Parser, StageProgress, add_quiet, one_line


def add_data_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "data",
        help="bring your own data: a folder becomes a licence-aware data set with a card",
        description="Make a training data set of your own images, texts and music, check one, or show "
        "its card. A data set is a folder with manifest.parquet (one row per item), items/ (the "
        "converted files), card.json and README.md (counts, licences, sources, refused files).",
    )
    data_sub = p.add_subparsers(
        dest="data_command",
        metavar="ACTION",
        parser_class=Parser,
        help="ingest a folder, verify a data set or show its card",
    )
    ing = data_sub.add_parser(
        "ingest",
        help="turn a folder of images, texts (.txt) and MIDI/MusicXML into a data set",
        description="Walk DIR (sorted; hidden files left out) and make a data set of every image (PNG, "
        "JPEG, WebP, GIF, BMP, TIFF -> RGB PNG), text (.txt -> UTF-8 NFC) and piece of music (MIDI kept, "
        "MusicXML -> MIDI). Each file's licence comes from its sidecar (NAME.license holding an SPDX id, "
        "or NAME.json with licence, caption, tags, url), else the nearest LICENSE/LICENCE/COPYING file in "
        "its folder or above, else --licence, else --assume-licence; files with none are refused. A .txt "
        "beside an image with the same name is its caption. Files are checked by content: empty, corrupt, "
        "too large or mis-named files, exact and near duplicates and opted-out items are refused and "
        "listed in the card.",
    )
    ing.add_argument("dir", metavar="DIR", help="the folder of your images, texts and music")
    ing.add_argument("--out", required=True, metavar="DATASET", help="the data set folder to write")
    ing.add_argument(
        "--licence",
        "--license",
        dest="licence",
        metavar="SPDX",
        help="licence of every item that states none (no sidecar or LICENSE file), e.g. CC-BY-4.0",
    )
    ing.add_argument(
        "--assume-licence",
        "--assume-license",
        dest="assume_licence",
        metavar="SPDX",
        help="licence assumed for items that state none and --licence does not cover; recorded "
        "as assumed in the manifest and the card",
    )
    ing.add_argument(
        "--opt-out",
        metavar="FILE",
        help="leave out items whose original's sha256 or sidecar URL is listed (one a line; '#' "
        "starts a comment)",
    )
    ing.add_argument(
        "--val-share",
        type=float,
        default=0.1,
        metavar="F",
        help="share of items in the val split, chosen by a hash of each id (default 0.1, 0 to 0.5)",
    )
    ing.add_argument(
        "--max-side",
        type=int,
        default=1024,
        metavar="PX",
        help="longest side of a converted image; larger ones are scaled down, none up "
        "(default 1024, 16 to 16384)",
    )
    ing.add_argument(
        "--max-file-mb",
        type=float,
        default=64.0,
        metavar="MB",
        help="larger files are refused as too large (default 64, up to 4096)",
    )
    ing.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes that check and convert files (default 1; 0: one per CPU)",
    )
    ing.add_argument("--overwrite", action="store_true", help="replace DATASET if it is already a data set")
    add_quiet(ing)
    ing.set_defaults(func=cmd_ingest)

    ver = data_sub.add_parser(
        "verify",
        help="check every item of a data set against its manifest",
        description="Check that the manifest is the one the card records and matches the data set format, "
        "and that every item's bytes match their sha256. One line per bad item; exit status 1 if any.",
    )
    ver.add_argument("dataset", metavar="DATASET", help="the data set folder")
    ver.add_argument(
        "--rehash",
        action="store_true",
        help="accept a manifest changed on purpose: check its format and every item, then "
        "write the card again with its counts, licences and hash",
    )
    ver.set_defaults(func=cmd_verify)

    show = data_sub.add_parser(
        "show",
        help="print a data set's card in short",
        description="Print a data set's counts, licences, options and refused files.",
    )
    show.add_argument("dataset", metavar="DATASET", help="the data set folder")
    show.set_defaults(func=cmd_show)
    p.set_defaults(func=lambda args: _usage(p))
    return p


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


def cmd_ingest(args: argparse.Namespace) -> int:
    from museforge.data.ingest import Options, ingest

    options = Options(
        licence=args.licence,
        assume_licence=args.assume_licence,
        opt_out=Path(args.opt_out) if args.opt_out else None,
        val_share=args.val_share,
        max_side=args.max_side,
        max_file_mb=args.max_file_mb,
        workers=args.workers,
        overwrite=args.overwrite,
    )
    with StageProgress(not args.quiet) as progress:
        result = ingest(Path(args.dir), Path(args.out), options, progress)
    card = result.card
    kinds = ", ".join(f"{v['total']} {k}" for k, v in card["counts"].items())
    print(
        f"{card['items']} items ({kinds}; {card['splits']['train']} train, {card['splits']['val']} val) "
        f"under {len(card['licences'])} licences; {len(card['refused'])} files refused; card: "
        f"{one_line(str(result.out / 'README.md'))}"
    )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from museforge.data.card import rehash
    from museforge.data.manifest import open_dataset, verify

    root = Path(args.dataset)
    if args.rehash:
        card = rehash(root)
        print(
            f"{root}: {card['items']} items verified; card written again (manifest sha256 "
            f"{card['manifest_sha256'][:12]}...)"
        )
        return 0
    dataset = open_dataset(root)
    problems = verify(dataset)
    for line in problems:
        print(f"{one_line(str(root))}: {one_line(line)}")
    if problems:
        print(
            f"museforge: error: {len(problems)} of {len(dataset.rows)} items do not match the manifest; run "
            "'museforge data ingest' again",
            file=sys.stderr,
        )
        return 1
    print(f"{one_line(str(root))}: all {len(dataset.rows)} items match the manifest")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from museforge.data.licences import permits
    from museforge.data.manifest import open_dataset

    card = open_dataset(Path(args.dataset)).card
    print(
        f"{one_line(str(args.dataset))}: {card['items']} items from {one_line(card['source']['folder'])} "
        f"(manifest sha256 {card['manifest_sha256'][:12]}...)"
    )
    for kind, c in card["counts"].items():
        print(f"  {kind:<6} {c['total']:>7}  ({c['train']} train, {c['val']} val)")
    print("licences:")
    for spdx, n in card["licences"].items():
        uses = ", ".join(u for u in ("research", "commercial") if permits(spdx, u)) or "no use until checked"
        print(f"  {spdx:<24} {n:>7}  ({uses})")
    if card.get("assumed_licence"):
        print(
            f"assumed licence: {card['assumed_licence']} ({card['licence_sources'].get('assumed', 0)} items)"
        )
    options = ", ".join(f"{k}={v}" for k, v in card["options"].items() if k != "near_duplicates")
    print(f"options: {one_line(options)}")
    print(
        f"refused: {len(card['refused'])}" + "".join(f"; {k} {v}" for k, v in card["refused_counts"].items())
    )
    for r in card["refused"]:
        print(
            f"  {one_line(r['path'])}: {r['reason']}" + (f" ({one_line(r['detail'])})" if r["detail"] else "")
        )
    return 0
