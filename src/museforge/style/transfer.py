"""Style transfer on tensors, one function per method, and the names the command line accepts.

The engines in :mod:`museforge.style.engines` read the input files, call these, and return PNGs;
the job layer records and seals them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor

from museforge.errors import MuseforgeError
from museforge.runtime import Progress, choose_device, no_progress
from museforge.style import color
from museforge.style.features import cpu_bf16_ok
from museforge.style.gatys import GatysParams

ASSETS = Path(__file__).parent / "assets"
BUILTIN_STYLES = {"starry-night": ASSETS / "starry_night.jpg", "scream": ASSETS / "scream.jpg"}
METHODS = ("gatys", "adain", "johnson", "reinhard", "histogram")
PRESERVE = ("luminance", "histogram")
MAX_SIZE = 4096


def resolve_style(name: str) -> Path:
    """A style file path, or a built-in style by name: the paintings (``starry-night``,
    ``scream``), or a shipped fast style's ``style.png`` (the procedural ones)."""
    from museforge.style import johnson

    path = Path(name)
    if path.exists() or "/" in name:
        return path
    if name in BUILTIN_STYLES:
        return BUILTIN_STYLES[name]
    image = johnson.builtin_path(name).parent / "style.png"
    return image if image.is_file() else path


def builtin_style_image(name: str) -> Path | None:
    """The built-in style image a name or a recorded file name refers to, or None."""
    if name in BUILTIN_STYLES:
        return BUILTIN_STYLES[name]
    for path in BUILTIN_STYLES.values():
        if path.name == name:
            return path
    from museforge.style import johnson

    stem = name.removeprefix(johnson.PREFIX).removesuffix(".png")
    image = johnson.builtin_path(stem).parent / "style.png"
    return image if "/" not in name and image.is_file() else None


def builtin_key(name: str) -> str | None:
    """``starry-night`` for ``starry_night.jpg`` (a built-in's recorded file name)."""
    return next((k for k, p in BUILTIN_STYLES.items() if p.name == name or k == name), None)


def fast_method(style_names: list[str]) -> str:
    """What ``--fast`` runs: ``johnson`` when every STYLE is a fast style (a shipped name, or a
    trained model file or folder), else ``adain`` (one pass for any painting)."""
    from museforge.style import johnson

    found = [johnson.find(s) for s in style_names]
    if style_names and all(found):
        return "johnson"
    models = [s for s, f in zip(style_names, found, strict=True) if f and Path(s).exists()]
    if models:
        raise MuseforgeError(
            f"{models[0]} is a fast-style model, but not every STYLE is one; --fast runs either fast "
            "styles only, or AdaIN on painting images"
        )
    return "adain"


MAX_WEIGHT = 1e6
"""The largest style weight (weights are relative: 0.7,0.3 is 7,3)."""


def parse_weights(text: str | None, count: int) -> tuple[float, ...]:
    """``"0.7,0.3"`` (or ``"0.7;0.3"``) to weights, one per style; equal weights when empty.

    >>> parse_weights("0.7,0.3", 2)
    (0.7, 0.3)
    >>> parse_weights(None, 3)
    (1.0, 1.0, 1.0)
    """
    if not text:
        return (1.0,) * count
    try:
        weights = tuple(float(w) for w in text.replace(";", ",").split(","))
    except ValueError as err:
        raise MuseforgeError(
            f"weights {text[:60]!r}: give numbers separated by commas, e.g. 0.7,0.3"
        ) from err
    if len(weights) != count:
        raise MuseforgeError(f"weights has {len(weights)} value(s) for {count} style(s); give one per style")
    if not all(0 <= w <= MAX_WEIGHT for w in weights) or sum(weights) <= 0:  # also refuses nan
        raise MuseforgeError(
            f"weights {text[:60]!r}: each must be a number from 0 to {MAX_WEIGHT:g}, not all zero"
        )
    return weights


def canonical_weights(text: str) -> str:
    """Weights as recorded: ``0.7;0.3`` (semicolons, so A1111 readers need no quotes).

    >>> canonical_weights("0.70, 0.3")
    '0.7;0.3'
    """
    if not text.strip():
        return ""
    count = len(text.replace(";", ",").split(","))
    return ";".join(f"{w:g}" for w in parse_weights(text, count))


def load_masks(masks: Sequence[Image.Image], size: tuple[int, int]) -> Tensor:
    """Gray mask images (white = this style's region), resized to (H, W), normalised to sum 1
    at every pixel."""
    from museforge.style import io as sio

    resized = [sio.to_tensor(m.convert("L").resize((size[1], size[0])).convert("RGB"))[0, 0] for m in masks]
    stacked = torch.stack(resized)
    return stacked / stacked.sum(0, keepdim=True).clamp_min(1e-6)


def gatys(
    content: Tensor,
    styles: list[Tensor],
    weights: tuple[float, ...],
    params: GatysParams,
    preserve: str | None,
    generator: torch.Generator,
    masks: list[Image.Image] | None = None,
    vgg: str | None = None,
    device: str = "cpu",
    progress: Progress = no_progress,
) -> tuple[Tensor, dict[str, Any], str]:
    """Gatys optimisation; returns the image, a summary and the feature network's SHA-256."""
    from museforge.style.features import load_vgg
    from museforge.style.gatys import stylize_gatys

    net = load_vgg(vgg).to(choose_device(device))
    mask = load_masks(masks, tuple(content.shape[-2:])) if masks else None
    source, targets = content, styles
    if preserve == "luminance":
        source = color.luminance(content)
        targets = [color.match_luminance(s, content) for s in styles]
    elif preserve == "histogram":
        targets = [color.histogram_match(s, content) for s in styles]
    result, summary = stylize_gatys(net, source, targets, weights, params, generator, mask, progress)
    result = result.cpu()
    if preserve == "luminance":
        result = color.keep_colours(result, content)
    summary["vgg"] = net.source
    return result, summary, net.sha256


def adain(
    content: Tensor,
    styles: list[Tensor],
    builtin_names: list[str | None],
    weights: tuple[float, ...],
    strength: float,
    preserve: str | None,
) -> tuple[Tensor, dict[str, Any], str]:
    """One feed-forward pass of the shipped AdaIN model; built-in styles use stored statistics.
    Returns the image, a summary and the model's SHA-256."""
    from museforge.hashing import sha256_file
    from museforge.style.adain import load_adain, shipped_path

    path = shipped_path()
    model = load_adain(None, path)  # the VGG-16 only for a decoder that needs it
    warnings.warn(
        "the shipped AdaIN decoder is a preview: smooth pictures in the style's colours, small subjects "
        "lost under busy paintings; "
        "use --method gatys for quality, or 'museforge train style' for a fast style of this painting",
        stacklevel=2,
    )
    if preserve == "histogram":
        styles = [color.histogram_match(s, content) for s in styles]
    stats = []
    for name, s in zip(builtin_names, styles, strict=True):
        cached = name in model.builtin and preserve != "histogram"
        stats.append(model.builtin[name] if cached else model.style_stats(s))  # type: ignore[index]
    result = model.stylize(content, stats, weights, strength)
    if preserve == "luminance":
        result = color.keep_colours(result, content)
    summary = {"model": str(model.metadata.get("name", "style-adain")), "bf16": model.fast}
    return result, summary, sha256_file(path)


def fast(
    content: Tensor, models: list[Any], weights: tuple[float, ...], strength: float, preserve: str | None
) -> tuple[Tensor, dict[str, Any]]:
    """The fast-style networks, their outputs blended by weight, then with the content by strength."""
    from museforge.style import johnson

    bf16 = cpu_bf16_ok()
    result = johnson.stylize_fast(content, models, weights, strength, bf16)
    if preserve == "luminance":
        result = color.keep_colours(result, content)
    elif preserve == "histogram":  # the content's colour distribution on the result
        result = color.histogram_match(result, content)
    return result, {"models": [m.name for m in models], "bf16": bf16}


def colour(
    method: str, content: Tensor, styles: list[Tensor], weights: tuple[float, ...], strength: float
) -> Tensor:
    """Colour transfer only (``reinhard`` or ``histogram``), blended by weight and strength."""
    fn = color.reinhard if method == "reinhard" else color.histogram_match
    total = sum(weights)
    result = sum(w / total * fn(content, s) for w, s in zip(weights, styles, strict=True))
    return content + strength * (result - content)  # type: ignore[operator]
