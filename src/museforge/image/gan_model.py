"""The trained GAN as one file: the EMA generator, its text encoder and vocabulary and the x4
upscaler, in a self-describing safetensors file (``museforge.checkpoints``), and sampling from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from museforge.checkpoints import load_checkpoint, save_checkpoint
from museforge.errors import MuseforgeError
from museforge.image.diffusion.text import TextEncoder, TextEncoderConfig, Tokenizer
from museforge.image.diffusion.upscale import Upscaler, UpscalerConfig
from museforge.image.gan import GANConfig, Generator, pooled

KIND = "museforge-gan"
BUILTIN = "image-gan"
"""The built-in model's folder under ``models/``."""


@dataclass
class GANModel:
    generator: Generator
    text: TextEncoder
    tokenizer: Tokenizer
    upscaler: Upscaler | None = None
    name: str = BUILTIN
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Edge of the output in pixels (after the upscaler)."""
        return self.generator.cfg.size * (self.upscaler.cfg.factor if self.upscaler else 1)

    def eval(self) -> GANModel:
        for m in (self.generator, self.text, self.upscaler):
            if m is not None:
                m.eval().requires_grad_(False)
        return self

    def state_dict(self) -> dict[str, torch.Tensor]:
        parts = {"generator": self.generator, "text": self.text, "upscaler": self.upscaler}
        return {f"{name}.{k}": v for name, m in parts.items() if m is not None
                for k, v in m.state_dict().items()}

    def config(self) -> dict[str, Any]:
        return {"generator": self.generator.cfg.to_dict(), "text": self.text.cfg.to_dict(),
                "upscaler": self.upscaler.cfg.to_dict() if self.upscaler else None}

    def save(self, path: Path, *, data_sha256: str | None = None, recipe: str | None = None,
             **meta: Any) -> Path:
        """fp16 weights (BatchNorm statistics included) and the header."""
        return save_checkpoint(path, self.state_dict(), config=self.config(), kind=KIND,
                               tokenizer={"vocab": self.tokenizer.vocab}, data_sha256=data_sha256,
                               recipe=recipe, metadata={"name": self.name, **meta}, dtype=torch.float16)

    @torch.no_grad()
    def images(self, prompts: list[str], seed: int) -> torch.Tensor:
        """``[len(prompts), 3, size, size]`` in [-1, 1]; the noise is drawn from ``seed``."""
        generator = torch.Generator("cpu").manual_seed(seed)
        z = torch.randn(len(prompts), self.generator.cfg.z_dim, generator=generator)
        ids, keep = self.tokenizer.batch(prompts)
        x = self.generator(z, pooled(self.text(ids, keep), keep))
        return self.upscaler(x).clamp(-1, 1) if self.upscaler is not None else x

    def generate(self, prompt: str, seed: int, size: int = 0) -> Image.Image:
        """One image, ``size`` px square (0: the model's own)."""
        x = self.images([prompt], seed)[0]
        pixels = ((x + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
        image = Image.fromarray(pixels, "RGB")
        if size and image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.LANCZOS)
        return image


def load_gan(path: str | Path, dtype: torch.dtype = torch.float32) -> GANModel:
    """A model file written by :meth:`GANModel.save` (or the folder holding ``model.safetensors``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.safetensors"
    if not path.is_file():
        raise MuseforgeError(f"{path} not found; pass a museforge GAN model file or folder")
    tensors, meta = load_checkpoint(path, kind=KIND)
    cfg = meta["config"]
    generator = Generator(GANConfig(**cfg["generator"]))
    text = TextEncoder(TextEncoderConfig.from_dict(cfg["text"]))
    upscaler = Upscaler(UpscalerConfig.from_dict(cfg["upscaler"])) if cfg.get("upscaler") else None
    for prefix, module in (("generator.", generator), ("text.", text), ("upscaler.", upscaler)):
        if module is None:
            continue
        part = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        part = {k: v.to(dtype) if v.is_floating_point() else v for k, v in part.items()}
        try:
            module.load_state_dict(part, strict=True)
        except RuntimeError as err:
            raise MuseforgeError(f"{path}: the {prefix.rstrip('.')} weights do not fit their config "
                                 f"({str(err).splitlines()[0][:120]})") from None
    model = GANModel(generator, text, Tokenizer(meta["tokenizer"]["vocab"]), upscaler,
                     meta.get("name", path.parent.name), meta)
    return model.eval()
