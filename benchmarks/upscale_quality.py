"""The learned x4 upscaler against bicubic and Lanczos: PSNR (dB) of 64 -> 256 px reconstructions
of the procedural set's held-out paintings, and of 128 -> 512 px crops of photos it never saw
(scikit-image's astronaut, cat, coffee, rocket).

    python benchmarks/upscale_quality.py --data /tmp/mfdata/procedural-256 [--n 120]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from museforge.image.diffusion.data import load_images  # noqa: E402
from museforge.image.upscale_engine import load_upscaler, upscale  # noqa: E402


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def compare(images: list[np.ndarray], upscaler) -> dict[str, float]:
    scores: dict[str, list[float]] = {"learned": [], "bicubic": [], "lanczos": []}
    for pixels in images:
        full = Image.fromarray(pixels)
        small = full.resize((full.width // 4, full.height // 4), Image.Resampling.BICUBIC, reducing_gap=None)
        scores["learned"].append(psnr(np.asarray(upscale(upscaler, small)), pixels))
        scores["bicubic"].append(psnr(np.asarray(small.resize(full.size, Image.Resampling.BICUBIC)), pixels))
        scores["lanczos"].append(psnr(np.asarray(small.resize(full.size, Image.Resampling.LANCZOS)), pixels))
    return {k: float(np.mean(v)) for k, v in scores.items()}


def photos() -> list[np.ndarray]:
    import skimage.data

    out = []
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        pixels = getattr(skimage.data, name)()
        h, w = pixels.shape[:2]
        edge = min(h, w) // 4 * 4
        out.append(
            np.asarray(
                Image.fromarray(pixels).crop((0, 0, edge, edge)).resize((512, 512), Image.Resampling.LANCZOS)
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--n", type=int, default=120)
    args = ap.parse_args()
    upscaler, _ = load_upscaler("image-diffusion")
    held = load_images(args.data, 256, split="held-out", limit=args.n)
    result = {
        "paintings": compare(list(held.images), upscaler),
        "n_paintings": len(held),
        "photos": compare(photos(), upscaler),
        "n_photos": 4,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
