"""``museforge train image``: fine-tune the built-in diffusion model (or train a new one) on a
folder of images with captions in ``.txt`` files beside them."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from museforge.cli.common import StageProgress
from museforge.errors import MuseforgeError

STATE = "training-state.pt"
MAX_STEPS = 1_000_000


def add_train_image_parser(train_sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = train_sub.add_parser(
        "image",
        help="fine-tune the image diffusion model on a folder of captioned images",
        description="Fine-tune the built-in diffusion model (or, with --from scratch, train a new one) "
        "on DIR: images (.png, .jpg, .webp, .bmp) with a caption in a .txt file of the same name "
        "beside each, or a set made by 'museforge dataset procedural'. One image in ten is held out. "
        "Writes OUT/model.safetensors, a sample grid every --sample-every steps under OUT/samples/, "
        "OUT/README.md, and OUT/training-state.pt, from which the same command resumes after an "
        "interruption. Use the result with 'museforge imagine PROMPT --model OUT'.",
    )
    p.add_argument(
        "--data",
        required=True,
        type=Path,
        metavar="DIR",
        help="the folder of images, or a data set made by 'museforge data ingest'",
    )
    p.add_argument(
        "--out", type=Path, metavar="OUT", help="the model folder (default: ./image-model-DIRNAME)"
    )
    p.add_argument(
        "--from",
        dest="base",
        default="builtin",
        metavar="MODEL",
        help="'builtin' (default), a museforge diffusion model file or folder, or 'scratch'",
    )
    p.add_argument(
        "--use",
        choices=("research", "commercial"),
        default="research",
        help="what the model is for; a data set whose licences exclude it is refused (default research)",
    )
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps (default 1000)")
    p.add_argument(
        "--minutes",
        type=float,
        default=0.0,
        help="stop after this many minutes of training, whatever --steps says (0: no limit)",
    )
    p.add_argument("--batch", type=int, default=16, help="images per step (default 16)")
    p.add_argument(
        "--lr", type=float, default=1e-4, help="learning rate (default 1e-4; 4e-4 suits --from scratch)"
    )
    p.add_argument(
        "--sample-every",
        type=int,
        default=250,
        metavar="N",
        help="write a sample grid every N steps (0: never; default 250)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for batches and noise (default 0)")
    p.add_argument(
        "--compare",
        metavar="MODEL",
        help="a previous diffusion model: both are scored on the same held-out images "
        "(OUT/compare.html, OUT/compare.json)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start again when OUT holds an earlier model or training state",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_train_image)
    return p


def _check(args: argparse.Namespace) -> None:
    if not 1 <= args.steps <= MAX_STEPS:
        raise MuseforgeError(f"--steps must lie between 1 and {MAX_STEPS:,}")
    if not 1 <= args.batch <= 256:
        raise MuseforgeError("--batch must lie between 1 and 256")
    if not 0 < args.lr <= 0.1:
        raise MuseforgeError("--lr must be above 0 and at most 0.1")
    if not 0 <= args.minutes <= 100_000:
        raise MuseforgeError("--minutes must lie between 0 and 100,000")
    if not 0 <= args.sample_every <= MAX_STEPS:
        raise MuseforgeError(f"--sample-every must lie between 0 and {MAX_STEPS:,}")
    if not 0 <= args.seed < 2**53:
        raise MuseforgeError("--seed must lie between 0 and 2^53-1")


def _base(name: str) -> Path | None:
    from museforge.image.diffusion.engine import builtin_path, is_museforge_model

    if name == "scratch":
        return None
    path = builtin_path() if name == "builtin" else Path(name).expanduser()
    if not path.exists():
        raise MuseforgeError(f"--from {name}: {path} not found")
    if not is_museforge_model(path):
        raise MuseforgeError(
            f"--from {name}: not a museforge diffusion model (Stable Diffusion checkpoints "
            "are used with --model, not fine-tuned here)"
        )
    return path


def cmd_train_image(args: argparse.Namespace) -> int:
    """Handler for ``museforge train image``."""
    import torch

    from museforge.image.diffusion.data import load_images
    from museforge.image.diffusion.engine import builtin_path
    from museforge.image.diffusion.model import load_model
    from museforge.image.diffusion.train import SAMPLE_PROMPTS, TrainConfig, train

    _check(args)
    base = _base(args.base)
    data_dir = Path(args.data)
    out = Path(args.out or f"image-model-{data_dir.resolve().name}")
    if out.is_file():
        raise MuseforgeError(f"--out {out} is a file; give a folder")
    resuming = (out / STATE).is_file() and not args.overwrite
    if out.is_dir() and any(out.iterdir()) and not resuming and not args.overwrite:
        raise MuseforgeError(f"{out} holds files but no training state; pass --overwrite or another --out")
    if args.overwrite and out.is_dir():
        for name in (STATE, "model.safetensors"):
            (out / name).unlink(missing_ok=True)
    size = load_model(base).unet.cfg.sample_size if base else 64
    licences: dict[str, int] = {}
    if (data_dir / "manifest.parquet").is_file():
        from museforge.train.datasets import open_training_data

        licences = open_training_data(data_dir, "image", args.use).licences
    with StageProgress(enabled=not args.quiet) as progress:
        data = load_images(data_dir, size, "train", progress=progress)
        try:
            held_out = load_images(data_dir, size, "held-out")
        except MuseforgeError:
            held_out = None
    if not args.quiet:
        for line in data.skipped[:5]:
            print(f"  skipped {line}", file=sys.stderr)
        print(
            f"{len(data)} training images ({len(data.skipped)} skipped); "
            f"{'resuming' if resuming else 'starting'} in {out}",
            file=sys.stderr,
            flush=True,
        )
    prompts = tuple(dict.fromkeys(c for c in data.captions if c))[:4] or SAMPLE_PROMPTS
    cfg = TrainConfig(
        batch=args.batch,
        lr=args.lr,
        steps=args.steps,
        minutes=args.minutes,
        sample_every=args.sample_every,
        sample_prompts=prompts,
        seed=args.seed,
        checkpoint_every=50,
        warmup=min(200, max(1, args.steps // 10)),
    )
    torch.manual_seed(args.seed)
    last = [time.perf_counter(), 0]

    def show(step: int, loss: float) -> None:
        if args.quiet or not (step % 25 == 0 or step == args.steps):
            return
        now = time.perf_counter()
        rate = (now - last[0]) / max(1, step - last[1]) if last[1] else (now - last[0]) / 25
        last[:] = [now, step]
        print(
            f"  step {step:>6}/{args.steps}: loss {loss:.4f} ({rate:.2f} s/step)", file=sys.stderr, flush=True
        )

    model = train(
        data,
        out,
        cfg,
        base=base,
        log=lambda s: print(s, file=sys.stderr) if not args.quiet else None,
        progress=show,
        held_out=held_out,
    )
    if args.compare:
        _compare(out, model, _base(args.compare), data, held_out, cfg, data_dir)
    if model.upscaler is None and builtin_path().is_file():
        model.upscaler = load_model(builtin_path()).upscaler  # a model from scratch borrows the x4 upscaler
    model.name = out.resolve().name
    training = {
        "steps": model.meta.get("steps"),
        "minutes": model.meta.get("minutes"),
        "images": len(data),
        "batch": args.batch,
        "lr": args.lr,
        "base": "scratch" if base is None else base.parent.name,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}",
    }
    command = (
        f"museforge train image --data {data_dir} --out {out} --from {args.base} --steps {args.steps} "
        f"--batch {args.batch} --lr {args.lr:g} --seed {args.seed}"
    )
    path = model.save(
        out / "model.safetensors", data_sha256=data.manifest_sha256, recipe=command, training=training
    )
    _write_card(out, model.name, data_dir, data.manifest_sha256, training, command, licences, args.use)
    if not args.quiet:
        print(
            f"{path}: {training['steps']} steps in {training['minutes']} min; use it with "
            f"'museforge imagine PROMPT --model {out}'",
            file=sys.stderr,
        )
    return 0


def _write_card(
    out: Path,
    name: str,
    data: Path,
    sha: str,
    training: dict,
    command: str,
    licences: dict[str, int],
    use: str,
) -> None:
    from museforge.atomic import write_file

    base = training["base"]
    text = f"""# {name}

A museforge diffusion model {"trained from scratch" if base == "scratch" else f"fine-tuned from `{base}`"} on
{training["images"]} images of `{data}` ({_split_text(licences)}).
Training-data manifest SHA-256 `{sha}`. {_licence_text(licences, use)}

- {training["steps"]} steps at batch {training["batch"]}, learning rate {training["lr"]:g}, in
  {training["minutes"]} min on {training["machine"]}.
- Recipe: `{command}`
- Sample grids: `samples/`. Use: `museforge imagine "PROMPT" --model {out}`.
"""
    write_file(out / "README.md", text.encode())


def _licence_text(licences: dict[str, int], use: str) -> str:
    if not licences:
        return "The images' licence is their owner's to check (a folder, not a data set with licences)."
    listed = ", ".join(f"`{spdx}` ({n})" for spdx, n in licences.items())
    return f"Declared use: {use}; the images' licences, each permitting it: {listed}."


def _split_text(licences: dict[str, int]) -> str:
    if licences:
        return "a data set: captions from its manifest, its own held-out split"
    return "captions from the `.txt` files beside them; one image in ten held out"


def _compare(
    out: Path, model: Any, previous: Path | None, data: Any, held_out: Any, cfg: Any, data_dir: Path
) -> None:
    """The held-out denoising loss of the new model beside ``previous``'s, on the same images."""
    from museforge.image.diffusion.model import load_model
    from museforge.image.diffusion.train import ImageFamily
    from museforge.train.compare import write_page

    if previous is None:
        raise MuseforgeError("--compare needs a museforge diffusion model, not 'scratch'")
    figures = {}
    for key, candidate in (("new", model), ("previous", load_model(previous))):
        family = ImageFamily(data, candidate, cfg, out, held_out)
        figures[key] = family.evaluate(family.model)
    write_page(
        out,
        {
            "name": out.name,
            "previous_name": str(previous),
            "data": str(data_dir),
            **figures,
        },
        {},
    )
