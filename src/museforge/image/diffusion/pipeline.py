"""Text to image, image to image and inpainting with a museforge diffusion model, written out
step by step as diffusers' pipelines are: encode the prompt and the negative prompt, start from
seeded noise (or from the init image noised to ``strength``), and at each of the sampler's
timesteps predict the noise for both prompts, mix them by classifier-free guidance
(``uncond + cfg * (cond - uncond)``) and let the scheduler take its step. The 64 px result goes
through the learned x4 upscaler.

Inpainting works with a model never trained for it, by the blended method: after every step the
region outside the mask is put back as the init image noised to the next timestep, and at the end
the original pixels outside the mask are pasted back exactly, so only the masked region changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from PIL import Image

from museforge.errors import MuseforgeError
from museforge.image.diffusion.model import DiffusionModel
from museforge.image.diffusion.schedulers import A1111_NAMES, img2img_timesteps, make_scheduler, randn
from museforge.image.diffusion.text import MAX_TOKENS

Progress = Callable[[str, float], None]


@dataclass
class Generated:
    image: Image.Image
    warnings: list[str] = field(default_factory=list)


def _to_tensor(image: Image.Image, size: tuple[int, int]) -> torch.Tensor:
    pixels = np.asarray(image.convert("RGB").resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].div(127.5).sub(1)


def _to_image(x: torch.Tensor) -> Image.Image:
    pixels = ((x[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(pixels, "RGB")


def _mask(mask: Image.Image, size: tuple[int, int]) -> torch.Tensor:
    """1 where the image is repainted (white), 0 where it is kept; ``[1, 1, height, width]``."""
    grey = np.asarray(mask.convert("L").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    return torch.from_numpy(grey / 255.0)[None, None]


def plan_sizes(model_size: int, factor: int, size: int, init: tuple[int, int] | None
               ) -> tuple[tuple[int, int], tuple[int, int]]:
    """The output's (width, height) and the UNet's. Text to image: ``size`` square (0: the
    model's own). An edit keeps the init image's shape, and its size unless ``size`` gives the
    longer edge; the UNet paints at the model's scale (longer edge ``size`` / ``factor``, both
    edges multiples of 8) and the result is resized to the output.

    >>> plan_sizes(256, 4, 0, None), plan_sizes(256, 4, 0, (451, 300)), plan_sizes(256, 4, 512, (300, 451))
    (((256, 256), (64, 64)), ((451, 300), (64, 40)), ((341, 512), (88, 128)))
    """
    edge = size or model_size
    if init is None:
        out = (edge, edge)
    elif size:
        scale = size / max(init)
        out = (max(1, round(init[0] * scale)), max(1, round(init[1] * scale)))
    else:
        out = init
    longest = max(8, round(edge / factor / 8) * 8)
    ratio = longest / max(out)
    work = tuple(max(8, round(side * ratio / 8) * 8) for side in out)
    return out, (work[0], work[1])


def prompt_warnings(model: DiffusionModel, prompt: str, negative: str) -> list[str]:
    """Never silent: a prompt cut at 77 tokens, and words the model has not learned."""
    notes = []
    for label, text in (("prompt", prompt), ("negative prompt", negative)):
        _, cut = model.tokenizer.encode(text)
        if cut:
            notes.append(f"the {label} is {cut} token(s) longer than the {MAX_TOKENS} the model reads; "
                         "the end was cut off")
        unknown = list(dict.fromkeys(model.tokenizer.unknown(text)))
        if unknown:
            shown = ", ".join(unknown[:8]) + (" ..." if len(unknown) > 8 else "")
            notes.append(f"the model has not learned these words of the {label}: {shown}")
    return notes


@torch.no_grad()
def generate(model: DiffusionModel, prompt: str, negative: str = "", *, seed: int, steps: int = 20,
             sampler: str = "dpmpp-2m", cfg: float = 5.0, init: Image.Image | None = None,
             strength: float = 0.6, mask: Image.Image | None = None, eta: float = 0.0, size: int = 0,
             progress: Progress | None = None) -> Generated:
    """One image, ``size`` px square (0: ``model.size``; see :func:`plan_sizes`). With ``init``:
    image to image at the init image's shape and size (``strength`` 0 keeps it, 1 repaints it
    all); with ``mask`` too: only the white part is repainted, the rest keeps its pixels."""
    if mask is not None and init is None:
        raise MuseforgeError("a mask needs the image it masks")
    if init is not None and mask is not None and init.size != mask.size:
        raise MuseforgeError(f"the mask is {mask.width}x{mask.height} but the image is "
                             f"{init.width}x{init.height}; give a mask of the same size")
    factor = model.upscaler.cfg.factor if model.upscaler is not None else 1
    wanted, work = plan_sizes(model.size, factor, size, init.size if init is not None else None)
    scheduler = make_scheduler(sampler, **asdict(model.schedule))
    generator = torch.Generator("cpu").manual_seed(seed)
    ids, keep = model.tokenizer.batch([prompt, negative])
    context = model.text(ids, keep)
    shape = (1, model.unet.cfg.in_channels, work[1], work[0])
    if init is None:
        scheduler.set_timesteps(steps)
        timesteps = scheduler.timesteps
        x = randn(shape, generator, torch.float32, torch.device("cpu")) * scheduler.init_noise_sigma
        start = noise = None
    else:
        start = _to_tensor(init, work)
        share = strength if mask is None else 1.0
        if int(steps * share) == 0:  # nothing to repaint: the image comes back as it was
            scheduler.set_timesteps(steps)
            timesteps = scheduler.timesteps[:0]
        else:
            timesteps, _ = img2img_timesteps(scheduler, steps, share)
        noise = randn(shape, generator, torch.float32, torch.device("cpu"))
        x = scheduler.add_noise(start, noise, timesteps[:1]) if len(timesteps) else start
    region = _mask(mask, work) if mask is not None else None
    for i, t in enumerate(timesteps):
        pair = scheduler.scale_model_input(torch.cat([x, x]), t)
        cond, uncond = model.unet(pair, t, context, keep).chunk(2)
        guided = uncond + cfg * (cond - uncond)
        out = scheduler.step(guided, t, x, generator=generator, **({"eta": eta} if sampler == "ddim" else {}))
        x = out.prev_sample
        if region is not None and start is not None and noise is not None:
            later = timesteps[i + 1 : i + 2]
            kept = scheduler.add_noise(start, noise, later) if len(later) else start
            x = region * x + (1 - region) * kept
        if progress is not None:
            progress("painting", (i + 1) / len(timesteps))
    if model.upscaler is not None:
        x = model.upscaler(x.clamp(-1, 1))
    image = _to_image(x)
    if image.size != wanted:
        image = image.resize(wanted, Image.Resampling.LANCZOS)
    if mask is not None and init is not None:
        full = init.convert("RGB").resize(image.size, Image.Resampling.LANCZOS)
        soft = mask.convert("L").resize(image.size, Image.Resampling.BILINEAR)
        image = Image.composite(image, full, soft)
    return Generated(image, prompt_warnings(model, prompt, negative))


def a1111_parameters(prompt: str, negative: str, *, steps: int, sampler: str, cfg: float, seed: int,
                     width: int, height: int, model_hash: str, model_name: str,
                     strength: float | None = None) -> str:
    """The text AUTOMATIC1111 writes in a PNG's ``parameters`` chunk.

    >>> print(a1111_parameters("a stormy sea at night", "", steps=20, sampler="dpmpp-2m", cfg=5.0,
    ...                        seed=3, width=256, height=256, model_hash="0123456789",
    ...                        model_name="m").splitlines()[1])
    Steps: 20, Sampler: DPM++ 2M, CFG scale: 5, Seed: 3, Size: 256x256, Model hash: 0123456789, Model: m
    """
    cfg_text = str(int(cfg)) if float(cfg).is_integer() else f"{cfg:g}"
    fields = [("Steps", steps), ("Sampler", A1111_NAMES.get(sampler, sampler)), ("CFG scale", cfg_text),
              ("Seed", seed), ("Size", f"{width}x{height}"), ("Model hash", model_hash),
              ("Model", model_name)]
    if strength is not None:
        fields.append(("Denoising strength", f"{strength:g}"))
    lines = [prompt]
    if negative:
        lines.append(f"Negative prompt: {negative}")
    lines.append(", ".join(f"{k}: {v}" for k, v in fields))
    return "\n".join(lines)
