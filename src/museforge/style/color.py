"""Colour transfer: Reinhard statistics matching, histogram matching, luminance helpers.

All functions take and return (1, 3, H, W) RGB tensors in [0, 1]; they are instant.
"""

from __future__ import annotations

import torch
from torch import Tensor

_RGB2LMS = torch.tensor([[0.3811, 0.5783, 0.0402], [0.1967, 0.7244, 0.0782], [0.0241, 0.1288, 0.8444]])
_LMS2LAB = torch.diag(torch.tensor([3**-0.5, 6**-0.5, 2**-0.5])) @ torch.tensor(
    [[1.0, 1.0, 1.0], [1.0, 1.0, -2.0], [1.0, -1.0, 0.0]]
)
_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def _apply(matrix: Tensor, x: Tensor) -> Tensor:
    return torch.einsum("ij,bjhw->bihw", matrix.to(x), x)


def rgb_to_lab(x: Tensor) -> Tensor:
    """RGB to Ruderman's l-alpha-beta space, as in Reinhard et al. (2001)."""
    return _apply(_LMS2LAB, torch.log10(_apply(_RGB2LMS, x).clamp_min(1e-4)))


def lab_to_rgb(x: Tensor) -> Tensor:
    lms = 10 ** _apply(torch.linalg.inv(_LMS2LAB), x)
    return _apply(torch.linalg.inv(_RGB2LMS), lms).clamp(0, 1)


def reinhard(image: Tensor, reference: Tensor) -> Tensor:
    """Give ``image`` the colour mean and spread of ``reference`` (Reinhard et al. 2001).

    >>> a, b = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8) * 0.5
    >>> out = reinhard(a, b)
    >>> bool((rgb_to_lab(out).mean((2, 3)) - rgb_to_lab(b).mean((2, 3))).abs().max() < 0.05)
    True
    """
    src, ref = rgb_to_lab(image), rgb_to_lab(reference)
    mu_s, sd_s = src.mean((2, 3), keepdim=True), src.std((2, 3), keepdim=True)
    mu_r, sd_r = ref.mean((2, 3), keepdim=True), ref.std((2, 3), keepdim=True)
    return lab_to_rgb((src - mu_s) / sd_s.clamp_min(1e-6) * sd_r + mu_r)


def histogram_match(image: Tensor, reference: Tensor) -> Tensor:
    """Per-channel exact histogram matching: each pixel takes the reference value of its rank.

    >>> a = torch.arange(16.0).view(1, 1, 4, 4).expand(1, 3, 4, 4) / 15
    >>> b = torch.full((1, 3, 2, 2), 0.5)
    >>> float(histogram_match(a, b).max())
    0.5
    """
    b, c, h, w = image.shape
    src = image.reshape(b * c, h * w)
    ref = reference.reshape(b * c, -1).sort(dim=1).values
    ranks = src.argsort(dim=1).argsort(dim=1).to(torch.float32)
    pos = ranks / max(h * w - 1, 1) * (ref.shape[1] - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp_max(ref.shape[1] - 1)
    frac = pos - lo
    out = ref.gather(1, lo) * (1 - frac) + ref.gather(1, hi) * frac
    return out.reshape(b, c, h, w)


def rgb_to_yiq(x: Tensor) -> Tensor:
    return _apply(_RGB2YIQ, x)


def yiq_to_rgb(x: Tensor) -> Tensor:
    return _apply(torch.linalg.inv(_RGB2YIQ), x).clamp(0, 1)


def luminance(x: Tensor) -> Tensor:
    """The Y channel repeated on three channels: a gray RGB image."""
    return rgb_to_yiq(x)[:, :1].expand(-1, 3, -1, -1).clamp(0, 1).contiguous()


def match_luminance(style: Tensor, content: Tensor) -> Tensor:
    """Gray version of ``style`` whose luminance mean and spread match ``content``'s."""
    ys, yc = luminance(style), luminance(content)
    out = (ys - ys.mean()) / ys.std().clamp_min(1e-6) * yc.std() + yc.mean()
    return out.clamp(0, 1)


def keep_colours(result: Tensor, content: Tensor) -> Tensor:
    """The luminance of ``result`` with the chrominance (I, Q) of ``content``."""
    yiq = rgb_to_yiq(content)
    yiq[:, :1] = rgb_to_yiq(result)[:, :1]
    return yiq_to_rgb(yiq)
