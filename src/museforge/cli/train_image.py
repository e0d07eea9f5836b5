"""``museforge train image``: fine-tune the built-in diffusion model (or train a new one, or, with
``--model gan``, the conditional GAN) on a folder of images with captions in ``.txt`` files beside
them; ``--compare`` sets the result beside a previous model, held-out figures and originality."""

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
        "interruption. Use the result with 'museforge imagine PROMPT --model OUT'. With --model gan "
        "the conditional GAN is trained instead (use it with 'museforge run gan PROMPT --model OUT').",
    )
    p.add_argument(
        "--model",
        dest="family",
        choices=("diffusion", "gan"),
        default="diffusion",
        help="what to train: the diffusion model (default) or the conditional GAN",
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
        help="'builtin' (default), a museforge model file or folder of the --model kind, or 'scratch'",
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
        "--lr",
        type=float,
        help="learning rate (default 1e-4 for diffusion, 4e-4 suits its --from scratch; 2e-4 for the GAN)",
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
        help="a previous model of the --model kind ('builtin' or a file or folder): both are scored on "
        "the same held-out images, and a few images of each are checked against the training images "
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
    if args.lr is None:
        args.lr = 2e-4 if args.family == "gan" else 1e-4
    if not 0 < args.lr <= 0.1:
        raise MuseforgeError("--lr must be above 0 and at most 0.1")
    if not 0 <= args.minutes <= 100_000:
        raise MuseforgeError("--minutes must lie between 0 and 100,000")
    if not 0 <= args.sample_every <= MAX_STEPS:
        raise MuseforgeError(f"--sample-every must lie between 0 and {MAX_STEPS:,}")
    if not 0 <= args.seed < 2**53:
        raise MuseforgeError("--seed must lie between 0 and 2^53-1")


def _base(name: str, flag: str = "--from") -> Path | None:
    from museforge.image.diffusion.engine import builtin_path, is_museforge_model

    if name == "scratch":
        return None
    path = builtin_path() if name == "builtin" else Path(name).expanduser()
    if not path.exists():
        raise MuseforgeError(f"{flag} {name}: {path} not found")
    if not is_museforge_model(path):
        raise MuseforgeError(
            f"{flag} {name}: not a museforge diffusion model (Stable Diffusion checkpoints "
            "are used with --model, not fine-tuned here)"
        )
    return path


def _gan_base(name: str, flag: str = "--from") -> Path | None:
    from museforge.checkpoints import read_metadata
    from museforge.image.gan_model import BUILTIN, KIND
    from museforge.runtime import models_root

    if name == "scratch":
        return None
    path = models_root() / BUILTIN if name == "builtin" else Path(name).expanduser()
    file = path / "model.safetensors" if path.is_dir() else path
    if not file.is_file():
        raise MuseforgeError(f"{flag} {name}: {file} not found")
    try:
        kind = read_metadata(file).get("kind")
    except MuseforgeError:
        kind = None
    if kind != KIND:
        raise MuseforgeError(
            f"{flag} {name}: not a museforge GAN model (--model gan trains and compares GANs)"
        )
    return file


def cmd_train_image(args: argparse.Namespace) -> int:
    """Handler for ``museforge train image``."""
    import torch

    from museforge.image.diffusion.data import load_images
    from museforge.image.diffusion.train import SAMPLE_PROMPTS

    _check(args)
    gan = args.family == "gan"
    resolve = _gan_base if gan else _base
    base = resolve(args.base)
    previous = resolve(args.compare, "--compare") if args.compare else None
    if args.compare and previous is None:
        raise MuseforgeError("--compare needs a previous model, not 'scratch'")
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
    size = _size(base, gan)
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

    def log(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr)

    command = (
        f"museforge train image --data {data_dir} --out {out}{' --model gan' if gan else ''} "
        f"--from {args.base} --steps {args.steps} --batch {args.batch} --lr {args.lr:g} --seed {args.seed}"
    )
    train = _train_gan if gan else _train_diffusion
    model, training = train(args, data, held_out, base, out, prompts, command, log, show)
    if not _main_process():
        return 0  # under 'accelerate launch' the main process writes the model, card and comparison
    training |= {
        "images": len(data),
        "batch": args.batch,
        "lr": args.lr,
        "base": "scratch" if base is None else base.parent.name,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}",
    }
    if previous is not None:
        from museforge.train.image_compare import compare_images

        compare_images(out, model, previous, data, held_out, data_dir, gan, log)
    model.name = out.resolve().name
    path = model.save(
        out / "model.safetensors", data_sha256=data.manifest_sha256, recipe=command, training=training
    )
    _write_card(out, model.name, data_dir, data.manifest_sha256, training, command, licences, args.use, gan)
    use = f"museforge run gan PROMPT --model {out}" if gan else f"museforge imagine PROMPT --model {out}"
    log(f"{path}: {training['steps']} steps in {training['minutes']} min; use it with '{use}'")
    return 0


def _main_process() -> bool:
    import torch

    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    return not distributed or torch.distributed.get_rank() == 0


def _size(base: Path | None, gan: bool) -> int:
    """The edge the images are read at: the base model's, else 64 px."""
    if base is None:
        return 64
    from museforge.checkpoints import read_metadata

    config = read_metadata(base / "model.safetensors" if base.is_dir() else base)["config"]
    return int(config["generator"]["size"] if gan else config["unet"]["sample_size"])


def _train_diffusion(
    args: argparse.Namespace,
    data: Any,
    held_out: Any,
    base: Path | None,
    out: Path,
    prompts: tuple[str, ...],
    command: str,
    log: Any,
    show: Any,
) -> tuple[Any, dict[str, Any]]:
    from museforge.image.diffusion.engine import builtin_path
    from museforge.image.diffusion.model import load_model
    from museforge.image.diffusion.train import TrainConfig, train

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
    model = train(data, out, cfg, base=base, log=log, progress=show, held_out=held_out)
    if model.upscaler is None and builtin_path().is_file():
        model.upscaler = load_model(builtin_path()).upscaler  # a model from scratch borrows the x4 upscaler
    return model, {"steps": model.meta.get("steps"), "minutes": model.meta.get("minutes")}


def _train_gan(
    args: argparse.Namespace,
    data: Any,
    held_out: Any,
    base: Path | None,
    out: Path,
    prompts: tuple[str, ...],
    command: str,
    log: Any,
    show: Any,
) -> tuple[Any, dict[str, Any]]:
    """The GAN on the shared loop; the model is the EMA generator of the best held-out figure."""
    from museforge.image.gan import GANTrainConfig
    from museforge.image.gan_model import load_gan
    from museforge.image.gan_train import GanFamily
    from museforge.train import loop

    generator, text, tokenizer, upscaler = _gan_start(data, base, args.seed, log)
    cfg = GANTrainConfig(
        gan=generator.cfg,
        batch=args.batch,
        lr_g=args.lr,
        lr_d=args.lr,
        steps=args.steps,
        minutes=args.minutes,
        seed=args.seed,
        eval_every=50,
        checkpoint_every=50,
    )
    family = GanFamily(
        data,
        generator,
        text,
        tokenizer,
        cfg,
        held_out=held_out,
        out=out,
        upscaler=upscaler,
        name=out.resolve().name,
        recipe=command,
        sample_every=args.sample_every,
        sample_prompts=prompts,
        log=log,
    )
    summary = loop.run(family, family.loop_config(), out, log=log, progress=lambda s, _n, loss: show(s, loss))
    model = load_gan(out)
    held = model.meta.get("training", {}).get("held_out", {})
    if _main_process():
        log(f"trained {summary.steps} steps in {summary.seconds / 60:.1f} min; kept step {summary.best_step}")
    return model, {
        "steps": summary.steps,
        "minutes": round(summary.seconds / 60, 1),
        "kept_step": summary.best_step,
        "held_out": held,
    }


def _gan_start(data: Any, base: Path | None, seed: int, log: Any) -> tuple[Any, Any, Any, Any]:
    """Generator, text encoder, tokenizer and upscaler to train: ``base``'s (its vocabulary grown
    by the captions' new words; a new discriminator), or new ones that borrow the built-in
    diffusion model's x4 upscaler."""
    import torch

    from museforge.image.diffusion.engine import builtin_path
    from museforge.image.diffusion.model import load_model
    from museforge.image.diffusion.text import TextEncoder, TextEncoderConfig, Tokenizer, vocabulary_texts
    from museforge.image.gan import GANConfig, Generator
    from museforge.image.gan_model import load_gan

    if base is not None:
        model = load_gan(base)
        for part in (model.generator, model.text):
            part.requires_grad_(True).train()
        grown = model.tokenizer.extended(data.captions)
        if len(grown.vocab) > len(model.tokenizer.vocab):
            log(f"{len(grown.vocab) - len(model.tokenizer.vocab)} new word(s) added to the vocabulary")
            model.text.grow(len(grown.vocab))
            model.tokenizer = grown
        return model.generator, model.text, model.tokenizer, model.upscaler
    tokenizer = Tokenizer.build([*vocabulary_texts(), *data.captions])
    cfg = GANConfig(size=64, z_dim=128, width=48, text_dim=256)
    torch.manual_seed(seed)
    text = TextEncoder(TextEncoderConfig(len(tokenizer.vocab), cfg.text_dim))
    upscaler = load_model(builtin_path()).upscaler if builtin_path().is_file() else None
    return Generator(cfg), text, tokenizer, upscaler


def _write_card(
    out: Path,
    name: str,
    data: Path,
    sha: str,
    training: dict,
    command: str,
    licences: dict[str, int],
    use: str,
    gan: bool = False,
) -> None:
    from museforge.atomic import write_file

    base = training["base"]
    kind = "conditional GAN" if gan else "diffusion model"
    how = "trained from scratch" if base == "scratch" else f"fine-tuned from `{base}`"
    run = f'museforge run gan "PROMPT" --model {out}' if gan else f'museforge imagine "PROMPT" --model {out}'
    kept = (
        f"\n- Kept: the EMA generator of step {training['kept_step']}, the best held-out figure (1 - "
        f"mean of thumbnail coverage and fidelity: {training['held_out'].get('loss', float('nan')):.4f})."
        if gan
        else ""
    )
    text = f"""# {name}

A museforge {kind} {how} on
{training["images"]} images of `{data}` ({_split_text(licences)}).
Training-data manifest SHA-256 `{sha}`. {_licence_text(licences, use)}

- {training["steps"]} steps at batch {training["batch"]}, learning rate {training["lr"]:g}, in
  {training["minutes"]} min on {training["machine"]}.{kept}
- Recipe: `{command}`
- Sample grids: `samples/`. Use: `{run}`.
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
