"""``museforge style``: a photo painted in the style of paintings, by one of the style engines
(Gatys, AdaIN, fast styles, colour transfer) through the job layer. The PNG carries its signed
record, naming and hashing the photo and every style it was made from."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from museforge.cli.common import add_param_flags, add_quiet, flag_of, given_params, run_engine
from museforge.errors import MuseforgeError

METHODS = ("gatys", "adain", "johnson", "reinhard", "histogram")


def _method(args: argparse.Namespace) -> str:
    from museforge.style.transfer import fast_method

    if args.fast:
        if args.method not in (None, "adain", "johnson"):
            raise MuseforgeError(
                f"--fast means fast styles (johnson) or AdaIN for paintings; drop --method {args.method}"
            )
        return args.method or fast_method(list(args.styles))
    return args.method or "gatys"


def _check_pairing(method: str, args: argparse.Namespace, values: dict) -> None:
    """Options that do not go with the method, each named with what to do instead."""
    if args.preserve_color and method not in ("gatys", "adain", "johnson"):
        raise MuseforgeError(f"--preserve-color keeps the content's colours, which undoes --method "
                             f"{method}; drop one of them")
    if args.masks and method != "gatys":
        raise MuseforgeError(f"--masks needs --method gatys (one style per region); not {method}")
    if values.get("vgg") and method == "adain":
        raise MuseforgeError("--method adain uses the decoder trained on the built-in VGG-16; drop --vgg")
    if values.get("vgg") and method == "johnson":
        raise MuseforgeError("--method johnson runs trained fast-style networks, no VGG; drop --vgg")
    strength = values.get("strength", 1.0)
    if method in ("adain", "johnson") and strength > 1:
        raise MuseforgeError(f"--strength {strength:g}: --method {method} takes 0 to 1")


def cmd_style(args: argparse.Namespace) -> int:
    """Handler for ``museforge style``; returns the exit status."""
    from museforge.engines import param_fields
    from museforge.style.engines import ENGINES

    method = _method(args)
    engine = ENGINES[method]
    values = given_params(args)
    _check_pairing(method, args, values)
    if args.preserve_color:
        values["preserve_color"] = args.preserve_color
    takes = {f.name for f in param_fields(engine.Params)}
    for name in values:
        if name not in takes:
            raise MuseforgeError(f"{flag_of(name)} is for --method gatys, not {method}; drop {flag_of(name)}")
    out = Path(args.out or f"{Path(args.content).stem}-{method}.png")
    if out.suffix.lower() != ".png":
        raise MuseforgeError(f"--out {out}: the result is a PNG; give a name ending in .png")
    if out.exists() and not args.overwrite:
        raise MuseforgeError(f"{out} exists; pass --overwrite or another --out")
    inputs = {"content": [args.content], "styles": list(args.styles)}
    if args.masks:
        inputs["masks"] = [m for m in args.masks.split(",") if m]
    names = " + ".join(Path(s).name for s in args.styles)
    work = run_engine(engine, values, inputs=inputs, seed=args.seed, prompt=f"{Path(args.content).name} in "
                      f"the style of {names}", lang="en", device=args.device, quiet=args.quiet)
    work.save_files({"styled.png": out}, args.overwrite)
    if not args.quiet:
        summary = work.record.artifacts[0].summary
        print(f"{out} ({summary['width']}x{summary['height']}, {method})", file=sys.stderr)
    return 0


def add_style_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``style`` to the museforge subcommands."""
    from museforge.style.engines import GatysStyleParams
    from museforge.style.johnson import builtin_names
    from museforge.style.transfer import BUILTIN_STYLES, PRESERVE

    fast = builtin_names()
    builtins = ", ".join(dict.fromkeys([*BUILTIN_STYLES, *fast]))
    p = sub.add_parser(
        "style",
        help="paint a photo in the style of one or more paintings",
        description="Keep the figure of CONTENT and paint it with the brushwork and colour of STYLE "
        "(Gatys optimisation on VGG-16 features; with --fast, one pass of a trained fast-style network, "
        "or of AdaIN for any painting), or transfer colours only (reinhard, histogram). "
        "Several styles blend by --weights, or take one region each with --masks. Writes a PNG "
        "whose signed record names and hashes the photo and every style.",
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
        "--preserve-color",
        nargs="?",
        const="luminance",
        choices=PRESERVE,
        default=None,
        help="keep the content's colours: luminance-only transfer (default when given) "
        "or histogram-match the style's colours to the content first; put it after the images",
    )
    add_param_flags(p, GatysStyleParams, skip=("preserve_color",),
                    helps={"strength": "how strongly the style is applied; 0 keeps the content "
                           "(adain, johnson: 0 to 1)",
                           "steps": "gatys: optimiser iterations at full size; each coarser scale runs "
                           "twice as many"})
    p.add_argument("--masks", metavar="M1,M2,...",
                   help="one gray mask image per style; white marks where that style paints (gatys)")
    p.add_argument("--seed", type=int, default=0, help="seed for noise initialisation (default 0)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--out", metavar="FILE", help="the PNG to write (default: CONTENT-METHOD.png)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    add_quiet(p)
    p.set_defaults(func=cmd_style)
    return p
