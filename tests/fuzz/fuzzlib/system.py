"""Corpus categories 8-11: a full disk, standard streams as real processes, kill -9 at chosen
points, and concurrent writers."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .assets import Assets, _mount_tmpfs, _unmount, copy_asset, make, steps
from .core import (
    ANY,
    CLOSED,
    CORRECT,
    ERROR,
    HANG,
    INTERNAL,
    LOSS,
    OTHER,
    WRONG,
    Case,
    Outcome,
    Result,
    _clean_error_text,
    _is_leftover,
    _within,
    changes,
    run_inprocess,
    snapshot,
    verified,
)
from .runner import Runner

# ---------------------------------------------------------------- 8. a full disk


def _fill(rel: str) -> Callable[[Path, Assets], None]:
    """A setup: fill the file system holding ``rel`` (a tmpfs) up to its last byte."""

    def setup(folder: Path, assets: Assets) -> None:
        with contextlib.suppress(OSError), (folder / rel).open("wb") as f:
            while True:
                f.write(bytes(4096))
                f.flush()

    return setup


def _simulated_full_disk() -> contextlib.AbstractContextManager:
    """Where no tmpfs can be mounted: every write of a result fails with ENOSPC."""
    import pathlib

    from museforge import atomic

    @contextlib.contextmanager
    def full() -> Iterator[None]:
        def no_space(*args: Any, **kwargs: Any) -> Any:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        saved = atomic.os.fsync, pathlib.Path.write_bytes, pathlib.Path.write_text
        atomic.os.fsync = no_space
        pathlib.Path.write_bytes = no_space  # type: ignore[method-assign]
        pathlib.Path.write_text = no_space  # type: ignore[method-assign]
        try:
            yield
        finally:
            atomic.os.fsync, pathlib.Path.write_bytes, pathlib.Path.write_text = saved  # type: ignore[method-assign]

    return full()


def disk_cases(assets: Assets, tmpfs: bool) -> list[Case]:
    """Writing onto a full disk: a tmpfs of a few hundred KB mounted in the case's folder (as
    root), or, where that is not permitted, ENOSPC raised by every write (``simulated``)."""
    mount = (lambda size: _mount_tmpfs(size)) if tmpfs else (lambda size: make({"disk": None}))
    done = _unmount if tmpfs else None
    cases = [
        Case(
            "disk",
            "paint --overwrite onto a full disk keeps the earlier painting",
            ["paint", "a stormy sea", "--size", "512", "--seed", "5", "--overwrite", "--out", "disk/p/p.png"],
            ERROR,
            out="disk/p",
            prior=True,
            setup=steps(mount("300k"), copy_asset("base-paint", "disk/p")),
        ),
        Case(
            "disk",
            "create --overwrite onto a full disk keeps the earlier Work",
            [
                "create",
                "a stormy sea",
                "--seed",
                "5",
                "--overwrite",
                "-q",
                "--out",
                "disk/w",
                "--param",
                "image.size=512",
                "--param",
                "music.bars=4",
            ],
            ERROR,
            out="disk/w",
            prior=True,
            setup=steps(mount("2m"), copy_asset("base-work", "disk/w")),
        ),
        Case(
            "disk",
            "compose onto a full disk leaves nothing",
            ["compose", "--bars", "1", "--seed", "5", "--out", "disk/c"],
            ERROR,
            out="disk/c",
            setup=mount("200k"),
        ),
        Case(
            "disk",
            "dataset onto a full disk leaves nothing",
            ["dataset", "procedural", "--n", "40", "--size", "64", "--workers", "1", "-q", "--out", "disk/d"],
            ERROR,
            out="disk/d",
            setup=mount("200k"),
        ),
        Case(
            "disk",
            "sculpt onto a full disk",
            ["sculpt", "a stone", "--detail", "1", "--out", "disk/s"],
            ANY,
            out="disk/s",
            setup=mount("100k"),
            check=verified("disk/s"),
        ),
        Case(
            "disk",
            "poem --out onto a full disk",
            ["poem", "a lake", "--engine", "rule-poet", "--out", "disk/p.txt"],
            ERROR,
            out="disk/p.txt",
            setup=steps(mount("64k"), _fill("disk/filler")),
            allow=("disk/p.txt.provenance.json",),
        ),
        Case(
            "disk",
            "keys export onto a full disk",
            ["keys", "export", "--out", "disk/k.json"],
            ERROR,
            out="disk/k.json",
            setup=steps(mount("64k"), _fill("disk/filler")),
        ),
        Case(
            "disk",
            "a new signing key on a full disk",
            ["paint", "a lake", "--size", "16", "--seed", "1", "--out", "o/p.png"],
            ANY,
            out="o",
            env={"MUSEFORGE_HOME": "{C}/disk/home"},
            allow=("disk/home",),
            setup=steps(mount("64k"), _fill("disk/filler")),
            check=verified("o/p.png", allow_unknown=True),
        ),
    ]
    for case in cases:
        case.teardown = done
        if not tmpfs:
            case.name += " (simulated)"
            case.category = "disk"
    return cases


# ---------------------------------------------------------------- 9. standard streams, as real processes


def stdio_cases(assets: Assets) -> list[Case]:
    work = "{A}/base-work"
    create = ["create", "-", "--modalities", "text", "--seed", "1", "-q", "--out", "o"]
    cases = [
        Case("stdio", "show with stdout closed", ["show", work], ERROR, redirect=">&-"),
        Case("stdio", "verify with stdout closed", ["verify", work], ERROR, redirect=">&-"),
        Case(
            "stdio",
            "create with stdout closed writes nothing",
            ["create", "a lake", "--modalities", "text", "-q", "--out", "o"],
            ERROR,
            out="o",
            redirect=">&-",
        ),
        Case("stdio", "show into a read-only stdout", ["show", work], ERROR, redirect="1</dev/null"),
        Case("stdio", "create with stdin closed", create, ERROR, out="o", stdin=CLOSED),
        Case(
            "stdio",
            "create with stdin not UTF-8 (C locale)",
            create,
            ERROR,
            out="o",
            stdin=b"sea \xff\xfe",
            env={"LC_ALL": "C", "LANG": "C"},
        ),
        Case(
            "stdio",
            "create with stdin not UTF-8 (UTF-8 locale)",
            create,
            ERROR,
            out="o",
            stdin=b"sea \xff\xfe",
            env={"LC_ALL": "C.UTF-8"},
        ),
        Case("stdio", "create with stdin from /dev/zero", create, ERROR, out="o", redirect="</dev/zero"),
        Case(
            "stdio",
            "poem --check with stdin from /dev/urandom",
            ["poem", "--check", "-", "--form", "wujue"],
            ERROR,
            redirect="</dev/urandom",
        ),
        Case("stdio", "argument not UTF-8", [b"create", b"sea \xff", b"-q", b"--out", b"o"], ERROR, out="o"),
        Case(
            "stdio",
            "--out not UTF-8",
            [b"paint", b"sea", b"--size", b"16", b"--out", b"o/\xff.png"],
            ERROR,
            out="o",
        ),
    ]
    if Path("/dev/full").exists():
        cases += [
            Case("stdio", "show into a full stdout", ["show", work], ERROR, redirect=">/dev/full"),
            Case("stdio", "--help into a full stdout", ["paint", "--help"], ERROR, redirect=">/dev/full"),
        ]
    for case in cases:
        case.process = True
        case.timeout = 60.0
    return cases


# ---------------------------------------------------------------- 10. kill -9 at chosen points


@dataclass(frozen=True)
class KillScenario:
    name: str
    prior: str | None
    """An asset copied to ``out`` first (None: a folder holding only notes.txt)."""
    out: str
    argv: tuple[str, ...]
    point: tuple[str, int]
    folder_work: bool = True
    """``out`` is a Work folder (swapped whole); else a folder of lone files (placed one by one)."""
    known: str = ""


CREATE_ARGS = (
    "create",
    "a stormy sea at night",
    "--seed",
    "9",
    "--modalities",
    "text,image",
    "--param",
    "image.size=16",
    "--param",
    "image.style=geometric",
    "-q",
    "--out",
    "w",
    "--overwrite",
)
PAINT_ARGS = (
    "paint",
    "a stormy sea",
    "--style",
    "geometric",
    "--size",
    "16",
    "--seed",
    "5",
    "--overwrite",
    "--out",
    "w/p.png",
)
COMPOSE_ARGS = ("compose", "--bars", "1", "--seed", "5", "--out", "w")

KILLS = [
    KillScenario("create --overwrite, killed while sealing", "base-work", "w", CREATE_ARGS, ("embed", 1)),
    KillScenario(
        "create --overwrite, killed while filling its folder", "base-work", "w", CREATE_ARGS, ("write", 3)
    ),
    KillScenario(
        "create --overwrite, killed with its folder complete", "base-work", "w", CREATE_ARGS, ("commit", 1)
    ),
    KillScenario(
        "create --overwrite, killed just after the swap", "base-work", "w", CREATE_ARGS, ("exchange", 1)
    ),
    KillScenario(
        "create --overwrite without a swap, killed with the earlier Work moved aside",
        "base-work",
        "w",
        CREATE_ARGS,
        ("old-moved", 1),
    ),
    KillScenario(
        "paint --overwrite, killed while a file is written",
        "base-paint",
        "w",
        PAINT_ARGS,
        ("fsync", 1),
        folder_work=False,
    ),
    KillScenario(
        "paint --overwrite, killed before placing",
        "base-paint",
        "w",
        PAINT_ARGS,
        ("place", 1),
        folder_work=False,
    ),
    KillScenario(
        "paint --overwrite, killed between the PNG and the SVG",
        "base-paint",
        "w",
        PAINT_ARGS,
        ("place", 2),
        folder_work=False,
    ),
    KillScenario(
        "compose into a folder of other files, killed while a file is written",
        None,
        "w",
        COMPOSE_ARGS,
        ("fsync", 2),
        folder_work=False,
    ),
    KillScenario(
        "compose into a folder of other files, killed after two files",
        None,
        "w",
        COMPOSE_ARGS,
        ("place", 3),
        folder_work=False,
    ),
    KillScenario(
        "compose --overwrite over an earlier one, killed after two files",
        "base-compose",
        "w",
        (*COMPOSE_ARGS, "--overwrite"),
        ("place", 3),
        folder_work=False,
    ),
]


def _visible(snap: Mapping[str, tuple]) -> dict[str, tuple]:
    return {k: v for k, v in snap.items() if not _is_leftover(k)}


def _lone_seeds(folder: Path) -> set[int]:
    """The seeds recorded in the files of a folder of lone files."""
    from museforge.provenance import read_embedding
    from museforge.work import sealed_files

    seeds = set()
    for path in sealed_files(folder):
        record = read_embedding(path).record or {}
        if isinstance(record.get("seed"), int):
            seeds.add(record["seed"])
    return seeds


def _result_state(folder: Path, out: str, earlier: Mapping[str, tuple], folder_work: bool) -> tuple[str, str]:
    """``earlier``, ``new``, ``mixed``, ``partial``, ``absent`` or ``broken``, and a detail."""
    target = folder / out
    now = _visible(snapshot(target))
    if now == _visible(earlier):
        return "earlier", ""
    if not target.exists():
        return "absent", ""
    if folder_work:
        problem = verified(out)(folder, Result(0))
        return ("broken", problem) if problem else ("new", "")
    files = {k for k, v in now.items() if v[0] == "file"}
    before = {k for k, v in _visible(earlier).items() if v[0] == "file"}
    kept = {k for k in files & before if now[k] == earlier[k]}
    replaced = {k for k in files & before if now[k] != earlier[k]}
    added = files - before
    problem = next(
        (
            f"{k}: {p}"
            for k in sorted(files - {"notes.txt"})
            if not k.endswith(".provenance.json") and (p := verified(f"{out}/{k}")(folder, Result(0)))
        ),
        None,
    )
    if problem:
        return "broken", problem
    if replaced and kept - {"notes.txt"}:
        return "mixed", f"replaced {sorted(replaced)}, earlier {sorted(kept)}"
    if len(_lone_seeds(target)) > 1:
        return "mixed", f"files of {len(_lone_seeds(target))} runs"
    return (
        ("partial", f"only {sorted(added)}")
        if added and not replaced and "notes.txt" in files and len(added) < 5
        else ("new", "")
    )


def kill_scenario(runner: Runner, scenario: KillScenario) -> Outcome:
    """Kill a writing command with SIGKILL at one point; then the earlier result must be intact or
    the new one complete, nothing written outside --out but the hidden leftovers, and the next run
    must clean those up."""
    folder = runner.folder(scenario.name)
    if scenario.prior:
        copy_asset(scenario.prior, scenario.out)(folder, runner.assets)
    else:
        make({f"{scenario.out}/notes.txt": "the user's own notes\n"})(folder, runner.assets)
    earlier = snapshot(folder / scenario.out)
    before = snapshot(folder)
    started = time.perf_counter()

    def outcome(kind: str, detail: str = "") -> Outcome:
        return runner.record(
            Outcome("kill -9", scenario.name, kind, detail, time.perf_counter() - started, scenario.known)
        )

    result = runner.server().run(
        [{"argv": list(scenario.argv), "cwd": str(folder), "kill": list(scenario.point)}], timeout=120
    )[0]
    if result["timed_out"]:
        return outcome(HANG, "the writer never reached its kill point")
    if result["status"] != -signal.SIGKILL:
        return outcome(
            OTHER,
            f"the kill point {scenario.point} was not reached: exit {result['status']} "
            f"{result['stderr'].strip()[-200:]!r}",
        )
    stray = [
        c for c in changes(before, snapshot(folder)) if not _within(c, scenario.out) and not _is_leftover(c)
    ]
    if stray:
        return outcome(OTHER, f"changed outside --out: {stray[:3]}")
    state, detail = _result_state(folder, scenario.out, earlier, scenario.folder_work)
    argv = [a for a in scenario.argv]
    if state in ("absent", "mixed", "partial"):
        # the earlier Work moved aside, or a group of files half placed: the next run into --out
        # (without --overwrite) must first put the earlier result back, then refuse or add to it
        again = run_inprocess([a for a in argv if a != "--overwrite"], folder, timeout=120)
        after, _ = _result_state(folder, scenario.out, earlier, scenario.folder_work)
        if after != "earlier" and not (after == "new" and again.code == 0):
            return outcome(
                LOSS,
                f"after the kill the result was {state} ({detail}); after the next run it is {after} "
                f"({again.stderr.strip()[-160:]})",
            )
        state = f"{state}, put back by the next run"
        if again.code == 0:  # it wrote its result beside the earlier files: judge that one
            argv = []
    if state == "broken":
        return outcome(LOSS, f"after the kill the result is {state}: {detail}")
    again = run_inprocess(argv, folder, timeout=120) if argv else again
    if again.code != 0:
        return outcome(OTHER, f"the next run failed: {again.stderr.strip()[-200:]}")
    left = [k for k in snapshot(folder) if _is_leftover(k)]
    if left:
        return outcome(OTHER, f"the next run left leftovers of the killed one: {left[:3]}")
    problem = verified(scenario.out)(folder, again)
    if problem:
        return outcome(LOSS, f"after the next run: {problem}")
    return outcome(CORRECT, f"after the kill: {state}")


def kill_outcomes(runner: Runner) -> list[Outcome]:
    return [kill_scenario(runner, s) for s in KILLS]


# ---------------------------------------------------------------- 11. concurrent writers


@dataclass(frozen=True)
class Race:
    name: str
    argv: tuple[str, ...]
    out: str
    prior: str | None = None
    overwrite: bool = False
    folder_work: bool = True
    writers: int = 3
    known: str = ""


RACES = [
    Race(
        "three creates into one new --out",
        ("create", "a lake", "--modalities", "text,image", "--param", "image.size=16", "-q", "--out", "w"),
        "w",
    ),
    Race(
        "three creates --overwrite onto one Work",
        (
            "create",
            "a lake",
            "--modalities",
            "text,image",
            "--param",
            "image.size=16",
            "-q",
            "--out",
            "w",
            "--overwrite",
        ),
        "w",
        prior="base-work",
        overwrite=True,
    ),
    Race(
        "three paints into one new file",
        ("paint", "a lake", "--style", "geometric", "--size", "16", "--out", "w/p.png"),
        "w",
        folder_work=False,
    ),
    Race(
        "three composes into one new folder", ("compose", "--bars", "1", "--out", "w"), "w", folder_work=False
    ),
    Race(
        "three datasets into one new folder",
        ("dataset", "procedural", "--n", "2", "--size", "16", "--workers", "1", "-q", "--out", "w"),
        "w",
    ),
]


def race(runner: Runner, spec: Race) -> Outcome:
    """Writers started together into one --out: without --overwrite exactly one succeeds; the
    others fail with one line; the result verifies whole, made by one run; no leftovers."""
    folder = runner.folder(spec.name)
    if spec.prior:
        copy_asset(spec.prior, spec.out)(folder, runner.assets)
    before = snapshot(folder)
    started = time.perf_counter()

    def outcome(kind: str, detail: str = "") -> Outcome:
        return runner.record(
            Outcome("concurrency", spec.name, kind, detail, time.perf_counter() - started, spec.known)
        )

    jobs = [{"argv": [*spec.argv, "--seed", str(11 + i)], "cwd": str(folder)} for i in range(spec.writers)]
    results = runner.server().run(jobs, timeout=180)
    if any(r["timed_out"] for r in results):
        return outcome(HANG, "a writer never finished")
    codes = [r["status"] for r in results]
    for r in results:
        if r["status"] != 0 and (r["status"] not in (1, 2) or not _clean_error_text(r["stderr"])):
            kind = INTERNAL if "internal error" in r["stderr"] or "Traceback" in r["stderr"] else OTHER
            return outcome(kind, f"a losing writer: exit {r['status']}: {r['stderr'].strip()[-200:]!r}")
    wins = codes.count(0)
    if not spec.overwrite and wins != 1:
        return outcome(
            WRONG if wins > 1 else OTHER, f"{wins} writers succeeded into one --out (exit {codes})"
        )
    if spec.overwrite and wins == 0:
        return outcome(OTHER, f"no writer succeeded (exit {codes})")
    stray = [c for c in changes(before, snapshot(folder)) if not _within(c, spec.out)]
    if stray:
        return outcome(OTHER, f"changed outside --out or left behind: {stray[:3]}")
    target = folder / spec.out
    if spec.argv[0] != "dataset":
        problem = verified(spec.out)(folder, Result(0))
        if problem:
            return outcome(LOSS, problem)
    if not spec.folder_work and len(_lone_seeds(target)) > 1:
        return outcome(LOSS, f"the result mixes the files of {len(_lone_seeds(target))} writers")
    return outcome(CORRECT, f"exit statuses {codes}")


def race_outcomes(runner: Runner) -> list[Outcome]:
    return [race(runner, spec) for spec in RACES]
