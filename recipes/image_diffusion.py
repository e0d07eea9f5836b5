"""Recipe: the built-in text-to-image diffusion model (models/image-diffusion).

1. The captioned procedural set: 2,400 paintings at 256 px, seed 0 (``museforge dataset
   procedural``); one in ten held out (never trained on) for evaluation.
2. The UNet and the bilingual text encoder, trained together at 64 px on captions in English and
   Chinese drawn from each painting's labels (``image.diffusion.train``), for ``--minutes``.
3. The x4 upscaler, trained on the 256 px paintings for ``--upscaler-minutes``.
4. One fp16 safetensors file with every config, the vocabulary and the data manifest's hash.

    python recipes/image_diffusion.py --minutes 45 --upscaler-minutes 8
    python recipes/image_diffusion.py --resume   # continues from models/image-diffusion/work
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
from museforge.image.diffusion.train import TrainConfig, describe, train  # noqa: E402
from museforge.image.diffusion.unet import UNetConfig  # noqa: E402
from museforge.image.diffusion.upscale import UpscalerConfig, train_upscaler  # noqa: E402

RECIPE = "recipes/image_diffusion.py"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT / "data" / "procedural-256",
        help="the procedural set (made when missing)",
    )
    parser.add_argument("--n", type=int, default=2400, help="paintings in the set when it is made")
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "image-diffusion")
    parser.add_argument("--minutes", type=float, default=45.0, help="diffusion training time")
    parser.add_argument("--upscaler-minutes", type=float, default=8.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--sample-every", type=int, default=500)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not (args.data / "manifest.jsonl").exists():
        make_dataset(args.n, 256, args.data, seed=0)
    started = time.perf_counter()
    low = load_images(args.data, 64, "train")
    print(f"{len(low)} training images at 64 px; manifest {low.manifest_sha256[:12]}", flush=True)
    cfg = TrainConfig(
        unet=UNetConfig(block_out_channels=(32, 64, 128, 192), attention=(False, False, True, True)),
        batch=args.batch,
        lr=args.lr,
        minutes=args.minutes,
        sample_every=args.sample_every,
    )
    last = [time.perf_counter()]

    def progress(step: int, loss: float) -> None:
        if step % 50 == 0:
            now = time.perf_counter()
            print(f"step {step} loss {loss:.4f} ({(now - last[0]) / 50:.2f} s/step)", flush=True)
            last[0] = now

    model = train(low, args.out / "work", cfg, progress=progress)
    diffusion_minutes = (time.perf_counter() - started) / 60
    high = load_images(args.data, 256, "train", limit=800)
    up_started = time.perf_counter()
    model.upscaler = train_upscaler(
        high.images,
        UpscalerConfig(),
        steps=1_000_000,
        batch=8,
        crop=128,
        stop=lambda: time.perf_counter() - up_started > args.upscaler_minutes * 60,
        progress=lambda s, loss: (
            print(f"upscaler step {s} L1 {loss:.4f}", flush=True) if s % 100 == 0 else None
        ),
    )
    model.name = "image-diffusion"
    training = {
        "diffusion_steps": model.meta.get("steps"),
        "diffusion_minutes": model.meta.get("minutes", round(diffusion_minutes, 1)),
        "upscaler_minutes": round((time.perf_counter() - up_started) / 60, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}",
        "images": len(low),
        "batch": args.batch,
    }
    path = model.save(
        args.out / "model.safetensors", data_sha256=low.manifest_sha256, recipe=RECIPE, training=training
    )
    print(json.dumps({**describe(model), **training}, indent=1))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
