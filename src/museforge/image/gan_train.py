"""The conditional GAN as a family of the shared training loop (:mod:`museforge.train.loop`).

The loop's model is the generator and the text encoder (:class:`Conditioned`); the discriminator
and its own Adam live in :class:`GanFamily`. Each :meth:`GanFamily.loss` first makes one
discriminator step on the batch (``L_D``, lazy R1 every ``r1_every`` steps; with several processes
its gradients are averaged by ``torch.distributed.all_reduce``), then returns the generator's
non-saturating loss against the updated discriminator (plus the optional novelty term), which the
loop back-propagates and steps. The training state keeps the discriminator, its optimiser, the
generator's EMA and the step counter, so an interrupted run resumes onto the same curve. Under
``accelerate launch`` the discriminators of all processes stay equal; the generator's BatchNorm
normalises each process's share of the batch, so several processes do not follow the curve of one
exactly (the main process's EMA, with its BatchNorm statistics, is what is evaluated and saved).

The held-out figure (:func:`held_out_figures`) needs no discriminator, so it is comparable
across runs and with a previous model: a fixed batch of fakes (two per held-out caption, noise
seeded 0) and the held-out images are compared by the novelty term's thumbnail feature (16 px
correlation); ``coverage`` is the mean over held-out images of the cosine to their nearest fake,
``fidelity`` the mean over fakes of the cosine to their nearest held-out image, and

    loss = 1 - (coverage + fidelity) / 2

(a symmetric chamfer distance; lower is better). A collapsed generator covers few held-out images,
noise resembles none, so both score badly; the discriminator's own loss would not do, since it
measures the game, not the images, and moves with the discriminator.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from copy import deepcopy
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from museforge.atomic import write_file
from museforge.image import gan
from museforge.image.diffusion.data import ImageSet
from museforge.image.diffusion.text import TextEncoder, Tokenizer
from museforge.image.diffusion.upscale import Upscaler
from museforge.image.gan import (
    Discriminator,
    GANTrainConfig,
    Generator,
    discriminator_loss,
    generator_loss,
    nearest_cosine,
    novelty_features,
    novelty_loss,
    pooled,
    r1_penalty,
)
from museforge.image.gan_model import GANModel
from museforge.train.loop import Family, LoopConfig

HELD_OUT = 32
"""Held-out images the evaluation compares fakes with."""
FAKES_PER_CAPTION = 2


class Conditioned(torch.nn.Module):
    """The generator and its text encoder as one module (what the loop wraps and resumes)."""

    def __init__(self, generator: Generator, text: TextEncoder) -> None:
        super().__init__()
        self.generator, self.text = generator, text

    def forward(
        self, z: torch.Tensor, ids: torch.Tensor, keep: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fakes ``[B, 3, S, S]`` and the prompt vectors they were drawn for."""
        cond = pooled(self.text(ids, keep), keep)
        return self.generator(z, cond), cond


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1)


@torch.no_grad()
def held_out_figures(
    generator: Generator,
    text: TextEncoder,
    tokenizer: Tokenizer,
    held_out: ImageSet,
    bank: torch.Tensor | None = None,
) -> dict[str, float]:
    """The D-free held-out figures of the module docstring; with ``bank`` (the training images'
    thumbnail features) also ``train_cosine``, the fakes' mean cosine to their nearest training
    image (the novelty term's measure)."""
    rows = list(range(min(HELD_OUT, len(held_out))))
    real = novelty_features(_tensor(held_out.images[rows]))
    captions = [held_out.captions[r] for r in rows for _ in range(FAKES_PER_CAPTION)]
    z = torch.randn(len(captions), generator.cfg.z_dim, generator=torch.Generator().manual_seed(0))
    ids, keep = tokenizer.batch(captions)
    fake = novelty_features(generator(z, pooled(text(ids, keep), keep)))
    sim = real @ fake.T
    coverage, fidelity = float(sim.max(1).values.mean()), float(sim.max(0).values.mean())
    pairs = fake @ fake.T
    n = len(fake)
    spread = float((pairs.sum() - pairs.diagonal().sum()) / max(1, n * (n - 1)))
    figures = {
        "loss": 1 - (coverage + fidelity) / 2,
        "coverage": coverage,
        "fidelity": fidelity,
        "fake_similarity": spread,
    }
    if bank is not None:
        figures["train_cosine"] = float(nearest_cosine(fake, bank).mean())
    return figures


class GanFamily(Family):
    """The GAN for :mod:`museforge.train.loop` (see the module docstring)."""

    def __init__(
        self,
        data: ImageSet,
        generator: Generator,
        text: TextEncoder,
        tokenizer: Tokenizer,
        cfg: GANTrainConfig,
        *,
        held_out: ImageSet | None = None,
        out: Path | None = None,
        upscaler: Upscaler | None = None,
        name: str = "gan",
        recipe: str | None = None,
        sample_every: int = 0,
        sample_prompts: tuple[str, ...] = (),
        log: Callable[[str], None] = lambda _: None,
    ) -> None:
        super().__init__(name="gan", model=Conditioned(generator, text))
        self.data, self.held_out, self.tokenizer, self.cfg = data, held_out or data, tokenizer, cfg
        self.out, self.upscaler, self.model_name, self.recipe, self.log = out, upscaler, name, recipe, log
        self.sample_every, self.sample_prompts = sample_every, sample_prompts
        self.ema = deepcopy(generator).eval().requires_grad_(False)
        self.d = Discriminator(generator.cfg)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
        self.step = 0
        self.last_d = float("nan")
        self.novel = cfg.novelty_weight > 0
        self.bank = gan.novelty_bank(data.images) if self.novel else None
        self.seen: list[tuple[float, float]] = []
        """(mean nearest cosine, share above the margin) of the fakes of recent steps."""

    def loop_config(self) -> LoopConfig:
        """The loop's settings for this GAN: constant Adam (no decay, no clipping) at ``lr_g``."""
        c = self.cfg
        return LoopConfig(
            steps=c.steps,
            minutes=c.minutes or c.cpu_minutes / max(1, torch.get_num_threads()),
            batch=c.batch,
            lr=c.lr_g,
            min_lr_ratio=1.0,
            warmup=0,
            weight_decay=0.0,
            beta1=c.beta1,
            beta2=c.beta2,
            grad_clip=0.0,
            eval_every=c.eval_every,
            checkpoint_every=c.checkpoint_every,
            seed=c.seed,
        )

    def fingerprint(self) -> dict[str, Any]:
        return {
            "family": "gan",
            "gan": asdict(self.cfg.gan),
            "vocab": len(self.tokenizer.vocab),
            "data": self.data.manifest_sha256,
            "novelty": [self.cfg.novelty_weight, self.cfg.novelty_margin],
        }

    def batch(self, generator: torch.Generator, size: int) -> tuple[torch.Tensor, ...]:
        rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))
        rows = rng.integers(0, len(self.data), size)
        real = _tensor(self.data.images[rows])
        ids, keep = self.tokenizer.batch([self.data.training_caption(int(r), rng, drop=0.0) for r in rows])
        z = torch.randn(size, self.cfg.gan.z_dim, generator=generator)
        return real, ids, keep, z

    def _discriminator_step(self, real: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor) -> None:
        c, d = self.cfg, self.d
        d.requires_grad_(True)
        regularise = c.r1 > 0 and self.step % c.r1_every == 0
        real = real.detach().clone().requires_grad_(regularise)
        real_logits = d(real, cond)
        loss = discriminator_loss(real_logits, d(fake, cond))
        if regularise:
            loss = loss + c.r1 * c.r1_every * r1_penalty(real, real_logits)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            world = torch.distributed.get_world_size()
            for p in d.parameters():
                if p.grad is not None:
                    torch.distributed.all_reduce(p.grad)
                    p.grad.div_(world)
        self.opt_d.step()
        d.requires_grad_(False)
        self.last_d = float(loss.detach())

    def loss(self, model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """One discriminator step, then the generator's loss against the updated discriminator."""
        real, ids, keep, z = batch
        fake, cond = model(z, ids, keep)
        self._discriminator_step(real, fake.detach(), cond.detach())
        loss = generator_loss(self.d(fake, cond))
        if self.novel:
            features = novelty_features(fake)
            loss = loss + novelty_loss(features, self.bank, self.cfg.novelty_weight, self.cfg.novelty_margin)
            with torch.no_grad():
                nearest = nearest_cosine(features, self.bank)
            self.seen = [
                *self.seen[-49:],
                (float(nearest.mean()), float((nearest > self.cfg.novelty_margin).float().mean())),
            ]
            if self.step % 50 == 0:
                self.log(
                    f"step {self.step} novelty: nearest cosine {self.seen[-1][0]:.3f}, "
                    f"{self.seen[-1][1]:.0%} of fakes above the margin {self.cfg.novelty_margin}"
                )
        return loss

    def after_step(self, model: torch.nn.Module, step: int) -> None:
        self.step = step
        live = model.generator
        with torch.no_grad():
            decay = min(self.cfg.ema, (1 + step) / (10 + step))
            for e, p in zip(self.ema.parameters(), live.parameters(), strict=True):
                e.lerp_(p, 1 - decay)
            for e, b in zip(self.ema.buffers(), live.buffers(), strict=True):
                e.copy_(b)
        first = not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0
        if first and self.out is not None and self.sample_every and step % self.sample_every == 0:
            self._write_samples(model, step)

    def _write_samples(self, model: torch.nn.Module, step: int) -> None:
        from PIL import Image

        from museforge.image.diffusion.train import grid

        with torch.no_grad():
            prompts = list(self.sample_prompts)
            z = torch.randn(len(prompts), self.cfg.gan.z_dim, generator=torch.Generator().manual_seed(0))
            ids, keep = self.tokenizer.batch(prompts)
            text = model.text.eval()
            x = self.ema(z, pooled(text(ids, keep), keep))
            text.train()
        pixels = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        buf = io.BytesIO()
        grid([Image.fromarray(p, "RGB") for p in pixels], len(prompts)).save(buf, "PNG")
        write_file(self.out / "samples" / f"step-{step:06d}.png", buf.getvalue())

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        """The EMA generator's :func:`held_out_figures` (lower ``loss`` is better; ``train_cosine``
        only with the novelty term on, whose bank it reuses)."""
        return held_out_figures(self.ema, model.text, self.tokenizer, self.held_out, self.bank)

    def save(self, model: torch.nn.Module, path: Path, metrics: dict[str, float]) -> None:
        """The EMA generator with the best held-out figure so far, as a :class:`GANModel` file."""
        GANModel(self.ema, model.text, self.tokenizer, self.upscaler, self.model_name).save(
            path,
            data_sha256=self.data.manifest_sha256,
            recipe=self.recipe,
            training={"steps": self.step, "held_out": {k: round(v, 6) for k, v in metrics.items()}},
        )

    def extra_state(self) -> dict[str, Any]:
        return {
            "discriminator": self.d.state_dict(),
            "optimizer_d": self.opt_d.state_dict(),
            "ema": self.ema.state_dict(),
            "step": self.step,
            "seen": list(self.seen),
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if "discriminator" in state:
            self.d.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["optimizer_d"])
            self.ema.load_state_dict(state["ema"])
            self.step, self.seen = state["step"], list(state["seen"])

    def novelty(self) -> dict[str, float] | None:
        """The novelty term's settings and what it saw in the last 50 steps (None when off)."""
        if not self.novel:
            return None
        recent = np.array(self.seen or [(0.0, 0.0)])
        return {
            "weight": self.cfg.novelty_weight,
            "margin": self.cfg.novelty_margin,
            "nearest_cosine": round(float(recent[:, 0].mean()), 4),
            "above_margin": round(float(recent[:, 1].mean()), 4),
        }
