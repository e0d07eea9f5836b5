"""A Work: the typed record (``work.json``) and the files a job made; save, load, verify.

A Work is saved either as a folder (``work.json``, ``report.html`` and the artifacts) or as its
files alone, each carrying its own sealed record. Both are written atomically: a folder is built
in a hidden temporary folder beside its destination and renamed into place; a file is written
beside its destination and renamed. An interrupted or failed job leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from museforge.atomic import new_folder, recover, write_file, write_files
from museforge.errors import MuseforgeError
from museforge.files import read_at_most
from museforge.hashing import sha256_bytes
from museforge.keys import Signer, identify
from museforge.provenance import (
    SIDECAR_SUFFIX,
    FileVerdict,
    check_file,
    container_of,
    read_embedding,
    read_lone,
    verify_manifest,
)
from museforge.record import ArtifactRecord, FileRecord, Record, RecordError, WorkRecord

if TYPE_CHECKING:
    from museforge.engines import OutputFile

MANIFEST = "work.json"
REPORT = "report.html"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


@dataclass
class Work:
    """A Work in memory: its record and its files (sealed, final bytes), in order."""

    record: WorkRecord
    files: list[OutputFile] = field(default_factory=list)
    report: OutputFile | None = None
    """``report.html``, made (and hashed into the record) before the record was signed."""

    def file(self, name: str) -> OutputFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)

    def save(self, out: Path, overwrite: bool = False) -> Path:
        """Write the Work as a folder: every file, ``report.html`` and ``work.json``."""
        return write_work(out, self.record.to_json(), [*self.files, *([self.report] if self.report else [])],
                          overwrite)

    def save_files(self, targets: dict[str, Path], overwrite: bool = False) -> list[Path]:
        """Write chosen files alone (each carries its sealed record); ``targets`` maps a file's
        name to its path, and a sidecar follows its file. Every path is checked first."""
        plan: list[tuple[Path, bytes]] = []
        for f in self.files:
            if f.name in targets:
                plan.append((targets[f.name], f.data))
            elif f.name.endswith(SIDECAR_SUFFIX) and f.name.removesuffix(SIDECAR_SUFFIX) in targets:
                main = targets[f.name.removesuffix(SIDECAR_SUFFIX)]
                plan.append((main.with_name(main.name + SIDECAR_SUFFIX), f.data))
        for path, _ in plan:
            check_writable_file(path, overwrite)
        records_first = sorted(plan, key=lambda item: not item[0].name.endswith(SIDECAR_SUFFIX))
        write_files(records_first, overwrite)  # so a file placed never lacks its record
        return [path for path, _ in plan]

    def save_into(self, folder: Path, overwrite: bool = False) -> list[Path]:
        """Write every file alone into ``folder`` (made if missing), keeping their names."""
        if folder.exists() and not folder.is_dir():
            raise MuseforgeError(f"{folder} exists and is not a folder; choose another --out")
        return self.save_files({f.name: folder / f.name for f in self.files
                                if not f.name.endswith(SIDECAR_SUFFIX)}, overwrite)


# ---------------------------------------------------------------- writing


def prepare_destination(out: Path, overwrite: bool) -> None:
    """Fail early, with one line, when ``out`` cannot become a Work folder."""
    if out.exists() and not out.is_dir():
        raise MuseforgeError(f"{out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise MuseforgeError(
            f"{out} already exists and is not empty; choose another --out or pass --overwrite"
        )
    _check_creatable(out)


def _check_creatable(path: Path) -> None:
    """The nearest existing folder above ``path`` must be a folder we can write in (tried, not
    guessed: permissions can say yes where the file system says no)."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise MuseforgeError(f"cannot write to {path.parent}: {parent} is a file, not a folder; "
                             "choose another --out")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise MuseforgeError(f"cannot write to {parent}: permission denied; choose another --out")
    try:
        Path(tempfile.mkdtemp(prefix=f".{path.name}.probe-", dir=parent)).rmdir()
    except OSError as exc:
        raise MuseforgeError(f"cannot write to {parent}: {exc.strerror or exc}; choose another --out") \
            from None


def write_work(out: Path, manifest: dict[str, Any], files: list[OutputFile], overwrite: bool) -> Path:
    """Write every file and ``work.json`` into a temporary folder, then rename it to ``out``."""
    prepare_destination(out, overwrite)
    with new_folder(out, overwrite) as tmp:
        for f in files:
            (tmp / f.name).write_bytes(f.data)
        text = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        (tmp / MANIFEST).write_text(text, encoding="utf-8")
    return out


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (replacing what is there)."""
    write_file(path, data, overwrite=True)


def check_writable_file(path: Path, overwrite: bool) -> None:
    """Fail early, with one line, when ``path`` cannot be written (missing folders are made
    when it is written). A group of files a killed run left half placed in its folder is rolled
    back first, so the check sees the earlier files."""
    if path.parent.is_dir():
        recover(path.parent)
    if path.is_dir():
        raise MuseforgeError(f"{path} is a folder; give a file name such as painting.png")
    if path.exists() and not overwrite:
        raise MuseforgeError(f"{path} already exists; choose another --out or pass --overwrite")
    _check_creatable(path)


# ---------------------------------------------------------------- reading


def work_folder(path: Path) -> Path:
    return path.parent if path.name == MANIFEST else path


def _read_manifest_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise MuseforgeError(f"{path} not found; pass a Work folder, its work.json, or a file museforge made")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise MuseforgeError(f"{path} is larger than any work.json museforge writes; the Work is damaged")
    try:
        raw = read_at_most(path, MAX_MANIFEST_BYTES + 1)
        if len(raw) > MAX_MANIFEST_BYTES:
            raise MuseforgeError(f"{path} is larger than any work.json museforge writes; the Work is damaged")
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # bad JSON, or a number too long to read
        reason = str(exc).splitlines()[0][:120]
        raise MuseforgeError(f"{path} is not valid JSON ({reason}); the Work is damaged") from None
    except RecursionError:
        raise MuseforgeError(f"{path} is nested too deeply to be a museforge work manifest") from None
    except OSError as err:  # a pipe or a kernel file where work.json should be
        raise MuseforgeError(f"{path}: cannot read it ({err.strerror or err}); the Work is damaged") from None
    if not isinstance(data, dict) or "artifacts" not in data:
        raise MuseforgeError(f"{path} is not a museforge work manifest")
    return data


def load_manifest(work_dir: Path) -> dict[str, Any]:
    """``work.json`` of a Work folder (or the file itself) as JSON, checked against the schema."""
    path = work_dir if work_dir.name == MANIFEST else work_dir / MANIFEST
    data = _read_manifest_json(path)
    WorkRecord.from_json(data, str(path))
    return data


def load_record(work_dir: Path) -> WorkRecord:
    """The typed ``work.json`` of a Work folder."""
    path = work_dir if work_dir.name == MANIFEST else work_dir / MANIFEST
    return WorkRecord.from_json(_read_manifest_json(path), str(path))


def lone_record(path: Path) -> WorkRecord:
    """A one-artifact WorkRecord from the record a lone file carries."""
    if not path.is_file():
        raise MuseforgeError(f"{path} not found; pass a Work folder, its work.json, or a file museforge made")
    data = read_lone(path)
    found = read_embedding(path, data)
    if found.record is None:
        raise MuseforgeError(f"{path} carries no museforge record")
    try:
        record = Record.from_json(found.record, f"{path}: record")
    except RecordError as err:
        raise MuseforgeError(str(err)) from None
    stamp = found.seal.get("file") if isinstance(found.seal, dict) else None
    media = stamp.get("media_type", "") if isinstance(stamp, dict) else ""
    artifact = ArtifactRecord(
        modality="", engine=record.engine, engine_version=record.engine_version,
        model_sha256=record.model_sha256, params=record.params, seed=record.seed,
        files=[FileRecord(path.name, str(media), sha256_bytes(data), len(data))],
        inputs=record.inputs, uses_mood=record.emotion is not None,
    )
    return WorkRecord(
        museforge=record.libraries.get("museforge", "?"), created="", prompt=record.prompt,
        lang=record.lang, seed=record.seed, emotion=record.emotion, device="cpu",
        libraries=record.libraries, artifacts=[artifact], format=0,
    )


def is_work_folder(path: Path) -> bool:
    return path.name == MANIFEST or (path.is_dir() and (path / MANIFEST).is_file())


def sealed_files(folder: Path) -> list[Path]:
    """The files of a folder that carry a museforge record (sidecars are read with their file)."""
    found = []
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.name.endswith(SIDECAR_SUFFIX) and not p.name.startswith("."):
            if container_of(p.name) is None and not p.with_name(p.name + SIDECAR_SUFFIX).is_file():
                continue  # no place for a record: not read (a folder such as /proc holds endless files)
            try:
                if read_embedding(p).record is not None:
                    found.append(p)
            except MuseforgeError:
                found.append(p)
    return found


# ---------------------------------------------------------------- verifying


@dataclass(frozen=True)
class FileCheck:
    name: str
    status: str  # "ok" | "changed" | "missing" | "added" | "not a file"
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found: whether the record's signature holds, who signed, each file, and
    what is wrong with the Work as a whole (files added, a signature that does not hold)."""

    signed: bool
    signer: Signer | None
    files: list[FileVerdict]
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """Signed, every file as signed, nothing added: true whoever the signer is."""
        return self.signed and bool(self.files) and all(f.ok for f in self.files) and not self.problems

    def accepted(self, allow_unknown: bool = False) -> bool:
        """Intact and signed by this person's own key or a trusted one (or any key, if allowed)."""
        return self.intact and self.signer is not None and (self.signer.known or allow_unknown)


def verify_work(work_dir: Path) -> tuple[bool, list[FileCheck]]:
    """Whether the signature holds, and whether each listed file still has its recorded hash."""
    verdict = verify_folder(work_folder(work_dir))
    return verdict.signed, [FileCheck(f.name, f.status, f.detail) for f in verdict.files]


def _hash_regular(path: Path) -> str | None:
    """SHA-256 of a regular file, streamed in bounded memory; None for a symlink, device, FIFO
    or folder (never followed or opened)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    import hashlib

    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def verify_folder(folder: Path) -> Verdict:
    """Check ``work.json``'s signature first, then every file it lists (and that none was added);
    a changed file's seal names the bytes that changed."""
    data = load_manifest(folder)
    record = WorkRecord.from_json(data)
    signer = identify(record.signature.public_key, record.signer) if record.signature else None
    if not verify_manifest(data):
        return Verdict(False, signer, [], ["work.json is unsigned or was changed after signing; its files "
                                           "were not checked"])
    files: list[FileVerdict] = []
    listed = {f.name for f in record.files()}
    for entry in record.files():
        path = folder / entry.name
        digest = _hash_regular(path)
        if digest is None:
            missing = not os.path.lexists(path)
            files.append(FileVerdict(entry.name, "missing" if missing else "not a file",
                                     "listed in work.json but not found" if missing
                                     else "not a regular file (a link, device, pipe or folder)"))
        elif digest != entry.sha256:
            files.append(FileVerdict(entry.name, "changed", _changed_detail(path)))
        else:
            files.append(FileVerdict(entry.name, "ok", "", record.signature.public_key if record.signature
                                     else "", record.signer))
    added = sorted(p.name for p in folder.iterdir() if p.name not in listed and p.name != MANIFEST)
    problems = [f"{name} was added: it is not part of the signed Work" for name in added]
    return Verdict(True, signer, files, problems)


def _changed_detail(path: Path) -> str:
    if path.name.endswith(SIDECAR_SUFFIX) or path.name == REPORT:
        return "its bytes differ from work.json"
    try:
        return check_file(path).detail or "its bytes differ from work.json"
    except MuseforgeError:
        return "its record cannot be read"


def verify_path(path: Path) -> Verdict:
    """Verify a Work folder, its ``work.json``, a lone file, or a folder of lone files."""
    if is_work_folder(path):
        return verify_folder(work_folder(path))
    if path.is_dir():
        files = [check_file(p) for p in sealed_files(path)]
        if not files:
            raise MuseforgeError(f"{path} holds no work.json and no file with a museforge record")
        verdict = _lone_verdict(files)
        gutted = []  # a Work folder whose work.json was removed or replaced is not a folder of lone files
        if os.path.lexists(path / MANIFEST):
            gutted.append(f"{MANIFEST} is not a regular file (a link, a pipe or a folder): the Work "
                          "cannot be checked")
        elif (path / REPORT).exists():
            gutted.append(f"{REPORT} is here but {MANIFEST} is not: the Work's signed record was removed")
        return Verdict(verdict.signed, verdict.signer, verdict.files, verdict.problems + gutted)
    if not path.exists():
        raise MuseforgeError(f"{path} not found; pass a Work folder, its work.json, or a file museforge made")
    return _lone_verdict([check_file(path)])


def _lone_verdict(files: list[FileVerdict]) -> Verdict:
    keys = {(f.public_key, f.signer) for f in files if f.public_key}
    signed = all(f.status not in ("forged", "unsigned", "no record", "missing") for f in files)
    problems = ["the files were signed by different keys"] if len({k for k, _ in keys}) > 1 else []
    signer = identify(*sorted(keys)[0]) if keys else None
    return Verdict(signed, signer, files, problems)
