"""Contact sheet of the built-in diffusion model: prompts (English and Chinese) x samplers, with the
rule painter's picture of the same prompt in the last column, and seconds per image.

    python benchmarks/diffusion_sheet.py --out docs/diffusion_sheet.png

The prompts name styles, motifs and moods in words the captions use, in both languages, and two
prompts phrased as a person would ("a stormy sea at night"). Same seed in every cell of a row.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from museforge.image.diffusion.engine import builtin_path  # noqa: E402
from museforge.image.diffusion.model import load_model  # noqa: E402
from museforge.image.diffusion.pipeline import generate  # noqa: E402

PROMPTS = (
    ("a stormy sea at night", "flow-field"),
    ("an ink wash painting of mountains and the moon", "ink-wash"),
    ("一幅水墨画，画着群山和月亮", "ink-wash"),
    ("a stained glass window of birds and the sun, joyful mood", "stained-glass"),
    ("一幅点彩画，画着花朵，宁静的氛围", "pointillism"),
    ("a geometric abstract painting of a city at night", "geometric"),
    ("a botanical illustration of flowers", "botanical"),
    ("一幅流动笔触的油画，画着森林和河流", "flow-field"),
)
GLOSS = {
    "一幅水墨画，画着群山和月亮": "an ink wash painting, mountains and the moon",
    "一幅点彩画，画着花朵，宁静的氛围": "a pointillist painting, flowers, a serene mood",
    "一幅流动笔触的油画，画着森林和河流": "an oil painting of flowing strokes, a forest and a river",
}
"""English for the sheet's labels (its font has no Chinese characters)."""
SAMPLERS = (("ddim", 50), ("dpmpp-2m", 20), ("euler-a", 20), ("ddpm", 100))


def rule_painting(prompt: str, style: str, seed: int, size: int) -> Image.Image:
    import io

    from museforge import jobs

    work = jobs.run("procedural-painting", {"style": style, "size": size}, seed=seed, prompt=prompt)
    return Image.open(io.BytesIO(work.files[0].data)).convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=builtin_path())
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "diffusion_sheet.png")
    parser.add_argument("--cfg", type=float, default=5.0)
    parser.add_argument("--cell", type=int, default=160, help="cell edge in the sheet")
    parser.add_argument("--rows", type=int, default=len(PROMPTS), help="the first ROWS prompts only")
    args = parser.parse_args()
    model = load_model(args.model)
    cell, label_h = args.cell, 18
    prompts = PROMPTS[: args.rows]
    sheet = Image.new("RGB", (cell * (len(SAMPLERS) + 1), (cell + label_h) * len(prompts) + label_h), "white")
    draw = ImageDraw.Draw(sheet)
    for c, (name, steps) in enumerate((*SAMPLERS, ("rule painter", 0))):
        draw.text((c * cell + 4, 2), f"{name} {steps}" if steps else name, fill="black")
    seconds: dict[str, list[float]] = {}
    for r, (prompt, style) in enumerate(prompts):
        y = label_h + r * (cell + label_h)
        draw.text(
            (4, y + 2),
            prompt if prompt.isascii() else f"[zh] {GLOSS[prompt]}",
            fill="black",
        )
        for c, (name, steps) in enumerate(SAMPLERS):
            t0 = time.perf_counter()
            image = generate(model, prompt, seed=r, steps=steps, sampler=name, cfg=args.cfg).image
            seconds.setdefault(f"{name} {steps}", []).append(time.perf_counter() - t0)
            sheet.paste(image.resize((cell, cell), Image.Resampling.LANCZOS), (c * cell, y + label_h))
        rule = rule_painting(prompt, style, r, model.size)
        sheet.paste(rule.resize((cell, cell), Image.Resampling.LANCZOS), (len(SAMPLERS) * cell, y + label_h))
        print(f"{prompt}: done", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    for key, values in seconds.items():
        print(f"{key}: {statistics.median(values):.2f} s per {model.size} px image (median of {len(values)})")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
