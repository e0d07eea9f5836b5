"""Recipe: the built-in conditional GAN (models/image-gan), the diffusion model's rival.

Same data as ``recipes/image_diffusion.py`` (the captioned procedural set, one in ten held out),
same 64 px resolution, the same bilingual tokenizer and text-encoder design, and the built-in
diffusion model's x4 upscaler (trained once, shared, so the comparison is about the 64 px
generators). The budget is CPU time summed over threads, so a run on a busy machine gets what an
idle one would:

    python recipes/image_gan.py --cpu-minutes 144   # the diffusion model's 72 min on 2 cores

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
from museforge.image.diffusion.train import SAMPLE_PROMPTS, grid  # noqa: E402
from museforge.image.gan import GANConfig, GANTrainConfig, train_gan  # noqa: E402
from museforge.image.gan_model import GANModel  # noqa: E402

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
    print(f"{len(low)} training images at 64 px; manifest {low.manifest_sha256[:12]}", flush=True)
    diffusion = load_model(args.diffusion)
    cfg = GANTrainConfig(
        gan=GANConfig(size=64, z_dim=128, width=args.width, text_dim=diffusion.text.cfg.width),
        batch=args.batch,
        lr_g=args.lr,
        lr_d=args.lr,
        cpu_minutes=args.cpu_minutes,
        steps=args.steps,
        novelty_weight=args.novelty_weight,
        novelty_margin=args.novelty_margin,
    )
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}"
    last = [time.perf_counter()]

    def progress(step: int, loss_d: float, loss_g: float) -> None:
        if step % 50 == 0:
            now = time.perf_counter()
            print(
                f"step {step} L_D {loss_d:.3f} L_G {loss_g:.3f} ({(now - last[0]) / 50:.2f} s/step)",
                flush=True,
            )
            last[0] = now

    def save(result: dict) -> None:
        model = GANModel(result["generator"], result["text"], result["tokenizer"], diffusion.upscaler)
        training = {
            "steps": result["steps"],
            "minutes": result["minutes"],
            "cpu_minutes": result["cpu_minutes"],
            "batch": args.batch,
            "images": len(low),
            "machine": machine,
        }
        if "novelty" in result:  # only when the novelty term is on
            training["novelty"] = result["novelty"]
        path = model.save(
            args.out / "model.safetensors", data_sha256=low.manifest_sha256, recipe=RECIPE, training=training
        )
        images = model.images(list(SAMPLE_PROMPTS), seed=0)
        pil = [_image(x) for x in images]
        grid(pil, 4).save(args.out / f"samples-{result['steps']:06d}.png")
        print(json.dumps(training), f"-> {path} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)

    result = train_gan(low, cfg, tokenizer=diffusion.tokenizer, progress=progress, checkpoint=save)
    save(result)


def _image(x: torch.Tensor):
    from PIL import Image

    return Image.fromarray(((x + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy(), "RGB")


if __name__ == "__main__":
    main()
