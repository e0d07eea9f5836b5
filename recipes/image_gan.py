"""Recipe: the built-in conditional GAN (models/image-gan), the diffusion model's rival.

Same data as ``recipes/image_diffusion.py`` (the captioned procedural set, one in ten held out),
same 64 px resolution, the same bilingual tokenizer and text-encoder design, and the built-in
diffusion model's x4 upscaler (trained once, shared, so the comparison is about the 64 px
generators). Training runs the shared loop (``museforge.image.gan_train.GanFamily``): the state in
``--out`` resumes an interrupted run, and the model kept is the EMA generator with the best
held-out figure (thumbnail coverage and fidelity), evaluated every 250 steps.

    python recipes/image_gan.py --cpu-minutes 144   # the diffusion model's 72 min on 2 cores

The loop stops on wall time: ``--cpu-minutes`` becomes that many minutes divided by torch's thread
count (what an idle machine spends); ``--minutes`` gives wall minutes directly.

``--novelty-weight W`` (off by default) adds the novelty term of ``museforge.image.gan`` to the
generator's loss: W * mean(relu(nearest training-image thumbnail cosine - ``--novelty-margin``)).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from museforge.image.dataset import make_dataset  # noqa: E402
from museforge.image.diffusion.data import load_images  # noqa: E402
from museforge.image.diffusion.model import load_model  # noqa: E402
from museforge.image.diffusion.text import TextEncoder, TextEncoderConfig  # noqa: E402
from museforge.image.diffusion.train import SAMPLE_PROMPTS  # noqa: E402
from museforge.image.gan import GANConfig, GANTrainConfig, Generator  # noqa: E402
from museforge.image.gan_model import load_gan  # noqa: E402
from museforge.image.gan_train import GanFamily  # noqa: E402
from museforge.train import loop  # noqa: E402

RECIPE = "recipes/image_gan.py"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "procedural-256")
    parser.add_argument("--n", type=int, default=2400, help="paintings in the set when it is made")
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "image-gan")
    parser.add_argument(
        "--diffusion",
        type=Path,
        default=ROOT / "models" / "image-diffusion",
        help="the diffusion model whose upscaler and vocabulary are shared",
    )
    parser.add_argument("--cpu-minutes", type=float, default=144.0)
    parser.add_argument("--minutes", type=float, default=0.0, help="wall minutes (0: from --cpu-minutes)")
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--width", type=int, default=48)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument(
        "--novelty-weight",
        type=float,
        default=0.0,
        help="weight of the novelty term that keeps fakes from their nearest training images (0: off)",
    )
    parser.add_argument(
        "--novelty-margin",
        type=float,
        default=GANTrainConfig.novelty_margin,
        help="nearest-training-image thumbnail cosine above which the novelty term penalises a fake",
    )
    args = parser.parse_args()
    if not (args.data / "manifest.jsonl").exists():
        make_dataset(args.n, 256, args.data, seed=0)
    low = load_images(args.data, 64, "train")
    held = load_images(args.data, 64, "held-out")
    print(f"{len(low)} training images at 64 px; manifest {low.manifest_sha256[:12]}", flush=True)
    diffusion = load_model(args.diffusion)
    cfg = GANTrainConfig(
        gan=GANConfig(size=64, z_dim=128, width=args.width, text_dim=diffusion.text.cfg.width),
        batch=args.batch,
        lr_g=args.lr,
        lr_d=args.lr,
        minutes=args.minutes,
        cpu_minutes=args.cpu_minutes,
        steps=args.steps,
        eval_every=250,
        checkpoint_every=250,
        novelty_weight=args.novelty_weight,
        novelty_margin=args.novelty_margin,
    )
    torch.manual_seed(cfg.seed)
    text = TextEncoder(TextEncoderConfig(len(diffusion.tokenizer.vocab), cfg.gan.text_dim))
    family = GanFamily(
        low,
        Generator(cfg.gan),
        text,
        diffusion.tokenizer,
        cfg,
        held_out=held,
        out=args.out,
        upscaler=diffusion.upscaler,
        name="image-gan",
        recipe=RECIPE,
        sample_every=500,
        sample_prompts=SAMPLE_PROMPTS,
        log=lambda line: print(line, flush=True),
    )
    last = [time.perf_counter()]

    def progress(step: int, _total: int, loss_g: float) -> None:
        if step % 50 == 0:
            now = time.perf_counter()
            print(
                f"step {step} L_D {family.last_d:.3f} L_G {loss_g:.3f} ({(now - last[0]) / 50:.2f} s/step)",
                flush=True,
            )
            last[0] = now

    cpu_started = time.process_time()
    summary = loop.run(family, family.loop_config(), args.out, log=family.log, progress=progress)
    model = load_gan(args.out)  # the EMA generator of the best held-out figure
    training = {
        "steps": summary.steps,
        "kept_step": summary.best_step,
        "minutes": round(summary.seconds / 60, 1),
        "cpu_minutes_this_run": round((time.process_time() - cpu_started) / 60, 1),
        "batch": args.batch,
        "images": len(low),
        "held_out": model.meta.get("training", {}).get("held_out"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}",
    }
    if family.novelty() is not None:  # only when the novelty term is on
        training["novelty"] = family.novelty()
    path = model.save(
        args.out / "model.safetensors", data_sha256=low.manifest_sha256, recipe=RECIPE, training=training
    )
    print(json.dumps(training), f"-> {path} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
