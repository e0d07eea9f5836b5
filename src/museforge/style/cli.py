"""The ``museforge style`` and ``museforge train style`` subcommands: argparse wiring for
:func:`museforge.style.transfer.stylize` and :func:`museforge.style.johnson_train.run_training`.

``museforge.cli`` calls :func:`add_style_parser` with its subparsers object, and
:func:`add_train_style_parser` with the subparsers of its ``train`` command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from museforge.errors import MuseforgeError
from museforge.style.gatys import GatysParams as G
from museforge.style.transfer import (
    BUILTIN_STYLES,
    METHODS,
    PRESERVE,
    StyleOptions,
    fast_method,
    parse_weights,
    resolve_style,
    stylize,
)


def cmd_style(args: argparse.Namespace) -> int:
    """Handler for ``museforge style``; returns the exit status."""
    from museforge.cli import StageProgress

    weights = parse_weights(args.weights, len(args.styles))
    if args.fast:
        if args.method not in (None, "adain", "johnson"):
            raise MuseforgeError(
                f"--fast means fast styles (johnson) or AdaIN for paintings; drop --method {args.method}"
            )
        args.method = args.method or fast_method(list(args.styles))
    args.method = args.method or "gatys"
    masks = tuple(m for m in (args.masks or "").split(",") if m)
    opts = StyleOptions(
        method=args.method,
        weights=weights,
        strength=args.strength,
        preserve_color=args.preserve_color,
        size=args.size,
        steps=args.steps,
        optimizer=args.optimizer,
        scales=args.scales,
        content_weight=args.content_weight,
        style_weight=args.style_weight,
        tv_weight=args.tv_weight,
        target_loss=args.target_loss,
        masks=masks,
        vgg=args.vgg,
        seed=args.seed,
        device=args.device,
    )
    out = Path(args.out or f"{Path(args.content).stem}-{args.method}.png")
    if out.suffix.lower() != ".png":
        raise MuseforgeError(f"--out {out}: the result is a PNG; give a name ending in .png")
    if out.exists() and not args.overwrite:
        raise MuseforgeError(f"{out} exists; pass --overwrite or another --out")
    with StageProgress(enabled=not args.quiet) as progress:
        data, summary = stylize(args.content, list(args.styles), opts, progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    if not args.quiet:
        print(f"{out} ({summary['width']}x{summary['height']}, {args.method})", file=sys.stderr)
    return 0


def add_style_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``style`` to the museforge subcommands."""
    from museforge.style.johnson import builtin_names

    fast = builtin_names()
    builtins = ", ".join(dict.fromkeys([*BUILTIN_STYLES, *fast]))
    p = sub.add_parser(
        "style",
        help="paint a photo in the style of one or more paintings",
        description="Keep the figure of CONTENT and paint it with the brushwork and colour of STYLE "
        "(Gatys optimisation on VGG-16 features; with --fast, one pass of a trained fast-style network, "
        "or of AdaIN for any painting), or transfer colours only (reinhard, histogram). "
        "Several styles blend by --weights, or take one region each with --masks. Writes a PNG "
        "whose text chunks record how it was made.",
    )
    p.add_argument("content", help="the photo whose figure is kept")
    p.add_argument(
        "styles",
        nargs="+",
        metavar="STYLE",
        help=f"one or more style images, or a built-in style: {builtins}; with --fast also a folder "
        "or .safetensors made by 'museforge train style'",
    )
    p.add_argument(
        "--method",
        choices=METHODS,
        default=None,
        help="gatys: neural style by optimisation (default); adain: any style in one feed-forward "
        "pass (under a second at 512 px); johnson: a trained fast-style network per style (a few "
        "hundredths of a second); reinhard or histogram: instant colour transfer",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help=f"one feed-forward pass: --method johnson when every STYLE is a fast style "
        f"({', '.join(fast) or 'none shipped'}, or a trained model), else --method adain",
    )
    p.add_argument(
        "--weights", metavar="W1,W2,...", help="one weight per style, e.g. 0.7,0.3 (default: equal)"
    )
    p.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="how strongly the style is applied; 0 keeps the content (default 1.0; adain, johnson: 0 to 1)",
    )
    p.add_argument(
        "--preserve-color",
        nargs="?",
        const="luminance",
        choices=PRESERVE,
        default=None,
        help="keep the content's colours: luminance-only transfer (default when given) "
        "or histogram-match the style's colours to the content first; put it after the images",
    )
    p.add_argument("--size", type=int, default=512, help="longest side of the result in pixels (default 512)")
    p.add_argument(
        "--steps",
        type=int,
        default=G.steps,
        help=f"optimiser iterations at full size; each coarser scale runs twice as many (default {G.steps})",
    )
    p.add_argument(
        "--optimizer",
        choices=("lbfgs", "adam"),
        default="lbfgs",
        help="pixel optimiser for gatys (default lbfgs)",
    )
    p.add_argument(
        "--scales",
        type=int,
        default=G.scales,
        help=f"coarse-to-fine levels, each half the size of the next (default {G.scales})",
    )
    p.add_argument(
        "--content-weight",
        type=float,
        default=G.content_weight,
        help=f"weight of the content loss (default {G.content_weight:g})",
    )
    p.add_argument(
        "--style-weight",
        type=float,
        default=G.style_weight,
        help=f"weight of the style loss (default {G.style_weight:g})",
    )
    p.add_argument(
        "--tv-weight",
        type=float,
        default=G.tv_weight,
        help=f"total-variation smoothing; higher is smoother (default {G.tv_weight:g})",
    )
    p.add_argument("--target-loss", type=float, help="stop early once the full-size loss falls below this")
    p.add_argument(
        "--masks",
        metavar="M1,M2,...",
        help="one gray mask image per style; white marks where that style paints",
    )
    p.add_argument(
        "--vgg",
        metavar="PATH",
        help="a torchvision VGG-16/19 .pth state dict to use instead of the built-in VGG-16",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for noise initialisation (default 0)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--out", metavar="FILE", help="the PNG to write (default: CONTENT-METHOD.png)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_style)
    return p


def cmd_train_style(args: argparse.Namespace) -> int:
    """Handler for ``museforge train style``: train one fast style into a folder."""
    import os
    import platform

    from museforge.cli import StageProgress
    from museforge.style import io as sio
    from museforge.style.johnson_train import TrainOptions, file_sha256, run_training

    path = resolve_style(args.style_image)
    image = sio.open_rgb(path, "style image")
    opts = TrainOptions(
        steps=args.steps,
        size=args.size,
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
            f"museforge train style {args.style_image} --steps {steps} --size {opts.size} "
            f"--style-weight {opts.style_weight:g} --seed {opts.seed} --threads {opts.threads}"
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
    with StageProgress(enabled=not args.quiet) as progress:
        doc = run_training(
            image,
            file_sha256(path),
            out,
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
        )
    if not args.quiet:
        print(
            f"{out}: {doc['steps_done']} steps in {doc['train_minutes']} min; use it with "
            f"'museforge style PHOTO {out} --fast'",
            file=sys.stderr,
        )
    return 0


def add_train_style_parser(train_sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``style`` to the subcommands of ``museforge train``."""
    from museforge.style.johnson_train import TrainOptions

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
    p.add_argument("--steps", type=int, default=d.steps, help=f"optimizer steps (default {d.steps})")
    p.add_argument(
        "--size", type=int, default=d.size, help=f"training crop size in pixels (default {d.size})"
    )
    p.add_argument(
        "--style-weight",
        type=float,
        default=d.style_weight,
        help=f"weight of the style loss; higher paints more, keeps less (default {d.style_weight:g})",
    )
    p.add_argument(
        "--seed", type=int, default=d.seed, help=f"seed for data and initialisation (default {d.seed})"
    )
    p.add_argument("--threads", type=int, default=d.threads, help=f"CPU threads (default {d.threads})")
    p.add_argument("--overwrite", action="store_true", help="write into DIR even if it holds files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_train_style)
    return p
