"""Writing so that nothing is lost: every result goes to a temporary name beside its destination
and is renamed into place only when all of it is complete.

- Files: each written in full (and flushed to disk) under ``.NAME.PID-XXXX.part``, then moved
  into place; without ``overwrite`` by a hard link, which fails if the name was taken meanwhile,
  so two runs into one destination never both succeed. A group of files is placed under a
  journal, with each earlier file kept by a hidden hard link: if one file cannot be placed, or the
  run is killed between two of them, the earlier files are put back (at once, or by the next write
  into that folder), never left as a mix of two runs.
- Folders: built as ``.NAME.tmp-PID-XXXX`` and renamed into place (a rename onto a folder that is
  not empty fails, again atomically); a replacement swaps the two folders in one step
  (``renameat2`` with ``RENAME_EXCHANGE``) where the system has it, so the earlier folder is never
  only in a hidden place; elsewhere it is kept as ``.NAME.old-PID-XXXX`` until the new one is in.
- Leftovers of a run that was killed (its process gone) are removed by the next run into the same
  place; a kept earlier folder whose replacement never arrived, and the earlier files of a group
  left half placed, are put back.

A full disk, a read-only folder, kill -9 or Ctrl-C at any point leaves the earlier file or folder
as it was and no half-written one in its place.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from museforge.errors import MuseforgeError

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:(?P<kind>tmp|old)-)?(?P<pid>\d+)-[^.]+(?:\.part)?$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(folder: Path, name: str) -> None:
    """Remove what a killed run left for ``name`` in ``folder``; put back an earlier folder whose
    replacement never arrived."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        found = _LEFTOVER.match(entry.name)
        if not found or found.group("name") != name or _alive(int(found.group("pid"))):
            continue
        target = folder / name
        with contextlib.suppress(OSError):
            if found.group("kind") == "old" and not os.path.lexists(target):
                entry.rename(target)
            elif entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()


def _truth(path: Path, exc: OSError) -> MuseforgeError:
    return MuseforgeError(f"cannot write {path}: {exc.strerror or exc}; nothing was written there; "
                          "choose another --out")


def write_files(plan: Sequence[tuple[Path, bytes]], overwrite: bool = False) -> list[Path]:
    """Write a group of files (folders made as needed); all of them, or none of them."""
    group = _Group(plan, overwrite)
    try:
        group.prepare()
        group.place()
    except OSError as exc:
        group.undo()
        raise _truth(group.current, exc) from None
    except BaseException:
        group.undo()
        raise
    group.finish()
    return [p for p, _ in plan]


JOURNAL_PREFIX = ".museforge-group."
_JOURNAL = re.compile(r"^\.museforge-group\.(?P<pid>\d+)-[^.]+$")


class _Group:
    """One group of files on its way into place.

    Each file is written whole under a temporary name; with ``overwrite`` each earlier file is
    kept under a hidden hard link; then a journal naming them all is flushed to disk before the
    first file is placed, and removed once the last is. A run killed while placing leaves its
    journal, and the next write into that folder rolls the group back (:func:`recover`), so the
    earlier files come back whole, never a mix of two runs."""

    def __init__(self, plan: Sequence[tuple[Path, bytes]], overwrite: bool) -> None:
        self.plan = list(plan)
        self.overwrite = overwrite
        self.current = self.plan[0][0] if self.plan else Path(".")
        self.temps: list[str] = []
        self.backups: dict[Path, str] = {}
        self.placed: list[Path] = []
        self.journal: Path | None = None

    def prepare(self) -> None:
        for path, _ in self.plan:
            self.current = path
            path.parent.mkdir(parents=True, exist_ok=True)
        for folder in dict.fromkeys(path.parent for path, _ in self.plan):
            recover(folder)
        for path, data in self.plan:
            self.current = path
            clean_leftovers(path.parent, path.name)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".part", dir=path.parent)
            self.temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
        if self.overwrite:
            for path, _ in self.plan:
                self.current = path
                if path.is_file() and not path.is_symlink():
                    self.backups[path] = _keep(path)
        if len(self.plan) > 1:
            self._write_journal()

    def _write_journal(self) -> None:
        folder = self.plan[0][0].parent
        entries = [{"path": os.path.relpath(path, folder), "temp": os.path.relpath(tmp, folder),
                    "inode": os.stat(tmp).st_ino,
                    "earlier": os.path.relpath(self.backups[path], folder) if path in self.backups else None}
                   for (path, _), tmp in zip(self.plan, self.temps, strict=True)]
        fd, name = tempfile.mkstemp(prefix=f"{JOURNAL_PREFIX}{os.getpid()}-", dir=folder)
        self.journal = Path(name)
        with os.fdopen(fd, "w") as f:
            json.dump({"files": entries}, f)
            f.flush()
            os.fsync(f.fileno())

    def place(self) -> None:
        for (path, _), tmp in zip(self.plan, self.temps, strict=True):
            self.current = path
            _place(tmp, path, self.overwrite)
            self.placed.append(path)

    def finish(self) -> None:
        """The group is in place: drop the journal (from here on the new files stand), then the
        kept earlier files."""
        if self.journal is not None:
            with contextlib.suppress(OSError):
                self.journal.unlink()
        for backup in self.backups.values():
            with contextlib.suppress(OSError):
                os.unlink(backup)

    def undo(self) -> None:
        """Put every earlier file back and take away what this run placed."""
        for path in self.placed:
            with contextlib.suppress(OSError):
                if path in self.backups:
                    os.replace(self.backups.pop(path), path)
                else:
                    path.unlink()
        for name in [*self.temps, *self.backups.values()]:
            with contextlib.suppress(OSError):
                os.unlink(name)
        if self.journal is not None:
            with contextlib.suppress(OSError):
                self.journal.unlink()


def _keep(path: Path) -> str:
    """A hidden hard link to the earlier ``path`` (a copy where links are not allowed)."""
    for _ in range(100):
        backup = str(path.with_name(f".{path.name}.old-{os.getpid()}-{secrets.token_hex(4)}"))
        try:
            os.link(path, backup, follow_symlinks=False)
            return backup
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            shutil.copy2(path, backup)
            return backup
    raise OSError(errno.EEXIST, "no free name to keep the earlier file", str(path))


def recover(folder: Path) -> None:
    """Roll back every group a killed run left half placed in ``folder``: its earlier files are
    put back, the files it placed where there were none are removed."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for journal in entries:
        found = _JOURNAL.match(journal.name)
        if not found or _alive(int(found.group("pid"))):
            continue
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            _roll_back(folder, json.loads(journal.read_text()))
        with contextlib.suppress(OSError):
            journal.unlink()


def _roll_back(folder: Path, journal: dict) -> None:
    for entry in journal["files"]:
        path = folder / entry["path"]
        with contextlib.suppress(OSError):
            earlier = folder / entry["earlier"] if entry.get("earlier") else None
            if earlier is not None and os.path.lexists(earlier):
                os.replace(earlier, path)  # a no-op when the file was never replaced (same inode)
                if os.path.lexists(earlier):
                    earlier.unlink()
            elif path.lstat().st_ino == entry["inode"]:
                path.unlink()
        with contextlib.suppress(OSError):
            os.unlink(folder / entry["temp"])


def _place(tmp: str, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if the name was taken: the check and the write are one step
    except FileExistsError:
        raise MuseforgeError(f"{path} already exists; choose another --out or pass --overwrite") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(path):  # no hard links on this file system: check, then rename
            raise MuseforgeError(f"{path} already exists; choose another --out or pass --overwrite") from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)



def write_file(path: Path, data: bytes, overwrite: bool = True) -> None:
    """One file, written whole or not at all."""
    write_files([(path, data)], overwrite)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False when the system
    cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def new_folder(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """A temporary folder beside ``out`` to fill; renamed to ``out`` when the block ends without
    an error, removed otherwise. Without ``overwrite`` an ``out`` that holds files is never
    replaced, even when another run fills it meanwhile."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(out.parent, out.name)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    except OSError as exc:
        raise _truth(out, exc) from None
    try:
        yield tmp
        tmp.chmod(0o755)
        _commit(tmp, out, overwrite)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _truth(out, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _commit(tmp: Path, out: Path, overwrite: bool) -> None:
    if overwrite and out.is_dir() and not out.is_symlink() and any(out.iterdir()):
        if _exchange(tmp, out):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the earlier folder
            return
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
        os.rmdir(old)
        os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            os.rename(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    try:
        os.rename(tmp, out)  # onto nothing, or onto an empty folder; never onto one with files
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise MuseforgeError(f"{out} already exists and is not empty; choose another --out or pass "
                                 "--overwrite") from None
        raise
