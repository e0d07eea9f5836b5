"""Steps study: the four samplers at the step counts people use them at, on the same prompts and
seeds, with the built-in diffusion model.

    python benchmarks/steps_study.py --data /tmp/mfdata/procedural-256 [--prompts 6] [--seeds 2]

Configurations: DDPM 1000 (the training chain), DDIM 50, DPM-Solver++ 2M 20, Euler ancestral 20,
and DDIM 250 as the reference for the deterministic ones (DDIM and DPM++ 2M both solve the same
probability-flow ODE, so their images should approach DDIM 250's as they converge). For each:
seconds per 256 px image; mean absolute pixel difference (0-255) to the DDIM 250 image of the same
prompt and seed; style read back by the label reader of ``image_quality.py`` (fitted on ``--fit``
train images); KID against the held-out paintings (noisy at this n; read it beside the others).
Also the peak resident memory (``ru_maxrss``) and wall time of one ``museforge imagine`` process
(DPM++ 2M, 20 steps, 256 px), start-up and model loading included.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from image_quality import held_out_items, label_columns, pixels, reader_labels  # noqa: E402

from museforge.evaluate.image_quality import LabelReader, kid, vgg_embeddings  # noqa: E402
from museforge.image.diffusion.data import load_images  # noqa: E402
from museforge.image.diffusion.engine import builtin_path  # noqa: E402
from museforge.image.diffusion.model import load_model  # noqa: E402
from museforge.image.diffusion.pipeline import generate  # noqa: E402

CONFIGS = (("ddim", 250), ("ddpm", 1000), ("ddim", 50), ("dpmpp-2m", 20), ("euler-a", 20))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--prompts", type=int, default=6)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--fit", type=int, default=400)
    ap.add_argument("--cfg", type=float, default=5.0)
    ap.add_argument("--memory-only", action="store_true", help="only the imagine process's memory and time")
    args = ap.parse_args()
    if args.memory_only:
        print(json.dumps({"imagine_process": imagine_process()}, indent=1))
        return
    model = load_model(builtin_path())
    held = load_images(args.data, 64, split="held-out")
    train = load_images(args.data, 64, split="train", limit=args.fit)
    items = held_out_items(args.data, held)[: args.prompts]
    reference = vgg_embeddings(held.images, size=112)
    reader = LabelReader().fit(
        vgg_embeddings(train.images, size=112), label_columns([reader_labels(x) for x in train.labels])
    )
    truth = label_columns([item.labels for item in items for _ in range(args.seeds)])
    scale = float(np.sqrt(np.mean(reference**2)))
    rows, ode = [], None
    for sampler, steps in CONFIGS:
        start = time.perf_counter()
        images = [
            np.asarray(
                generate(model, item.en, seed=seed, steps=steps, sampler=sampler, cfg=args.cfg).image,
                dtype=np.float32,
            )
            for item in items
            for seed in range(args.seeds)
        ]
        seconds = (time.perf_counter() - start) / len(images)
        stack = np.stack(images)
        if ode is None:
            ode = stack
        small = np.stack([pixels(_image(x), 64) for x in stack])
        embed = vgg_embeddings(small, size=112)
        kid_mean, _ = kid(reference / scale, embed / scale, subsets=50, subset_size=len(embed), seed=0)
        rows.append(
            {
                "sampler": sampler,
                "steps": steps,
                "seconds_per_image": seconds,
                "to_ddim_250": float(np.abs(stack - ode).mean()),
                "style_read_back": reader.accuracy(embed, truth)["style"][0],
                "kid": kid_mean,
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "images_per_config": len(items) * args.seeds,
        "cfg": args.cfg,
        "rows": rows,
        "study_process_peak_rss_mib": round(peak),
        "imagine_process": imagine_process(),
    }
    print(json.dumps(result, indent=1))


def imagine_process() -> dict[str, float]:
    """Peak resident memory and wall time of one ``museforge imagine`` run in a fresh process
    (DPM++ 2M, 20 steps, 256 px; start-up and model loading included)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "museforge",
                "imagine",
                "a stormy sea at night",
                "--seed",
                "3",
                "--steps",
                "20",
                "--sampler",
                "dpmpp-2m",
                "--cfg",
                "5",
                "--out",
                f"{tmp}/x.png",
                "-q",
            ],
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - start
    return {
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "wall_seconds": round(seconds, 2),
    }


def _image(x: np.ndarray):
    from PIL import Image

    return Image.fromarray(x.astype(np.uint8))


if __name__ == "__main__":
    main()
