"""``museforge evaluate`` for the text-to-image models (``image-diffusion``, ``image-gan``).

Both were trained on ``museforge dataset procedural --n 2400 --size 256 --seed 0``, holding out
every item whose index is 9 mod 10. Item ``i`` of that set depends only on ``(0, i)``, so the
report paints the first ``n`` held-out items again (the real reference) and the first training
items (the label reader's fit set and the sampling floor), with the data set's own code.

Each model paints one image per held-out item from the item's English caption (seed from
``--seed``, the card's sampler settings), at its native 64 px (upscaler off). Every image, real or
generated, is compared at 64 px on VGG-16 embeddings (:mod:`museforge.evaluate.image_quality`):
FID, KID, precision and recall (k = 3) against the held-out paintings, diversity (mean pairwise
cosine distance over the set), and read-back: a label reader fitted on training paintings reads
the style, main motif and mood of each image, scored against what was asked. The same figures
for ``n`` real training paintings are the floor (FID at this n is far from 0: it falls with n) and
the reader's accuracy on the real held-out paintings its ceiling.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from museforge.evaluate.report_base import CARD, Context, ModelResult, card_row, numbers

DATA_SEED = 0
DATA_SIZE = 256
IMAGE_SIZE = 64
EMBED_SIZE = 112
LABELS = ("style", "motif", "mood")
STEPS, SAMPLER, CFG = 20, "dpmpp-2m", 5.0
CARD_COLUMNS = {
    "fid": "fid",
    "kid": "kid",
    "precision": "precision",
    "recall": "recall",
    "diversity": "diversity_within_prompt",
    "style read back": "readback.style",
    "motif": "readback.motif",
    "mood": "readback.mood",
}


def reader_labels(record: dict[str, Any]) -> dict[str, str]:
    """What the label reader reads: the style, the main motif (the first, or "none"), the mood."""
    motifs = record.get("motifs") or []
    return {
        "style": str(record.get("style")),
        "motif": str(motifs[0]) if motifs else "none",
        "mood": str(record.get("mood")),
    }


def _columns(items: list[dict[str, str]]) -> dict[str, list[str]]:
    return {name: [item[name] for item in items] for name in LABELS}


def _paint(indices: list[int], folder: Path) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Items of the training set at 64 px and their manifest records (with colour names)."""
    from PIL import Image

    from museforge.image.dataset import colour_name, make_item

    (folder / "images").mkdir(exist_ok=True)
    images, records = [], []
    for i in indices:
        record = make_item((DATA_SEED, i, DATA_SIZE, str(folder)))
        with Image.open(folder / record["file"]) as im:
            images.append(
                np.asarray(
                    im.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS),
                    dtype=np.uint8,
                )
            )
        record["colours"] = list(dict.fromkeys(colour_name(c) for c in record.get("palette", ())))[:3]
        records.append(record)
    return np.stack(images), records


def reference(ctx: Context, count: int) -> dict[str, Any]:
    """The held-out paintings, the training paintings, their embeddings and the fitted reader,
    made once a run and shared by both image models."""
    if "images" in ctx.shared:
        return ctx.shared["images"]
    from museforge.evaluate.image_quality import LabelReader, vgg_embeddings
    from museforge.style.features import load_vgg

    fit = max(3 * count, 12)
    held = [i for i in range(10 * count) if i % 10 == 9][:count]
    train = [i for i in range(2 * fit) if i % 10 != 9][:fit]
    ctx.progress(f"images: painting {len(held)} held-out and {len(train)} training paintings of the data set")
    with tempfile.TemporaryDirectory(prefix="museforge-evaluate-") as tmp:
        held_images, held_records = _paint(held, Path(tmp))
        train_images, train_records = _paint(train, Path(tmp))
    net = ctx.shared.get("vgg") or load_vgg()
    ctx.shared["vgg"] = net
    ctx.progress("images: embedding the real paintings (VGG-16)")
    held_embed = vgg_embeddings(held_images, size=EMBED_SIZE, net=net)
    train_embed = vgg_embeddings(train_images, size=EMBED_SIZE, net=net)
    held_labels = [reader_labels(r) for r in held_records]
    reader = LabelReader().fit(train_embed, _columns([reader_labels(r) for r in train_records]))
    ceiling = reader.accuracy(held_embed, _columns(held_labels))
    floor = scores(train_embed[:count], held_embed)
    floor["diversity"] = _diversity(train_embed[:count])
    ctx.shared["images"] = ref = {
        "net": net,
        "held_images": held_images,
        "held_records": held_records,
        "held_labels": held_labels,
        "held_embed": held_embed,
        "reader": reader,
        "ceiling": ceiling,
        "floor": floor,
        "fit": len(train),
        "indices": held,
    }
    return ref


def _diversity(embed: np.ndarray) -> float:
    from museforge.evaluate.image_quality import diversity

    return diversity(embed)


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance of :func:`museforge.evaluate.image_quality.fid`, exact and fast when
    there are fewer points than dimensions: with ``A``, ``B`` the centred sets divided by
    ``sqrt(n - 1)``, ``S_a = AᵀA`` and ``S_b = BᵀB``, so the non-zero eigenvalues of ``S_a S_b`` are
    those of ``(A Bᵀ)(A Bᵀ)ᵀ`` and ``tr (S_a S_b)^(1/2)`` is the sum of the singular values of
    ``A Bᵀ`` (an n x n problem, not a D x D matrix square root).

    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(30, 4)), rng.normal(1.0, 2.0, size=(25, 4))
    >>> from museforge.evaluate.image_quality import fid
    >>> bool(abs(frechet(a, b) - fid(a, b)) < 1e-8)
    True
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    mu = a.mean(0) - b.mean(0)
    ca = (a - a.mean(0)) / np.sqrt(len(a) - 1)
    cb = (b - b.mean(0)) / np.sqrt(len(b) - 1)
    cross = np.linalg.svd(ca @ cb.T, compute_uv=False).sum()
    value = mu @ mu + (ca**2).sum() + (cb**2).sum() - 2 * cross
    return max(float(value), 0.0)


def scores(fake: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """FID (:func:`frechet`), KID (both sets scaled by the reference's root-mean-square feature,
    as the benchmark does; mean and spread over 100 random halves), precision and recall of
    ``fake`` against ``real``."""
    from museforge.evaluate.image_quality import kid, precision_recall

    precision, recall = precision_recall(real, fake, k=3)
    scale = float(np.sqrt(np.mean(real**2))) or 1.0
    kid_mean, kid_std = kid(
        real / scale, fake / scale, subsets=100, subset_size=max(2, len(real) // 2), seed=0
    )
    return {
        "fid": frechet(real, fake),
        "kid": kid_mean,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
    }


def _card(result: ModelResult, folder: Path) -> None:
    """The card's figures for this model (English prompts) and for real paintings, at the card's n
    (its benchmark command's ``--n``)."""
    try:
        text = (folder / "README.md").read_text(encoding="utf-8")
        found = re.search(r"image_quality\.py[^`]*?--n (\d+)", text)
    except OSError:
        found = None
    n = int(found.group(1)) if found else None
    labels = {m.key: m.label for m in result.metrics}
    labels["diversity_within_prompt"] = "diversity within a prompt (mean pairwise cosine distance of seeds)"
    for test, prefix in (
        (lambda c: c.lower().startswith("this") and "english" in c.lower(), ""),
        (lambda c: c.lower().startswith("real"), "real."),
    ):
        row = card_row(folder, test)
        if not row:
            continue
        for header, cell in list(row.items())[1:]:
            key = CARD_COLUMNS.get(header.lower().strip())
            if key is None or not numbers(cell):
                continue
            if prefix and key.startswith("readback."):
                key = "ceiling." + key.split(".", 1)[1]
            elif prefix:
                key = prefix + key
            share = key.split(".")[0] in ("precision", "recall", "readback", "ceiling") or key in (
                "real.precision",
                "real.recall",
            )
            result.add(
                key,
                labels.get(key, key),
                numbers(cell)[0],
                CARD,
                n=n,
                unit="share" if share else "",
                note=f"n = {n}" if n else "",
            )


def _painter(name: str, folder: Path) -> Any:
    """A function (prompt, seed) -> 64 px RGB array for the model in ``folder``."""
    if name == "image-gan":
        from museforge.image.gan_model import load_gan

        gan = load_gan(folder / "model.safetensors")
        gan.upscaler = None

        def paint_gan(prompt: str, seed: int) -> np.ndarray:
            return np.asarray(gan.generate(prompt, seed, IMAGE_SIZE).convert("RGB"), dtype=np.uint8)

        return paint_gan
    from museforge.image.diffusion.model import load_model
    from museforge.image.diffusion.pipeline import generate

    model = load_model(folder / "model.safetensors")
    model.upscaler = None

    def paint_diffusion(prompt: str, seed: int) -> np.ndarray:
        image = generate(
            model, prompt, seed=seed, steps=STEPS, sampler=SAMPLER, cfg=CFG, size=IMAGE_SIZE
        ).image
        return np.asarray(image.convert("RGB"), dtype=np.uint8)

    return paint_diffusion


def evaluate_image_model(ctx: Context, name: str, count: int) -> ModelResult:
    from museforge.evaluate.image_quality import vgg_embeddings
    from museforge.evaluate.report_plots import group_bars, sample_sheet
    from museforge.image.diffusion.text import caption

    folder = ctx.models_root / name
    result = ModelResult(name, "image")
    ref = reference(ctx, count)
    paint = _painter(name, folder)
    base = ctx.seed_for(name)
    prompts = [caption(r | {"colours": r["colours"]}, "en") for r in ref["held_records"]]
    ctx.progress(f"{name}: painting {len(prompts)} images from the held-out captions")
    fake = np.stack([paint(p, base + i) for i, p in enumerate(prompts)])
    embed = vgg_embeddings(fake, size=EMBED_SIZE, net=ref["net"])
    got = scores(embed, ref["held_embed"])
    n = len(prompts)
    result.add("fid", "FID against the held-out paintings", got["fid"], n=n, better="lower")
    result.add(
        "kid",
        "KID against the held-out paintings",
        got["kid"],
        n=n,
        better="lower",
        note=f"± {got['kid_std']:.3g} over 100 random halves",
    )
    result.add("precision", "precision (k = 3)", got["precision"], n=n, unit="share", better="higher")
    result.add("recall", "recall (k = 3)", got["recall"], n=n, unit="share", better="higher")
    result.add(
        "diversity",
        "diversity over the set (mean pairwise cosine distance)",
        _diversity(embed),
        n=n,
        better="higher",
    )
    floor = ref["floor"]
    for key, label in (
        ("fid", "FID"),
        ("kid", "KID"),
        ("precision", "precision"),
        ("recall", "recall"),
        ("diversity", "diversity"),
    ):
        result.add(
            f"real.{key}",
            f"real training paintings: {label} (the floor at this n)",
            floor[key],
            n=n,
            unit="share" if key in ("precision", "recall") else "",
            note="reference",
        )
    reads = ref["reader"].accuracy(embed, _columns(ref["held_labels"]))
    for label in LABELS:
        result.add(
            f"readback.{label}",
            f"{label} read back as asked",
            reads[label][0],
            n=n,
            unit="share",
            better="higher",
        )
        result.add(
            f"ceiling.{label}",
            f"{label} read back from the real held-out paintings (ceiling)",
            ref["ceiling"][label][0],
            n=n,
            unit="share",
            note="reference",
        )
        result.add(
            f"chance.{label}",
            f"{label}: chance (the fit set's most frequent class)",
            ref["ceiling"][label][1],
            n=ref["fit"],
            unit="share",
            note="reference",
        )
    _card(result, folder)
    result.settings = {
        "n": n,
        "reader_fit": ref["fit"],
        "image_size": IMAGE_SIZE,
        "embed_size": EMBED_SIZE,
        "data_set": f"museforge dataset procedural --n 2400 --size {DATA_SIZE} --seed {DATA_SEED}",
        "held_out_items": ref["indices"],
        "seed": base,
        **({"steps": STEPS, "sampler": SAMPLER, "cfg": CFG} if name != "image-gan" else {}),
    }
    result.details = {"prompts": prompts, "kid_std": got["kid_std"]}
    result.method = (
        f"{n} held-out paintings of the training set (items 9, 19, 29, ... of museforge dataset procedural "
        "--seed 0, "
        f"painted again at {DATA_SIZE} px) against {n} images the model painted from their English captions"
        + (f" ({SAMPLER}, {STEPS} steps, CFG {CFG:g})" if name != "image-gan" else "")
        + f"; all compared at {IMAGE_SIZE} px on VGG-16 embeddings at {EMBED_SIZE} px. The label reader was "
        f"fitted on {ref['fit']} training paintings. FID at n = {n} is biased upwards: compare it with the "
        "real training paintings' at the same n more than with the card's; KID is unbiased but noisy at "
        "small n (it can fall below 0)."
    )
    card_n = next((m.n for m in result.metrics if m.key == "fid" and m.source == CARD), None)
    runs = [f"this run (n = {n})"] + ([f"model card (n = {card_n})"] if result.value("fid", CARD) else [])
    group_bars(
        ctx,
        result,
        "distances",
        "FID against the held-out paintings (lower is better)",
        runs,
        {
            "real paintings (the floor)": [floor["fid"], result.value("real.fid", CARD)][: len(runs)],
            name: [got["fid"], result.value("fid", CARD)][: len(runs)],
        },
        ylabel="FID",
        caption="FID of the model's images, and of as many real training paintings (the floor: FID "
        "falls with n, never to 0 at small n), against the held-out paintings; in this run and on the card.",
    )
    labels = ["precision", "recall", *(f"{x} read back" for x in LABELS)]
    group_bars(
        ctx,
        result,
        "fidelity",
        "Precision, recall and read-back (higher is better)",
        labels,
        {
            "real paintings (floor / ceiling)": [
                floor["precision"],
                floor["recall"],
                *(ref["ceiling"][x][0] for x in LABELS),
            ],
            name: [got["precision"], got["recall"], *(reads[x][0] for x in LABELS)],
            "chance": [None, None, *(ref["ceiling"][x][1] for x in LABELS)],
        },
        ylabel="share",
        caption="Precision and recall of the model's images against the held-out paintings, and how often "
        "the label reader reads the style, motif and mood asked for; real paintings give the reader's "
        "ceiling, chance its floor.",
    )
    show = min(8, n)
    sample_sheet(
        ctx,
        result,
        "samples",
        {"held-out paintings": list(ref["held_images"][:show]), f"{name}, same captions": list(fake[:show])},
        caption=f"The first {show} held-out paintings (top) and the model's images for their captions "
        "(bottom), at 64 px.",
    )
    return result
