"""``museforge run ENGINE``: any installed engine, built in or from a plugin, into a Work folder.

Its options are made from the engine's own descriptions: one ``--ROLE PATH`` per input file and
one option per parameter, so an engine added by another package's entry point is usable (and
documented by ``museforge run NAME --help``) without any change to museforge.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from museforge.cli.common import (
    Parser,
    add_allow_copy,
    add_mood,
    add_param_flags,
    add_quiet,
    add_seed,
    flag_of,
    given_params,
    read_prompt,
    run_engine,
)


def engine_parser(name: str) -> argparse.ArgumentParser:
    """The options of one engine, from its inputs and parameter descriptions."""
    from museforge.engines import get_engine

    engine = get_engine(name)
    p = Parser(prog=f"museforge run {name}",
               description=f"{engine.description or name} ({engine.modality}, version {engine.version}). "
               "Writes a Work folder: the files, work.json and report.html.")
    p.add_argument("prompt", nargs="?", default="",
                   help="the theme or opening; '-' reads it from standard input (may be empty when "
                   "the engine works on input files)")
    for spec in engine.inputs:
        need = "needed" if spec.required else "optional"
        p.add_argument(f"--{spec.role.replace('_', '-')}", dest=f"in_{spec.role}", action="append",
                       default=[], metavar="PATH",
                       help=f"input {spec.role} ({spec.kind}, {need}"
                       f"{', repeat for several' if spec.multiple else ''}): {spec.help}")
    roles = {spec.role for spec in engine.inputs}  # a note string beside a melody file: --melody-text
    add_param_flags(p, engine.Params, flags={name: f"{flag_of(name)}-text" for name in roles})
    add_seed(p)
    add_mood(p)
    p.add_argument("--lang", choices=("zh", "en"), help="language of the prompt (default: detected)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--out", metavar="DIR", help="the Work folder to write (default: works/DATE-TIME-ENGINE)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it already holds files")
    add_allow_copy(p)
    add_quiet(p)
    return p


def cmd_run(args: argparse.Namespace) -> int:
    from museforge.create import default_out
    from museforge.engines import get_engine
    from museforge.jobs import MAX_PROMPT_CHARS
    from museforge.runtime import resolve_seed

    engine = get_engine(args.engine)
    opts = engine_parser(args.engine).parse_args(args.rest)
    seed = resolve_seed(opts.seed)
    inputs = {spec.role: getattr(opts, f"in_{spec.role}") for spec in engine.inputs
              if getattr(opts, f"in_{spec.role}")}
    out = Path(opts.out) if opts.out else default_out(engine.name)
    from museforge.work import prepare_destination

    prepare_destination(out, opts.overwrite)
    work = run_engine(engine, given_params(opts), inputs=inputs, seed=seed,
                      prompt=read_prompt(opts.prompt, MAX_PROMPT_CHARS), emotion=opts.emotion,
                      lang=opts.lang, device=opts.device, quiet=opts.quiet, allow_copy=opts.allow_copy)
    work.save(out, opts.overwrite)
    for artifact in work.record.artifacts:
        for w in artifact.warnings:
            print(f"museforge: warning: {w}", file=sys.stderr)
    print(f"Work written to {out} (seed {seed})")
    return 0


def add_run_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "run",
        help="run any installed engine by name (built in or from a plugin) into a Work",
        description="Run one engine by name into a Work folder. Its options come from the engine: "
        "see 'museforge run ENGINE --help' and 'museforge engines'.",
    )
    p.add_argument("engine", metavar="ENGINE", help="an installed engine's name (see 'museforge engines')")
    p.add_argument("rest", nargs=argparse.REMAINDER, metavar="...",
                   help="the engine's prompt and options ('museforge run ENGINE --help' lists them)")
    p.set_defaults(func=cmd_run)
    return p
