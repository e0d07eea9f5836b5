"""The command line: one subcommand per job. ``museforge --help`` lists them."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from museforge import __version__
from museforge.errors import MuseforgeError

MODALITY_LIST = "text,image,music"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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


def _parse_assignments(items: Sequence[str], what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MuseforgeError(f"{what} {item!r} must look like KEY=VALUE")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _parse_params(items: Sequence[str]) -> dict[str, dict[str, str]]:
    params: dict[str, dict[str, str]] = {}
    for key, value in _parse_assignments(items, "--param"):
        owner, dot, name = key.partition(".")
        if not dot or not name:
            raise MuseforgeError(f"--param {key!r} must name its owner, e.g. image.size=512")
        params.setdefault(owner, {})[name] = value
    return params


def _read_prompt(arg: str) -> str:
    if arg != "-":
        return arg
    from museforge.create import MAX_PROMPT_CHARS

    return sys.stdin.read(MAX_PROMPT_CHARS * 4 + 1)


def cmd_create(args: argparse.Namespace) -> int:
    from museforge.create import CreateOptions, create_work, default_out, parse_modalities
    from museforge.runtime import resolve_seed

    prompt = _read_prompt(args.prompt)
    seed = resolve_seed(args.seed)
    opts = CreateOptions(
        prompt=prompt,
        seed=seed,
        out=Path(args.out) if args.out else default_out(prompt.strip()),
        emotion=args.emotion,
        lang=args.lang,
        modalities=parse_modalities(args.modalities),
        engines=dict(_parse_assignments(args.engine, "--engine")),
        params=_parse_params(args.param),
        device=args.device,
        overwrite=args.overwrite,
    )
    with StageProgress(not args.quiet) as progress:
        out, notes = create_work(opts, progress)
    for note in notes:
        print(f"museforge: warning: {note}", file=sys.stderr)
    report = (out / "report.html").resolve()
    print(f"Work written to {out} (seed {seed})")
    print(f"Open {report.as_uri()} in a browser, or run: museforge show {out}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from museforge.reproduce import reproduce_work

    with StageProgress(not args.quiet) as progress:
        results, notes = reproduce_work(Path(args.work), progress)
    for note in notes:
        print(f"note: {note}")
    width = max(len(r.name) for r in results) if results else 0
    for r in results:
        verdict = "identical" if r.identical else f"DIFFERENT ({r.note})"
        print(f"{r.name:<{width}}  {verdict}")
    same = sum(r.identical for r in results)
    print(f"{same} of {len(results)} files identical")
    return 0 if same == len(results) else 1


def cmd_show(args: argparse.Namespace) -> int:
    from museforge.provenance import verify_manifest
    from museforge.work import load_manifest

    m = load_manifest(Path(args.work))
    if args.json:
        print(json.dumps(m, ensure_ascii=False, indent=2))
        return 0
    e = m["emotion"]
    print(f"prompt    {m['prompt']}")
    print(f"language  {m['lang']}")
    print(
        f"emotion   {e['label']} (valence {e['valence']:+.2f}, arousal {e['arousal']:+.2f},"
        f" confidence {e['confidence']:.2f}, {e['source']})"
    )
    print(f"seed      {m['seed']}")
    print(f"made      {m['created']} with museforge {m['museforge']} on {m['device']}, {m['seconds']} s")
    print("libraries " + ", ".join(f"{k} {v}" for k, v in m["libraries"].items()))
    for a in m["artifacts"]:
        print(f"\n{a['modality']}: {a['engine']} {a['engine_version']}  seed {a['seed']}  {a['seconds']} s")
        if a.get("model_sha256"):
            print(f"  model sha256 {a['model_sha256']}")
        for k, v in a["params"].items():
            print(f"  {k} = {v!r}")
        for k, v in a.get("summary", {}).items():
            if k != "text":
                print(f"  [{k}] {v}")
        for f in a["files"]:
            print(f"  file {f['name']}  {f['bytes']:,} bytes  sha256 {f['sha256'][:16]}")
        for w in a.get("warnings", []):
            print(f"  warning: {w}")
        if a.get("summary", {}).get("text"):
            print("\n" + "\n".join("    " + line for line in a["summary"]["text"].splitlines()))
    print(f"\nsignature {'valid' if verify_manifest(m) else 'INVALID or missing'}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from museforge.work import verify_work

    signed, checks = verify_work(Path(args.work))
    for c in checks:
        print(f"{c.name}  {c.status}")
    print(f"signature {'valid' if signed else 'INVALID: work.json was changed or is unsigned'}")
    ok = signed and all(c.status == "ok" for c in checks)
    print("the Work is intact" if ok else "the Work was altered")
    return 0 if ok else 1


def cmd_engines(args: argparse.Namespace) -> int:
    from museforge.engines import MODALITIES, default_engine, describe_params, load_engines

    engines = load_engines()
    defaults = {
        m: default_engine(m).name for m in MODALITIES if any(e.modality == m for e in engines.values())
    }
    for name, cls in sorted(engines.items(), key=lambda kv: (kv[1].modality, kv[0])):
        mark = " (default)" if defaults.get(cls.modality) == name else ""
        print(f"{cls.modality:<6} {name} {cls.version}{mark}")
        if cls.description:
            print(f"       {cls.description}")
        for pname, ptype, default, help_text in describe_params(cls.Params):
            print(f"         {pname} ({ptype}, default {default!r}): {help_text}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from museforge.emotion.moods import MOODS

    parser = _Parser(
        prog="museforge",
        description="A local-first studio for AI-assisted art: poems, paintings and music from one"
        " prompt, reproducible to the byte, each with a signed record of how it was made.",
    )
    parser.add_argument("--version", action="version", version=f"museforge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "create",
        help="make one multimodal Work (poem, painting, music) from a prompt",
        description="Make one Work from a prompt: a poem, a painting and a piece of "
        "music sharing one mood, written to a folder with work.json and report.html.",
    )
    p.add_argument(
        "prompt", help="the theme or opening, e.g. '在一片神秘的森林中，'; '-' reads it from standard input"
    )
    p.add_argument(
        "--emotion",
        choices=MOODS,
        metavar="MOOD",
        help=f"the mood, instead of reading it from the prompt: {', '.join(MOODS)}",
    )
    p.add_argument("--seed", type=int, help="seed for every random choice (default: a random one, recorded)")
    p.add_argument("--lang", choices=("zh", "en"), help="language of the poem (default: the prompt's)")
    p.add_argument(
        "--modalities",
        default=MODALITY_LIST,
        metavar="LIST",
        help=f"comma-separated subset of {MODALITY_LIST} (default: all)",
    )
    p.add_argument("--out", metavar="DIR", help="the Work folder to write (default: works/DATE-TIME-PROMPT)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it already holds files")
    p.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="MODALITY=NAME",
        help="use this engine for a modality, e.g. image=procedural-painting (see 'museforge engines')",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="OWNER.KEY=VALUE",
        help="set an engine parameter; OWNER is a modality or an engine name, e.g. image.size=512",
    )
    p.add_argument(
        "--device", default="cpu", help="cpu (default), cuda or auto; byte-exact reproduction holds on cpu"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_create)

    p = sub.add_parser(
        "reproduce",
        help="rebuild every artifact of a Work and compare the bytes",
        description="Regenerate every artifact from work.json and report, per file, "
        "whether the new bytes are identical. Exit status 1 when any file differs.",
    )
    p.add_argument("work", help="a Work folder or its work.json")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser(
        "show",
        help="print the record of a Work readably",
        description="Print how a Work was made: prompt, mood, engines, parameters, seeds, files.",
    )
    p.add_argument("work", help="a Work folder or its work.json")
    p.add_argument("--json", action="store_true", help="print work.json itself")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "verify",
        help="check a Work's signature and file hashes",
        description="Check that work.json is signed and unchanged and that every file "
        "still has its recorded SHA-256. Exit status 1 when anything was altered.",
    )
    p.add_argument("work", help="a Work folder or its work.json")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "engines",
        help="list the installed engines and their parameters",
        description="List every installed engine (built-in or plugin) with its parameters and defaults.",
    )
    p.set_defaults(func=cmd_engines)

    from museforge.text.cli import add_poem_parser

    add_poem_parser(sub)

    from museforge.image.cli import add_dataset_parser, add_paint_parser, add_sculpt_parser

    add_paint_parser(sub)
    add_sculpt_parser(sub)
    add_dataset_parser(sub)

    from museforge.music.cli import (
        add_compose_parser,
        add_continue_parser,
        add_harmonize_parser,
        add_score_parser,
    )

    for add in (add_compose_parser, add_harmonize_parser, add_continue_parser, add_score_parser):
        add(sub)

    from museforge.style.cli import add_style_parser

    add_style_parser(sub)

    p = sub.add_parser(
        "train",
        help="train a model on this machine (fast styles)",
        description="Train a model on this machine's CPU; see 'museforge train style --help'.",
    )
    train_sub = p.add_subparsers(
        dest="train_command", metavar="WHAT", required=True, parser_class=_Parser, help="what to train: style"
    )
    from museforge.style.cli import add_train_style_parser

    add_train_style_parser(train_sub)
    return parser


def _run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = func(args)
    for w in caught:
        print(f"museforge: warning: {w.message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return _run(args.func, args)
    except MuseforgeError as exc:
        print(f"museforge: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("museforge: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the person, the traceback on request
        if os.environ.get("MUSEFORGE_DEBUG"):
            raise
        print(
            f"museforge: internal error: {type(exc).__name__}: {exc}; nothing was written."
            " Run again with MUSEFORGE_DEBUG=1 to see the traceback, and please report it",
            file=sys.stderr,
        )
        return 70
