"""Writing so that nothing is lost: every result goes to a temporary name beside its destination
and is renamed into place only when all of it is complete.

- Files: each written in full (and flushed to disk) under ``.NAME.PID-XXXX.part``, then moved
  into place; without ``overwrite`` by a hard link, which fails if the name was taken meanwhile,
  so two runs into one destination never both succeed. If one file of a group cannot be placed,
  the ones already placed by this run are taken back.
- Folders: built as ``.NAME.tmp-PID-XXXX`` and renamed into place (a rename onto a folder that is
  not empty fails, again atomically); a replacement swaps the two folders in one step
  (``renameat2`` with ``RENAME_EXCHANGE``) where the system has it, so the earlier folder is never
  only in a hidden place; elsewhere it is kept as ``.NAME.old-PID-XXXX`` until the new one is in.
- Leftovers of a run that was killed (its process gone) are removed by the next run into the same
  place, and a kept earlier folder whose replacement never arrived is put back.

A full disk, a read-only folder, kill -9 or Ctrl-C at any point leaves the earlier file or folder
as it was and no half-written one in its place.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
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
    temps: list[str] = []
    placed: list[Path] = []
    current = plan[0][0] if plan else Path(".")
    try:
        for path, data in plan:
            current = path
            path.parent.mkdir(parents=True, exist_ok=True)
            clean_leftovers(path.parent, path.name)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".part", dir=path.parent)
            temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
        for (path, _), tmp in zip(plan, temps, strict=True):
            current = path
            _place(tmp, path, overwrite)
            placed.append(path)
    except OSError as exc:
        _undo(temps, [] if overwrite else placed)
        raise _truth(current, exc) from None
    except BaseException:
        _undo(temps, [] if overwrite else placed)
        raise
    return [p for p, _ in plan]


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


def _undo(temps: list[str], placed: list[Path]) -> None:
    for tmp in temps:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    for path in placed:
        with contextlib.suppress(OSError):
            path.unlink()


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
