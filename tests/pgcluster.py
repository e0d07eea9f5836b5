"""A throwaway PostgreSQL cluster from Debian's binaries, on 127.0.0.1 and a free port, for the
studio's database tests; None when PostgreSQL is not installed."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def _bin() -> Path | None:
    root = Path("/usr/lib/postgresql")
    found = (
        sorted(root.glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)) if root.is_dir() else []
    )
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def cluster() -> Iterator[str | None]:
    """Yields ``postgresql://...`` of a fresh cluster (removed afterwards), or None."""
    binaries = _bin()
    if binaries is None:
        yield None
        return
    as_root = os.geteuid() == 0  # PostgreSQL refuses to run as root: run it as 'postgres'
    user = "postgres" if as_root else pwd.getpwuid(os.geteuid()).pw_name
    folder = Path(tempfile.mkdtemp(prefix="mf-pg-"))
    data, port = folder / "data", _free_port()
    if as_root:
        shutil.chown(folder, user)
    prefix = ["runuser", "-u", user, "--"] if as_root else []

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8", "--no-sync")
        run(
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-t",
            "60",
            "-l",
            str(folder / "log"),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {folder} -F -c max_connections=200",
            "start",
        )
    except (subprocess.SubprocessError, OSError):
        shutil.rmtree(folder, ignore_errors=True)
        yield None
        return
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.2)
        yield f"postgresql://{user}@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
