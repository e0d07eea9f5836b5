"""Fine-tuning the built-in diffusion model on a person's own folder: 200 captioned photos it has
never seen, through ``museforge train image``; the wall and CPU time it takes, and whether the
result paints what the new captions ask for.

    python benchmarks/finetune_image.py [--steps 600] [--work /tmp/mf-finetune] [--per-class 25]

* the folder: 8 photos that ship with scikit-image and matplotlib (an astronaut, a cat, a cup of
  coffee, a rocket, deep-sky galaxies, a retina, a portrait, stained tissue under a microscope),
  ``--per-class`` random crops of each (half to full size, mirrored at random) with a caption
  beside each in English or Chinese ("a photo of a cat" / "一张猫的照片"): 200 images, 20 held
  out by ``train image`` itself;
* timing: the ``museforge train image --data DIR --steps N`` subprocess, wall clock and CPU time;
* adherence: a nearest-centroid reader on VGG-16 embeddings of the training crops reads
  ``--samples`` images per caption (DPM++ 2M, 20 steps, CFG 5; seeds 0..) painted by the built-in
  model and by the fine-tuned one; the share read as the asked class, beside chance (1/8) and the
  reader's ceiling on the held-out crops.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CLASSES = {  # name: (loader, English, Chinese)
    "astronaut": ("skimage:astronaut", "an astronaut", "宇航员"),
    "cat": ("skimage:chelsea", "a cat", "猫"),
    "coffee": ("skimage:coffee", "a cup of coffee", "咖啡"),
    "rocket": ("skimage:rocket", "a rocket", "火箭"),
    "galaxies": ("skimage:hubble_deep_field", "galaxies in deep space", "星系"),
    "retina": ("skimage:retina", "a retina", "视网膜"),
    "portrait": ("mpl:grace_hopper.jpg", "a portrait of a woman", "女人的肖像"),
    "tissue": ("skimage:immunohistochemistry", "stained tissue under a microscope", "显微镜下的组织"),
}


def photo(source: str) -> Image.Image:
    kind, name = source.split(":")
    if kind == "skimage":
        import skimage.data

        return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    import matplotlib

    return Image.open(Path(matplotlib.get_data_path()) / "sample_data" / name).convert("RGB")


def caption(name: str, lang: str) -> str:
    _, en, zh = CLASSES[name]
    return f"a photo of {en}" if lang == "en" else f"一张{zh}的照片"


def make_folder(folder: Path, per_class: int, seed: int = 0) -> list[str]:
    """The crops and their captions; returns each file's class, in file order."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    classes = []
    n = 0
    for name, (source, _, _) in CLASSES.items():
        image = photo(source)
        w, h = image.size
        for _ in range(per_class):
            edge = int(min(w, h) * rng.uniform(0.5, 1.0))
            x, y = rng.integers(0, w - edge + 1), rng.integers(0, h - edge + 1)
            crop = image.crop((x, y, x + edge, y + edge)).resize((128, 128), Image.Resampling.LANCZOS)
            if rng.random() < 0.5:
                crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            stem = f"{n:04d}"
            crop.save(folder / f"{stem}.png")
            (folder / f"{stem}.txt").write_text(caption(name, "en" if n % 2 else "zh"), encoding="utf-8")
            classes.append(name)
            n += 1
    return classes


def train(folder: Path, out: Path, steps: int) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "museforge",
            "train",
            "image",
            "--data",
            str(folder),
            "--out",
            str(out),
            "--steps",
            str(steps),
            "--overwrite",
        ],
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_minutes": (time.perf_counter() - start) / 60, "cpu_minutes": cpu / 60}


def adherence(model_path: Path, reader, samples: int) -> dict[str, float]:
    from museforge.evaluate.image_quality import vgg_embeddings
    from museforge.image.diffusion.model import load_model
    from museforge.image.diffusion.pipeline import generate

    model = load_model(model_path)
    result = {}
    for lang in ("en", "zh"):
        images, truth = [], []
        for name in CLASSES:
            for seed in range(samples):
                image = generate(
                    model, caption(name, lang), seed=seed, steps=20, sampler="dpmpp-2m", cfg=5.0
                ).image
                images.append(np.asarray(image.resize((64, 64), Image.Resampling.LANCZOS)))
                truth.append(name)
        read = reader(vgg_embeddings(np.stack(images), size=112))
        result[lang] = float(np.mean([a == b for a, b in zip(read, truth, strict=True)]))
    return result


def centroid_reader(folder: Path, classes: list[str]):
    """Fit on the training crops (every file not held out); returns the reader and its held-out accuracy."""
    from museforge.evaluate.image_quality import vgg_embeddings
    from museforge.image.diffusion.data import HELD_OUT_EVERY

    files = sorted(folder.glob("*.png"))
    pixels = np.stack([np.asarray(Image.open(f).resize((64, 64), Image.Resampling.LANCZOS)) for f in files])
    embed = vgg_embeddings(pixels, size=112)
    embed = embed / np.linalg.norm(embed, axis=1, keepdims=True)
    held = np.arange(len(files)) % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
    names = sorted(set(classes))
    labels = np.array(classes)
    centres = np.stack([embed[~held & (labels == n)].mean(0) for n in names])

    def read(x: np.ndarray) -> list[str]:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        return [names[i] for i in (x @ centres.T).argmax(1)]

    ceiling = float(np.mean([a == b for a, b in zip(read(embed[held]), labels[held], strict=True)]))
    return read, ceiling


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--per-class", type=int, default=25)
    ap.add_argument("--samples", type=int, default=4, help="images per caption and language")
    ap.add_argument("--work", type=Path, default=Path("/tmp/mf-finetune"))
    args = ap.parse_args()
    from museforge.image.diffusion.engine import builtin_path

    folder, out = args.work / "photos", args.work / "model"
    classes = make_folder(folder, args.per_class)
    timing = train(folder, out, args.steps)
    read, ceiling = centroid_reader(folder, classes)
    result = {
        "images": len(classes),
        "steps": args.steps,
        **timing,
        "chance": 1 / len(CLASSES),
        "reader_ceiling": ceiling,
        "built_in": adherence(builtin_path(), read, args.samples),
        "fine_tuned": adherence(out / "model.safetensors", read, args.samples),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
