"""``imagine`` and ``edit``: learned image generation through the diffusion engine. Each PNG
carries its signed record and a ``parameters`` chunk in AUTOMATIC1111's layout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from museforge.cli.common import add_param_flags, add_quiet, add_seed, given_params, print_paths, run_engine
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
                      quiet=args.quiet)
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


def _common(p: argparse.ArgumentParser, skip: tuple[str, ...]) -> None:
    from museforge.image.diffusion.engine import DiffusionParams

    add_param_flags(p, DiffusionParams, skip=skip)
    add_seed(p)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default cpu)")
    p.add_argument("--out", metavar="FILE.png", help="the PNG to write (default: PROMPT-SEED.png here)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
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
