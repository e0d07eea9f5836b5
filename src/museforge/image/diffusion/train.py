"""Training the diffusion model (and its upscaler), from scratch or as a fine-tune.

The image family of the shared loop (:mod:`museforge.train.loop`): sample a batch, noise it to
random timesteps, predict v (or the noise, as the schedule says) with the UNet conditioned on the
text encoder, MSE loss weighted by min-SNR (gamma 5, Hang et al. 2023, which shortens training
several times), an exponential moving average of the weights (what is saved and sampled), a
sample grid every ``sample_every`` steps; the loop brings AdamW, the held-out evaluation and the
training state every ``checkpoint_every`` steps that a later run with the same ``--out`` resumes
from.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from copy import deepcopy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from museforge.atomic import write_file
from museforge.errors import MuseforgeError
from museforge.image.diffusion.data import ImageSet
from museforge.image.diffusion.model import TRAINING_SCHEDULE, DiffusionModel, load_model
from museforge.image.diffusion.schedulers import DDPMScheduler
from museforge.image.diffusion.text import TextEncoder, TextEncoderConfig, Tokenizer, vocabulary_texts
from museforge.image.diffusion.unet import UNet, UNetConfig
from museforge.train.loop import Family

SAMPLE_PROMPTS = (
    "an ink wash painting of mountains and the moon",
    "一幅彩色玻璃窗，画着飞鸟和太阳",
    "a stormy sea at night",
    "一幅点彩画，画着花朵，宁静的氛围",
)


@dataclass
class TrainConfig:
    unet: UNetConfig = field(default_factory=UNetConfig)
    text: TextEncoderConfig | None = None
    batch: int = 32
    lr: float = 3e-4
    warmup: int = 200
    ema: float = 0.999
    min_snr: float = 5.0
    steps: int = 100_000
    minutes: float = 0.0
    """Stop after this many minutes (0: run ``steps``)."""
    sample_every: int = 500
    sample_prompts: tuple[str, ...] = SAMPLE_PROMPTS
    checkpoint_every: int = 250
    seed: int = 0


def _batch(data: ImageSet, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, list[str]]:
    rows = rng.integers(0, len(data), size)
    images = torch.from_numpy(data.images[rows]).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    flip = torch.from_numpy(rng.random(size) < 0.5)
    images[flip] = images[flip].flip(3)
    return images, [data.training_caption(int(r), rng) for r in rows]


def _ema_update(ema: torch.nn.Module, live: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        for e, p in zip(ema.parameters(), live.parameters(), strict=True):
            e.lerp_(p, 1 - decay)


def new_model(data: ImageSet, cfg: TrainConfig) -> DiffusionModel:
    texts = [*vocabulary_texts(), *data.captions]
    from museforge.image.diffusion.text import caption

    texts += [caption(labels, lang) for labels in data.labels if labels.get("style") for lang in ("en", "zh")]
    tokenizer = Tokenizer.build(texts)
    text_cfg = cfg.text or TextEncoderConfig(len(tokenizer.vocab), width=cfg.unet.cross_attention_dim)
    torch.manual_seed(cfg.seed)
    return DiffusionModel(UNet(cfg.unet), TextEncoder(text_cfg), tokenizer, TRAINING_SCHEDULE)


def grid(images: list[Image.Image], columns: int) -> Image.Image:
    w, h = images[0].size
    rows = math.ceil(len(images) / columns)
    sheet = Image.new("RGB", (w * columns, h * rows), "white")
    for i, image in enumerate(images):
        sheet.paste(image, ((i % columns) * w, (i // columns) * h))
    return sheet


def sample_grid(
    model: DiffusionModel, prompts: tuple[str, ...] = SAMPLE_PROMPTS, steps: int = 20
) -> Image.Image:
    from museforge.image.diffusion.pipeline import generate

    upscaler, model.upscaler = model.upscaler, None
    try:
        images = [
            generate(model, p, seed=i, steps=steps, sampler="ddim", cfg=4.0).image
            for i, p in enumerate(prompts)
        ]
    finally:
        model.upscaler = upscaler
    return grid(images, len(images))


class Denoiser(torch.nn.Module):
    """The UNet and its text encoder as one module (what the loop wraps and resumes)."""

    def __init__(self, unet: UNet, text: TextEncoder) -> None:
        super().__init__()
        self.unet, self.text = unet, text

    def forward(
        self, noisy: torch.Tensor, t: torch.Tensor, ids: torch.Tensor, keep: torch.Tensor
    ) -> torch.Tensor:
        return self.unet(noisy, t, self.text(ids, keep), keep)


class ImageFamily(Family):
    """The diffusion family for :mod:`museforge.train.loop`: min-SNR weighted denoising, an EMA of
    the weights (what is sampled and saved) and a sample grid every ``sample_every`` steps."""

    def __init__(
        self,
        data: ImageSet,
        model: DiffusionModel,
        cfg: TrainConfig,
        out: Path,
        held_out: ImageSet | None = None,
    ) -> None:
        super().__init__(name="image", model=Denoiser(model.unet, model.text))
        self.data, self.held_out, self.base, self.cfg, self.out = data, held_out or data, model, cfg, out
        self.ema = deepcopy(self.model).requires_grad_(False)
        self.noise = DDPMScheduler(model.schedule)
        alphas = self.noise.alphas_cumprod
        self.snr = alphas / (1 - alphas)

    def fingerprint(self) -> dict[str, Any]:
        return {
            "family": "image",
            "unet": asdict(self.base.unet.cfg),
            "vocab": len(self.base.tokenizer.vocab),
            "data": self.data.manifest_sha256,
        }

    def batch(self, generator: torch.Generator, size: int) -> tuple[torch.Tensor, ...]:
        rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))
        images, captions = _batch(self.data, rng, size)
        ids, keep = self.base.tokenizer.batch(captions)
        t = torch.from_numpy(rng.integers(0, len(self.snr), size))
        return images, ids, keep, t, torch.randn(images.shape, generator=generator)

    def _loss(
        self,
        model: torch.nn.Module,
        images: torch.Tensor,
        ids: torch.Tensor,
        keep: torch.Tensor,
        t: torch.Tensor,
        noise: torch.Tensor,
    ) -> torch.Tensor:
        pred = model(self.noise.add_noise(images, noise, t), t, ids, keep)
        if self.base.schedule.prediction_type == "v_prediction":
            target = self.noise.get_velocity(images, noise, t)
            weight = self.snr[t].clamp(max=self.cfg.min_snr) / (self.snr[t] + 1)
        else:
            target, weight = noise, self.snr[t].clamp(max=self.cfg.min_snr) / self.snr[t]
        return (weight * F.mse_loss(pred, target, reduction="none").mean((1, 2, 3))).mean()

    def loss(self, model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self._loss(model, *batch)

    def after_step(self, model: torch.nn.Module, step: int) -> None:
        _ema_update(self.ema, model, min(self.cfg.ema, (1 + step) / (10 + step)))
        first = not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0
        if first and self.cfg.sample_every and step % self.cfg.sample_every == 0:
            sheet = sample_grid(self.trained(), self.cfg.sample_prompts)
            buf = io.BytesIO()
            sheet.save(buf, "PNG")
            write_file(self.out / "samples" / f"step-{step:06d}.png", buf.getvalue())

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        """The EMA model's weighted denoising loss on held-out images at fixed noise and times."""
        generator = torch.Generator().manual_seed(0)
        rows = list(range(min(16, len(self.held_out))))
        images = torch.from_numpy(self.held_out.images[rows]).permute(0, 3, 1, 2).float().div(127.5).sub(1)
        ids, keep = self.base.tokenizer.batch([self.held_out.captions[r] for r in rows])
        t = torch.linspace(20, len(self.snr) - 20, len(rows)).long()
        noise = torch.randn(images.shape, generator=generator)
        return {"loss": float(self._loss(self.ema, images, ids, keep, t, noise))}

    def save(self, model: torch.nn.Module, path: Path, metrics: dict[str, float]) -> None:
        """Nothing: the held-out denoising loss is too noisy to pick a step by; the final EMA is
        the model (the caller saves it)."""

    def extra_state(self) -> dict[str, Any]:
        return {"ema": self.ema.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if "ema" in state:
            self.ema.load_state_dict(state["ema"])

    def trained(self) -> DiffusionModel:
        model = DiffusionModel(self.ema.unet, self.ema.text, self.base.tokenizer, self.base.schedule).eval()
        self.ema.requires_grad_(False)
        return model


def prepare(
    data: ImageSet, cfg: TrainConfig, *, base: Path | None = None, log: Callable[[str], None] = print
) -> DiffusionModel:
    """The model to train: ``base`` with its vocabulary grown by the captions' new words, or new."""
    if base is None:
        return new_model(data, cfg)
    model = load_model(base)
    model.unet.requires_grad_(True).train()
    model.text.requires_grad_(True).train()
    grown = model.tokenizer.extended(data.captions)
    if len(grown.vocab) > len(model.tokenizer.vocab):
        log(f"{len(grown.vocab) - len(model.tokenizer.vocab)} new word(s) added to the vocabulary")
        model.text.grow(len(grown.vocab))
        model.tokenizer = grown
    if model.unet.cfg.sample_size != data.images.shape[1]:
        raise MuseforgeError(
            f"the images were read at {data.images.shape[1]} px but the model paints at "
            f"{model.unet.cfg.sample_size} px"
        )
    return model


def train(
    data: ImageSet,
    out: Path,
    cfg: TrainConfig,
    *,
    base: Path | None = None,
    log: Callable[[str], None] = print,
    progress: Callable[[int, float], None] | None = None,
    held_out: ImageSet | None = None,
    accelerator: Any = None,
) -> DiffusionModel:
    """Train (or fine-tune ``base``) with the shared loop and return the EMA model; ``out`` holds
    the training state and the sample grids."""
    from museforge.train import loop

    model = prepare(data, cfg, base=base, log=log)
    family = ImageFamily(data, model, cfg, out, held_out)
    loop_cfg = loop.LoopConfig(
        steps=cfg.steps,
        minutes=cfg.minutes,
        batch=cfg.batch,
        lr=cfg.lr,
        min_lr_ratio=1.0,
        warmup=cfg.warmup,
        beta2=0.99,
        eval_every=cfg.checkpoint_every,
        checkpoint_every=cfg.checkpoint_every,
        seed=cfg.seed,
    )
    summary = loop.run(
        family,
        loop_cfg,
        out,
        accelerator=accelerator,
        log=log,
        progress=(lambda step, _total, loss: progress(step, loss)) if progress else None,
    )
    log(f"trained {summary.steps} steps in {summary.seconds / 60:.1f} min")
    result = family.trained()
    result.upscaler, result.name = model.upscaler, model.name
    result.meta = {
        "steps": summary.steps,
        "minutes": round(summary.seconds / 60, 1),
        "held_out_loss": summary.evals[-1]["loss"] if summary.evals else None,
    }
    return result


def describe(model: DiffusionModel) -> dict[str, Any]:
    count = sum(
        p.numel() for m in (model.unet, model.text, model.upscaler) if m is not None for p in m.parameters()
    )
    return {"parameters": count, "size": model.size, "vocab": len(model.tokenizer.vocab)}
