"""``museforge poem``: write a poem in a form with the learned poet, or check one."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError

MAX_PROMPT = 2000


def add_poem_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``poem`` subcommand to the CLI's subparsers."""
    from museforge.emotion.moods import MOODS
    from museforge.text.forms import FORMS
    from museforge.text.poet import POEM_FORMS

    p = sub.add_parser(
        "poem",
        help="write a poem in a form (wujue, qijue, wulv, qilv, sonnet, haiku, free) or check one",
        description="Write a poem with the built-in learned poet (or your own transformers model): "
        "the form is enforced while decoding (line count and length, rhyme, tones / syllables). "
        "A prompt that fits the form's first line(s) opens the poem; otherwise it is the theme. "
        "With --check, validate a poem instead.",
    )
    p.add_argument(
        "prompt",
        nargs="?",
        default="",
        help="the opening or theme, e.g. '在一片神秘的森林中，'; '-' reads standard input",
    )
    p.add_argument("--form", default="free", choices=POEM_FORMS, help="the form (default: free continuation)")
    p.add_argument(
        "--check",
        metavar="FILE",
        help=f"validate the poem in FILE ('-' = stdin) against --form ({', '.join(FORMS)}) "
        "and name each fault; exit 1 if any",
    )
    p.add_argument(
        "--rhymes",
        choices=("modern", "pingshui"),
        default="modern",
        help="Chinese rhyme and tone by modern readings (13 groups, default) or by the Pingshui "
        "rhyme book of Tang verse (106 groups, entering tone oblique)",
    )
    p.add_argument(
        "--keep", metavar="LINES", help="with --from: keep these lines (e.g. 1,3), rewrite the rest"
    )
    p.add_argument("--from", dest="from_file", metavar="FILE", help="the poem whose lines --keep keeps")
    p.add_argument(
        "--model",
        metavar="PATH",
        help="a museforge .safetensors file or a local transformers causal-LM folder (default: built-in)",
    )
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument(
        "--emotion",
        choices=MOODS,
        metavar="MOOD",
        help=f"steer word choice toward a mood: {', '.join(MOODS)}",
    )
    p.add_argument(
        "--mood-strength", type=float, default=3.0, help="logit bias added to mood words (default 3.0)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--temperature", type=float, default=0.8, help="sampling temperature; 0 = greedy (default 0.8)"
    )
    p.add_argument("--top-k", type=int, default=40, help="keep the k likeliest tokens; 0 = off (default 40)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default 1.0 = off)")
    p.add_argument(
        "--repetition-penalty", type=float, default=1.1, help="> 1 discourages repeats (default 1.1)"
    )
    p.add_argument("--no-repeat-ngram", type=int, default=0, help="forbid repeating n-grams of this size")
    p.add_argument("--min-new-tokens", type=int, default=0, help="no end of text before this many tokens")
    p.add_argument(
        "--max-new-tokens",
        type=int,
        default=0,
        help="token limit (default: 120 for free, 900 for forms); at most 10000",
    )
    p.add_argument(
        "--stop",
        action="append",
        default=[],
        metavar="TEXT",
        help="stop when the decoded text contains TEXT (repeatable)",
    )
    p.add_argument("--no-guard", action="store_true", help="skip the copy check against the training corpus")
    p.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="print tokens as they are drawn (default: when the output is a terminal)",
    )
    p.add_argument("--json", action="store_true", help="print the poem and its record as JSON")
    p.set_defaults(func=handler)
    return p


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    f = Path(path)
    if not f.is_file():
        raise MuseforgeError(f"{path} not found")
    try:
        return f.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise MuseforgeError(f"{path} is not UTF-8 text") from err


def check_command(args: argparse.Namespace) -> int:
    from museforge.text.forms import FORMS, check_poem

    text = _read(args.check)
    if not text.strip():
        raise MuseforgeError(f"{args.check} is empty")
    if args.form not in FORMS:
        raise MuseforgeError(f"--check needs --form, one of: {', '.join(FORMS)}")
    faults = check_poem(text, args.form, args.rhymes)
    if args.json:
        print(
            json.dumps(
                {
                    "form": args.form,
                    "rhymes": args.rhymes,
                    "valid": not faults,
                    "violations": [v.to_dict() for v in faults],
                },
                ensure_ascii=False,
            )
        )
    elif faults:
        for v in faults:
            print(f"{v.kind}: {v.message}")
    else:
        print(f"valid {args.form}")
    return 1 if faults else 0


def handler(args: argparse.Namespace) -> int:
    """Run ``museforge poem``."""
    if args.check:
        return check_command(args)
    from museforge.emotion.moods import emotion_from_label
    from museforge.text.poet import load_backend, parse_keep, write_poem
    from museforge.text.sampling import SamplingConfig

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if len(prompt) > MAX_PROMPT:
        raise MuseforgeError(f"the prompt has {len(prompt):,} characters; the limit is {MAX_PROMPT:,}")
    keep = None
    if args.keep or args.from_file:
        if not (args.keep and args.from_file):
            raise MuseforgeError("--keep and --from go together: --keep 1,3 --from poem.txt")
        keep = parse_keep(args.keep, _read(args.from_file), args.form)
    if not prompt.strip() and not keep:
        raise MuseforgeError("the prompt is empty; give a theme or the poem's opening")
    max_new = args.max_new_tokens or (120 if args.form == "free" else 900)
    cfg = SamplingConfig(
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        min_new_tokens=args.min_new_tokens,
        max_new_tokens=max_new,
        repetition_penalty=args.repetition_penalty,
        no_repeat_ngram_size=args.no_repeat_ngram,
        stop_strings=tuple(args.stop),
    )
    if args.device == "cpu":
        import torch

        torch.set_num_threads(1)  # a small model: one thread beats contended multi-thread kernels
    backend = load_backend(args.model or "", args.device)
    stream_on = sys.stdout.isatty() if args.stream is None else args.stream
    stream_on = stream_on and not args.json

    def stream(row: int, piece: str) -> None:
        if row == 0 and piece:
            sys.stdout.write(piece)
            sys.stdout.flush()

    if stream_on and args.form == "free":
        sys.stdout.write(prompt)
    poem = write_poem(
        backend,
        prompt,
        args.form,
        emotion=emotion_from_label(args.emotion) if args.emotion else None,
        config=cfg,
        seed=args.seed,
        keep=keep,
        mood_strength=args.mood_strength,
        guard=not args.no_guard,
        stream=stream if stream_on else None,
        rhymes=args.rhymes,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "text": poem.text,
                    "title": poem.title,
                    "lines": poem.lines,
                    "form": poem.form,
                    "lang": poem.lang,
                    "notes": poem.notes,
                    "violations": poem.violations,
                    "copy_hits_first": poem.copy_hits_first,
                    "copy_hits": poem.copy_hits,
                    "tries": poem.tries,
                    "seed": poem.seed,
                    "model": backend.name,
                    "model_sha256": backend.sha256,
                },
                ensure_ascii=False,
            )
        )
        return 0
    for note in poem.notes:
        print(f"museforge: {note}", file=sys.stderr)
    if stream_on:  # the streamed draft is the poem unless it was resampled
        sys.stdout.write("\n")
        if poem.tries > 1:
            print("museforge: the streamed draft repeated the training corpus; the poem is:", file=sys.stderr)
            print(poem.text, end="")
    else:
        print(poem.text, end="")
    for v in poem.violations:
        print(f"museforge: {v['kind']}: {v['message']}", file=sys.stderr)
    return 0
