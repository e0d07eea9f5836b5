"""``museforge poem``: a poem in a form by the learned poet (or the rule poet) through the job
layer, printed (and, with ``--out``, written with its signed record); or a poem checked."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from museforge.cli.common import add_param_flags, given_params, read_prompt, read_stdin, run_engine
from museforge.errors import MuseforgeError
from museforge.files import read_at_most

MAX_PROMPT = 2000
MAX_POEM_CHARS = 100_000
"""The longest poem read by --check or --from, in characters."""
LEARNED_ONLY = ("model", "keep", "temperature", "top_k", "top_p", "repetition_penalty",
                "no_repeat_ngram", "min_new_tokens", "max_new_tokens", "stop", "mood_strength", "guard")


def add_poem_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``poem`` subcommand to the CLI's subparsers."""
    from museforge.emotion.moods import MOODS
    from museforge.text.forms import FORMS
    from museforge.text.learned_poet import LearnedPoetParams

    p = sub.add_parser(
        "poem",
        help="write a poem in a form (wujue, qijue, wulv, qilv, sonnet, haiku, free) or check one",
        description="Write a poem with the built-in learned poet (or your own transformers model): "
        "the form is enforced while decoding (line count and length, rhyme, tones / syllables). "
        "A prompt that fits the form's first line(s) opens the poem; otherwise it is the theme. "
        "With --engine rule-poet, the rule-based poet writes it. With --check, validate a poem instead.",
    )
    p.add_argument("prompt", nargs="?", default="",
                   help="the opening or theme, e.g. '在一片神秘的森林中，'; '-' reads standard input")
    p.add_argument("--engine", choices=("learned-poet", "rule-poet"), default="learned-poet",
                   help="the poet: learned-poet (default) or rule-poet (word banks and form rules)")
    add_param_flags(p, LearnedPoetParams, skip=("form", "keep", "stop", "guard"))
    p.add_argument("--form", default="free",
                   help="the form: free (continue the opening), wujue, qijue, wulv, qilv, sonnet, haiku; "
                   "the rule poet also writes quatrain (default free)")
    p.add_argument("--check", metavar="FILE",
                   help=f"validate the poem in FILE ('-' = stdin) against --form ({', '.join(FORMS)}) "
                   "and name each fault; exit 1 if any")
    p.add_argument("--keep", metavar="LINES",
                   help="with --from: keep these lines (e.g. 1,3), rewrite the rest")
    p.add_argument("--from", dest="from_file", metavar="FILE", help="the poem whose lines --keep keeps")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--emotion", choices=MOODS, metavar="MOOD",
                   help=f"steer word choice toward a mood: {', '.join(MOODS)}")
    p.add_argument("--seed", type=int,
                   help="seed for every random choice, 0 to 2^53-1 (default: a random one, recorded)")
    p.add_argument("--stop", action="append", default=[], metavar="TEXT",
                   help="stop when the decoded text contains TEXT (repeatable)")
    p.add_argument("--no-guard", action="store_true", help="skip the copy check against the training corpus")
    p.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                   help="print tokens as they are drawn (default: when the output is a terminal)")
    p.add_argument("--out", metavar="FILE.txt",
                   help="also write the poem to FILE.txt with its signed record beside it "
                   "(FILE.txt.provenance.json)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true", help="print the poem and its record as JSON")
    p.set_defaults(func=handler)
    return p


def _read(path: str) -> str:
    """A poem from a file or from standard input ('-'): UTF-8, at most MAX_POEM_CHARS, cleaned
    of control characters (:func:`museforge.jobs.clean_text`)."""
    from museforge.jobs import clean_text

    if path == "-":
        return clean_text(read_stdin(MAX_POEM_CHARS, "the poem"), "the poem on standard input")
    f = Path(path)
    try:
        if not f.is_file():
            raise MuseforgeError(f"{path[:200]} not found")
        data = read_at_most(f, MAX_POEM_CHARS * 4 + 1)
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or err
        raise MuseforgeError(f"{path[:200]}: cannot read it ({reason})") from None
    if len(data) > MAX_POEM_CHARS * 4:
        raise MuseforgeError(f"{path} is larger than {MAX_POEM_CHARS * 4:,} bytes; give a poem, not a book")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MuseforgeError(f"{path} is not UTF-8 text") from err
    if len(text) > MAX_POEM_CHARS:
        raise MuseforgeError(f"{path} has {len(text):,} characters; the limit is {MAX_POEM_CHARS:,}")
    return clean_text(text, path)


def check_command(args: argparse.Namespace) -> int:
    from museforge.text.forms import FORMS, check_poem

    text = _read(args.check)
    if not text.strip():
        raise MuseforgeError(f"{args.check} is empty")
    if args.form not in FORMS:
        raise MuseforgeError(f"--check needs --form, one of: {', '.join(FORMS)}")
    rhymes = getattr(args, "p_rhymes", "modern")
    faults = check_poem(text, args.form, rhymes)
    if args.json:
        print(json.dumps({"form": args.form, "rhymes": rhymes, "valid": not faults,
                          "violations": [v.to_dict() for v in faults]}, ensure_ascii=False))
    elif faults:
        for v in faults:
            print(f"{v.kind}: {v.message}")
    else:
        print(f"valid {args.form}")
    return 1 if faults else 0


def _values(args: argparse.Namespace) -> tuple[dict, dict]:
    """The engine's parameters and inputs from the options, checked for the poet chosen."""
    values = given_params(args)
    inputs: dict[str, list[str]] = {}
    if args.engine == "rule-poet":
        extra = [n for n in values if n in LEARNED_ONLY] + (["keep"] if args.keep else [])
        if extra:
            raise MuseforgeError(f"--{extra[0].replace('_', '-')} is for the learned poet; drop it or "
                                 "use --engine learned-poet")
        form = "auto" if args.form == "free" else args.form
        return {"form": form, **{k: values[k] for k in ("rhymes",) if k in values}}, inputs
    values["form"] = args.form
    if args.stop:
        values["stop"] = "\n".join(args.stop)
    if args.no_guard:
        values["guard"] = False
    if not args.emotion:
        values.setdefault("mood_strength", 0.0)  # no mood asked for: no steering, unless asked for
    if args.keep or args.from_file:
        if not (args.keep and args.from_file):
            raise MuseforgeError("--keep and --from go together: --keep 1,3 --from poem.txt")
        values["keep"] = args.keep
        if args.from_file == "-":
            from museforge.engines import InputFile

            draft = _read("-").encode()
            inputs["draft"] = [InputFile("draft", "stdin.txt", draft)]  # type: ignore[list-item]
        else:
            _read(args.from_file)
            inputs["draft"] = [args.from_file]
    return values, inputs


def handler(args: argparse.Namespace) -> int:
    """Run ``museforge poem``."""
    if args.check:
        return check_command(args)
    from museforge.jobs import check_prompt
    from museforge.runtime import resolve_seed

    prompt = read_prompt(args.prompt, MAX_PROMPT)
    values, inputs = _values(args)
    prompt = check_prompt(prompt, MAX_PROMPT, empty_ok=bool(inputs))
    out = Path(args.out) if args.out else None
    if out is not None:
        from museforge.work import check_writable_file

        check_writable_file(out, args.overwrite)
    seed = resolve_seed(args.seed)
    if args.device == "cpu":
        import torch

        torch.set_num_threads(1)  # a small model: one thread beats contended multi-thread kernels
    stream_on = (sys.stdout.isatty() if args.stream is None else args.stream) and not args.json
    stream_on = stream_on and args.engine == "learned-poet"

    def stream(row: int, piece: str) -> None:
        if row == 0 and piece:
            sys.stdout.write(piece)
            sys.stdout.flush()

    if stream_on and args.form == "free":
        sys.stdout.write(prompt)
    work = run_engine(args.engine, values, inputs=inputs, seed=seed, prompt=prompt, emotion=args.emotion,
                      device=args.device, stream=stream if stream_on else None)
    artifact = work.record.artifacts[0]
    poem = artifact.summary
    if out is not None:
        work.save_files({"poem.txt": out}, args.overwrite)
    if args.json:
        keys = ("text", "title", "lines", "form", "lang", "notes", "violations", "copy_hits_first",
                "copy_hits", "tries")
        print(json.dumps({**{k: poem.get(k) for k in keys},
                          "seed": seed, "model": poem.get("model"), "model_sha256": artifact.model_sha256,
                          "warnings": artifact.warnings}, ensure_ascii=False))
        return 0
    for note in [*poem.get("notes", []), *artifact.warnings]:
        print(f"museforge: {note}", file=sys.stderr)
    if stream_on:  # the streamed draft is the poem unless it was resampled
        sys.stdout.write("\n")
        if (poem.get("tries") or 1) > 1 or artifact.warnings:
            print("museforge: the streamed draft was replaced; the poem is:", file=sys.stderr)
            print(poem["text"], end="")
    else:
        print(poem["text"], end="")
    for v in poem.get("violations", []):
        print(f"museforge: {v['kind']}: {v['message']}", file=sys.stderr)
    print(f"museforge: seed {seed}" + (f"; written to {out}" if out else ""), file=sys.stderr)
    return 0
