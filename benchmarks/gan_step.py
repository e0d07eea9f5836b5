"""CPU seconds per GAN training step: the GAN's earlier own loop against ``GanFamily`` on the shared loop.

    python benchmarks/gan_step.py --data DATASET [--steps 12] [--before b825ecb]

DATASET: a captioned image folder (``museforge dataset procedural --n 400 --size 64 --out DIR``).
The earlier loop is ``src/museforge/image/gan.py`` at ``--before`` (read with ``git show``); both
train the shipped GAN's shape (64 px, width 48, batch 32) from scratch on one thread, and the CPU
time of steps 3..N is divided by their count (start-up and the first two steps left out).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SKIP = 2


def earlier_module(rev: str):
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:src/museforge/image/gan.py"], check=True, capture_output=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "gan_before.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("gan_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gan_before"] = module
    spec.loader.exec_module(module)
    return module


def seconds_per_step(module, data, tokenizer, steps: int, **extra) -> float:
    marks: dict[int, float] = {}
    cfg = module.GANTrainConfig(
        gan=module.GANConfig(size=64, width=48, text_dim=256), batch=32, steps=steps, **extra
    )
    module.train_gan(
        data,
        cfg,
        tokenizer=tokenizer,
        log=lambda _: None,
        progress=lambda s, *_: marks.__setitem__(s, time.process_time()),
    )
    return (marks[steps] - marks[SKIP]) / (steps - SKIP)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="a captioned image folder")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--before", default="b825ecb", help="the commit holding the earlier loop")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from museforge.image import gan
    from museforge.image.diffusion.data import load_images
    from museforge.image.diffusion.model import load_model

    data = load_images(args.data, 64, "train")
    tokenizer = load_model(ROOT / "models" / "image-diffusion").tokenizer
    before = seconds_per_step(earlier_module(args.before), data, tokenizer, args.steps)
    shared = seconds_per_step(gan, data, tokenizer, args.steps, eval_every=10**6, checkpoint_every=10**6)
    print(f"earlier loop {before:.2f} CPU s/step, shared loop {shared:.2f} ({shared / before:.2f}x the time)")


if __name__ == "__main__":
    main()
