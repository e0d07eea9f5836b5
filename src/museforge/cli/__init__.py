"""The command line: thin parsers over the job layer, one module per command group.

Only the command being run is imported and built, so ``museforge --help`` and ``museforge show``
start without loading torch; ``build_parser()`` with no argument builds every command (for the
documentation tests).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from museforge import __version__
from museforge.cli.common import Parser, one_line
from museforge.errors import MuseforgeError

COMMANDS: dict[str, tuple[str, str]] = {
    "create": ("work", "make one multimodal Work (poem, painting, music) from a prompt"),
    "show": ("work", "print the record of a Work, or of a file museforge made"),
    "verify": ("work", "check the signature and every byte of a Work or of a lone file"),
    "reproduce": ("work", "rebuild a Work (or a lone file) from its record and compare the bytes"),
    "engines": ("work", "list the installed engines, their inputs and parameters"),
    "keys": ("keys", "your signing key, its name, and the keys you trust"),
    "run": ("run", "run any installed engine by name (built in or from a plugin) into a Work"),
    "poem": ("poem", "write a poem in a form (wujue, qijue, wulv, qilv, sonnet, haiku, free) or check one"),
    "paint": ("image", "render one procedural painting (PNG, plus SVG for vector styles)"),
    "sculpt": ("image", "model a procedural 3-D sculpture (GLB, STL, PNG preview)"),
    "dataset": ("image", "write a captioned image data set (procedural paintings)"),
    "imagine": ("imagine", "paint an image from a prompt with a learned diffusion model, or your checkpoint"),
    "edit": ("imagine", "repaint an image from a prompt, all of it or under a mask"),
    "vary": ("imagine", "variations of an image: repainted a little with several seeds"),
    "upscale": ("imagine", "make an image 2 or 4 times larger with the learned upscaler"),
    "compose": ("music", "compose a piece for a mood: MIDI, MusicXML, WAV and a piano roll"),
    "harmonize": ("music", "harmonise a melody in four parts (SATB) like a Bach chorale"),
    "continue": ("music", "continue a motif in its key and meter with a model trained on folk tunes"),
    "score": ("music", "score a scene: a cue of exact length with build-up, climax and resolution"),
    "style": ("style", "paint a photo in the style of one or more paintings"),
    "data": ("data", "bring your own data: a folder becomes a licence-aware data set with a card"),
    "train": ("train", "train any model family (text, image, music, style) on a data set"),
    "batch": ("batch", "make a work for every prompt in a file, in worker processes or on a Ray cluster"),
    "studio": ("studio", "the web app: create, vary, compare and rate works in the browser"),
    "check": ("check", "is a poem, image or melody a copy? checked against the training data's indexes"),
    "export": ("export", "export the built-in text model as a transformers GPT-2 folder"),
    "evaluate": ("evaluate", "one report page of every shipped model's quality, with plots"),
}
"""Command -> (module under museforge.cli, one-line help)."""


def build_parser(only: str | None = None, *, full: bool = True) -> argparse.ArgumentParser:
    """The parser; ``only`` builds just that command in full (the others as names in the list),
    and ``full=False`` with no ``only`` builds none (enough for ``--help``)."""
    parser = Parser(
        prog="museforge",
        description="A local-first studio for AI-assisted art: poems, paintings and music from one"
        " prompt, reproducible to the byte, each with a signed record of how it was made.",
    )
    parser.add_argument("--version", action="version", version=f"museforge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (module, help_text) in COMMANDS.items():
        if only == name or (only is None and full):
            adder = getattr(importlib.import_module(f"museforge.cli.{module}"), f"add_{name}_parser")
            adder(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The command word of an argument list (options before it take no values)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = func(args)
    for w in caught:
        print(f"museforge: warning: {one_line(str(w.message))}", file=sys.stderr)
    return code


def _quiet_stdout() -> None:
    """After the reader of our output went away (``| head``): send the rest nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _undecodable(arg: str) -> bool:
    """Whether an argument held bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in arg)


class OutputError(OSError):
    """Standard output cannot be written (a full disk, /dev/full, a descriptor opened read-only)."""


class _Output:
    """Standard output whose write errors say they are standard output's (a thin wrapper)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(exc.errno, exc.strerror) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(exc.errno, exc.strerror) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _os_message(exc: OSError) -> str:
    """An operating-system error in one line: what it is and the file it concerns."""
    what = exc.strerror or str(exc) or type(exc).__name__
    name = exc.filename if isinstance(exc.filename, str) else None
    return f"{name[:200]}: {what}" if name else what


def _unicode_message(exc: UnicodeError) -> str:
    """A text-encoding error in one line, with what to do about it."""
    if isinstance(exc, UnicodeEncodeError) and "surrogate" in exc.reason:
        return "some text is not valid UTF-8 (it came from bytes that are not UTF-8); use UTF-8 text"
    if isinstance(exc, UnicodeEncodeError):
        return (f"the output's encoding ({exc.encoding}) cannot show {exc.object[exc.start:exc.end]!r}; "
                "set a UTF-8 locale, e.g. LANG=C.UTF-8")
    return f"some text is not valid UTF-8 ({exc}); save it as UTF-8"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every fault a person can cause or fix ends in one line on stderr."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    bad = next((i for i, a in enumerate(args_list) if _undecodable(a)), None)
    if bad is not None:
        raw = os.fsencode(args_list[bad])
        shown = repr(raw if len(raw) <= 60 else raw[:57] + b"...")
        print(f"museforge: error: argument {bad + 1} is not UTF-8 text: {shown}; give prompts, options "
              "and file names in UTF-8", file=sys.stderr)
        return 2
    if sys.stdout is None:  # started with standard output closed (>&-)
        print("museforge: error: standard output is closed; run museforge with it open "
              "(e.g. > /dev/null to discard it)", file=sys.stderr)
        return 1
    stdout, sys.stdout = sys.stdout, _Output(sys.stdout)
    try:
        command = _command(args_list)
        parser = build_parser(command if command in COMMANDS else None, full=False)
        try:
            args = parser.parse_args(args_list)
        except SystemExit:  # --help, --version or a usage error: make sure its text got out
            sys.stdout.flush()
            raise
        if not getattr(args, "func", None):
            parser.print_help()
            sys.stdout.flush()
            return 2
        code = _run(args.func, args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except MuseforgeError as exc:
        print(f"museforge: error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("museforge: interrupted; nothing was written", file=sys.stderr)
        return 130
    except OutputError as exc:  # /dev/full, a descriptor opened read-only
        _quiet_stdout()
        print(f"museforge: error: cannot write to standard output ({_os_message(exc)})", file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, an unwritable or missing folder
        if os.environ.get("MUSEFORGE_DEBUG"):
            raise
        print(f"museforge: error: {one_line(_os_message(exc))}", file=sys.stderr)
        return 1
    except UnicodeError as exc:  # text that is not UTF-8, or an output that cannot show it
        if os.environ.get("MUSEFORGE_DEBUG"):
            raise
        print(f"museforge: error: {one_line(_unicode_message(exc))}", file=sys.stderr)
        return 1
    except MemoryError:
        print("museforge: error: out of memory; try a smaller size, fewer steps or a shorter input",
              file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the person, the traceback on request
        if os.environ.get("MUSEFORGE_DEBUG"):
            raise
        print(
            f"museforge: internal error: {type(exc).__name__}: {one_line(str(exc))}; nothing was written."
            " Run again with MUSEFORGE_DEBUG=1 to see the traceback, and please report it",
            file=sys.stderr,
        )
        return 70
    finally:
        sys.stdout = stdout
