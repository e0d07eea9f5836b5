"""Gatys optimisation and colour transfer on a tiny random VGG: fast, deterministic checks."""

from __future__ import annotations

import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.runtime import make_generator
from museforge.style import color
from museforge.style.features import VGG16, VGGFeatures
from museforge.style.gatys import GatysLoss, GatysParams, crop_border, style_grams, stylize_gatys

SMALL = GatysParams(
    steps=2,
    scales=2,
    style_layers=("relu1_1", "relu2_1"),
    content_layers=("relu2_2",),
    min_scale=32,
    precision="float32",
    style_crop=0.0,
)


@pytest.fixture(scope="module")
def net() -> VGGFeatures:
    torch.manual_seed(0)  # test-only: module init; library code never touches the global RNG
    return VGGFeatures(VGG16[:2], caffe=False).eval().requires_grad_(False)


def images(n: int, size: int = 32) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(7)
    return [torch.rand(1, 3, size, size, generator=gen) for _ in range(n)]


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_loss_falls_and_runs_are_identical(net, optimizer):
    content, style = images(2)
    params = GatysParams(**{**SMALL.__dict__, "optimizer": optimizer, "lr": 0.01, "scales": 1, "steps": 6})
    loss = GatysLoss(net, content, [style], [1.0], params)
    before = float(loss(content)[0])
    out1, _ = stylize_gatys(net, content, [style], [1.0], params, make_generator(0))
    out2, _ = stylize_gatys(net, content, [style], [1.0], params, make_generator(0))
    assert torch.equal(out1, out2)
    assert float(loss(out1)[0]) < before
    assert out1.min() >= 0 and out1.max() <= 1


def test_two_styles_blend_masks_and_early_stop(net):
    content, a, b = images(3, 64)
    out, summary = stylize_gatys(net, content, [a, b], [0.7, 0.3], SMALL, make_generator(1))
    assert out.shape == content.shape
    assert [s["size"] for s in summary["scales"]] == ["32x32", "64x64"]
    masks = torch.zeros(2, 64, 64)
    masks[0, :, :32], masks[1, :, 32:] = 1, 1
    out_m, _ = stylize_gatys(net, content, [a, b], [1, 1], SMALL, make_generator(1), masks=masks)
    assert not torch.equal(out, out_m)
    early = GatysParams(**{**SMALL.__dict__, "steps": 50, "target_loss": 1e9})
    _, summary = stylize_gatys(net, content, [a], [1.0], early, make_generator(1))
    assert summary["scales"][-1]["steps"] == 1
    with pytest.raises(MuseforgeError, match="one weight per style"):
        stylize_gatys(net, content, [a, b], [1.0], SMALL, make_generator(1))
    with pytest.raises(MuseforgeError, match="one mask per style"):
        stylize_gatys(net, content, [a, b], [1, 1], SMALL, make_generator(1), masks=masks[:1])


def test_strength_zero_keeps_content_closest(net):
    content, style = images(2)
    weak = GatysParams(**{**SMALL.__dict__, "strength": 0.0, "tv_weight": 0.0})
    out, _ = stylize_gatys(net, content, [style], [1.0], weak, make_generator(0))
    strong, _ = stylize_gatys(net, content, [style], [1.0], SMALL, make_generator(0))
    assert (out - content).abs().mean() < (strong - content).abs().mean()


def test_colour_transfer_helpers():
    content, style = images(2, 16)
    style = style * torch.tensor([1.0, 0.2, 0.2]).view(1, 3, 1, 1)  # a red style
    matched = color.histogram_match(content, style)
    assert torch.allclose(matched.flatten(2).sort(-1).values, style.flatten(2).sort(-1).values, atol=1e-6)
    r = color.reinhard(content, style)
    assert r[:, 0].mean() > r[:, 1].mean()
    gray = color.luminance(content)
    assert torch.equal(gray[:, 0], gray[:, 1])
    kept = color.keep_colours(gray, content)
    assert (kept - content).abs().mean() < 0.05


def test_tiled_level_and_style_border(net):
    content, style = images(2, 80)
    tiled = GatysParams(**{**SMALL.__dict__, "scales": 1, "steps": 2, "tile": 48, "min_scale": 16})
    out, summary = stylize_gatys(net, content, [style], [1.0], tiled, make_generator(0))
    assert out.shape == content.shape and summary["scales"][-1]["steps"] == 2 * 4  # 2x2 tiles
    assert out.min() >= 0 and out.max() <= 1 and not torch.equal(out, content)
    whole = style_grams(net, style, SMALL.style_layers, False, tile=1024)
    parts = style_grams(net, style, SMALL.style_layers, False, tile=40)
    for k in whole:  # tiles' Grams averaged by area approximate the whole image's
        assert float((parts[k] - whole[k]).norm() / whole[k].norm()) < 0.2
    framed = torch.zeros(1, 3, 50, 50)
    framed[..., 2:48, 2:48] = 1
    assert crop_border(framed, 0.04).min() == 1
