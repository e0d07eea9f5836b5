"""``imagine``, ``edit``, ``vary`` and ``upscale``: learned image generation through the diffusion
and upscale engines. Each PNG carries its signed record and a ``parameters`` chunk in
AUTOMATIC1111's layout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from museforge.cli.common import (
    PREFIX,
    add_allow_copy,
    add_param_flags,
    add_quiet,
    add_seed,
    given_params,
    print_paths,
    run_engine,
)
from museforge.errors import MuseforgeError

ENGINE = "diffusion"
HUB_HINT = "a folder or file on this machine"


def _out(args: argparse.Namespace, prompt: str, seed: int, suffix: str = "") -> Path:
    from museforge.create import slugify

    out = Path(args.out) if args.out else Path(f"{slugify(prompt, 40)}-{seed}{suffix}.png")
    if out.suffix.lower() != ".png":
        raise MuseforgeError(f"--out {out} must end in .png")
    return out


def _paint(args: argparse.Namespace, inputs: dict[str, list[str]], suffix: str) -> int:
    from museforge.jobs import check_prompt
    from museforge.runtime import resolve_seed
    from museforge.work import check_writable_file

    prompt = check_prompt(args.prompt)
    seed = resolve_seed(args.seed)
    out = _out(args, prompt, seed, suffix)
    check_writable_file(out, args.overwrite)
    values = given_params(args)
    work = run_engine(ENGINE, values, inputs=inputs, seed=seed, prompt=prompt, device=args.device,
                      quiet=args.quiet, allow_copy=args.allow_copy)
    for artifact in work.record.artifacts:
        for w in artifact.warnings:
            print(f"museforge: warning: {w}", file=sys.stderr)
    print_paths(work.save_files({"image.png": out}, args.overwrite))
    summary = work.record.artifacts[0].summary
    print(f"{summary['width']}x{summary['height']}, {summary['model']}, {summary['sampler']}, seed {seed}",
          file=sys.stderr)
    return 0


def cmd_imagine(args: argparse.Namespace) -> int:
    """Text to image."""
    return _paint(args, {}, "")


def cmd_edit(args: argparse.Namespace) -> int:
    """Image to image, or inpainting under a mask."""
    inputs = {"init": [args.image]}
    if args.mask:
        inputs["mask"] = [args.mask]
    return _paint(args, inputs, "-edit")


MAX_VARIATIONS = 16


def prompt_of(image: Path) -> str:
    """The prompt an image was made from: its museforge record's, or the first line of an
    AUTOMATIC1111 ``parameters`` chunk; "" when it carries neither."""
    from museforge.provenance import read_embedded, read_png_texts
    from museforge.style import io as sio

    sio.check_image(image, "image")
    try:
        record = read_embedded(image)
    except (MuseforgeError, OSError, ValueError):
        record = None
    if record and isinstance(record.get("prompt"), str):
        return record["prompt"]
    try:
        texts = read_png_texts(image.read_bytes())
    except (MuseforgeError, OSError, ValueError):
        return ""
    return texts.get("parameters", "").split("\n", 1)[0].strip()


def cmd_vary(args: argparse.Namespace) -> int:
    """Variations: the image repainted at ``--strength`` with ``--n`` consecutive seeds."""
    from museforge.jobs import check_prompt
    from museforge.runtime import resolve_seed
    from museforge.work import check_writable_file

    image = Path(args.image)
    if not 1 <= args.n <= MAX_VARIATIONS:
        raise MuseforgeError(f"--n must lie between 1 and {MAX_VARIATIONS}")
    prompt = args.prompt if args.prompt is not None else prompt_of(image)
    if not prompt.strip():
        raise MuseforgeError(f"{image.name} carries no prompt; give one: museforge vary IMAGE PROMPT")
    prompt = check_prompt(prompt)
    first = resolve_seed(args.seed)
    folder = Path(args.out_dir) if args.out_dir else image.parent
    outs = [folder / f"{image.stem}-var-{first + i}.png" for i in range(args.n)]
    for out in outs:
        check_writable_file(out, args.overwrite)
    values = given_params(args)
    for i, out in enumerate(outs):
        work = run_engine(ENGINE, values, inputs={"init": [str(image)]}, seed=first + i, prompt=prompt,
                          device=args.device, quiet=args.quiet, allow_copy=args.allow_copy)
        print_paths(work.save_files({"image.png": out}, args.overwrite))
    return 0


def cmd_upscale(args: argparse.Namespace) -> int:
    """x2 or x4 with the learned upscaler."""
    from museforge.work import check_writable_file

    image = Path(args.image)
    values = given_params(args)
    factor = values.get("factor", 4)
    out = Path(args.out) if args.out else image.with_name(f"{image.stem}-x{factor}.png")
    if out.suffix.lower() != ".png":
        raise MuseforgeError(f"--out {out} must end in .png")
    check_writable_file(out, args.overwrite)
    work = run_engine("upscale", values, inputs={"image": [str(image)]}, seed=0, device="cpu",
                      quiet=args.quiet)
    print_paths(work.save_files({"image.png": out}, args.overwrite))
    summary = work.record.artifacts[0].summary
    print(f"{summary['width']}x{summary['height']}", file=sys.stderr)
    return 0


def _common(p: argparse.ArgumentParser, skip: tuple[str, ...], out: bool = True) -> None:
    from museforge.image.diffusion.engine import DiffusionParams

    add_param_flags(p, DiffusionParams, skip=skip)
    add_seed(p)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default cpu)")
    if out:
        p.add_argument("--out", metavar="FILE.png", help="the PNG to write (default: PROMPT-SEED.png here)")
    p.add_argument("--overwrite", action="store_true", help="replace the PNG(s) if they exist")
    add_allow_copy(p)
    add_quiet(p)


def add_imagine_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "imagine",
        help="paint an image from a prompt with a learned diffusion model (built in, or your checkpoint)",
        description="Text to image by diffusion. The built-in model was trained on this project's "
        "captioned paintings and reads English and Chinese; --model takes a Stable Diffusion "
        "checkpoint you have on disk (a diffusers folder, or one .safetensors/.ckpt file; nothing is "
        "ever downloaded). Same seed, same bytes. The PNG carries AUTOMATIC1111's parameters and a "
        "signed record.",
    )
    p.add_argument("prompt", help="what to paint, e.g. 'an ink wash painting of mountains and the moon' "
                   "or '一幅水墨画，画着群山和月亮'")
    _common(p, ("strength",))
    p.set_defaults(func=cmd_imagine)
    return p


def add_edit_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "edit",
        help="repaint an image from a prompt (image to image), or only its masked part (inpainting)",
        description="Image to image by diffusion: --strength 0 keeps the image, 1 repaints it all. "
        "With --mask (white = repaint, black = keep, the image's size) only the white part changes "
        "and the rest keeps its pixels.",
    )
    p.add_argument("image", help="the image to edit (PNG, JPEG, WebP)")
    p.add_argument("prompt", help="what the result should show")
    p.add_argument("--mask", metavar="IMAGE", help="white where the image is repainted")
    _common(p, ())
    p.set_defaults(func=cmd_edit)
    return p


def add_vary_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "vary",
        help="variations of an image: repainted a little with several seeds",
        description="Variations of IMAGE: image to image at --strength (default 0.5) with --n "
        "consecutive seeds, written beside it as STEM-var-SEED.png. The prompt defaults to the one "
        "IMAGE was made from (its museforge record or AUTOMATIC1111 parameters).",
    )
    p.add_argument("image", help="the image to vary (PNG, JPEG, WebP)")
    p.add_argument("prompt", nargs="?", help="what the variations should show (default: IMAGE's prompt)")
    p.add_argument("--n", type=int, default=4, help=f"how many variations, 1 to {MAX_VARIATIONS} (default 4)")
    p.add_argument("--out-dir", metavar="DIR", help="where to write them (default: beside IMAGE)")
    p.add_argument("--strength", dest=PREFIX + "strength", type=float, default=0.5, metavar="F",
                   help="how far each variation moves from IMAGE, 0 (not at all) to 1 (default 0.5)")
    _common(p, ("strength",), out=False)
    p.set_defaults(func=cmd_vary)
    return p


def add_upscale_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from museforge.image.upscale_engine import UpscaleParams

    p = sub.add_parser(
        "upscale",
        help="make an image 2 or 4 times larger with the learned upscaler",
        description="Enlarge IMAGE x2 or x4 with the upscaler trained with the built-in image model "
        "(or the one inside --model), in tiles, any size up to 8192 px out. For a Stable Diffusion "
        "checkpoint, follow with 'museforge edit BIG.png PROMPT --strength 0.3 --model CHECKPOINT'.",
    )
    p.add_argument("image", help="the image to enlarge (PNG, JPEG, WebP)")
    add_param_flags(p, UpscaleParams)
    p.add_argument("--out", metavar="FILE.png", help="the PNG to write (default: STEM-xN.png beside IMAGE)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    add_quiet(p)
    p.set_defaults(func=cmd_upscale)
    return p
