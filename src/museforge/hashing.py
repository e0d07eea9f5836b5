"""SHA-256 of bytes and of files: the one helper every model hash, input hash and manifest uses.

Files are read in 1 MiB blocks, so a multi-gigabyte checkpoint never sits in memory, and a file's
digest is cached by (resolved path, size, mtime_ns): hashing the same unchanged model twice costs
one ``stat``. Standard library only.

>>> sha256_bytes(b"abc")[:16]
'ba7816bf8f01cfea'
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

BLOCK = 1 << 20
"""Bytes read at a time."""


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _update(h: hashlib._Hash, path: str | os.PathLike[str]) -> None:
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            h.update(block)


@lru_cache(maxsize=256)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    _update(h, path)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's contents, streamed; cached until the file's size or mtime changes."""
    resolved = Path(path).resolve()
    st = resolved.stat()
    return _file_digest(str(resolved), st.st_size, st.st_mtime_ns)


def sha256_files(paths: Iterable[str | os.PathLike[str]]) -> str:
    """Hex SHA-256 of several files' contents one after another (as if concatenated), streamed."""
    h = hashlib.sha256()
    for p in paths:
        _update(h, p)
    return h.hexdigest()
