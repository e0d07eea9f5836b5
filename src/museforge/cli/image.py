"""``paint``, ``sculpt`` and ``dataset``. Paintings and sculptures are made by their engines
through the job layer; each file written carries its own signed record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from museforge.cli.common import add_mood, add_param_flags, add_seed, given_params, print_paths, run_engine
from museforge.errors import MuseforgeError

# ---------------------------------------------------------------- paint


def cmd_paint(args: argparse.Namespace) -> int:
    """Render one painting to a PNG (and an SVG beside it for vector styles)."""
    from museforge.create import slugify
    from museforge.jobs import check_prompt
    from museforge.runtime import resolve_seed
    from museforge.work import check_writable_file

    prompt = check_prompt(args.prompt)
    seed = resolve_seed(args.seed)
    out = Path(args.out) if args.out else Path(f"{slugify(prompt)}-{seed}.png")
    if out.suffix.lower() != ".png":
        raise MuseforgeError(f"--out {out} must end in .png")
    check_writable_file(out, args.overwrite)
    work = run_engine("procedural-painting", given_params(args), seed=seed, prompt=prompt,
                      emotion=args.emotion)
    targets = {f.name: out if f.name.endswith(".png") else out.with_suffix(Path(f.name).suffix)
               for f in work.files}
    print_paths(work.save_files(targets, args.overwrite))
    summary, emotion = work.record.artifacts[0].summary, work.record.emotion
    mood = emotion.label if emotion else "none"
    print(f"style {summary['style']}, mood {mood}, seed {seed}", file=sys.stderr)
    return 0


def add_paint_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``paint``: one procedural painting from a prompt."""
    from museforge.image.procedural.engine import ProceduralParams

    p = sub.add_parser(
        "paint",
        help="render one procedural painting (PNG, plus SVG for vector styles)",
        description="Paint a picture by rules from a prompt: the nouns choose motifs (trees for a "
        "forest, waves for the sea), the mood chooses palette, contrast and stroke energy. The "
        "PNG (and SVG) each carry a signed record of how they were made.",
    )
    p.add_argument("prompt", help="what to paint, e.g. '在一片神秘的森林中，' or 'a stormy sea at night'")
    add_param_flags(p, ProceduralParams)
    add_seed(p)
    add_mood(p)
    p.add_argument("--out", metavar="FILE.png",
                   help="the PNG to write, its folders made as needed; an SVG goes beside it "
                   "(default: PROMPT-SEED.png here)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_paint)
    return p


# ---------------------------------------------------------------- sculpt


def cmd_sculpt(args: argparse.Namespace) -> int:
    """Model one procedural sculpture: GLB, STL and a PNG preview in a folder."""
    from museforge.create import slugify
    from museforge.jobs import check_prompt
    from museforge.runtime import resolve_seed
    from museforge.work import check_writable_file

    prompt = check_prompt(args.prompt)
    seed = resolve_seed(args.seed)
    out = Path(args.out) if args.out else Path(f"sculpture-{slugify(prompt)}-{seed}")
    if out.exists() and not out.is_dir():
        raise MuseforgeError(f"{out} exists and is not a folder; choose another --out")
    for name in ("sculpture.glb", "sculpture.stl", "preview.png"):
        check_writable_file(out / name, args.overwrite)
    work = run_engine("procedural-sculpture", given_params(args), seed=seed, prompt=prompt,
                      emotion=args.emotion)
    print_paths(work.save_into(out, args.overwrite))
    return 0


def add_sculpt_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``sculpt``: one procedural 3-D form from a prompt."""
    from museforge.image.sculpture import SculptParams

    p = sub.add_parser(
        "sculpt",
        help="model a procedural 3-D sculpture (GLB, STL, PNG preview)",
        description="Model a watertight 3-D form by rules: a superformula solid, an L-system tree "
        "or an organic blob. The prompt's motifs choose the form; the mood sets spikiness "
        "(arousal) and smoothness (valence). Writes sculpture.glb (metres), sculpture.stl "
        "(millimetres) and preview.png, each with a signed record.",
    )
    p.add_argument("prompt", help="what to model, e.g. 'an ancient tree' or 'a restless sea'")
    add_param_flags(p, SculptParams)
    add_seed(p)
    add_mood(p)
    p.add_argument("--out", metavar="DIR", help="folder to write into (default: sculpture-PROMPT-SEED here)")
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
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("painting"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), transient=True) as bar:
            task = bar.add_task("painting", total=args.n)
            out = make_dataset(args.n, args.size, Path(args.out), seed, args.workers,
                               lambda done: bar.update(task, completed=done))
    print(out / "manifest.jsonl")
    return 0


def add_dataset_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``dataset``: a captioned training set made by the procedural painter."""
    from museforge.image.dataset import MAX_N, MAX_WORKERS

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
    p.add_argument("--seed", type=int, help="seed of the whole set, 0 to 2^53-1 (default 0)")
    p.add_argument("--workers", type=int, default=0,
                   help=f"worker processes, 0 to {MAX_WORKERS} (default 0: one per CPU core, at most 8)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_dataset)
    return p
