"""The diffusion model as one file: UNet, text encoder and vocabulary, noise schedule and the
upscaler, in a self-describing safetensors file (``museforge.checkpoints``).

The tensors are stored as fp16 under ``unet.``, ``text.`` and ``upscaler.``; the header holds
every config, the vocabulary, the training-data manifest hash and the recipe.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from museforge.checkpoints import load_checkpoint, save_checkpoint
from museforge.errors import MuseforgeError
from museforge.image.diffusion.schedulers import SchedulerConfig
from museforge.image.diffusion.text import TextEncoder, TextEncoderConfig, Tokenizer
from museforge.image.diffusion.unet import UNet, UNetConfig
from museforge.image.diffusion.upscale import Upscaler, UpscalerConfig

KIND = "museforge-diffusion"
BUILTIN = "image-diffusion"
"""The built-in model's folder under ``models/``."""

TRAINING_SCHEDULE = SchedulerConfig(beta_schedule="linear", beta_start=1e-4, beta_end=0.02,
                                    timestep_spacing="trailing", steps_offset=0,
                                    prediction_type="v_prediction", clip_sample=True)
"""Pixel-space noise schedule: DDPM's linear betas (the image is pure noise at t = 999, which
Stable Diffusion's latent schedule does not reach) and trailing spacing, so every sampler starts
at t = 999. The UNet predicts v = sqrt(a)·noise − sqrt(1 − a)·image (Salimans & Ho 2022): at
t = 999 a noise prediction is multiplied by 1/sqrt(a) = 158 to give the image, so its errors
blew every few-step sampler's first steps out to saturated noise, while v asks for the image
itself there. DDPM and DDIM also clip the predicted image to [-1, 1]."""


@dataclass
class DiffusionModel:
    unet: UNet
    text: TextEncoder
    tokenizer: Tokenizer
    schedule: SchedulerConfig = TRAINING_SCHEDULE
    upscaler: Upscaler | None = None
    name: str = "museforge-diffusion"
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def size(self) -> int:
        """Edge of the output in pixels (after the upscaler)."""
        return self.unet.cfg.sample_size * (self.upscaler.cfg.factor if self.upscaler else 1)

    def eval(self) -> DiffusionModel:
        for m in (self.unet, self.text, self.upscaler):
            if m is not None:
                m.eval().requires_grad_(False)
        return self

    def state_dict(self) -> dict[str, torch.Tensor]:
        out = {f"unet.{k}": v for k, v in self.unet.state_dict().items()}
        out |= {f"text.{k}": v for k, v in self.text.state_dict().items()}
        if self.upscaler is not None:
            out |= {f"upscaler.{k}": v for k, v in self.upscaler.state_dict().items()}
        return out

    def config(self) -> dict[str, Any]:
        return {"unet": asdict(self.unet.cfg), "text": self.text.cfg.to_dict(),
                "schedule": asdict(self.schedule),
                "upscaler": self.upscaler.cfg.to_dict() if self.upscaler else None}

    def save(self, path: Path, *, data_sha256: str | None = None, recipe: str | None = None,
             **meta: Any) -> Path:
        """fp16 weights and the header (``meta``: metrics, training time, ...)."""
        return save_checkpoint(path, self.state_dict(), config=self.config(), kind=KIND,
                               tokenizer={"vocab": self.tokenizer.vocab}, data_sha256=data_sha256,
                               recipe=recipe, metadata={"name": self.name, **meta}, dtype=torch.float16)


def load_model(path: str | Path, dtype: torch.dtype = torch.float32) -> DiffusionModel:
    """A model file written by :meth:`DiffusionModel.save` (a folder holding ``model.safetensors``
    also works)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.safetensors"
    if not path.is_file():
        raise MuseforgeError(f"{path} not found; pass a museforge diffusion model file or folder")
    tensors, meta = load_checkpoint(path, kind=KIND)
    cfg = meta["config"]
    unet = UNet(UNetConfig.from_dict(cfg["unet"]))
    text = TextEncoder(TextEncoderConfig.from_dict(cfg["text"]))
    upscaler = Upscaler(UpscalerConfig.from_dict(cfg["upscaler"])) if cfg.get("upscaler") else None
    for prefix, module in (("unet.", unet), ("text.", text), ("upscaler.", upscaler)):
        if module is None:
            continue
        part = {k[len(prefix):]: v.to(dtype) for k, v in tensors.items() if k.startswith(prefix)}
        try:
            module.load_state_dict(part, strict=True)
        except RuntimeError as err:
            raise MuseforgeError(f"{path}: the {prefix.rstrip('.')} weights do not fit their config "
                                 f"({str(err).splitlines()[0][:120]})") from None
    schedule = SchedulerConfig(**cfg.get("schedule", {})) if cfg.get("schedule") else TRAINING_SCHEDULE
    model = DiffusionModel(unet, text, Tokenizer(meta["tokenizer"]["vocab"]), schedule, upscaler,
                           meta.get("name", path.parent.name), meta, path)
    return model.eval()


def model_hash(path: Path) -> str:
    """The short hash AUTOMATIC1111 writes as "Model hash": the first 10 hex digits of the
    file's SHA-256."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:10]
