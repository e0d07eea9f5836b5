"""Optimisation-based style transfer (Gatys, Ecker and Bethge 2016) on VGG features.

The image is optimised in pixel space by L-BFGS (default) or Adam, coarse to fine: each scale
starts from the upsampled result of the one below, so most iterations run on small images.
Style targets (Gram matrices) are computed once per scale; several styles are blended by
weighting their Grams, or given one region each through masks. Losses are normalised per layer
(relative error), so weights mean the same for any feature network and image size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from museforge.errors import MuseforgeError
from museforge.runtime import Progress, no_progress
from museforge.style.features import VGGFeatures

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS = ("relu4_2",)

LossFn = Callable[[Tensor], tuple[Tensor, dict[str, float]]]


@dataclass(frozen=True)
class GatysParams:
    steps: int = field(default=50, metadata={"help": "iterations at full size; each coarser scale runs 2x"})
    optimizer: str = field(default="lbfgs", metadata={"help": "lbfgs or adam"})
    lr: float = field(default=0.02, metadata={"help": "Adam step size in pixel units"})
    content_weight: float = field(default=1.0, metadata={"help": "weight of the content loss"})
    style_weight: float = field(default=50.0, metadata={"help": "weight of the style loss"})
    tv_weight: float = field(default=1.0, metadata={"help": "total-variation smoothing weight"})
    strength: float = field(default=1.0, metadata={"help": "multiplies the style weight"})
    scales: int = field(default=3, metadata={"help": "coarse-to-fine levels, each half the size"})
    style_layers: tuple[str, ...] = STYLE_LAYERS
    content_layers: tuple[str, ...] = CONTENT_LAYERS
    target_loss: float | None = field(default=None, metadata={"help": "stop once the loss is below"})
    init: str = field(default="content", metadata={"help": "content or noise"})


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
    ) -> None:
        self.net, self.params = net, params
        self.layers = tuple(dict.fromkeys(params.style_layers + params.content_layers))
        with torch.no_grad():
            fc = net(content, params.content_layers)
            self.content = {k: v for k, v in fc.items()}
            self.content_norm = {k: v.square().mean().clamp_min(1e-8) for k, v in fc.items()}
            grams = [{k: gram(v) for k, v in net(s, params.style_layers).items()} for s in styles]
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

    def __call__(self, x: Tensor) -> tuple[Tensor, dict[str, float]]:
        p = self.params
        feats = self.net(x, self.layers)
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
    """Optimise pixels in [0, 1]; one loss evaluation per step; stops early at ``target_loss``."""
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

    def closure() -> Tensor:
        opt.zero_grad(set_to_none=True)
        loss, _ = loss_fn(img)
        loss.backward()
        history.append(float(loss.detach()))
        return loss

    for step in range(steps):
        opt.step(closure)
        with torch.no_grad():
            img.clamp_(0, 1)
        if progress:
            progress(step, history[-1])
        if target_loss is not None and history[-1] <= target_loss:
            break
        if not math.isfinite(history[-1]):
            raise MuseforgeError("the loss diverged; lower --lr or the style weight")
    return img.detach(), history


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
    sizes = scale_sizes(content.shape[-2], content.shape[-1], params.scales)
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
        s = [resize(st.to(device), style_size(st, area)) for st in styles]
        m = (
            None
            if masks is None
            else F.interpolate(
                masks[None].float().to(device), size=size, mode="bilinear", align_corners=False
            )[0]
        )
        loss_fn = GatysLoss(net, c, s, weights, params, m)
        steps = params.steps * 2 ** (len(sizes) - 1 - level)
        final = level == len(sizes) - 1

        def report(step: int, loss: float, lvl: int = level, n: int = steps) -> None:
            progress("stylizing", (lvl + (step + 1) / n) / len(sizes))

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
        summary["scales"].append(
            {
                "size": f"{size[1]}x{size[0]}",
                "steps": len(history),  # type: ignore[union-attr]
                "loss": round(history[-1], 5),
                "seconds": round(time.perf_counter() - t0, 2),
                **{k: round(v, 5) for k, v in parts.items()},
            }
        )
    return x, summary
