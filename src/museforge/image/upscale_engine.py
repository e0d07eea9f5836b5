"""The upscale engine: x2 or x4 by the learned upscaler that ships inside a museforge image model
(the built-in diffusion model's by default), on an image of any size, in tiles.

The upscaler is convolutional with a receptive field of 15 px, so tiles that overlap by
``MARGIN`` px and are cropped back give the same pixels as one pass over the whole image, in
bounded memory. x2 is the x4 result reduced by 2 with Lanczos. For a Stable Diffusion checkpoint
the usual next step ("SD upscale", "hires fix") is an edit of the result at low strength:
``museforge edit BIG.png PROMPT --strength 0.3 --model CHECKPOINT``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image

from museforge.engines import Artifact, Engine, InputSpec, OutputFile, Request, param
from museforge.errors import MuseforgeError

TILE = 128
MARGIN = 16
MAX_OUTPUT_EDGE = 8192


@dataclass(frozen=True)
class UpscaleParams:
    factor: int = param(4, "how many times wider and taller: 2 or 4", range=(2, 4))
    model: str = param("image-diffusion", "the model whose upscaler is used: the built-in diffusion model, "
                       "or a museforge diffusion or GAN model file or folder")


@torch.no_grad()
def upscale(upscaler: torch.nn.Module, image: Image.Image, *, tile: int = TILE, margin: int = MARGIN,
            progress: Any = None) -> Image.Image:
    """``image`` made ``upscaler.cfg.factor`` times larger, tile by tile."""
    f = upscaler.cfg.factor
    pixels = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32)).permute(2, 0, 1)
    x = pixels[None].div(127.5).sub(1)
    _, _, h, w = x.shape
    out = torch.empty(1, 3, h * f, w * f)
    boxes = [(top, left) for top in range(0, h, tile) for left in range(0, w, tile)]
    for n, (top, left) in enumerate(boxes):
        y0, x0 = max(0, top - margin), max(0, left - margin)
        y1, x1 = min(h, top + tile + margin), min(w, left + tile + margin)
        piece = upscaler(x[:, :, y0:y1, x0:x1])
        oy, ox = (top - y0) * f, (left - x0) * f
        th, tw = min(tile, h - top) * f, min(tile, w - left) * f
        out[:, :, top * f : top * f + th, left * f : left * f + tw] = piece[:, :, oy : oy + th, ox : ox + tw]
        if progress is not None:
            progress("upscaling", (n + 1) / len(boxes))
    data = ((out[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(data, "RGB")


def load_upscaler(model: str) -> tuple[torch.nn.Module, Path]:
    """The upscaler inside a museforge model file, and the file."""
    from museforge.checkpoints import read_metadata
    from museforge.image.diffusion.engine import builtin_path

    path = builtin_path() if model == "image-diffusion" else Path(model).expanduser()
    path = path / "model.safetensors" if path.is_dir() else path
    if not path.is_file():
        raise MuseforgeError(f"the model {path} is missing")
    try:
        kind = read_metadata(path).get("kind")
    except (OSError, ValueError) as err:
        raise MuseforgeError(f"{path}: not a museforge model ({err})") from None
    if kind == "museforge-gan":
        from museforge.image.gan_model import load_gan

        upscaler = load_gan(path).upscaler
    elif kind == "museforge-diffusion":
        from museforge.image.diffusion.model import load_model

        upscaler = load_model(path).upscaler
    else:
        raise MuseforgeError(f"{path} is a {kind or 'foreign'} file; give a museforge diffusion or GAN model")
    if upscaler is None:
        raise MuseforgeError(f"{path} holds no upscaler")
    return upscaler, path


class Upscale(Engine):
    name = "upscale"
    modality = "image"
    version = "1"
    description = "make an image 2 or 4 times larger with the learned upscaler"
    Params = UpscaleParams
    priority = -10
    uses_mood = False
    inputs: ClassVar[tuple[InputSpec, ...]] = (InputSpec("image", "image", "the image to enlarge"),)
    _cache: ClassVar[dict[tuple[str, float], Any]] = {}

    def __init__(self) -> None:
        self._sha: str | None = None

    def model_sha256(self, params: Any) -> str | None:
        return self._sha

    @classmethod
    def check(cls, params: Any) -> None:
        if params.factor not in (2, 4):
            raise MuseforgeError(f"factor: {params.factor} is neither 2 nor 4")

    @classmethod
    def check_inputs(cls, params: Any, inputs: Any) -> None:
        from museforge.style import io as sio

        file = inputs["image"][0]
        image = sio.check_image(file.name, "image", file.data)
        if max(image.size) * params.factor > MAX_OUTPUT_EDGE:
            raise MuseforgeError(f"{image.width}x{image.height} x{params.factor} would exceed "
                                 f"{MAX_OUTPUT_EDGE} px; give a smaller image or factor 2")

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        from museforge.hashing import sha256_file
        from museforge.style import io as sio

        p: UpscaleParams = request.params
        file = request.input("image")
        assert file is not None
        image = sio.open_rgb(file.name, "image", file.data)
        key = (p.model, 0.0)
        if key not in self._cache:
            self._cache.clear()
            upscaler, path = load_upscaler(p.model)
            self._cache[key] = (upscaler, sha256_file(path))
        upscaler, self._sha = self._cache[key]
        big = upscale(upscaler, image, progress=request.progress)
        if p.factor != upscaler.cfg.factor:
            big = big.resize((image.width * p.factor, image.height * p.factor), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        big.save(buf, "PNG", optimize=False)
        summary = {"width": big.width, "height": big.height, "factor": p.factor}
        return Artifact("image", [OutputFile("image.png", buf.getvalue(), "image/png")], summary)
