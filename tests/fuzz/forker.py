"""A fork server for the fuzz suite: imports museforge (and torch, music21, the engines) once,
then runs each job in a forked child: a real process that writes through the real code and can
be killed with SIGKILL at a chosen point of it, or run beside others into the same ``--out``.

Protocol: one JSON line in ({"jobs": [...], "timeout": s}), one JSON line out ({"results":
[...]}); every job of a line runs at the same time. A job is ``argv`` and ``cwd``, and may carry
``env`` and ``kill`` = [POINT, N]: SIGKILL on the Nth time the writing code reaches POINT.

Points: ``embed`` (sealing a file, before anything is written), ``fsync`` (a temporary file
written, not yet flushed), ``place`` (before a finished file is moved into place), ``write``
(a file written into a Work's temporary folder), ``commit`` (a Work folder complete, before it is
renamed into place), ``exchange`` (just after the new Work was swapped with the earlier one),
``old-moved`` (on a system without the swap: just after the earlier Work was moved aside).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _preload() -> None:
    from museforge.cli import build_parser
    from museforge.engines import load_engines

    build_parser()  # every command module: torch, PIL, mido, the engines' parameter classes
    load_engines()
    import music21.converter  # noqa: F401  (MusicXML export)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _install(point: str, n: int) -> None:
    """Make the Nth arrival at ``point`` kill this process with SIGKILL."""
    import pathlib

    from museforge import atomic, jobs

    seen = [0]

    def hit() -> None:
        seen[0] += 1
        if seen[0] >= n:
            _die()

    def before(func: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            hit()
            return func(*args, **kwargs)

        return wrapper

    def after(func: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value = func(*args, **kwargs)
            hit()
            return value

        return wrapper

    if point == "embed":
        jobs.embed = before(jobs.embed)
    elif point == "fsync":
        atomic.os.fsync = before(os.fsync)
    elif point == "place":
        atomic._place = before(atomic._place)
    elif point == "write":
        pathlib.Path.write_bytes = before(pathlib.Path.write_bytes)
    elif point == "commit":
        atomic._commit = before(atomic._commit)
    elif point == "exchange":
        atomic._exchange = after(atomic._exchange)
    elif point == "old-moved":
        atomic._exchange = lambda a, b: False
        atomic.os.rename = after(os.rename)
    else:
        raise SystemExit(f"unknown kill point {point!r}")


def _child(job: dict[str, Any]) -> None:
    code = 99
    try:
        io = job["io"]
        out = os.open(io + ".out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        err = os.open(io + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.dup2(null, 0)
        sys.stdin = open(os.devnull)  # noqa: SIM115
        os.chdir(job["cwd"])
        os.environ.update(job.get("env") or {})
        if job.get("kill"):
            _install(*job["kill"])
        from museforge.cli import main

        try:
            code = main(job["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        traceback.print_exc()
        code = 98
    finally:
        os._exit(code if isinstance(code, int) else 97)


def _batch(jobs: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    pids = []
    for job in jobs:
        pid = os.fork()
        if pid == 0:
            _child(job)
        pids.append(pid)
    results: list[dict[str, Any] | None] = [None] * len(jobs)
    while any(r is None for r in results):
        for i, pid in enumerate(pids):
            if results[i] is not None:
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                results[i] = {
                    "status": os.waitstatus_to_exitcode(status),
                    "timed_out": False,
                    "seconds": round(time.monotonic() - started, 3),
                }
        if time.monotonic() - started > timeout:
            for i, pid in enumerate(pids):
                if results[i] is None:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    results[i] = {"status": -9, "timed_out": True, "seconds": timeout}
        time.sleep(0.01)
    for job, result in zip(jobs, results, strict=True):
        assert result is not None
        for stream in ("out", "err"):
            path = Path(job["io"] + "." + stream)
            result["std" + stream] = path.read_text(errors="replace") if path.exists() else ""
    return results  # type: ignore[return-value]


def main() -> int:
    _preload()
    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps({"results": _batch(request["jobs"], float(request.get("timeout", 90)))}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
