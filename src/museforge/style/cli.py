"""The ``museforge style`` subcommand: argparse wiring for :func:`museforge.style.transfer.stylize`.

``museforge.cli`` calls :func:`add_style_parser` with its subparsers object.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from museforge.errors import MuseforgeError
from museforge.style.gatys import GatysParams as G
from museforge.style.transfer import BUILTIN_STYLES, METHODS, PRESERVE, StyleOptions, parse_weights, stylize


def cmd_style(args: argparse.Namespace) -> int:
    """Handler for ``museforge style``; returns the exit status."""
    from museforge.cli import StageProgress

    weights = parse_weights(args.weights, len(args.styles))
    if args.fast:
        if args.method not in (None, "adain"):
            raise MuseforgeError(f"--fast means --method adain; drop --method {args.method}")
        args.method = "adain"
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
    builtins = ", ".join(BUILTIN_STYLES)
    p = sub.add_parser(
        "style",
        help="paint a photo in the style of one or more paintings",
        description="Keep the figure of CONTENT and paint it with the brushwork and colour of STYLE "
        "(Gatys optimisation on VGG-16 features, or one AdaIN pass with --fast), or transfer "
        "colours only (reinhard, histogram). "
        "Several styles blend by --weights, or take one region each with --masks. Writes a PNG "
        "whose text chunks record how it was made.",
    )
    p.add_argument("content", help="the photo whose figure is kept")
    p.add_argument(
        "styles",
        nargs="+",
        metavar="STYLE",
        help=f"one or more style images, or a built-in style: {builtins}",
    )
    p.add_argument(
        "--method",
        choices=METHODS,
        default=None,
        help="gatys: neural style by optimisation (default); adain: any style in one feed-forward "
        "pass (under a second at 512 px); reinhard or histogram: instant colour transfer",
    )
    p.add_argument("--fast", action="store_true", help="same as --method adain")
    p.add_argument(
        "--weights", metavar="W1,W2,...", help="one weight per style, e.g. 0.7,0.3 (default: equal)"
    )
    p.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="how strongly the style is applied; 0 keeps the content (default 1.0; adain: 0 to 1)",
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
