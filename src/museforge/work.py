"""A Work: one folder with ``work.json`` and the artifacts a job made; save, load, verify.

A Work is built in a hidden temporary folder beside its destination and renamed into place at
the end, so an interrupted or failed job never leaves a half-written Work behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from museforge.engines import OutputFile
from museforge.errors import MuseforgeError
from museforge.provenance import verify_manifest
from museforge.runtime import sha256_bytes

MANIFEST = "work.json"
FORMAT_VERSION = 1


def prepare_destination(out: Path, overwrite: bool) -> None:
    """Fail early, with one line, when ``out`` cannot become a Work."""
    if out.exists() and not out.is_dir():
        raise MuseforgeError(f"{out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise MuseforgeError(
            f"{out} already exists and is not empty; choose another --out or pass --overwrite"
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=f".{out.name}.probe-", dir=out.parent)
        Path(probe).rmdir()
    except OSError as exc:
        raise MuseforgeError(
            f"cannot write to {out.parent}: {exc.strerror or exc}; choose another --out"
        ) from None


def write_work(out: Path, manifest: dict[str, Any], files: list[OutputFile], overwrite: bool) -> Path:
    """Write every file and ``work.json`` into a temporary folder, then rename it to ``out``."""
    prepare_destination(out, overwrite)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for f in files:
            (tmp / f.name).write_bytes(f.data)
        text = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        (tmp / MANIFEST).write_text(text, encoding="utf-8")
        tmp.chmod(0o755)
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(trash / out.name)
            tmp.rename(out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            tmp.rename(out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise MuseforgeError(f"cannot write the Work to {out}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def load_manifest(work_dir: Path) -> dict[str, Any]:
    """``work.json`` of a Work folder (or the file itself), with one-line errors."""
    path = work_dir if work_dir.name == MANIFEST else work_dir / MANIFEST
    if not path.exists():
        raise MuseforgeError(f"{path} not found; pass a folder written by 'museforge create'")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MuseforgeError(f"{path} is not valid JSON ({exc}); the Work is damaged") from None
    if not isinstance(manifest, dict) or "artifacts" not in manifest:
        raise MuseforgeError(f"{path} is not a museforge work manifest")
    if manifest.get("format", 0) > FORMAT_VERSION:
        raise MuseforgeError(f"{path} was written by a newer museforge; upgrade to read it")
    return manifest


def work_folder(path: Path) -> Path:
    return path.parent if path.name == MANIFEST else path


@dataclass(frozen=True)
class FileCheck:
    name: str
    status: str  # "ok" | "changed" | "missing"


def verify_work(work_dir: Path) -> tuple[bool, list[FileCheck]]:
    """Whether the signature holds, and whether each listed file still has its recorded hash."""
    manifest = load_manifest(work_dir)
    folder = work_folder(work_dir)
    checks = []
    for artifact in manifest["artifacts"]:
        for entry in artifact["files"]:
            path = folder / entry["name"]
            if not path.exists():
                checks.append(FileCheck(entry["name"], "missing"))
            elif sha256_bytes(path.read_bytes()) != entry["sha256"]:
                checks.append(FileCheck(entry["name"], "changed"))
            else:
                checks.append(FileCheck(entry["name"], "ok"))
    return verify_manifest(manifest), checks


# ---------------------------------------------------------------- single files


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise MuseforgeError(f"cannot write to {path.parent}: {exc.strerror or exc}; "
                             "choose another --out") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise MuseforgeError(f"cannot write {path}: {exc.strerror or exc}; choose another --out") \
            from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable_file(path: Path, overwrite: bool) -> None:
    """Fail early, with one line, when ``path`` cannot be written."""
    if path.is_dir():
        raise MuseforgeError(f"{path} is a folder; give a file name such as painting.png")
    if path.exists() and not overwrite:
        raise MuseforgeError(f"{path} already exists; choose another --out or pass --overwrite")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise MuseforgeError(f"cannot write to {parent}: it is a file, not a folder; "
                             "choose another --out")
    if not parent.is_dir():
        raise MuseforgeError(f"folder {parent} does not exist; create it or choose another --out")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise MuseforgeError(f"cannot write to {parent}: permission denied; choose another --out")
