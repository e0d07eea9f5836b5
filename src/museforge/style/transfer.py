"""``stylize``: one call from file paths to a PNG with provenance, for the CLI and other callers."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from museforge.engines import OutputFile
from museforge.errors import MuseforgeError
from museforge.provenance import embed
from museforge.runtime import Progress, choose_device, library_versions, make_generator, no_progress
from museforge.style import color
from museforge.style import io as sio
from museforge.style.features import cpu_bf16_ok
from museforge.style.gatys import GatysParams

ASSETS = Path(__file__).parent / "assets"
BUILTIN_STYLES = {"starry-night": ASSETS / "starry_night.jpg", "scream": ASSETS / "scream.jpg"}
METHODS = ("gatys", "adain", "johnson", "reinhard", "histogram")
PRESERVE = ("luminance", "histogram")
MAX_SIZE = 4096


@dataclass(frozen=True)
class StyleOptions:
    method: str = "gatys"
    weights: tuple[float, ...] | None = None
    strength: float = 1.0
    preserve_color: str | None = None
    size: int = 512
    steps: int = GatysParams.steps
    optimizer: str = GatysParams.optimizer
    scales: int = GatysParams.scales
    content_weight: float = GatysParams.content_weight
    style_weight: float = GatysParams.style_weight
    tv_weight: float = GatysParams.tv_weight
    target_loss: float | None = None
    masks: tuple[str, ...] = ()
    vgg: str | None = None
    seed: int = 0
    device: str = "cpu"


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


def parse_weights(text: str | None, count: int) -> tuple[float, ...]:
    """``"0.7,0.3"`` to weights, one per style; equal weights when not given.

    >>> parse_weights("0.7,0.3", 2)
    (0.7, 0.3)
    >>> parse_weights(None, 3)
    (1.0, 1.0, 1.0)
    """
    if text is None:
        return (1.0,) * count
    try:
        weights = tuple(float(w) for w in text.split(","))
    except ValueError as err:
        raise MuseforgeError(f"--weights {text!r}: give numbers separated by commas, e.g. 0.7,0.3") from err
    if len(weights) != count:
        raise MuseforgeError(
            f"--weights has {len(weights)} value(s) for {count} style(s); give one per style"
        )
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise MuseforgeError(f"--weights {text!r}: weights must be >= 0 and not all zero")
    return weights


def check_options(opts: StyleOptions, n_styles: int) -> None:
    if opts.method not in METHODS:
        raise MuseforgeError(f"unknown method {opts.method!r}; choose one of {', '.join(METHODS)}")
    if not 16 <= opts.size <= MAX_SIZE:
        raise MuseforgeError(f"--size {opts.size}: use 16 to {MAX_SIZE} pixels")
    if opts.preserve_color not in (None, *PRESERVE):
        raise MuseforgeError(f"--preserve-color {opts.preserve_color!r}: use luminance or histogram")
    if opts.preserve_color and opts.method not in ("gatys", "adain", "johnson"):
        raise MuseforgeError(
            f"--preserve-color keeps the content's colours, which undoes --method "
            f"{opts.method}; drop one of them"
        )
    if opts.masks and opts.method != "gatys":
        raise MuseforgeError(f"--masks needs --method gatys (one style per region); not {opts.method}")
    if opts.method == "adain" and opts.vgg:
        raise MuseforgeError("--method adain uses the decoder trained on the built-in VGG-16; drop --vgg")
    if opts.method == "johnson" and opts.vgg:
        raise MuseforgeError("--method johnson runs trained fast-style networks, no VGG; drop --vgg")
    if opts.strength < 0:
        raise MuseforgeError(f"--strength {opts.strength}: must be >= 0")
    if opts.method in ("adain", "johnson") and opts.strength > 1:
        raise MuseforgeError(f"--strength {opts.strength}: --method {opts.method} takes 0 to 1")
    if opts.steps < 1:
        raise MuseforgeError(f"--steps {opts.steps}: must be at least 1")
    if opts.masks and len(opts.masks) != n_styles:
        raise MuseforgeError(f"{len(opts.masks)} mask(s) for {n_styles} style(s); give one mask per style")


def load_masks(paths: tuple[str, ...], size: tuple[int, int]) -> Tensor:
    """Gray mask images (white = this style's region), resized to (H, W), normalised to sum 1."""
    masks = []
    for p in paths:
        img = sio.open_rgb(p, "mask").convert("L").resize((size[1], size[0]))
        masks.append(sio.to_tensor(img.convert("RGB"))[0, 0])
    stacked = torch.stack(masks)
    return stacked / stacked.sum(0, keepdim=True).clamp_min(1e-6)


def _adain(
    content: Tensor,
    styles: list[Tensor],
    style_paths: list[Path],
    weights: tuple[float, ...],
    opts: StyleOptions,
) -> tuple[Tensor, str, dict[str, Any]]:
    """One feed-forward pass of the shipped AdaIN model; built-in styles use stored statistics."""
    from museforge.runtime import models_root
    from museforge.style.adain import load_adain
    from museforge.style.features import load_hed_vgg16

    path = models_root() / "style-adain" / "model.safetensors"
    model = load_adain(load_hed_vgg16(), path)
    warnings.warn(
        "the shipped AdaIN decoder is a preview: the figure in the style's colours, detail smeared; "
        "use --method gatys for quality, or 'museforge train style' for a fast style of this painting",
        stacklevel=2,
    )
    source = content
    if opts.preserve_color == "histogram":
        styles = [color.histogram_match(s, content) for s in styles]
    builtin = {v.resolve(): k for k, v in BUILTIN_STYLES.items()}
    stats = []
    for p, s in zip(style_paths, styles, strict=True):
        name = builtin.get(p.resolve())
        cached = name in model.builtin and opts.preserve_color != "histogram"
        stats.append(model.builtin[name] if cached else model.style_stats(s))  # type: ignore[index]
    result = model.stylize(source, stats, weights, opts.strength)
    if opts.preserve_color == "luminance":
        result = color.keep_colours(result, content)
    return result, _sha(path), {"model": str(model.metadata.get("name", "style-adain")), "bf16": model.fast}


def fast_models(style_names: list[str]) -> list[Path]:
    """The model file of each STYLE for ``--method johnson``, or a one-line error."""
    from museforge.style import johnson

    paths = []
    for name in style_names:
        found = johnson.find(name)
        if found is None:
            shipped = ", ".join(johnson.builtin_names()) or "none installed"
            raise MuseforgeError(
                f"{name}: not a fast style (shipped: {shipped}); give a folder or .safetensors made by "
                "'museforge train style', or use --method adain for a painting image"
            )
        paths.append(found)
    return paths


def _johnson(
    content: Tensor, model_paths: list[Path], weights: tuple[float, ...], opts: StyleOptions
) -> tuple[Tensor, dict[str, Any]]:
    """The fast-style networks, their outputs blended by weight, then with the content by strength."""
    from museforge.style import johnson

    models = [johnson.load(p) for p in model_paths]
    bf16 = cpu_bf16_ok()
    result = johnson.stylize_fast(content, models, weights, opts.strength, bf16)
    if opts.preserve_color == "luminance":
        result = color.keep_colours(result, content)
    elif opts.preserve_color == "histogram":  # the content's colour distribution on the result
        result = color.histogram_match(result, content)
    return result, {"models": [m.name for m in models], "bf16": bf16}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _label(name: str, path: Path) -> str:
    """How a style is named in the provenance: the file name, or for a fast-style model its
    folder (``style-fast-scream``)."""
    return path.parent.name if path.name == "model.safetensors" else path.name


def stylize(
    content_path: str | Path,
    style_names: list[str],
    opts: StyleOptions,
    progress: Progress = no_progress,
) -> tuple[bytes, dict[str, Any]]:
    """Stylise one image; returns PNG bytes with provenance embedded, and the summary."""
    if not style_names:
        raise MuseforgeError("give at least one style image (or a built-in: starry-night, scream)")
    check_options(opts, len(style_names))
    weights = opts.weights or (1.0,) * len(style_names)
    if len(weights) != len(style_names):
        raise MuseforgeError(
            f"--weights has {len(weights)} value(s) for {len(style_names)} style(s); give one per style"
        )
    content_path = Path(content_path)
    johnson_run = opts.method == "johnson"
    style_paths = fast_models(style_names) if johnson_run else [resolve_style(s) for s in style_names]
    content = sio.to_tensor(sio.fit(sio.open_rgb(content_path, "content"), opts.size))
    images = [] if johnson_run else style_paths  # a fast style is a model, not an image
    styles = [sio.to_tensor(sio.fit(sio.open_rgb(p, "style"), opts.size)) for p in images]
    labels = [_label(n, p) for n, p in zip(style_names, style_paths, strict=True)]
    generator = make_generator(opts.seed)
    model_sha: str | None = None
    summary: dict[str, Any]
    if opts.method == "gatys":
        from museforge.style.features import load_vgg
        from museforge.style.gatys import stylize_gatys

        device = choose_device(opts.device)
        net = load_vgg(opts.vgg).to(device)
        model_sha = net.sha256
        params = GatysParams(
            steps=opts.steps,
            optimizer=opts.optimizer,
            content_weight=opts.content_weight,
            style_weight=opts.style_weight,
            tv_weight=opts.tv_weight,
            strength=opts.strength,
            scales=opts.scales,
            target_loss=opts.target_loss,
        )
        masks = load_masks(opts.masks, tuple(content.shape[-2:])) if opts.masks else None
        source, targets = content, styles
        if opts.preserve_color == "luminance":
            source = color.luminance(content)
            targets = [color.match_luminance(s, content) for s in styles]
        elif opts.preserve_color == "histogram":
            targets = [color.histogram_match(s, content) for s in styles]
        result, summary = stylize_gatys(net, source, targets, weights, params, generator, masks, progress)
        result = result.cpu()
        if opts.preserve_color == "luminance":
            result = color.keep_colours(result, content)
        summary["vgg"] = net.source
    elif opts.method == "adain":
        result, model_sha, summary = _adain(content, styles, style_paths, weights, opts)
    elif johnson_run:
        result, summary = _johnson(content, style_paths, weights, opts)
        model_sha = ";".join(_sha(p) for p in style_paths)
    else:
        fn = color.reinhard if opts.method == "reinhard" else color.histogram_match
        total = sum(weights)
        result = sum(w / total * fn(content, s) for w, s in zip(weights, styles, strict=True))
        result = content + opts.strength * (result - content)
        summary = {}
    image = sio.to_image(result)
    params_record = {
        "sampler": opts.method if opts.method != "gatys" else f"gatys-{opts.optimizer}",
        "steps": opts.steps if opts.method == "gatys" else 1,
        "size": opts.size,
        "styles": ";".join(labels),
        "weights": ";".join(f"{w:g}" for w in weights),
        "strength": opts.strength,
        "preserve_color": opts.preserve_color or "off",
    }
    if opts.method == "gatys":
        params_record.update(
            content_weight=opts.content_weight,
            style_weight=opts.style_weight,
            tv_weight=opts.tv_weight,
            scales=opts.scales,
            masks=";".join(opts.masks) or "none",
        )
    record = {
        "prompt": f"{content_path.name} in the style of {' + '.join(labels)}",
        "lang": "en",
        "emotion": {"label": "none"},
        "engine": f"museforge-style-{opts.method}",
        "engine_version": "1",
        "model_sha256": model_sha,
        "params": params_record,
        "seed": opts.seed,
        "inputs": {"content": _sha(content_path), "styles": [_sha(p) for p in style_paths]},
        "libraries": library_versions(),
    }
    out = embed(OutputFile("styled.png", sio.png_bytes(image), "image/png"), record)[0]
    summary.update(width=image.width, height=image.height, method=opts.method)
    return out.data, {**summary, "record": record}
