"""The diffusion engine: text to image, image to image and inpainting, with the built-in model
or a Stable Diffusion checkpoint the person owns (a diffusers folder or one .safetensors/.ckpt
file, run through diffusers). Each result is a PNG whose ``parameters`` chunk reads as
AUTOMATIC1111 writes it."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from PIL import Image

from museforge.engines import Artifact, Engine, InputFile, InputSpec, OutputFile, Request, param
from museforge.errors import MuseforgeError
from museforge.image.diffusion import SAMPLER_NAMES

BUILTIN = "image-diffusion"
MAX_SIZE = 2048


@dataclass(frozen=True)
class DiffusionParams:
    steps: int = param(20, "sampler steps", range=(1, 999))
    sampler: str = param("dpmpp-2m", "ddpm, ddim, euler-a (Euler ancestral) or dpmpp-2m (DPM-Solver++ 2M)",
                         choices=tuple(SAMPLER_NAMES))
    cfg: float = param(5.0, "classifier-free guidance: how closely the image keeps to the prompt",
                       range=(0.0, 30.0))
    negative: str = param("", "negative prompt: what the image should not have")
    strength: float = param(0.6, "with an init image: how much is repainted, 0 (nothing) to 1 (all)",
                            range=(0.0, 1.0))
    size: int = param(0, "edge of the image in pixels (0: the model's own: 256 for the built-in model, "
                      "512 for SD 1.x, 768 for SD 2.x, 1024 for SDXL)", range=(0, MAX_SIZE))
    model: str = param(BUILTIN, "the built-in model, a museforge diffusion model file, or a Stable "
                       "Diffusion checkpoint: a diffusers folder or one .safetensors/.ckpt file")
    lora: str = param("", "Stable Diffusion only: LoRA files as PATH:WEIGHT, separated by ';'")
    model_config: str = param("", "Stable Diffusion single files of an unusual architecture: a diffusers "
                              "folder whose configs fit the file")


def _open_image(file: InputFile, what: str) -> Image.Image:
    from museforge.style import io as sio

    sio.check_image(file.name, what, file.data)
    return sio.open_rgb(file.name, what, file.data)


def parse_loras(text: str) -> list[tuple[Path, float]]:
    """``a.safetensors:0.8;b.safetensors`` -> paths and weights (1.0 when left out).

    >>> parse_loras("a.safetensors:0.8;b.safetensors")
    [(PosixPath('a.safetensors'), 0.8), (PosixPath('b.safetensors'), 1.0)]
    """
    out = []
    for item in filter(None, (s.strip() for s in text.split(";"))):
        path, sep, weight = item.rpartition(":")
        if not sep or not path or "/" in weight or ("." not in weight and not weight.lstrip("-").isdigit()):
            path, weight = item, "1"
        try:
            value = float(weight)
        except ValueError:
            raise MuseforgeError(f"--lora {item}: give PATH:WEIGHT with a number, "
                                 "e.g. style.safetensors:0.8") from None
        if not -4.0 <= value <= 4.0:
            raise MuseforgeError(f"--lora {item}: the weight must lie between -4 and 4")
        out.append((Path(path), value))
    return out


def builtin_path() -> Path:
    from museforge.runtime import models_root

    return models_root() / BUILTIN / "model.safetensors"


def is_museforge_model(path: Path) -> bool:
    if path.is_dir():
        path = path / "model.safetensors"
    if path.suffix != ".safetensors" or not path.is_file():
        return False
    from museforge.checkpoints import read_metadata

    try:
        return read_metadata(path).get("kind") == "museforge-diffusion"
    except (MuseforgeError, OSError, ValueError):
        return False


class Diffusion(Engine):
    name = "diffusion"
    modality = "image"
    version = "1"
    description = "a learned text-to-image diffusion model (built in, or your Stable Diffusion checkpoint)"
    Params = DiffusionParams
    priority = -5  # the rule painter stays the default for 'create' until the learned one beats it
    uses_mood = False
    inputs: ClassVar[tuple[InputSpec, ...]] = (
        InputSpec("init", "image", "an image to start from (image to image)", required=False),
        InputSpec("mask", "image", "white where the init image is repainted, black where it is kept",
                  required=False),
    )
    _cache: ClassVar[dict[tuple[str, float], Any]] = {}

    def __init__(self) -> None:
        self._sha: str | None = None

    @classmethod
    def check(cls, params: Any) -> None:
        parse_loras(params.lora)
        path = cls._model_path(params.model)
        if params.lora and (path == builtin_path() or is_museforge_model(path)):
            raise MuseforgeError("LoRA files are for Stable Diffusion checkpoints; pass one with --model")

    @classmethod
    def check_inputs(cls, params: Any, inputs: Mapping[str, tuple[InputFile, ...]]) -> None:
        init = inputs.get("init", ())
        mask = inputs.get("mask", ())
        if mask and not init:
            raise MuseforgeError("a mask needs the image it masks; give --input init=IMAGE too")
        images = {role: _open_image(files[0], role) for role, files in (("init", init), ("mask", mask))
                  if files}
        if "mask" in images and images["mask"].size != images["init"].size:
            m, i = images["mask"], images["init"]
            raise MuseforgeError(f"the mask is {m.width}x{m.height} but the image is {i.width}x{i.height}; "
                                 "give a mask of the same size")

    @staticmethod
    def _model_path(model: str) -> Path:
        if model == BUILTIN:
            return builtin_path()
        return Path(model).expanduser()

    def model_sha256(self, params: Any) -> str | None:
        return self._sha

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        p: DiffusionParams = request.params
        path = self._model_path(p.model)
        init = request.input("init")
        mask = request.input("mask")
        init_image = _open_image(init, "init") if init else None
        mask_image = _open_image(mask, "mask") if mask else None
        if p.model == BUILTIN and not path.is_file():
            raise MuseforgeError(f"the built-in diffusion model {path} is missing; train it with "
                                 "'python recipes/image_diffusion.py'")
        seed = request.seed
        if is_museforge_model(path):
            path = path / "model.safetensors" if path.is_dir() else path
            image, warnings, label = self._builtin(path, request, init_image, mask_image, seed)
        else:
            image, warnings, label = self._user(path, request, init_image, mask_image, seed)
        buf = io.BytesIO()
        image.save(buf, "PNG", optimize=False)
        summary = {"width": image.width, "height": image.height, "model": label, "sampler": p.sampler}
        return Artifact("image", [OutputFile("image.png", buf.getvalue(), "image/png")], summary, warnings)

    def _builtin(self, path: Path, request: Request, init: Image.Image | None, mask: Image.Image | None,
                 seed: int) -> tuple[Image.Image, list[str], str]:
        from museforge.hashing import sha256_file
        from museforge.image.diffusion.model import load_model
        from museforge.image.diffusion.pipeline import generate

        p: DiffusionParams = request.params
        key = (str(path.resolve()), path.stat().st_mtime)
        if key not in self._cache:  # the model and its hash, once per file
            self._cache.clear()
            self._cache[key] = (load_model(path), sha256_file(path))
        model, self._sha = self._cache[key]
        out = generate(model, request.prompt, p.negative, seed=seed, steps=p.steps, sampler=p.sampler,
                       cfg=p.cfg, init=init, strength=p.strength, mask=mask, size=p.size,
                       progress=request.progress)
        return out.image, out.warnings, path.parent.name if path.name == "model.safetensors" else path.stem

    def _user(self, path: Path, request: Request, init: Image.Image | None, mask: Image.Image | None,
              seed: int) -> tuple[Image.Image, list[str], str]:
        from museforge.hashing import sha256_file
        from museforge.image.diffusion.user_models import folder_hash, load_user_model

        p: DiffusionParams = request.params
        key = (f"{path.resolve()}|{p.lora}|{p.model_config}|{request.device}",
               path.stat().st_mtime if path.exists() else 0.0)
        if key not in self._cache:
            self._cache.clear()
            model = load_user_model(path, device=request.device, config=p.model_config or None)
            for lora, weight in parse_loras(p.lora):
                model.load_lora(lora, weight)
            self._cache[key] = (model, folder_hash(path) if path.is_dir() else sha256_file(path))
        model, self._sha = self._cache[key]
        common = {"seed": seed, "steps": p.steps, "sampler": p.sampler, "cfg": p.cfg,
                  "progress": request.progress}
        if init is not None and mask is not None:
            strength = p.strength or 1.0
            image = model.inpaint(init, mask, request.prompt, p.negative, strength=strength, **common)
        elif init is not None:
            image = model.img2img(init, request.prompt, p.negative, strength=p.strength, **common)
        else:
            size = p.size or {"sd1": 512, "sd2": 768, "sdxl": 1024}.get(model.kind, 512)
            side = max(64, size // 8 * 8)  # the autoencoder works in multiples of 8
            image = model.txt2img(request.prompt, p.negative, width=side, height=side, **common)
            if side != size:
                image = image.resize((size, size), Image.Resampling.LANCZOS)
        return image, list(model.last_warnings), model.name
