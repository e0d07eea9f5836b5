"""The data set format: ``manifest.parquet`` (one row per item), ``items/`` (the converted files)
and ``card.json`` (what was ingested, from what, under which licences, and what was refused).

Opening a data set checks the manifest's bytes against the hash the card records and the
manifest's columns against :data:`SCHEMA`, so a manifest changed by hand is refused with one line;
:func:`verify` checks every item's bytes against its row.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from museforge.errors import MuseforgeError

FORMAT = "museforge-dataset"
VERSION = 1
MANIFEST = "manifest.parquet"
CARD = "card.json"
README = "README.md"
ITEMS = "items"
KINDS = ("image", "text", "music")
SPLITS = ("train", "val")
LICENCE_SOURCES = ("sidecar", "folder", "option", "assumed")
SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("bytes", pa.int64(), nullable=False),
        pa.field("licence", pa.string(), nullable=False),
        pa.field("licence_source", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("caption", pa.string()),
        pa.field("mood", pa.string()),
        pa.field("tags", pa.list_(pa.string()), nullable=False),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("key", pa.string()),
        pa.field("meter", pa.string()),
        pa.field("tempo", pa.float64()),
        pa.field("notes", pa.int32()),
        pa.field("chars", pa.int32()),
        pa.field("file", pa.string(), nullable=False),
    ]
)
"""The manifest's columns; a reader may rely on these (others may be added after them)."""
REHASH = "run 'museforge data ingest' again or 'museforge data verify --rehash'"


def manifest_bytes(rows: Iterable[dict[str, Any]]) -> bytes:
    """The Parquet bytes of ``rows`` (sorted by id): the same rows always give the same bytes."""
    ordered = sorted(rows, key=lambda r: r["id"])
    table = pa.Table.from_pylist([{f.name: r.get(f.name) for f in SCHEMA} for r in ordered], schema=SCHEMA)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", write_statistics=False, store_schema=False)
    return buf.getvalue()


@dataclass
class Dataset:
    """An opened data set: its folder, the manifest's rows, the manifest's hash and the card."""

    root: Path
    rows: list[dict[str, Any]]
    manifest_sha256: str
    card: dict[str, Any] = field(default_factory=dict)

    def items(self, kind: str, split: str | None = None) -> list[dict[str, Any]]:
        """The rows of one kind (and split), in manifest order."""
        if kind not in KINDS:
            raise MuseforgeError(f"unknown kind {kind!r}; give one of {', '.join(KINDS)}")
        if split is not None and split not in SPLITS:
            raise MuseforgeError(f"unknown split {split!r}; give one of {', '.join(SPLITS)}")
        return [r for r in self.rows if r["kind"] == kind and (split is None or r["split"] == split)]

    def licences(self) -> dict[str, int]:
        """SPDX id -> number of items under it."""
        return dict(sorted(Counter(r["licence"] for r in self.rows).items()))

    def file(self, row: dict[str, Any]) -> Path:
        """The converted file of a row."""
        return self.root / row["path"]


def _schema_problem(schema: pa.Schema) -> str | None:
    for want in SCHEMA:
        if want.name not in schema.names:
            return f"it has no column {want.name!r}"
        got = schema.field(want.name).type
        if got != want.type:
            return f"column {want.name!r} is {got}, not {want.type}"
    return None


def _row_problem(row: dict[str, Any]) -> str | None:
    for name in (
        "id",
        "kind",
        "path",
        "sha256",
        "source_sha256",
        "source",
        "licence",
        "licence_source",
        "split",
    ):
        if not isinstance(row.get(name), str) or not row[name]:
            return f"row {row.get('id')!r} has no {name}"
    if row["kind"] not in KINDS:
        return f"row {row['id']!r} has kind {row['kind']!r}"
    if row["split"] not in SPLITS:
        return f"row {row['id']!r} has split {row['split']!r}"
    if row["licence_source"] not in LICENCE_SOURCES:
        return f"row {row['id']!r} has licence_source {row['licence_source']!r}"
    path = Path(row["path"])
    if path.is_absolute() or ".." in path.parts or path.parts[:1] != (ITEMS,):
        return f"row {row['id']!r} has path {row['path']!r} outside items/"
    if row["id"] != row["sha256"][:16]:
        return f"row {row['id']!r} has an id that is not the start of its sha256"
    return None


def read_card(root: Path) -> dict[str, Any]:
    """The card of the data set at ``root``; one-line errors when it is missing or unreadable."""
    path = root / CARD
    if not root.is_dir():
        raise MuseforgeError(f"{root}: no such folder; give a data set made by 'museforge data ingest'")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MuseforgeError(
            f"{root} has no {CARD}; give a data set made by 'museforge data ingest'"
        ) from None
    except (OSError, ValueError) as exc:
        raise MuseforgeError(f"{path} cannot be read ({exc}); run 'museforge data ingest' again") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise MuseforgeError(f"{path} is not a museforge data set card; run 'museforge data ingest' again")
    if card.get("version") != VERSION:
        raise MuseforgeError(
            f"{path} is data set format version {card.get('version')!r}; this museforge "
            f"reads version {VERSION}; run 'museforge data ingest' again"
        )
    return card


def read_rows(root: Path) -> tuple[list[dict[str, Any]], bytes]:
    """The manifest's rows and bytes, its columns and rows checked."""
    path = root / MANIFEST
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MuseforgeError(f"{root} has no {MANIFEST}; run 'museforge data ingest' again") from None
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise MuseforgeError(f"{path} is not a readable Parquet file ({str(exc)[:120]}); {REHASH}") from None
    problem = _schema_problem(table.schema)
    rows = table.to_pylist()
    problem = problem or next((p for p in map(_row_problem, rows) if p), None)
    if problem is None and len({r["id"] for r in rows}) != len(rows):
        problem = "two rows share an id"
    if problem:
        raise MuseforgeError(f"{path} does not match the data set format: {problem}; {REHASH}")
    return rows, data


def open_dataset(path: Path | str) -> Dataset:
    """The data set at ``path``, its manifest checked against the card's hash and the schema."""
    root = Path(path)
    card = read_card(root)
    try:
        data = (root / MANIFEST).read_bytes()
    except FileNotFoundError:
        raise MuseforgeError(f"{root} has no {MANIFEST}; run 'museforge data ingest' again") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != card.get("manifest_sha256"):
        raise MuseforgeError(
            f"{MANIFEST} was changed after ingest (hash {digest[:12]}..., the card says "
            f"{str(card.get('manifest_sha256'))[:12]}...); {REHASH}"
        )
    rows, _ = read_rows(root)
    return Dataset(root, rows, digest, card)


def verify_items(root: Path, rows: Iterable[dict[str, Any]]) -> list[str]:
    """One line per item whose file is missing or whose bytes differ from its row, and per file
    under ``items/`` that no row names."""
    problems, named = [], set()
    for row in rows:
        path = root / row["path"]
        named.add(row["path"])
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            problems.append(f"{row['path']}: cannot read it ({exc.strerror or exc})")
            continue
        if digest != row["sha256"]:
            problems.append(
                f"{row['path']}: its bytes changed (sha256 {digest[:12]}..., the manifest says "
                f"{row['sha256'][:12]}...)"
            )
        elif path.stat().st_size != row["bytes"]:
            problems.append(f"{row['path']}: {path.stat().st_size} bytes, the manifest says {row['bytes']}")
    items = root / ITEMS
    if items.is_dir():
        for extra in sorted(p for p in items.rglob("*") if p.is_file()):
            rel = extra.relative_to(root).as_posix()
            if rel not in named:
                problems.append(f"{rel}: no row of the manifest names it")
    return problems


def verify(dataset: Dataset) -> list[str]:
    """One line per bad item of an opened data set (none: every byte is as ingested)."""
    return verify_items(dataset.root, dataset.rows)
