"""``museforge train image --compare MODEL``: a new image model (diffusion or GAN) beside the
previous one, on the same held-out images, with the originality figures of a few images each paints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ORIGINALITY_PROMPTS = 4
"""Images each compared model paints for the originality figures: image ``i`` from the ``i``-th
distinct held-out caption (taken in turn when there are fewer) with seed ``i``."""
ORIGINALITY_STEPS = 10
"""Diffusion steps (DDIM) of those images."""


def compare_images(
    out: Path,
    model: Any,
    previous: Path,
    data: Any,
    held_out: Any,
    data_dir: Path,
    gan: bool,
    log: Any,
) -> None:
    """The new model beside ``previous``: the held-out figure of its kind (diffusion: the denoising
    loss; GAN: ``museforge.image.gan_train.held_out_figures``) and the originality figures of a few
    images each paints (:func:`_originality`), in OUT/compare.json and OUT/compare.html."""
    from museforge.train.compare import write_page

    held = held_out or data
    captions = list(dict.fromkeys(c for c in held.captions if c)) or ["a painting"]
    prompts = [captions[i % len(captions)] for i in range(ORIGINALITY_PROMPTS)]
    if gan:
        from museforge.image.gan import novelty_bank
        from museforge.image.gan_model import load_gan
        from museforge.image.gan_train import held_out_figures

        bank = novelty_bank(data.images)
        candidates = {"new": model, "previous": load_gan(previous)}

        def figures(m: Any) -> dict[str, float]:
            return held_out_figures(m.generator, m.text, m.tokenizer, held, bank)

        paint = _gan_images
    else:
        from museforge.image.diffusion.model import load_model
        from museforge.image.diffusion.train import ImageFamily, TrainConfig

        candidates = {"new": model, "previous": load_model(previous)}

        def figures(m: Any) -> dict[str, float]:
            family = ImageFamily(data, m, TrainConfig(), out, held_out)
            return family.evaluate(family.model)

        paint = _diffusion_images
    log(f"comparing with {previous}: indexing {len(data)} training images for the originality figures")
    index = _training_index(data)
    results = {key: figures(m) | _originality(paint(m, prompts), index) for key, m in candidates.items()}
    write_page(out, {"name": out.name, "previous_name": str(previous), "data": str(data_dir), **results}, {})


def _gan_images(model: Any, prompts: list[str]) -> list[Any]:
    """The GAN's images (before its upscaler) for ``prompts``, prompt ``i`` with seed ``i``."""
    import numpy as np
    import torch

    from museforge.image.gan import pooled

    images = []
    with torch.no_grad():
        for i, prompt in enumerate(prompts):
            z = torch.randn(1, model.generator.cfg.z_dim, generator=torch.Generator().manual_seed(i))
            ids, keep = model.tokenizer.batch([prompt])
            x = model.generator(z, pooled(model.text(ids, keep), keep))[0]
            images.append(
                np.ascontiguousarray(((x + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0))
            )
    return images


def _diffusion_images(model: Any, prompts: list[str]) -> list[Any]:
    """The diffusion model's images (before its upscaler; DDIM, ``ORIGINALITY_STEPS``, guidance 4)."""
    import numpy as np

    from museforge.image.diffusion.pipeline import generate

    upscaler, model.upscaler = model.upscaler, None
    try:
        return [
            np.asarray(generate(model, p, seed=i, steps=ORIGINALITY_STEPS, sampler="ddim", cfg=4.0).image)
            for i, p in enumerate(prompts)
        ]
    finally:
        model.upscaler = upscaler


def _training_index(data: Any) -> Any:
    """The originality index (what ``museforge check`` searches) of the training images."""
    from museforge.originality.image import ImageIndex

    return ImageIndex.build(list(zip(data.names, data.images, strict=True)), name="training images")


def _originality(images: list[Any], index: Any) -> dict[str, float]:
    """How near ``images`` come to their nearest training image in ``index``: the mean and max of
    the embedding cosine (VGG-16 GeM, the candidates' measure) and of the registered detail
    correlation (the score ``museforge check`` gives; 1 = the same picture)."""
    import numpy as np

    from museforge.originality.image import embed

    cosines = (index.vectors.astype(np.float32) @ embed(images, index.size).T).max(0)
    scores = np.array([index.score(image) for image in images])
    return {
        "originality_images": len(images),
        "nearest_cosine_mean": float(cosines.mean()),
        "nearest_cosine_max": float(cosines.max()),
        "nearest_score_mean": float(scores.mean()),
        "nearest_score_max": float(scores.max()),
    }
