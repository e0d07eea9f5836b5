"""What every command shares: one-line argparse errors, progress, options built from an engine's
parameter descriptions, and running an engine through the job layer."""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from museforge.errors import MuseforgeError

if TYPE_CHECKING:
    from museforge.engines import Engine
    from museforge.work import Work

SEED_HELP = "seed for every random choice, 0 to 2^53-1 (default: a random one, printed and recorded)"
PREFIX = "p_"
"""Namespace prefix of options made from engine parameters."""


_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line(text: str) -> str:
    """``text`` with line breaks, other control characters, bidirectional overrides and
    undecodable bytes escaped, so that a message naming a file or a value stays one line and
    cannot recolour the terminal.

    >>> print(one_line("no\\nsuch\\x1b[2J\\u202e.png"))
    no\\nsuch\\x1b[2J\\u202e.png
    """
    return "".join(repr(ch)[1:-1] if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs") else ch
                   for ch in text)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")

    def _print_message(self, message: str, file: IO[str] | None = None) -> None:
        """As argparse's, but a failed write (``--help > /dev/full``) is raised, not ignored."""
        file = file or sys.stderr
        if message and file is not None:
            file.write(message)


class StageProgress:
    """Shows each stage as it runs: a live bar on a terminal, one line per stage otherwise."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.live = enabled and sys.stderr.isatty()
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._seen: set[str] = set()

    def __enter__(self) -> StageProgress:
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description:<36}"), BarColumn(), TimeElapsedColumn(), transient=False
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            if stage not in self._seen:
                self._seen.add(stage)
                print(f"  {stage} ...", file=sys.stderr, flush=True)
            return
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=1.0)
        self._progress.update(self._tasks[stage], completed=max(0.0, min(1.0, fraction)))


# ---------------------------------------------------------------- arguments


def parse_assignments(items: Sequence[str], what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MuseforgeError(f"{what} {item!r} must look like KEY=VALUE")
        pairs.append((key.strip(), value.strip()))
    return pairs


def parse_owned(items: Sequence[str], what: str, example: str) -> dict[str, dict[str, str]]:
    """``OWNER.KEY=VALUE`` items grouped by owner (a modality or an engine)."""
    out: dict[str, dict[str, str]] = {}
    for key, value in parse_assignments(items, what):
        owner, dot, name = key.partition(".")
        if not dot or not name:
            raise MuseforgeError(f"{what} {key!r} must name its owner, e.g. {example}")
        out.setdefault(owner, {})[name] = value
    return out


def parse_inputs(items: Sequence[str]) -> dict[str, list[str]]:
    """``--input ROLE=PATH`` items (repeatable) by role, in order."""
    out: dict[str, list[str]] = {}
    for role, path in parse_assignments(items, "--input"):
        out.setdefault(role, []).append(path)
    return out


def read_stdin(limit: int, what: str = "the text", too_long: str = "") -> str:
    """At most ``limit`` characters of standard input, with a one-line error when it is closed,
    unreadable, not UTF-8 or longer than that (``too_long``, when given)."""
    stream = sys.stdin
    if stream is None:
        raise MuseforgeError(f"standard input is closed; give {what} as an argument instead of '-'")
    try:
        text = stream.read(limit + 1)
    except UnicodeDecodeError as err:
        raise MuseforgeError(f"standard input is not UTF-8 text (byte {err.object[err.start]:#04x} cannot be "
                             f"decoded); save {what} as UTF-8") from None
    except OSError as err:
        raise MuseforgeError(f"cannot read standard input ({err.strerror or err})") from None
    if len(text) > limit:
        raise MuseforgeError(too_long or f"standard input holds more than {limit:,} characters; give a "
                             "shorter text")
    return text


def read_prompt(arg: str, limit: int) -> str:
    """The prompt argument, or standard input for ``-`` (read no further than needed to refuse)."""
    if arg != "-":
        return arg
    return read_stdin(limit * 4, "the prompt", f"the prompt on standard input has more than {limit * 4:,} "
                      f"characters; the limit is {limit:,}")


def add_seed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, help=SEED_HELP)


def add_mood(p: argparse.ArgumentParser, what: str = "the prompt") -> None:
    from museforge.emotion.moods import MOODS

    p.add_argument("--emotion", choices=MOODS, metavar="MOOD",
                   help=f"the mood, instead of reading it from {what}: {', '.join(MOODS)}")


def add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")


def add_allow_copy(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-copy", action="store_true",
                   help="keep an output the originality check calls a copy of the training data (the "
                   "record says so); by default it is made again with a new seed")


def say_originality(work: Work) -> None:
    """One line on standard error per checked artifact that is not plainly original."""
    from museforge.originality.service import originality_notes

    for note in originality_notes(work.record.originality):
        print(f"museforge: {note}", file=sys.stderr)


# ---------------------------------------------------------------- options from parameters


def flag_of(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_param_flags(
    parser: argparse.ArgumentParser,
    params_cls: type,
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    helps: Mapping[str, str] | None = None,
    flags: Mapping[str, str] | None = None,
) -> list[str]:
    """One option per parameter, its help, type, choices and default taken from the parameter's
    description (written once, in the engine); ``flags`` renames some options (a parameter named
    like an input file). Options left out keep the engine's default. Returns the names of the
    parameters given options."""
    from museforge.engines import describe

    wanted = set(only) if only is not None else None
    names = []
    for info in describe(params_cls):
        if (wanted is not None and info.name not in wanted) or info.name in skip:
            continue
        text = (helps or {}).get(info.name, info.help)
        limits = f", {info.limits()}" if info.range else ""
        kwargs: dict[str, Any] = {"dest": PREFIX + info.name, "default": argparse.SUPPRESS}
        if info.type is bool:
            kwargs["action"] = argparse.BooleanOptionalAction if info.default else "store_true"
            kwargs["help"] = f"{text} (default: {'on' if info.default else 'off'})"
        else:
            default = info.default if info.default != "" else "none"
            kwargs.update(type=info.type, help=f"{text} (default {default}{limits})")
            if info.choices:  # checked by the engine, whose error names the choices
                kwargs.update(metavar=info.name.upper())
                kwargs["help"] = f"{text}: {', '.join(info.choices)} (default {default})"
            else:
                kwargs["metavar"] = {int: "N", float: "F"}.get(info.type, info.name.upper())
        parser.add_argument((flags or {}).get(info.name, flag_of(info.name)), **kwargs)
        names.append(info.name)
    return names


def given_params(args: argparse.Namespace) -> dict[str, Any]:
    """The parameter options the person gave (the rest keep the engine's defaults)."""
    return {k.removeprefix(PREFIX): v for k, v in vars(args).items() if k.startswith(PREFIX)}


def flag_error(err: MuseforgeError, values: Mapping[str, Any]) -> MuseforgeError:
    """A parameter error named by its option: ``--size 99999: size must be ...``."""
    from museforge.engines import ParamError

    if isinstance(err, ParamError) and err.name in values:
        value = str(values[err.name])
        return err.rephrase(f"{flag_of(err.name)} {value if len(value) <= 40 else value[:37] + '...'}")
    return err


def run_engine(
    engine: str | type[Engine],
    values: Mapping[str, Any],
    *,
    inputs: Mapping[str, Sequence[Any]] | None = None,
    seed: int,
    prompt: str = "",
    emotion: Any = None,
    lang: str | None = None,
    device: str = "cpu",
    quiet: bool = True,
    stream: Any = None,
    allow_copy: bool = False,
) -> Work:
    """Check the parameters and inputs, then run one engine through the job layer; parameter
    errors come back named by their options."""
    from museforge import jobs

    try:
        step = jobs.prepare(engine, values, inputs, seed)
    except MuseforgeError as err:
        raise flag_error(err, values) from None
    with StageProgress(not quiet) as progress:
        work = jobs.run_steps([step], prompt=prompt, seed=seed, emotion=emotion, lang=lang, device=device,
                              progress=progress, stream=stream, allow_copy=allow_copy)
    say_originality(work)
    return work


def print_paths(paths: Iterable[Path]) -> None:
    for path in paths:
        print(path)


def warn(work: Work) -> None:
    for artifact in work.record.artifacts:
        for w in artifact.warnings:
            print(f"museforge: warning: {w}", file=sys.stderr)
