"""Training the diffusion model (and its upscaler), from scratch or as a fine-tune.

One loop in the nanoGPT manner: sample a batch, noise it to random timesteps, predict v (or the
noise, as the schedule says) with the UNet conditioned on the text encoder, MSE loss weighted by
min-SNR (gamma 5, Hang et al. 2023, which shortens training several times), AdamW, an exponential
moving average of the weights (what is saved and sampled), a sample grid every ``sample_every``
steps and a checkpoint every ``checkpoint_every`` steps that a later run with the same ``--out``
resumes from.
"""

from __future__ import annotations

import io
import math
import time
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

SAMPLE_PROMPTS = ("an ink wash painting of mountains and the moon", "一幅彩色玻璃窗，画着飞鸟和太阳",
                  "a stormy sea at night", "一幅点彩画，画着花朵，宁静的氛围")


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


def sample_grid(model: DiffusionModel, prompts: tuple[str, ...] = SAMPLE_PROMPTS,
                steps: int = 20) -> Image.Image:
    from museforge.image.diffusion.pipeline import generate

    upscaler, model.upscaler = model.upscaler, None
    try:
        images = [generate(model, p, seed=i, steps=steps, sampler="ddim", cfg=4.0).image
                  for i, p in enumerate(prompts)]
    finally:
        model.upscaler = upscaler
    return grid(images, len(images))


def train(data: ImageSet, out: Path, cfg: TrainConfig, *, base: Path | None = None,
          log: Callable[[str], None] = print, progress: Callable[[int, float], None] | None = None
          ) -> DiffusionModel:
    """Train (or fine-tune ``base``) and return the EMA model; ``out`` holds the checkpoint and
    the sample grids."""
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "training-state.pt"
    if base is not None:
        model = load_model(base)
        model.unet.requires_grad_(True).train()
        model.text.requires_grad_(True).train()
        grown = model.tokenizer.extended(data.captions)
        if len(grown.vocab) > len(model.tokenizer.vocab):
            log(f"{len(grown.vocab) - len(model.tokenizer.vocab)} new word(s) added to the vocabulary")
            model.text.grow(len(grown.vocab))
            model.tokenizer = grown
        if model.unet.cfg.sample_size != data.images.shape[1]:
            raise MuseforgeError(f"the images were read at {data.images.shape[1]} px but the model paints at "
                                 f"{model.unet.cfg.sample_size} px")
    else:
        model = new_model(data, cfg)
    live = [model.unet, model.text]
    ema = [deepcopy(m).requires_grad_(False) for m in live]
    params = [p for m in live for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01, betas=(0.9, 0.99))
    step, seconds = 0, 0.0
    rng = np.random.default_rng(cfg.seed)
    if state_path.exists():
        state = torch.load(state_path, weights_only=False)
        for m, s in zip([*live, *ema], state["modules"], strict=True):
            m.load_state_dict(s)
        opt.load_state_dict(state["optimizer"])
        step, seconds, rng = state["step"], state["seconds"], state["rng"]
        torch.set_rng_state(state["torch_rng"])
        log(f"resumed at step {step} ({seconds / 60:.1f} min trained)")
    noise_schedule = DDPMScheduler(model.schedule)
    alphas = noise_schedule.alphas_cumprod
    snr = alphas / (1 - alphas)
    started = time.perf_counter() - seconds

    def save_state() -> None:
        buf = io.BytesIO()
        torch.save({"modules": [m.state_dict() for m in [*live, *ema]], "optimizer": opt.state_dict(),
                    "step": step, "seconds": time.perf_counter() - started, "rng": rng,
                    "torch_rng": torch.get_rng_state(), "config": asdict(cfg)}, buf)
        write_file(state_path, buf.getvalue())

    try:
        while step < cfg.steps and not (cfg.minutes and time.perf_counter() - started > cfg.minutes * 60):
            images, captions = _batch(data, rng, cfg.batch)
            ids, keep = model.tokenizer.batch(captions)
            t = torch.from_numpy(rng.integers(0, len(alphas), cfg.batch))
            noise = torch.randn_like(images)
            noisy = noise_schedule.add_noise(images, noise, t)
            pred = model.unet(noisy, t, model.text(ids, keep), keep)
            if model.schedule.prediction_type == "v_prediction":
                target = noise_schedule.get_velocity(images, noise, t)
                weight = snr[t].clamp(max=cfg.min_snr) / (snr[t] + 1)
            else:
                target, weight = noise, snr[t].clamp(max=cfg.min_snr) / snr[t]
            loss = (weight * F.mse_loss(pred, target, reduction="none").mean((1, 2, 3))).mean()
            for g in opt.param_groups:
                g["lr"] = cfg.lr * min(1.0, (step + 1) / cfg.warmup)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            for e, m in zip(ema, live, strict=True):
                _ema_update(e, m, min(cfg.ema, (1 + step) / (10 + step)))
            if progress is not None:
                progress(step, float(loss.detach()))
            if step % cfg.checkpoint_every == 0:
                save_state()
            if cfg.sample_every and step % cfg.sample_every == 0:
                trained = DiffusionModel(ema[0], ema[1], model.tokenizer, model.schedule).eval()
                sheet = sample_grid(trained, cfg.sample_prompts)
                buf = io.BytesIO()
                sheet.save(buf, "PNG")
                write_file(out / "samples" / f"step-{step:06d}.png", buf.getvalue())
                ema[0].requires_grad_(False)
    except KeyboardInterrupt:
        save_state()
        log(f"interrupted at step {step}; the state is saved and the same command resumes")
        raise
    save_state()
    log(f"trained {step} steps in {(time.perf_counter() - started) / 60:.1f} min")
    result = DiffusionModel(ema[0], ema[1], model.tokenizer, model.schedule, model.upscaler, model.name)
    result.meta = {"steps": step, "minutes": round((time.perf_counter() - started) / 60, 1)}
    return result.eval()


def describe(model: DiffusionModel) -> dict[str, Any]:
    count = sum(p.numel() for m in (model.unet, model.text, model.upscaler) if m is not None
                for p in m.parameters())
    return {"parameters": count, "size": model.size, "vocab": len(model.tokenizer.vocab)}
