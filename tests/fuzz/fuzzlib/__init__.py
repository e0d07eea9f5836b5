"""The fuzz corpus and its judge, shared by ``tests/fuzz`` and ``benchmarks/fuzz_report.py``.

A :class:`Case` is one command line (with standard input, files made before it and what it may
change); :class:`Runner` runs it in-process through :func:`museforge.cli.main` under a time limit
(or as a real process where one is needed), snapshots the case's folder before and after, and
:func:`judge` files the outcome under one kind:

- ``clean error``: exit 1 or 2, standard error one line starting ``museforge`` (or a verdict on
  standard output, for ``verify`` and ``reproduce``), nothing changed;
- ``correct result``: exit 0, and what was written verifies;
- ``internal error``, ``hang``, ``loss`` (an earlier result at ``--out`` damaged),
  ``wrong acceptance`` (an input that must be refused was accepted), and ``other`` (an error of
  several lines, a valid input refused, a write outside ``--out``, a partial result left behind).

Writing commands killed with SIGKILL at chosen points, and concurrent writers, run in children of
a fork server (``forker.py``) that imported museforge once: real processes, started in
milliseconds. Everything is deterministic and sized to run in a few minutes on two cores.

The package: :mod:`.core` (cases, outcomes, snapshots, running and judging one command, the fork
server), :mod:`.runner`, :mod:`.assets` (assets and corpus helpers), the categories in
:mod:`.inputs` (prompts, numbers, options), :mod:`.files` (melodies, images, paths), :mod:`.works`
(tampered Works), :mod:`.system` (full disk, stdio, kill -9, concurrency) and :mod:`.generated`
(hypothesis), and here the whole corpus; every public name is re-exported here, as ``fuzzlib.NAME``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .assets import (
    MUSICXML_NOTE,
    Assets,
    DiskUnavailable,
    copy_asset,
    deflated_zeros,
    exists,
    make,
    musicxml,
    mxl,
    no_passwd,
    raw_midi,
    raw_png,
    raw_zip,
    steps,
    tmpfs_available,
    with_value,
)
from .core import (
    ANY,
    CLEAN,
    CLOSED,
    CORRECT,
    ERROR,
    FORKER,
    GOOD,
    HANG,
    INTERNAL,
    KINDS,
    LEFTOVER,
    LOSS,
    OK,
    OTHER,
    ROOT,
    WRONG,
    Case,
    CaseTimeout,
    ForkServer,
    Outcome,
    Result,
    all_of,
    changes,
    judge,
    printed,
    run_inprocess,
    run_process,
    snapshot,
    verified,
)
from .files import (
    IMAGES,
    MELODY_FILES,
    NOTE_STRINGS,
    QUICK,
    READ_PATHS,
    image_cases,
    melody_cases,
    path_cases,
)
from .generated import SPECIAL_CHARACTERS, prompt_expectation, properties, run_property
from .inputs import (
    BAD_NUMBERS,
    COMMAND_BASES,
    ENGINE_OF_COMMAND,
    EXPENSIVE,
    GATYS_ONLY,
    OPTION_RANGES,
    PROMPT_COMMANDS,
    PROMPTS,
    RUN_BASES,
    STDIN_CASES,
    Option,
    expected_number,
    number_cases,
    option_cases,
    option_range,
    parser_options,
    prompt_cases,
)
from .runner import Runner
from .system import (
    COMPOSE_ARGS,
    CREATE_ARGS,
    KILLS,
    PAINT_ARGS,
    RACES,
    KillScenario,
    Race,
    _simulated_full_disk,
    disk_cases,
    kill_outcomes,
    kill_scenario,
    race,
    race_outcomes,
    stdio_cases,
)
from .works import work_cases

__all__ = [
    "ANY",
    "BAD_NUMBERS",
    "CATEGORIES",
    "CLEAN",
    "CLOSED",
    "COMMAND_BASES",
    "COMPOSE_ARGS",
    "CORRECT",
    "CREATE_ARGS",
    "ENGINE_OF_COMMAND",
    "ERROR",
    "EXPENSIVE",
    "FORKER",
    "GATYS_ONLY",
    "GENERATED",
    "GOOD",
    "HANG",
    "IMAGES",
    "INTERNAL",
    "KILLS",
    "KINDS",
    "LEFTOVER",
    "LOSS",
    "MELODY_FILES",
    "MUSICXML_NOTE",
    "NOTE_STRINGS",
    "OK",
    "OPTION_RANGES",
    "OTHER",
    "PAINT_ARGS",
    "PROMPTS",
    "PROMPT_COMMANDS",
    "QUICK",
    "RACES",
    "READ_PATHS",
    "ROOT",
    "RUN_BASES",
    "SCENARIOS",
    "SPECIAL_CHARACTERS",
    "STDIN_CASES",
    "WRONG",
    "Assets",
    "Case",
    "CaseTimeout",
    "DiskUnavailable",
    "ForkServer",
    "KillScenario",
    "Option",
    "Outcome",
    "Race",
    "Result",
    "Runner",
    "all_of",
    "changes",
    "copy_asset",
    "corpus",
    "deflated_zeros",
    "disk_cases",
    "exists",
    "expected_number",
    "image_cases",
    "judge",
    "kill_outcomes",
    "kill_scenario",
    "make",
    "melody_cases",
    "musicxml",
    "mxl",
    "no_passwd",
    "number_cases",
    "option_cases",
    "option_range",
    "parser_options",
    "path_cases",
    "printed",
    "problems",
    "prompt_cases",
    "prompt_expectation",
    "properties",
    "race",
    "race_outcomes",
    "raw_midi",
    "raw_png",
    "raw_zip",
    "run_category",
    "run_inprocess",
    "run_process",
    "run_property",
    "snapshot",
    "stdio_cases",
    "steps",
    "tmpfs_available",
    "verified",
    "with_value",
    "work_cases",
]


# ---------------------------------------------------------------- the whole corpus

CATEGORIES = ("prompts", "numbers", "options", "melodies", "images", "paths", "works", "disk", "stdio")
SCENARIOS = ("kill -9", "concurrency")
GENERATED = ("prompts", "notes", "numbers", "paintings")


def corpus(category: str, assets: Assets, *, tmpfs: bool = True) -> list[Case]:
    builders: dict[str, Callable[[Assets], list[Case]]] = {
        "prompts": prompt_cases,
        "numbers": number_cases,
        "options": option_cases,
        "melodies": melody_cases,
        "images": image_cases,
        "paths": path_cases,
        "works": work_cases,
        "stdio": stdio_cases,
        "disk": lambda a: disk_cases(a, tmpfs),
    }
    cases = builders[category](assets)
    names = [c.name for c in cases]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"case names repeat in {category}: {repeated[:5]}")
    return cases


def run_category(runner: Runner, category: str, *, tmpfs: bool = True) -> list[Outcome]:
    if category == "kill -9":
        return kill_outcomes(runner)
    if category == "concurrency":
        return race_outcomes(runner)
    cases = corpus(category, runner.assets, tmpfs=tmpfs)
    if category == "disk" and not tmpfs:
        outcomes = []
        for case in cases:
            with _simulated_full_disk():
                outcomes.append(runner.run(case))
        return outcomes
    return [runner.run(case) for case in cases]


def problems(outcomes: Sequence[Outcome]) -> tuple[list[Outcome], list[Outcome]]:
    """(bad outcomes not known, known limitations that no longer occur)."""
    return ([o for o in outcomes if not o.good and not o.known], [o for o in outcomes if o.good and o.known])
