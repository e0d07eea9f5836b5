"""Reading a file a person named: only a regular file, never waiting for data, never more than a
limit. A FIFO or a kernel file such as ``/proc/kmsg`` would otherwise block a command forever,
and ``/proc/kcore`` or a huge file would fill the memory."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def read_at_most(path: Path | str, limit: int) -> bytes:
    """Up to ``limit`` bytes of the regular file at ``path`` (links followed); an OSError naming
    the file for a folder, a pipe or a device, or for a file that would make the read wait.

    >>> read_at_most("/", 10)
    Traceback (most recent call last):
    ...
    OSError: [Errno 22] not a regular file (a folder, a pipe or a device): '/'
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a folder, a pipe or a device)", str(path))
        blocks: list[bytes] = []
        size = 0
        while size < limit:
            try:
                block = os.read(fd, min(1 << 20, limit - size))
            except BlockingIOError:
                raise OSError(errno.EAGAIN, "it gives no data without waiting (a kernel or device file)",
                              str(path)) from None
            if not block:
                break
            blocks.append(block)
            size += len(block)
        return b"".join(blocks)
    finally:
        os.close(fd)
