"""The data set card: ``card.json`` for programs and ``README.md`` for people, both made from the
manifest's rows, the refused files and the options of the ingest."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from museforge.data import licences as lic
from museforge.data.manifest import CARD, FORMAT, KINDS, MANIFEST, README, SPLITS, VERSION, read_card
from museforge.errors import MuseforgeError


def _top(rel: str) -> str:
    parts = PurePosixPath(rel).parts
    return parts[0] if len(parts) > 1 else "."


def summary(rows: Sequence[dict[str, Any]], manifest: bytes) -> dict[str, Any]:
    """The parts of the card that follow from the manifest alone."""
    counts = {
        k: {s: sum(1 for r in rows if r["kind"] == k and r["split"] == s) for s in SPLITS} for k in KINDS
    }
    for k in KINDS:
        counts[k]["total"] = sum(counts[k][s] for s in SPLITS)
    licences = dict(sorted(Counter(r["licence"] for r in rows).items()))
    folders = Counter(_top(r.get("file") or "") for r in rows)
    return {
        "items": len(rows),
        "counts": counts,
        "splits": {s: sum(1 for r in rows if r["split"] == s) for s in SPLITS},
        "licences": licences,
        "licence_sources": dict(sorted(Counter(r["licence_source"] for r in rows).items())),
        "unknown_licences": lic.unknown_ids(licences),
        "permits": {use: not lic.excluded(licences, use) for use in lic.USES},
        "sources": {
            "urls": sum(1 for r in rows if "://" in r["source"]),
            "files": sum(1 for r in rows if "://" not in r["source"]),
            "top_folders": dict(sorted(folders.items())),
        },
        "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
    }


def make_card(
    rows: Sequence[dict[str, Any]],
    manifest: bytes,
    refused: Sequence[dict[str, str]],
    options: dict[str, Any],
    source: dict[str, Any],
) -> dict[str, Any]:
    """The whole card (no time stamps: the same folder and options give the same card)."""
    from museforge import __version__

    card: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "museforge": __version__,
        "source": source,
        "options": options,
        **summary(rows, manifest),
    }
    card["assumed_licence"] = options.get("assume_licence")
    card["refused"] = list(refused)
    card["refused_counts"] = dict(sorted(Counter(r["reason"] for r in refused).items()))
    return card


def card_json(card: dict[str, Any]) -> bytes:
    return (json.dumps(card, ensure_ascii=False, indent=1, sort_keys=False) + "\n").encode("utf-8")


def readme(card: dict[str, Any]) -> str:
    """The card as a page a person reads."""
    c, lines = card["counts"], []
    lines += [
        f"# Data set: {card['source'].get('folder', '')}",
        "",
        f"Made by `museforge data ingest` (museforge {card['museforge']}) from the folder "
        f"`{card['source'].get('folder', '')}`: {card['items']} items, "
        f"{len(card['refused'])} files refused.",
        "",
        "| kind | train | val | total |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {k} | {c[k]['train']} | {c[k]['val']} | {c[k]['total']} |" for k in KINDS]
    lines += ["", "## Licences", "", "| licence | items | research | commercial |", "|---|---:|---|---|"]
    for spdx, n in card["licences"].items():
        ok = ["yes" if lic.permits(spdx, use) else "no" for use in lic.USES]
        lines.append(f"| {spdx} | {n} | {ok[0]} | {ok[1]} |")
    lines += [
        "",
        "Where each item's licence came from: "
        + ", ".join(f"{k} {v}" for k, v in card["licence_sources"].items())
        + ".",
    ]
    if card.get("assumed_licence"):
        n = card["licence_sources"].get("assumed", 0)
        lines += [
            "",
            f"**{n} items carry the licence {card['assumed_licence']} only because it was assumed "
            "(--assume-licence), not stated by the files; check that it is right before sharing a model "
            "trained on them.**",
        ]
    if card["unknown_licences"]:
        lines += [
            "",
            "Licences museforge does not know (they permit no use until checked): "
            + ", ".join(card["unknown_licences"])
            + ".",
        ]
    s = card["sources"]
    lines += [
        "",
        "## Sources",
        "",
        f"{s['files']} items from files, {s['urls']} with a source URL from their "
        "sidecar. Items by top folder: " + ", ".join(f"{k} {v}" for k, v in s["top_folders"].items()) + ".",
    ]
    lines += ["", "## Options", ""] + [f"- {k}: {v}" for k, v in card["options"].items()]
    lines += ["", "## Refused files", ""]
    if card["refused"]:
        lines += [
            f"- `{r['path']}`: {r['reason']}" + (f" ({r['detail']})" if r.get("detail") else "")
            for r in card["refused"]
        ]
    else:
        lines.append("None.")
    lines += [
        "",
        f"Manifest: `{MANIFEST}`, sha256 `{card['manifest_sha256']}`. Check every item with "
        "`museforge data verify`.",
        "",
    ]
    return "\n".join(lines)


def rehash(root: Path) -> dict[str, Any]:
    """Accept a manifest changed by hand: check its schema and every item it names, then write
    the card again with its counts, licences and hash."""
    from museforge.atomic import write_files
    from museforge.data.manifest import read_rows, verify_items

    card = read_card(root)
    rows, data = read_rows(root)
    problems = verify_items(root, rows)
    if problems:
        raise MuseforgeError(
            f"{len(problems)} items do not match the manifest (first: {problems[0]}); "
            "run 'museforge data ingest' again"
        )
    card.update(summary(rows, data))
    write_files(
        [(root / CARD, card_json(card)), (root / README, readme(card).encode("utf-8"))], overwrite=True
    )
    return card
