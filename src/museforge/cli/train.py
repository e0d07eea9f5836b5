"""``museforge train``: train a model on this machine: a fast style from a painting, or the image
diffusion model on a folder of captioned images (``cli/train_image.py``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from museforge.cli.common import Parser, StageProgress
from museforge.errors import MuseforgeError


def add_train_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="train any model family (text, image, music, style) on a data set",
        description="Train a model on this machine's CPU, or on several processes or GPUs under "
        "'accelerate launch': 'museforge train text|music|image|style --help'.",
    )
    train_sub = p.add_subparsers(
        dest="train_command",
        metavar="WHAT",
        required=True,
        parser_class=Parser,
        help="what to train: text, music, style, image",
    )
    add_train_style_parser(train_sub)
    from museforge.cli.train_image import add_train_image_parser

    add_train_image_parser(train_sub)
    from museforge.cli.train_models import add_train_model_parsers

    add_train_model_parsers(train_sub)
    return p


def cmd_train_style(args: argparse.Namespace) -> int:
    """Handler for ``museforge train style``: train one fast style into a folder."""
    import os
    import platform

    from museforge.atomic import new_folder
    from museforge.hashing import sha256_file
    from museforge.style import io as sio
    from museforge.style.johnson_train import TrainOptions, run_training
    from museforge.style.transfer import resolve_style

    path = resolve_style(args.style_image)
    image = sio.open_rgb(path, "style image")
    content, licences = None, {}
    if args.data is not None:
        from museforge.train.datasets import open_training_data

        data = open_training_data(args.data, "style", args.use)
        content = {r["source"]: sio.open_rgb(data.file(r), "content image") for r in [*data.train, *data.val]}
        licences = data.licences
    from dataclasses import replace

    from museforge.style.johnson_train import QUALITY

    preset = replace(TrainOptions(), **QUALITY[args.quality])
    opts = replace(
        preset,
        steps=preset.steps if args.steps is None else args.steps,
        size=preset.size if args.size is None else args.size,
        style_weight=args.style_weight,
        seed=args.seed,
        threads=args.threads,
    )
    opts.check()
    out = Path(args.out or f"style-{path.stem}")
    if out.exists() and not args.overwrite and (out.is_file() or any(out.iterdir())):
        raise MuseforgeError(f"{out} exists; pass --overwrite or another --out")
    if out.is_file():
        raise MuseforgeError(f"--out {out} is a file; give a folder")

    def recipe(steps: int) -> str:
        return (
            f"museforge train style {args.style_image} --quality {args.quality} --steps {steps} "
            f"--size {opts.size} --style-weight {opts.style_weight:g} --seed {opts.seed} "
            f"--threads {opts.threads}" + (f" --data {args.data} --use {args.use}" if args.data else "")
        )

    def log(row: dict[str, float]) -> None:
        if not args.quiet:
            print(
                f"  step {row['step']:>5}: content {row['content']:.3f} style {row['style']:.3f} "
                f"({row['minutes']:.1f} min)",
                file=sys.stderr,
                flush=True,
            )

    hardware = f"{os.cpu_count()}-core {platform.machine()} CPU, {opts.threads} thread(s)"
    state_dir = out.parent / f".{out.name}.training"
    notes = ""
    if licences:
        listed = ", ".join(f"`{spdx}` ({n})" for spdx, n in licences.items())
        notes = f"Content images: the data set `{args.data}` (declared use {args.use}; licences {listed})."
    with StageProgress(enabled=not args.quiet) as progress, new_folder(out, args.overwrite) as tmp:
        doc = run_training(
            image,
            sha256_file(path),
            tmp,
            opts,
            name=f"style-fast-{path.stem.replace('_', '-')}",
            style_label=path.name,
            style_notes=f"`{path.name}` (given by the user; its licence is theirs to check)",
            recipe=recipe,
            hardware=hardware,
            usage=str(out),
            progress=progress,
            log=log,
            log_every=50,
            content=content,
            state_dir=state_dir,
            notes=notes,
        )
    import shutil

    shutil.rmtree(state_dir, ignore_errors=True)
    if not args.quiet:
        print(
            f"{out}: {doc['steps_done']} steps in {doc['train_minutes']} min; use it with "
            f"'museforge style PHOTO {out} --fast'",
            file=sys.stderr,
        )
    return 0


def add_train_style_parser(train_sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``style`` to the subcommands of ``museforge train``."""
    from dataclasses import asdict

    from museforge.style.johnson_train import MAX_STEPS, MAX_THREADS, TrainOptions

    d = TrainOptions()
    p = train_sub.add_parser(
        "style",
        help="train a fast style network for one style image",
        description="Train a small feed-forward network (Johnson et al. 2016) that paints any photo "
        "in the style of STYLE_IMAGE in a few hundredths of a second, on the bundled photos and "
        "procedural paintings, on the CPU (about 15 minutes on one thread by default). Writes DIR "
        "with model.safetensors, training.json and README.md; use it with "
        "'museforge style PHOTO DIR --fast'.",
    )
    p.add_argument("style_image", metavar="STYLE_IMAGE", help="the painting whose style is learnt")
    p.add_argument("--out", metavar="DIR", help="the folder to write (default: ./style-STEM/)")
    p.add_argument(
        "--data",
        type=Path,
        metavar="DATASET",
        help="content images from a data set made by 'museforge data ingest' (default: the bundled "
        "photos and procedural paintings)",
    )
    p.add_argument(
        "--use",
        choices=("research", "commercial"),
        default="research",
        help="what the model is for; a data set whose licences exclude it is refused (default research)",
    )
    from museforge.style.johnson_train import QUALITY

    high = {**asdict(d), **QUALITY["high"]}
    p.add_argument(
        "--quality",
        choices=tuple(QUALITY),
        default="preview",
        help=f"preview: about 10 minutes on one thread ({d.steps} steps of {d.size} px crops); high: a "
        f"longer run for a finer result ({high['steps']} steps of {high['size']} px crops) (default preview)",
    )
    p.add_argument(
        "--steps",
        type=int,
        help=f"optimizer steps, 1 to {MAX_STEPS:,} (default: the --quality preset's, {d.steps} for preview)",
    )
    p.add_argument(
        "--size", type=int, help=f"training crop size in pixels (default: the preset's, {d.size} for preview)"
    )
    p.add_argument(
        "--style-weight",
        type=float,
        default=d.style_weight,
        help=f"weight of the style loss; higher paints more, keeps less (default {d.style_weight:g})",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=d.seed,
        help=f"seed for data and initialisation, 0 to 2^53-1 (default {d.seed})",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=d.threads,
        help=f"CPU threads, 1 to {MAX_THREADS} (default {d.threads})",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace DIR if it holds files (the earlier one stays until the new one is complete)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_train_style)
    return p
