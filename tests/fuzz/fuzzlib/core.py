"""The judge of the fuzz corpus: cases and outcomes, snapshots of a case's folder, running one
command (in-process or as a real process), judging its outcome, and the fork server."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .assets import Assets

ROOT = Path(__file__).resolve().parents[3]
FORKER = Path(__file__).parent.with_name("forker.py")

CLEAN, CORRECT = "clean error", "correct result"
INTERNAL, HANG, LOSS, WRONG, OTHER = "internal error", "hang", "loss", "wrong acceptance", "other"
KINDS = (CLEAN, CORRECT, INTERNAL, HANG, LOSS, WRONG, OTHER)
GOOD = (CLEAN, CORRECT)

ERROR, OK, ANY = "error", "ok", "any"
"""What a case expects: a refusal, a result, or either (each judged as above)."""

CLOSED = "closed"
"""``Case.stdin`` for a closed standard input."""

LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:(?:tmp|old|probe)-)?(?P<pid>\d+)-[^.]+(?:\.part)?$")
"""The hidden names museforge's atomic writes use beside their destination."""


# ---------------------------------------------------------------- cases and outcomes


@dataclass
class Result:
    """What one command did: exit status (None: it hung), its output, how long it took, and an
    exception that escaped ``main`` (always a bug)."""

    code: int | None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    escaped: str = ""


@dataclass
class Case:
    """One command line of the corpus.

    ``argv`` may hold ``{A}`` (the assets folder) and ``{C}`` (this case's folder); the command
    runs in the case's folder. ``out`` (relative) and ``allow`` name what it may change; with
    ``prior`` the setup put an earlier result at ``out``, which must survive a failure intact.
    ``check`` judges a result (None when it is right). ``known`` names a limitation that is
    out of reach for now: a bad outcome is then reported as known, not as a failure.
    """

    category: str
    name: str
    argv: Sequence[str | bytes]
    expect: str = ANY
    out: str | None = None
    allow: tuple[str, ...] = ()
    prior: bool = False
    setup: Callable[[Path, Assets], None] | None = None
    teardown: Callable[[Path], None] | None = None
    check: Callable[[Path, Result], str | None] | None = None
    stdin: bytes | str | None = None
    stdin_errors: str = "strict"
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 30.0
    process: bool = False
    """Run as a real ``python -m museforge`` process (closed or full stdout, real stdin)."""
    redirect: str = ""
    """Shell redirections for a process, e.g. ``>&-``."""
    known: str = ""


@dataclass
class Outcome:
    category: str
    name: str
    kind: str
    detail: str = ""
    seconds: float = 0.0
    known: str = ""

    @property
    def good(self) -> bool:
        return self.kind in GOOD

    def line(self) -> str:
        return f"[{self.category}] {self.name}: {self.kind}" + (f" ({self.detail})" if self.detail else "")


# ---------------------------------------------------------------- snapshots


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()[:16]


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (never following links, never opening anything but regular
    files): kind, and size and hash for files."""
    found: dict[str, tuple] = {}
    if not root.exists():
        return found
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda err: None):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[rel] = ("dir",)
            elif stat.S_ISREG(info.st_mode):
                try:
                    found[rel] = ("file", info.st_size, _digest(path))
                except OSError:
                    found[rel] = ("file", info.st_size, "unreadable")
            else:
                found[rel] = ("other", stat.S_IFMT(info.st_mode))
    return found


def changes(before: Mapping[str, tuple], after: Mapping[str, tuple]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _within(rel: str, prefix: str) -> bool:
    return rel == prefix or rel.startswith(prefix.rstrip("/") + "/")


def _is_leftover(rel: str) -> bool:
    """Whether ``rel`` is (or lies in) a hidden temporary of an atomic write."""
    return any(LEFTOVER.match(part) for part in rel.split("/"))


# ---------------------------------------------------------------- running one command


class CaseTimeout(BaseException):
    """Raised by the alarm in the command under test: it ran past its time limit."""


def _alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout


def run_inprocess(
    argv: Sequence[str | bytes],
    cwd: Path,
    *,
    stdin: bytes | str | None = None,
    stdin_errors: str = "strict",
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Result:
    """``museforge.cli.main(argv)`` in this process, with its own standard streams, working
    folder and environment, stopped by SIGALRM after ``timeout`` seconds."""
    from museforge.cli import main

    args = [os.fsdecode(a) if isinstance(a, bytes) else a for a in argv]
    saved = sys.stdin, sys.stdout, sys.stderr
    old_cwd = os.getcwd()
    keys = {*(env or {}), "MUSEFORGE_DEBUG"}
    old_env = {k: os.environ.get(k) for k in keys}
    out, err = io.StringIO(), io.StringIO()
    result = Result(None)
    started = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        try:
            if stdin == CLOSED:
                sys.stdin = None  # type: ignore[assignment]
            else:
                data = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
                sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors=stdin_errors)
            sys.stdout, sys.stderr = out, err
            os.environ.pop("MUSEFORGE_DEBUG", None)
            os.environ.update(env or {})
            os.chdir(cwd)
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                result.code = main(args)
            except SystemExit as exc:
                result.code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except CaseTimeout:
                result.code = None
            except BaseException as exc:  # anything escaping main is a bug in main
                result.code, result.escaped = 70, f"{type(exc).__name__}: {exc}"[:300]
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except CaseTimeout:  # the alarm went off just as the command ended
            pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.stdin, sys.stdout, sys.stderr = saved
        os.chdir(old_cwd)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    result.stdout, result.stderr = out.getvalue(), err.getvalue()
    result.seconds = time.perf_counter() - started
    return result


def run_process(
    argv: Sequence[str | bytes],
    cwd: Path,
    *,
    stdin: bytes | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    redirect: str = "",
) -> Result:
    """``python -m museforge ARGV`` as a real process (through bash for ``redirect``)."""
    command: list[str | bytes] = [sys.executable, "-m", "museforge", *argv]
    if redirect:
        command = ["bash", "-c", f'exec "$@" {redirect}', "bash", *command]
    environ = {**os.environ, **(env or {})}
    environ.pop("MUSEFORGE_DEBUG", None)
    environ["PYTHONPATH"] = str(ROOT / "src")
    data = stdin.encode() if isinstance(stdin, str) else stdin
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=environ,
        start_new_session=True,
        stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(data, timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    return Result(
        code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.perf_counter() - started
    )


# ---------------------------------------------------------------- judging


def _clean_error_text(stderr: str) -> bool:
    lines = stderr.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("museforge")


def _says_internal(result: Result) -> bool:
    return (
        result.code == 70
        or bool(result.escaped)
        or "internal error" in result.stderr
        or "Traceback (most recent call last)" in result.stderr
    )


def _verdict_on_stdout(argv: Sequence[str | bytes]) -> bool:
    """Commands that refuse with their verdict on standard output and exit 1."""
    words = [a for a in argv if isinstance(a, str)]
    return bool(words) and (words[0] in ("verify", "reproduce") or "--check" in words)


def judge(
    case: Case, result: Result, before: Mapping[str, tuple], after: Mapping[str, tuple], folder: Path
) -> tuple[str, str]:
    """The kind of an outcome and a short detail."""
    err_line = result.stderr.strip().splitlines()[-1:] or [""]
    if result.code is None:
        return HANG, f"still running after {case.timeout:g} s"
    if _says_internal(result):
        return INTERNAL, (result.escaped or err_line[0])[:200]
    changed = changes(before, after)
    targets = [p for p in ((case.out,) if case.out else ()) + case.allow]
    if case.prior and case.out:
        touched = [c for c in changed if _within(c, case.out)]
        if result.code != 0 and touched:
            return LOSS, f"a failed run changed the earlier result: {touched[:3]}"
        problem = verified(case.out)(folder, result)
        if problem:
            return LOSS, f"the earlier result at {case.out} no longer verifies: {problem}"
    stray = [
        c
        for c in changed
        if not any(
            _within(c, t) or (after.get(c, ("",))[0] == "dir" and any(_within(t, c) for t in targets))
            for t in targets
        )
    ]
    if stray:
        return OTHER, f"changed outside --out: {stray[:3]}"
    if result.code == 0:
        if case.expect == ERROR:
            return WRONG, "exit 0; " + (result.stdout.strip().splitlines() or [""])[0][:120]
        problem = case.check(folder, result) if case.check else None
        if problem:
            return OTHER, f"bad result: {problem}"
        return CORRECT, ""
    if result.code in (1, 2):
        if case.out and not case.prior:
            made = [c for c in changed if _within(c, case.out) and after.get(c, ("",))[0] != "dir"]
            if made:
                return OTHER, f"a failed run left files behind: {made[:3]}"
        lines = result.stderr.strip().splitlines()
        clean = (
            _clean_error_text(result.stderr)
            or (not lines and result.code == 2 and "usage:" in result.stdout)
            or (
                not lines
                and result.code == 1
                and _verdict_on_stdout(case.argv)
                and bool(result.stdout.strip())
            )
        )
        if not clean:
            return OTHER, f"unclean error ({len(lines)} lines): {result.stderr.strip()[:160]!r}"
        if case.expect == OK:
            return OTHER, f"wrongly refused: {err_line[0][:160]}"
        return CLEAN, err_line[0][:160]
    return OTHER, f"exit status {result.code}: {err_line[0][:160]}"


def verified(rel: str, *, allow_unknown: bool = False) -> Callable[[Path, Result], str | None]:
    """A check: the Work, file or folder of files at ``rel`` verifies intact (signed by this
    person's key, unless ``allow_unknown``)."""

    def check(folder: Path, result: Result) -> str | None:
        from museforge.errors import MuseforgeError
        from museforge.work import verify_path

        path = folder / rel
        if not path.exists():
            return f"{rel} was not written"
        try:
            verdict = verify_path(path)
        except MuseforgeError as err:
            return str(err)[:160]
        if not verdict.accepted(allow_unknown):
            bad = [f"{f.name} {f.status}" for f in verdict.files if not f.ok] + verdict.problems
            return f"{rel} does not verify: {bad[:3] or 'unsigned or unknown key'}"
        return None

    return check


def printed(folder: Path, result: Result) -> str | None:
    """A check: the command printed something."""
    return None if result.stdout.strip() else "nothing was printed"


def all_of(*checks: Callable[[Path, Result], str | None]) -> Callable[[Path, Result], str | None]:
    def check(folder: Path, result: Result) -> str | None:
        return next((p for c in checks if (p := c(folder, result))), None)

    return check


# ---------------------------------------------------------------- the fork server


class ForkServer:
    """``forker.py`` in a child process: it imports museforge once, then forks one process per
    job (several at once for concurrent writers), optionally killing it with SIGKILL at a chosen
    point of the writing code."""

    def __init__(self, io_dir: Path, start_timeout: float = 180.0) -> None:
        self.io_dir = io_dir
        io_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        env.pop("MUSEFORGE_DEBUG", None)
        self._log = (io_dir / "forker.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(FORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=io_dir,
        )
        self._jobs = 0
        ready = self._read(start_timeout)
        if ready.get("ready") is not True:
            raise RuntimeError(f"the fork server did not start: {ready}")

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.close()
            log = (self.io_dir / "forker.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the fork server gave no answer in {timeout:g} s: {log}")
        return json.loads(line)

    def run(self, jobs: Sequence[Mapping[str, Any]], timeout: float = 90.0) -> list[dict[str, Any]]:
        """Run jobs at once (``argv``, ``cwd``, optional ``kill`` = [point, n] and ``env``);
        each result has ``status`` (negative: killed by that signal), ``timed_out``, ``stdout``,
        ``stderr`` and ``seconds``."""
        batch = []
        for job in jobs:
            self._jobs += 1
            batch.append({**job, "io": str(self.io_dir / f"job{self._jobs}")})
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"jobs": batch, "timeout": timeout}) + "\n").encode())
        self.proc.stdin.flush()
        return self._read(timeout + 60)["results"]

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
