"""A folder of a person's images, texts and music becomes a training data set.

The folder is walked in sorted order (hidden files and folders left out). Each file's licence
comes from its sidecar (``NAME.license`` / ``NAME.licence`` holding an SPDX id, or ``NAME.json``
with ``licence``, ``caption``, ``tags``, ``url``), else the nearest LICENSE / LICENCE / COPYING
file in its folder or a parent, else ``licence`` (the option), else ``assume_licence``; a file
with none is refused. A ``.txt`` beside an image with the same stem is the image's caption. Each
file is checked by its content and converted (:mod:`museforge.data.validate`), then exact
duplicates (the same converted bytes) and near duplicates (images within ``PHASH_NEAR`` bits of
DCT hash and alike in colour; the same normalised text; the same melody intervals) are refused,
the first in path order kept. The data set is written into a temporary folder renamed into place.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from museforge.atomic import new_folder
from museforge.data import licences as lic
from museforge.data.annotate import tags_of
from museforge.data.card import card_json, make_card, readme
from museforge.data.manifest import CARD, MANIFEST, README, manifest_bytes
from museforge.data.validate import (
    EXACT,
    NEAR,
    NO_LICENCE,
    OPTED_OUT,
    SUFFIXES,
    Converted,
    Refused,
    Task,
    convert,
)
from museforge.errors import MuseforgeError
from museforge.files import read_at_most

Progress = Callable[[str, float], None]
LICENCE_FILES = ("LICENSE", "LICENCE", "COPYING")
LICENCE_FILE_SUFFIXES = ("", ".txt", ".md")
SIDECAR_SUFFIXES = (".license", ".licence")
PHASH_NEAR = 6
"""Images whose DCT hashes differ in at most this many of 64 bits ..."""
THUMB_NEAR = 12.0
"""... and whose 8x8 colour thumbnails differ by at most this mean (of 255) are near duplicates."""
MAX_SIDECAR_BYTES = 1 << 20
CHUNK = 16


@dataclass
class Options:
    """The choices of one ingest (recorded in the card)."""

    licence: str | None = None
    assume_licence: str | None = None
    opt_out: Path | None = None
    val_share: float = 0.1
    max_side: int = 1024
    max_file_mb: float = 64.0
    workers: int = 1
    overwrite: bool = False

    def check(self) -> None:
        if not 0 <= self.val_share <= 0.5:
            raise MuseforgeError(f"--val-share {self.val_share} must be from 0 to 0.5")
        if not 16 <= self.max_side <= 16384:
            raise MuseforgeError(f"--max-side {self.max_side} must be from 16 to 16384 pixels")
        if not 0 < self.max_file_mb <= 4096:
            raise MuseforgeError(f"--max-file-mb {self.max_file_mb} must be above 0 and at most 4096")
        if not 0 <= self.workers <= 64:
            raise MuseforgeError(f"--workers {self.workers} must be from 0 (one per CPU) to 64")


@dataclass
class Result:
    """What an ingest made: the data set's folder, its card and how many rows and refusals."""

    out: Path
    card: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Plan:
    """An item to convert with what its sidecars and folders say about it."""

    rel: str
    licence: str | None = None
    licence_source: str | None = None
    caption: str | None = None
    tags: list[str] = field(default_factory=list)
    url: str | None = None
    refused: Refused | None = None


def _spdx(value: str, flag: str) -> str:
    spdx = lic.normalise(value)
    if spdx is None:
        raise MuseforgeError(
            f"{flag} {value[:60]!r} is not a licence museforge recognises; give an SPDX id "
            "such as CC-BY-4.0, CC0-1.0, MIT or LicenseRef-YourName"
        )
    return spdx


def _is_licence_file(name: str) -> bool:
    stem, dot, suffix = name.partition(".")
    return stem.upper() in LICENCE_FILES and (dot + suffix).lower() in LICENCE_FILE_SUFFIXES


def walk(src: Path) -> tuple[list[str], int]:
    """Every file under ``src`` as a sorted relative POSIX path, and how many hidden entries were
    left out (names starting with a dot; links to folders are not followed)."""
    files, hidden = [], 0
    for folder, dirs, names in os.walk(src, followlinks=False):
        hidden += sum(1 for d in dirs if d.startswith(".")) + sum(1 for n in names if n.startswith("."))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(folder).relative_to(src)
        files += [(base / n).as_posix() for n in names if not n.startswith(".")]
    return sorted(files), hidden


def read_opt_out(path: Path) -> tuple[set[str], set[str], str]:
    """The sha256 hashes and URLs of an opt-out list (``#`` starts a comment), and its sha256."""
    try:
        data = read_at_most(path, 64 << 20)
        text = data.decode("utf-8-sig")
    except OSError as exc:
        raise MuseforgeError(f"--opt-out {path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise MuseforgeError(f"--opt-out {path}: not UTF-8 text; give one sha256 or URL a line") from None
    hashes, urls = set(), set()
    for line in text.splitlines():
        entry = re.split(r"\s#", line.strip(), maxsplit=1)[0].strip()
        if not entry or entry.startswith("#"):
            continue
        if len(entry) == 64 and all(c in "0123456789abcdefABCDEF" for c in entry):
            hashes.add(entry.lower())
        else:
            urls.add(entry)
    return hashes, urls, hashlib.sha256(data).hexdigest()


class _Folder:
    """Sidecars, captions and licence files of the walked folder."""

    def __init__(self, src: Path, files: list[str]) -> None:
        self.src = src
        self.files = set(files)
        self.licence_files: dict[str, str] = {}
        for rel in files:
            p = PurePosixPath(rel)
            if _is_licence_file(p.name):
                self.licence_files.setdefault(str(p.parent), rel)
        self._folder_licence: dict[str, tuple[str | None, str | None]] = {}
        images = {
            str(PurePosixPath(r).with_suffix(""))
            for r in files
            if SUFFIXES.get(PurePosixPath(r).suffix.lower()) == "image"
        }
        self.captions = {
            r for r in files if r.lower().endswith(".txt") and str(PurePosixPath(r).with_suffix("")) in images
        }
        self.sidecars: set[str] = set()
        for rel in files:
            if rel.lower().endswith(SIDECAR_SUFFIXES):
                self.sidecars.add(rel)
        for rel in files:
            if rel in self.captions or rel in self.sidecars or _is_licence_file(PurePosixPath(rel).name):
                continue
            for cand in self._beside(rel, (".json",)):
                self.sidecars.add(cand)

    def _beside(self, rel: str, suffixes: tuple[str, ...]) -> list[str]:
        p = PurePosixPath(rel)
        names = [f"{p}{s}" for s in suffixes] + [f"{p.with_suffix('')}{s}" for s in suffixes]
        return [n for n in dict.fromkeys(names) if n in self.files and n != rel]

    def items(self) -> list[str]:
        return sorted(
            r
            for r in self.files
            if r not in self.captions
            and r not in self.sidecars
            and not _is_licence_file(PurePosixPath(r).name)
        )

    def _text(self, rel: str, reason: str = NO_LICENCE) -> str:
        try:
            return read_at_most(self.src / rel, MAX_SIDECAR_BYTES).decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise Refused(reason, f"{rel} beside it cannot be read as UTF-8 text ({exc})") from None

    def folder_licence(self, folder: str) -> tuple[str | None, str | None]:
        """(SPDX id, the licence file) of the nearest licence file at or above ``folder``."""
        if folder in self._folder_licence:
            return self._folder_licence[folder]
        found: tuple[str | None, str | None] = (None, None)
        if folder in self.licence_files:
            rel = self.licence_files[folder]
            found = (lic.from_text(self._text(rel)), rel)
        elif folder not in (".", ""):
            found = self.folder_licence(str(PurePosixPath(folder).parent))
        self._folder_licence[folder] = found
        return found

    def plan(self, rel: str, option: str | None, assumed: str | None) -> _Plan:
        item = _Plan(rel)
        try:
            self._read_sidecars(item)
            if item.licence is None:
                spdx, where = self.folder_licence(str(PurePosixPath(rel).parent))
                if where is not None and spdx is None:
                    raise Refused(
                        NO_LICENCE,
                        f"{where} is not a licence museforge recognises; put its SPDX id "
                        "(e.g. CC-BY-4.0) on its first line",
                    )
                if spdx is not None:
                    item.licence, item.licence_source = spdx, "folder"
            if item.licence is None and option:
                item.licence, item.licence_source = option, "option"
            if item.licence is None and assumed:
                item.licence, item.licence_source = assumed, "assumed"
            if item.licence is None:
                raise Refused(NO_LICENCE, "no sidecar, LICENSE file or --licence names one")
        except Refused as refused:
            item.refused = refused
        return item

    def _read_sidecars(self, item: _Plan) -> None:
        p = PurePosixPath(item.rel)
        for side in self._beside(item.rel, SIDECAR_SUFFIXES):
            spdx = lic.from_text(self._text(side))
            if spdx is None:
                raise Refused(NO_LICENCE, f"its sidecar {side} names no licence museforge recognises")
            item.licence, item.licence_source = spdx, "sidecar"
            break
        for side in self._beside(item.rel, (".json",)):
            try:
                meta = json.loads(self._text(side, "corrupt"))
            except ValueError:
                raise Refused("corrupt", f"its sidecar {side} is not valid JSON") from None
            if not isinstance(meta, dict):
                raise Refused("corrupt", f"its sidecar {side} is not a JSON object")
            named = meta.get("licence", meta.get("license"))
            if named is not None and item.licence is None:
                spdx = lic.normalise(str(named))
                if spdx is None:
                    raise Refused(
                        NO_LICENCE,
                        f"its sidecar {side} names {str(named)[:40]!r}, not a licence museforge recognises",
                    )
                item.licence, item.licence_source = spdx, "sidecar"
            if isinstance(meta.get("caption"), str) and meta["caption"].strip():
                item.caption = meta["caption"].strip()
            tags = meta.get("tags")
            item.tags = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
            url = meta.get("url", meta.get("source"))
            item.url = url.strip() if isinstance(url, str) and url.strip() else None
            break
        caption = f"{p.with_suffix('')}.txt"
        if item.caption is None and caption in self.captions:
            text = self._text(caption, "corrupt").strip()
            item.caption = text or None


def _converted(tasks: list[Task], workers: int, progress: Progress) -> list[Converted | Refused]:
    out: list[Converted | Refused] = []
    if workers <= 1 or len(tasks) < 2 * CHUNK:
        for i, task in enumerate(tasks):
            out.append(convert(task))
            progress("checking and converting files", (i + 1) / len(tasks))
        return out
    ctx = multiprocessing.get_context(
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    )
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        for i, result in enumerate(pool.map(convert, tasks, chunksize=CHUNK)):
            out.append(result)
            progress("checking and converting files", (i + 1) / len(tasks))
    return out


class _Dedup:
    """The kept items so far, to find exact and near duplicates of the next one."""

    def __init__(self) -> None:
        self.by_sha: dict[str, str] = {}
        self.by_key: dict[tuple[str, str], str] = {}
        self.hashes: list[int] = []
        self.thumbs: list[np.ndarray] = []
        self.names: list[str] = []

    def duplicate(self, item: Converted) -> Refused | None:
        if item.sha256 in self.by_sha:
            return Refused(EXACT, f"of {self.by_sha[item.sha256]}")
        if item.kind == "image":
            bits, thumb = item.near
            near = self._near_image(int(bits), np.frombuffer(thumb, np.uint8).astype(np.int16))
            if near is not None:
                return Refused(NEAR, f"of {near}")
        elif item.near is not None and (item.kind, item.near) in self.by_key:
            return Refused(NEAR, f"of {self.by_key[(item.kind, item.near)]}")
        return None

    def _near_image(self, bits: int, thumb: np.ndarray) -> str | None:
        if not self.hashes:
            return None
        hashes = np.array(self.hashes, dtype=np.uint64)
        distance = np.bitwise_count(hashes ^ np.uint64(bits))
        for i in np.flatnonzero(distance <= PHASH_NEAR):
            if float(np.abs(self.thumbs[i] - thumb).mean()) <= THUMB_NEAR:
                return self.names[i]
        return None

    def keep(self, item: Converted) -> None:
        self.by_sha[item.sha256] = item.rel
        if item.kind == "image":
            bits, thumb = item.near
            self.hashes.append(int(bits))
            self.thumbs.append(np.frombuffer(thumb, np.uint8).astype(np.int16))
            self.names.append(item.rel)
        elif item.near is not None:
            self.by_key[(item.kind, item.near)] = item.rel


def split_of(item_id: str, val_share: float) -> str:
    """``val`` for about ``val_share`` of ids, by a hash of the id (stable across runs and sets).

    >>> split_of("0123456789abcdef", 0.0), split_of("0123456789abcdef", 0.5)
    ('train', 'val')
    """
    digest = hashlib.sha256(f"museforge-split:{item_id}".encode()).digest()
    return "val" if int.from_bytes(digest[:4], "big") / 2**32 < val_share else "train"


def _row(item: Converted, plan: _Plan, val_share: float) -> dict[str, Any]:
    item_id = item.sha256[:16]
    return {
        "id": item_id,
        "kind": item.kind,
        "path": item.path,
        "sha256": item.sha256,
        "source_sha256": item.source_sha256,
        "source": plan.url or item.rel,
        "bytes": item.bytes,
        "licence": plan.licence,
        "licence_source": plan.licence_source,
        "split": split_of(item_id, val_share),
        "caption": plan.caption,
        "tags": tags_of(item.rel, plan.tags),
        "file": item.rel,
        **item.facts,
    }


def _check_places(src: Path, out: Path, overwrite: bool) -> None:
    if not src.is_dir():
        raise MuseforgeError(f"{src}: no such folder; give the folder of your images, texts and music")
    s, o = src.resolve(), out.resolve()
    if o == s or o in s.parents or s in o.parents:
        raise MuseforgeError(f"--out {out} must be outside {src} (and not hold it); choose another --out")
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise MuseforgeError(f"{out} exists and is not a folder; choose another --out")
        if any(out.iterdir()):
            if not overwrite:
                raise MuseforgeError(f"{out} already exists; choose another --out or pass --overwrite")
            if not (out / CARD).is_file():
                raise MuseforgeError(
                    f"{out} holds files but is not a data set; --overwrite replaces only a data "
                    "set folder; choose another --out"
                )


def ingest(
    src: Path | str, out: Path | str, options: Options | None = None, progress: Progress | None = None
) -> Result:
    """Make the data set ``out`` from the folder ``src``; see the module's description."""
    src, out, options = Path(src), Path(out), options or Options()
    say = progress or (lambda stage, fraction: None)
    options.check()
    option_licence = _spdx(options.licence, "--licence") if options.licence else None
    assumed = _spdx(options.assume_licence, "--assume-licence") if options.assume_licence else None
    hashes, urls, opt_out_sha = read_opt_out(options.opt_out) if options.opt_out else (set(), set(), None)
    _check_places(src, out, options.overwrite)

    say("reading the folder", 0.0)
    files, hidden = walk(src)
    folder = _Folder(src, files)
    plans = [folder.plan(rel, option_licence, assumed) for rel in folder.items()]
    say("reading the folder", 1.0)
    refused: dict[str, Refused] = {}
    for p in plans:
        if p.refused is None and p.url is not None and p.url in urls:
            p.refused = Refused(OPTED_OUT, f"its URL {p.url} is on the opt-out list")
        if p.refused is not None:
            refused[p.rel] = p.refused
    by_rel = {p.rel: p for p in plans}
    rows: list[dict[str, Any]] = []
    max_bytes = int(options.max_file_mb * 2**20)
    with new_folder(out, options.overwrite) as tmp:
        tasks = [
            Task(str(src / p.rel), p.rel, str(tmp), options.max_side, max_bytes, p.caption)
            for p in plans
            if p.refused is None
        ]
        workers = options.workers or (os.cpu_count() or 1)
        dedup, dropped = _Dedup(), []
        for task, result in zip(tasks, _converted(tasks, workers, say), strict=True):
            if isinstance(result, Refused):
                refused[task.rel] = result
                continue
            if result.source_sha256 in hashes or result.sha256 in hashes:
                refused[task.rel] = Refused(OPTED_OUT, "its sha256 is on the opt-out list")
                dropped.append(result.path)
                continue
            duplicate = dedup.duplicate(result)
            if duplicate is not None:
                refused[task.rel] = duplicate
                dropped.append(result.path)
                continue
            dedup.keep(result)
            rows.append(_row(result, by_rel[task.rel], options.val_share))
        say("writing the data set", 0.0)
        kept = {r["path"] for r in rows}
        for path in dropped:
            if path not in kept:
                (tmp / path).unlink(missing_ok=True)
        manifest = manifest_bytes(rows)
        recorded = {
            "licence": option_licence,
            "assume_licence": assumed,
            "val_share": options.val_share,
            "max_side": options.max_side,
            "max_file_mb": options.max_file_mb,
            "opt_out": {"file": options.opt_out.name, "sha256": opt_out_sha} if options.opt_out else None,
            "near_duplicates": f"images: DCT hash within {PHASH_NEAR} bits and 8x8 colour thumbnails within "
            f"{THUMB_NEAR:g}/255; texts: same normalised text; music: same melody intervals",
        }
        source = {
            "folder": src.resolve().name,
            "files": len(files),
            "items_considered": len(plans),
            "hidden_left_out": hidden,
            "sidecars": len(folder.sidecars),
            "captions": len(folder.captions),
            "licence_files": sorted(folder.licence_files.values()),
        }
        refusals = [
            {"path": rel, "reason": r.reason, "detail": r.detail} for rel, r in sorted(refused.items())
        ]
        card = make_card(sorted(rows, key=lambda r: r["id"]), manifest, refusals, recorded, source)
        (tmp / MANIFEST).write_bytes(manifest)
        (tmp / CARD).write_bytes(card_json(card))
        (tmp / README).write_text(readme(card), encoding="utf-8")
        say("writing the data set", 1.0)
    return Result(out, card, sorted(rows, key=lambda r: r["id"]))
