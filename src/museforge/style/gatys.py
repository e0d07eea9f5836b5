"""Optimisation-based style transfer (Gatys, Ecker and Bethge 2016) on VGG features.

The image is optimised in pixel space by L-BFGS (default) or Adam, coarse to fine: each scale
starts from the upsampled result of the one below, so most iterations run on small images; the
coarsest level keeps at least ``min_scale`` (128) px on its short side, below which the figure
(a face) is lost before the fine levels can keep it. Style targets (Gram matrices) are computed
once per scale from the style image less a thin border (frames are not brushwork); several
styles are blended by weighting their Grams, or given one region each through masks. Losses are
normalised per layer (relative error), so weights mean the same for any feature network and
image size. Levels wider than ``tile`` px are optimised in overlapping tiles against the whole
image's Grams, which bounds memory (2048 px within a few GB). Coarse levels run the network in
bfloat16 on CPUs that support it; the last level runs in float32.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from museforge.errors import MuseforgeError
from museforge.runtime import Progress, no_progress
from museforge.style.features import VGGFeatures, cpu_bf16_ok

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS = ("relu2_2", "relu4_2")

LossFn = Callable[[Tensor], tuple[Tensor, dict[str, float]]]


@dataclass(frozen=True)
class GatysParams:
    steps: int = field(default=50, metadata={"help": "iterations at full size; each coarser scale runs 2x"})
    optimizer: str = field(default="lbfgs", metadata={"help": "lbfgs or adam"})
    lr: float = field(default=0.02, metadata={"help": "Adam step size in pixel units"})
    content_weight: float = field(default=1.0, metadata={"help": "weight of the content loss"})
    style_weight: float = field(default=15.0, metadata={"help": "weight of the style loss"})
    tv_weight: float = field(default=1.0, metadata={"help": "total-variation smoothing weight"})
    strength: float = field(default=1.0, metadata={"help": "multiplies the style weight"})
    scales: int = field(default=3, metadata={"help": "coarse-to-fine levels, each half the size"})
    min_scale: int = field(
        default=128, metadata={"help": "shortest side of the coarsest level: smaller loses the figure"}
    )
    style_layers: tuple[str, ...] = STYLE_LAYERS
    content_layers: tuple[str, ...] = CONTENT_LAYERS
    target_loss: float | None = field(default=None, metadata={"help": "stop once the loss is below"})
    init: str = field(default="content", metadata={"help": "content or noise"})
    style_crop: float = field(
        default=0.04, metadata={"help": "fraction cut from each border of a style image (frames, edges)"}
    )
    tile: int = field(
        default=1024, metadata={"help": "levels wider than this are optimised in overlapping tiles (memory)"}
    )
    precision: str = field(
        default="auto",
        metadata={
            "help": "float32, bfloat16, or auto: bfloat16 for the coarse levels where the CPU has it "
            "(about 1.8x faster), float32 for the last level, whose fine Gram matching bfloat16 "
            "rounding would stall"
        },
    )


def gram(f: Tensor, mask: Tensor | None = None) -> Tensor:
    """Gram matrix normalised by the number of (masked) positions and channels.

    >>> gram(torch.ones(1, 2, 3, 3)).tolist()
    [[[0.5, 0.5], [0.5, 0.5]]]
    """
    b, c, h, w = f.shape
    if mask is not None:
        f = f * mask
        n = mask.sum().clamp_min(1.0) * c
    else:
        n = torch.tensor(float(c * h * w))
    flat = f.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / n


def total_variation(x: Tensor) -> Tensor:
    """Mean squared difference between neighbouring pixels."""
    return (x[..., 1:, :] - x[..., :-1, :]).square().mean() + (x[..., :, 1:] - x[..., :, :-1]).square().mean()


def features(net: VGGFeatures, x: Tensor, layers: Sequence[str], bf16: bool) -> dict[str, Tensor]:
    """Activations in float32; the network runs in bfloat16 when ``bf16``."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        return {k: v.float() for k, v in net(x, layers).items()}


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Evenly spaced starts of tiles of ``tile`` px covering ``length`` with >= ``overlap`` overlap.

    >>> tile_starts(2048, 1024, 128), tile_starts(500, 1024, 128)
    ([0, 512, 1024], [0])
    """
    if length <= tile:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def style_grams(
    net: VGGFeatures, style: Tensor, layers: Sequence[str], bf16: bool, tile: int = 1024
) -> dict[str, Tensor]:
    """Gram matrices of a style image; a large one is read in tiles and their Grams averaged by
    area, so memory stays bounded."""
    h, w = style.shape[-2:]
    sums: dict[str, Tensor] = {}
    total: dict[str, float] = {}
    with torch.no_grad():
        for top in tile_starts(h, tile, 0) if h > tile else [0]:
            for left in tile_starts(w, tile, 0) if w > tile else [0]:
                part = style[..., top : top + tile, left : left + tile]
                for k, f in features(net, part, layers, bf16).items():
                    n = float(f.shape[-1] * f.shape[-2])
                    sums[k] = sums.get(k, 0) + gram(f) * n  # type: ignore[assignment]
                    total[k] = total.get(k, 0.0) + n
    return {k: v / total[k] for k, v in sums.items()}


class GatysLoss:
    """Content, style and TV loss against targets computed once at one scale."""

    def __init__(
        self,
        net: VGGFeatures,
        content: Tensor,
        styles: Sequence[Tensor],
        weights: Sequence[float],
        params: GatysParams,
        masks: Tensor | None = None,
        grams: list[dict[str, Tensor]] | None = None,
    ) -> None:
        self.net, self.params = net, params
        self.layers = tuple(dict.fromkeys(params.style_layers + params.content_layers))
        self.bf16 = use_bf16(params.precision, content.device)
        with torch.no_grad():
            fc = self.features(content, params.content_layers)
            self.content = {k: v for k, v in fc.items()}
            self.content_norm = {k: v.square().mean().clamp_min(1e-8) for k, v in fc.items()}
            if grams is None:
                grams = [style_grams(net, s, params.style_layers, self.bf16, params.tile) for s in styles]
        total = sum(weights)
        self.weights = [w / total for w in weights]
        self.masks: dict[str, Tensor] | None = None
        if masks is None:
            self.targets = [
                {
                    k: sum(w * g[k] for w, g in zip(self.weights, grams, strict=True))
                    for k in params.style_layers
                }
            ]
        else:
            self.targets = grams
            shapes = {k: v.shape[-2:] for k, v in fc.items()}
            with torch.no_grad():
                shapes.update({k: v.shape[-2:] for k, v in net(content, params.style_layers).items()})
            self.masks = {k: F.adaptive_avg_pool2d(masks.unsqueeze(1), tuple(shapes[k])) for k in shapes}
        self.target_norm = [
            {k: v.square().sum().clamp_min(1e-12) for k, v in t.items()} for t in self.targets
        ]

    def features(self, x: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        return features(self.net, x, layers, self.bf16)

    def __call__(self, x: Tensor) -> tuple[Tensor, dict[str, float]]:
        p = self.params
        feats = self.features(x, self.layers)
        content = sum(
            (feats[k] - self.content[k]).square().mean() / self.content_norm[k] for k in p.content_layers
        ) / len(p.content_layers)
        style = x.new_zeros(())
        for i, (target, norm) in enumerate(zip(self.targets, self.target_norm, strict=True)):
            share = self.weights[i] if self.masks is not None else 1.0
            for k in p.style_layers:
                g = gram(feats[k], None if self.masks is None else self.masks[k][i : i + 1])
                style = style + share * (g - target[k]).square().sum() / norm[k]
        style = style / len(p.style_layers)
        tv = total_variation(x)
        loss = p.content_weight * content + p.style_weight * p.strength * style + p.tv_weight * tv
        return loss, {
            "content": float(content.detach()),
            "style": float(style.detach()),
            "tv": float(tv.detach()),
        }


def optimize(
    x: Tensor,
    loss_fn: LossFn,
    optimizer: str,
    steps: int,
    lr: float = 0.02,
    target_loss: float | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[Tensor, list[float]]:
    """Optimise pixels in [0, 1]; one loss evaluation per step; stops early at ``target_loss``.
    Returns the best image evaluated (the last step may overshoot) and the loss history."""
    img = x.detach().clone().requires_grad_(True)
    if optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS(
            [img], lr=1.0, max_iter=1, history_size=20, tolerance_grad=0.0, tolerance_change=0.0
        )
    elif optimizer == "adam":
        opt = torch.optim.Adam([img], lr=lr)
    else:
        raise MuseforgeError(f"unknown optimizer {optimizer!r}; use lbfgs or adam")
    history: list[float] = []
    best = [math.inf, img.detach().clone()]

    def closure() -> Tensor:
        opt.zero_grad(set_to_none=True)
        loss, _ = loss_fn(img)
        loss.backward()
        history.append(float(loss.detach()))
        if history[-1] < best[0]:  # the best image evaluated: a step can overshoot
            best[:] = [history[-1], img.detach().clone()]
        return loss

    for step in range(steps):
        opt.step(closure)
        with torch.no_grad():  # measured: clamping every step beats clamping once at the end
            img.clamp_(0, 1)
        if progress:
            progress(step, history[-1])
        if target_loss is not None and history[-1] <= target_loss:
            break
        if not math.isfinite(history[-1]):
            raise MuseforgeError("the loss diverged; lower --lr or the style weight")
    return best[1], history  # type: ignore[return-value]


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether to run the network in bfloat16: asked for, or ``auto`` on a CPU with native BF16."""
    if precision not in ("auto", "float32", "bfloat16"):
        raise MuseforgeError(f"unknown precision {precision!r}; use auto, float32 or bfloat16")
    if precision != "auto":
        return precision == "bfloat16"
    return device.type == "cpu" and cpu_bf16_ok()


def crop_border(x: Tensor, fraction: float) -> Tensor:
    """Cut ``fraction`` of each side off an image: frames and scanned edges are not the style.

    >>> tuple(crop_border(torch.zeros(1, 3, 100, 50), 0.04).shape)
    (1, 3, 92, 46)
    """
    if fraction <= 0:
        return x
    h, w = x.shape[-2:]
    dh, dw = int(h * fraction), int(w * fraction)
    return x[..., dh : h - dh, dw : w - dw]


def scale_sizes(height: int, width: int, scales: int, floor: int = 32) -> list[tuple[int, int]]:
    """Sizes from coarse to fine, each level half the next, none smaller than ``floor``.

    >>> scale_sizes(512, 384, 3)
    [(128, 96), (256, 192), (512, 384)]
    >>> scale_sizes(100, 80, 3)
    [(50, 40), (100, 80)]
    """
    sizes = [(height, width)]
    for _ in range(scales - 1):
        h, w = sizes[0]
        if min(h, w) // 2 < floor:
            break
        sizes.insert(0, (h // 2, w // 2))
    return sizes


def resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)


def style_size(style: Tensor, area: int) -> tuple[int, int]:
    """A style image's size scaled to about ``area`` pixels, keeping its aspect ratio."""
    h, w = style.shape[-2:]
    s = math.sqrt(area / (h * w))
    return max(16, round(h * s)), max(16, round(w * s))


def stylize_gatys(
    net: VGGFeatures,
    content: Tensor,
    styles: Sequence[Tensor],
    weights: Sequence[float],
    params: GatysParams,
    generator: torch.Generator,
    masks: Tensor | None = None,
    progress: Progress = no_progress,
) -> tuple[Tensor, dict[str, object]]:
    """Paint ``content`` (1, 3, H, W in [0, 1]) with ``styles``; returns the image and a summary.

    ``masks`` (K, H, W) in [0, 1] gives style k its region; without masks the styles blend by
    ``weights``. The summary holds the final losses, steps and seconds per scale.
    """
    if len(styles) != len(weights):
        raise MuseforgeError(
            f"{len(styles)} style(s) but {len(weights)} weight(s); give one weight per style"
        )
    if masks is not None and masks.shape[0] != len(styles):
        raise MuseforgeError(f"{masks.shape[0]} mask(s) for {len(styles)} style(s); give one mask per style")
    device = next(net.parameters()).device
    content = content.to(device)
    sizes = scale_sizes(content.shape[-2], content.shape[-1], params.scales, params.min_scale)
    if params.init == "noise":
        x = torch.rand(content.shape, generator=generator).to(device)
    elif params.init == "content":
        x = content
    else:
        raise MuseforgeError(f"unknown init {params.init!r}; use content or noise")
    summary: dict[str, object] = {"scales": []}
    for level, size in enumerate(sizes):
        t0 = time.perf_counter()
        area = size[0] * size[1]
        c = resize(content, size)
        cropped = [crop_border(st.to(device), params.style_crop) for st in styles]
        s = [resize(st, style_size(st, area)) for st in cropped]
        m = (
            None
            if masks is None
            else F.interpolate(
                masks[None].float().to(device), size=size, mode="bilinear", align_corners=False
            )[0]
        )
        steps = params.steps * 2 ** (len(sizes) - 1 - level)
        final = level == len(sizes) - 1

        def report(step: int, loss: float, lvl: int = level, n: int = steps) -> None:
            progress("stylizing", (lvl + (step + 1) / n) / len(sizes))

        lp = params
        if params.precision == "auto" and final:
            lp = replace(params, precision="float32")
        if max(size) <= params.tile:
            loss_fn = GatysLoss(net, c, s, weights, lp, m)
            x, history = optimize(
                resize(x, size),
                loss_fn,
                params.optimizer,
                steps,
                params.lr,
                params.target_loss if final else None,
                report,
            )
            with torch.no_grad():
                _, parts = loss_fn(x)
        else:
            x, history, parts = _optimize_tiled(net, resize(x, size), c, s, weights, lp, m, steps, report)
        summary["scales"].append(
            {
                "size": f"{size[1]}x{size[0]}",
                "steps": len(history),  # type: ignore[union-attr]
                "loss": round(history[-1], 5),
                "seconds": round(time.perf_counter() - t0, 2),
                **({} if parts is None else {k: round(v, 5) for k, v in parts.items()}),
            }
        )
    return x, summary


def _optimize_tiled(
    net: VGGFeatures,
    x: Tensor,
    content: Tensor,
    styles: Sequence[Tensor],
    weights: Sequence[float],
    params: GatysParams,
    masks: Tensor | None,
    steps: int,
    report: Callable[[int, float], None],
) -> tuple[Tensor, list[float], dict[str, float] | None]:
    """One level in overlapping tiles, one after another, each against the whole image's style
    Grams; overlaps are cross-faded. Peak memory is that of one tile."""
    bf16 = use_bf16(params.precision, x.device)
    grams = [style_grams(net, s, params.style_layers, bf16, params.tile) for s in styles]
    overlap = params.tile // 8
    h, w = x.shape[-2:]
    tops, lefts = tile_starts(h, params.tile, overlap), tile_starts(w, params.tile, overlap)
    x = x.clone()
    history: list[float] = []
    count = len(tops) * len(lefts)
    for i, top in enumerate(tops):
        for j, left in enumerate(lefts):
            box = (..., slice(top, top + params.tile), slice(left, left + params.tile))
            m = None if masks is None else masks[:, box[1], box[2]]
            loss_fn = GatysLoss(net, content[box], [], weights, params, m, grams=grams)
            k = i * len(lefts) + j

            def tile_report(step: int, loss: float, k: int = k) -> None:
                report(round((k + (step + 1) / steps) / count * steps) - 1, loss)

            out, hist = optimize(x[box], loss_fn, params.optimizer, steps, params.lr, None, tile_report)
            history.extend(hist)
            ramp = _feather(out.shape[-2:], overlap, top > 0, left > 0, x.device)
            x[box] = x[box] * (1 - ramp) + out * ramp
    return x, history, None


def _feather(
    shape: torch.Size, overlap: int, fade_top: bool, fade_left: bool, device: torch.device
) -> Tensor:
    """Weights rising from 0 to 1 across the overlap on the sides already painted by a tile."""
    th, tw = shape
    ry = torch.ones(th, device=device)
    rx = torch.ones(tw, device=device)
    if fade_top:
        ry[:overlap] = torch.linspace(0, 1, overlap, device=device)
    if fade_left:
        rx[:overlap] = torch.linspace(0, 1, overlap, device=device)
    return (ry[:, None] * rx[None, :]).view(1, 1, th, tw)
