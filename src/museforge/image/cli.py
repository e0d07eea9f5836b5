"""The ``paint``, ``sculpt`` and ``dataset`` subcommands; ``museforge.cli`` adds them to its parser.

Each ``add_*_parser(sub)`` adds one subparser to an argparse subparsers object and sets ``func``
to a handler ``(args) -> int``. Handlers print only the paths they wrote and raise
:class:`~museforge.errors.MuseforgeError` for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from museforge.emotion import MOODS
from museforge.errors import MuseforgeError
from museforge.runtime import resolve_seed
from museforge.work import check_writable_file, write_atomic

SEED_HELP = "seed for every random choice (default: a random one, printed)"


def _emotion(prompt: str, mood: str | None) -> tuple[str, Any]:
    from museforge.create import resolve_emotion
    from museforge.emotion import detect_language

    lang = detect_language(prompt)
    return lang, resolve_emotion(prompt, lang, mood)


# ---------------------------------------------------------------- paint


def cmd_paint(args: argparse.Namespace) -> int:
    """Render one painting to a PNG (and an SVG beside it for vector styles)."""
    from museforge.create import check_prompt, run_engine, slugify
    from museforge.engines import make_params
    from museforge.image.procedural import ProceduralPainting
    from museforge.image.procedural.engine import MAX_SIZE, MIN_SIZE, STYLES
    from museforge.runtime import library_versions, no_progress

    prompt = check_prompt(args.prompt)
    if args.style != "auto" and args.style not in STYLES:
        raise MuseforgeError(f"unknown style {args.style!r}; choose auto or one of: {', '.join(STYLES)}")
    if not MIN_SIZE <= args.size <= MAX_SIZE:
        raise MuseforgeError(f"size must be an integer from {MIN_SIZE} to {MAX_SIZE} pixels, "
                             f"got {args.size}")
    seed = resolve_seed(args.seed)
    out = Path(args.out) if args.out else Path(f"{slugify(prompt)}-{seed}.png")
    if out.suffix.lower() != ".png":
        raise MuseforgeError(f"--out {out} must end in .png")
    check_writable_file(out, args.overwrite)
    lang, emotion = _emotion(prompt, args.emotion)
    params = make_params(ProceduralPainting.Params, {
        "style": args.style, "size": args.size, "density": args.density, "texture": args.texture})
    artifact, files, _ = run_engine(ProceduralPainting, params, prompt, lang, emotion, seed, "cpu",
                                    no_progress, library_versions())
    written = []
    for f in files:
        path = out if f.name.endswith(".png") else out.with_suffix(Path(f.name).suffix)
        if path != out:
            check_writable_file(path, args.overwrite)
        write_atomic(path, f.data)
        written.append(path)
    for path in written:
        print(path)
    print(f"style {artifact.summary['style']}, mood {emotion.label}, seed {seed}", file=sys.stderr)
    return 0


def add_paint_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``paint``: one procedural painting from a prompt."""
    from museforge.image.procedural.engine import MAX_SIZE, MIN_SIZE, STYLES

    p = sub.add_parser(
        "paint",
        help="render one procedural painting (PNG, plus SVG for vector styles)",
        description="Paint a picture by rules from a prompt: the nouns choose motifs (trees for a "
        "forest, waves for the sea), the mood chooses palette, contrast and stroke energy. The "
        "PNG (and SVG) carry a record of how they were made.",
    )
    p.add_argument("prompt", help="what to paint, e.g. '在一片神秘的森林中，' or 'a stormy sea at night'")
    p.add_argument("--style", default="auto", metavar="STYLE",
                   help=f"auto (from the prompt and mood) or one of: {', '.join(STYLES)}")
    p.add_argument("--size", type=int, default=768, metavar="N",
                   help=f"width and height in pixels, {MIN_SIZE}..{MAX_SIZE} (default 768)")
    p.add_argument("--seed", type=int, help=SEED_HELP)
    p.add_argument("--emotion", choices=MOODS, metavar="MOOD",
                   help=f"the mood, instead of reading it from the prompt: {', '.join(MOODS)}")
    p.add_argument("--density", type=float, default=1.0, metavar="F",
                   help="stroke/mark density multiplier, 0.1..4 (default 1)")
    p.add_argument("--texture", type=float, default=1.0, metavar="F",
                   help="strength of paper, canvas and glass texture, 0..2 (default 1)")
    p.add_argument("--out", metavar="FILE.png",
                   help="the PNG to write; an SVG goes beside it (default: PROMPT-SEED.png here)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_paint)
    return p


# ---------------------------------------------------------------- sculpt


def cmd_sculpt(args: argparse.Namespace) -> int:
    """Model one procedural sculpture: GLB, STL and a PNG preview in a folder."""
    from museforge.create import check_prompt, run_engine, slugify
    from museforge.engines import make_params
    from museforge.image.sculpture import ProceduralSculpture
    from museforge.runtime import library_versions, no_progress

    prompt = check_prompt(args.prompt)
    seed = resolve_seed(args.seed)
    out = Path(args.out) if args.out else Path(f"sculpture-{slugify(prompt)}-{seed}")
    if out.exists() and not out.is_dir():
        raise MuseforgeError(f"{out} exists and is not a folder; choose another --out")
    lang, emotion = _emotion(prompt, args.emotion)
    params = make_params(ProceduralSculpture.Params, {"form": args.form, "detail": args.detail})
    _, files, _ = run_engine(ProceduralSculpture, params, prompt, lang, emotion, seed, "cpu",
                             no_progress, library_versions())
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MuseforgeError(f"cannot create {out}: {exc.strerror or exc}; choose another --out") \
            from None
    for f in files:
        check_writable_file(out / f.name, args.overwrite)
    for f in files:
        write_atomic(out / f.name, f.data)
        print(out / f.name)
    return 0


def add_sculpt_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``sculpt``: one procedural 3-D form from a prompt."""
    from museforge.image.sculpture import FORMS

    p = sub.add_parser(
        "sculpt",
        help="model a procedural 3-D sculpture (GLB, STL, PNG preview)",
        description="Model a watertight 3-D form by rules: a superformula solid, an L-system tree "
        "or an organic blob. The prompt's motifs choose the form; the mood sets spikiness "
        "(arousal) and smoothness (valence). Writes sculpture.glb, sculpture.stl and preview.png.",
    )
    p.add_argument("prompt", help="what to model, e.g. 'an ancient tree' or 'a restless sea'")
    p.add_argument("--form", default="auto", choices=("auto", *FORMS),
                   help=f"auto (from the prompt) or one of: {', '.join(FORMS)}")
    p.add_argument("--detail", type=int, default=2, choices=(1, 2, 3),
                   help="mesh resolution: 1 coarse and fast, 2 default, 3 fine")
    p.add_argument("--seed", type=int, help=SEED_HELP)
    p.add_argument("--emotion", choices=MOODS, metavar="MOOD",
                   help=f"the mood, instead of reading it from the prompt: {', '.join(MOODS)}")
    p.add_argument("--out", metavar="DIR",
                   help="folder to write into (default: sculpture-PROMPT-SEED here)")
    p.add_argument("--overwrite", action="store_true", help="replace files of the same name in --out")
    p.set_defaults(func=cmd_sculpt)
    return p


# ---------------------------------------------------------------- dataset


def cmd_dataset(args: argparse.Namespace) -> int:
    """Write a captioned data set of procedural paintings."""
    from museforge.image.dataset import make_dataset

    if args.kind != "procedural":
        raise MuseforgeError(f"unknown data set kind {args.kind!r}; choose procedural")
    seed = args.seed if args.seed is not None else 0
    if args.quiet or not sys.stderr.isatty():
        out = make_dataset(args.n, args.size, Path(args.out), seed, args.workers)
    else:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        with Progress(TextColumn("painting"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), transient=True) as bar:
            task = bar.add_task("painting", total=args.n)
            out = make_dataset(args.n, args.size, Path(args.out), seed, args.workers,
                               lambda done: bar.update(task, completed=done))
    print(out / "manifest.jsonl")
    return 0


def add_dataset_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``dataset``: a captioned training set made by the procedural painter."""
    from museforge.image.dataset import MAX_N

    p = sub.add_parser(
        "dataset",
        help="write a captioned image data set (procedural paintings)",
        description="Write N procedural paintings with English captions (style, motifs, colours, "
        "mood) and a manifest with a SHA-256 per file and one over the whole set: training data "
        "for the learned image models. The same arguments give the same bytes.",
    )
    p.add_argument("kind", choices=("procedural",), help="the generator; only 'procedural' for now")
    p.add_argument("--n", type=int, default=1000, help=f"number of images, 1..{MAX_N:,} (default 1000)")
    p.add_argument("--size", type=int, default=64, help="image edge in pixels, 16..512 (default 64)")
    p.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder to write")
    p.add_argument("--seed", type=int, help="seed of the whole set (default 0)")
    p.add_argument("--workers", type=int, default=0,
                   help="worker processes (default 0: one per CPU core, at most 8)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_dataset)
    return p
