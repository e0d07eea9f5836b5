"""The GAN engine: one pass of the conditional generator from a prompt and a seed (no sampler
steps), then the x4 upscaler. The built-in model or a museforge GAN file."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from museforge.engines import Artifact, Engine, OutputFile, Request, param
from museforge.errors import MuseforgeError
from museforge.image.gan_model import BUILTIN

MAX_SIZE = 2048


@dataclass(frozen=True)
class GANParams:
    size: int = param(0, "edge of the image in pixels (0: the model's own, 256 for the built-in model)",
                      range=(0, MAX_SIZE))
    model: str = param(BUILTIN, "the built-in GAN or a museforge GAN model file or folder")


def model_path(model: str) -> Path:
    from museforge.runtime import models_root

    path = models_root() / BUILTIN if model == BUILTIN else Path(model).expanduser()
    return path / "model.safetensors" if path.is_dir() else path


class GAN(Engine):
    name = "gan"
    modality = "image"
    version = "1"
    description = "a learned conditional GAN: one generator pass per image, the diffusion model's rival"
    Params = GANParams
    priority = -6
    uses_mood = False
    _cache: ClassVar[dict[tuple[str, float], Any]] = {}

    def __init__(self) -> None:
        self._sha: str | None = None

    def model_sha256(self, params: Any) -> str | None:
        return self._sha

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        from museforge.hashing import sha256_file
        from museforge.image.diffusion.pipeline import prompt_warnings
        from museforge.image.gan_model import load_gan

        p: GANParams = request.params
        path = model_path(p.model)
        if not path.is_file():
            hint = "train it with 'python recipes/image_gan.py'" if p.model == BUILTIN else "check the path"
            raise MuseforgeError(f"the GAN model {path} is missing; {hint}")
        key = (str(path.resolve()), path.stat().st_mtime)
        if key not in self._cache:
            self._cache.clear()
            self._cache[key] = (load_gan(path), sha256_file(path))
        model, self._sha = self._cache[key]
        request.progress("painting", 0.0)
        image = model.generate(request.prompt, request.seed, p.size)
        request.progress("painting", 1.0)
        buf = io.BytesIO()
        image.save(buf, "PNG", optimize=False)
        summary = {"width": image.width, "height": image.height, "model": model.name}
        return Artifact("image", [OutputFile("image.png", buf.getvalue(), "image/png")], summary,
                        prompt_warnings(model, request.prompt, ""))  # type: ignore[arg-type]
