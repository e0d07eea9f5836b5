"""The conditional UNet: same names and outputs as diffusers' UNet2DConditionModel, shapes, gradients."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.image.diffusion.unet import UNet, UNetConfig, to_diffusers_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

ATOL = 1e-5
CONFIGS = {
    "two-levels": UNetConfig(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        attention=(False, True),
        layers_per_block=1,
        cross_attention_dim=24,
        attention_head_dim=16,
        norm_num_groups=8,
    ),
    "three-levels": UNetConfig(
        sample_size=16,
        in_channels=3,
        out_channels=3,
        block_out_channels=(16, 32, 48),
        attention=(True, False, True),
        layers_per_block=2,
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=8,
        transformer_layers_per_block=2,
    ),
    "all-attention": UNetConfig(
        sample_size=8,
        in_channels=3,
        out_channels=6,
        block_out_channels=(32, 32),
        attention=(True, True),
        layers_per_block=1,
        cross_attention_dim=16,
        attention_head_dim=32,
        norm_num_groups=16,
    ),
}
SIZES = {"two-levels": (12, 20), "three-levels": (18, 26), "all-attention": (10, 6)}
"""Non-square everywhere; 18x26 halves to odd sizes, so upsampling must target the skips' sizes."""


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: threads only add overhead (much of it on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(cfg: UNetConfig, seed: int = 0) -> UNet:
    torch.manual_seed(seed)
    return UNet(cfg).eval()


def inputs(cfg: UNetConfig, size: tuple[int, int], batch: int = 3, tokens: int = 7):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(batch, cfg.in_channels, *size, generator=gen)
    ctx = torch.randn(batch, tokens, cfg.cross_attention_dim, generator=gen)
    mask = torch.ones(batch, tokens, dtype=torch.bool)
    mask[0, 3:] = False  # a short prompt
    mask[-1, :] = False  # all padding: diffusers' -10000 bias makes that uniform attention, not NaN
    return x, ctx, mask


@pytest.fixture(scope="module")
def diffusers_unet():
    diffusers = pytest.importorskip("diffusers")

    def build(ours: UNet):
        ref = diffusers.UNet2DConditionModel(**to_diffusers_config(ours.cfg)).eval()
        ref.load_state_dict(ours.state_dict(), strict=True)
        return ref

    return build


@pytest.mark.parametrize("name", CONFIGS)
def test_matches_diffusers(name, diffusers_unet):
    cfg = CONFIGS[name]
    ours = make(cfg)
    ref = diffusers_unet(ours)
    x, ctx, mask = inputs(cfg, SIZES[name])
    batch_t = (torch.tensor([3, 500, 998]), torch.tensor([0.5, 10.0, 900.25]))
    timesteps = [0, 999, 17.5, torch.tensor(250), *batch_t]
    with torch.no_grad():
        for t in timesteps:
            for m in (None, mask, mask.long()):
                got = ours(x, t, ctx, m)
                want = ref(x, t, ctx, encoder_attention_mask=m).sample
                assert got.shape == want.shape == (x.shape[0], cfg.out_channels, *x.shape[2:])
                torch.testing.assert_close(got, want, atol=ATOL, rtol=0, msg=f"{name}, t={t}")


def test_training_matches_diffusers(diffusers_unet):
    """With gradients on (no in-place shortcuts), outputs and every gradient agree too."""
    ours = make(CONFIGS["two-levels"]).train()
    ref = diffusers_unet(ours).train()
    x, ctx, mask = inputs(ours.cfg, (8, 12), batch=2)
    t = torch.tensor([5, 700])
    got, want = ours(x, t, ctx, mask), ref(x, t, ctx, encoder_attention_mask=mask).sample
    torch.testing.assert_close(got, want, atol=ATOL, rtol=0)
    got.square().mean().backward()
    want.square().mean().backward()
    theirs = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, theirs[name].grad, atol=1e-6, rtol=1e-5, msg=name)


def test_state_dict_names_are_diffusers(diffusers_unet):
    ours = make(CONFIGS["three-levels"])
    ref = diffusers_unet(ours)
    assert sorted(ours.state_dict()) == sorted(ref.state_dict())
    assert ours.num_parameters() == sum(p.numel() for p in ref.parameters())


def test_diffusers_is_not_imported():
    code = "import sys, museforge.image.diffusion.unet as u; u.UNet(); print('diffusers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_mask_drops_padding_tokens():
    cfg = CONFIGS["two-levels"]
    unet = make(cfg)
    x, ctx, _ = inputs(cfg, (16, 16), batch=1)
    mask = torch.tensor([[True, True, True, False, False, False, False]])
    with torch.no_grad():
        masked = unet(x, 10, ctx, mask)
        short = unet(x, 10, ctx[:, :3])
        unmasked = unet(x, 10, ctx)
    torch.testing.assert_close(masked, short, atol=ATOL, rtol=0)
    assert (masked - unmasked).abs().max() > 1e-3


def test_default_shapes_and_timestep_forms():
    cfg = UNetConfig()
    unet = make(cfg)
    x = torch.randn(2, cfg.in_channels, cfg.sample_size, cfg.sample_size)
    ctx = torch.randn(2, 5, cfg.cross_attention_dim)
    with torch.no_grad():
        outs = [unet(x, t, ctx) for t in (42, 42.0, torch.tensor(42), torch.tensor([42, 42]))]
    assert outs[0].shape == x.shape
    for out in outs[1:]:
        assert torch.equal(out, outs[0])


def test_gradients_flow_and_checkpointing_agrees():
    cfg = CONFIGS["three-levels"]
    x, ctx, mask = inputs(cfg, (16, 16), batch=2)
    ctx.requires_grad_(True)
    grads = []
    for checkpointing in (False, True):
        unet = make(cfg).train()
        unet.gradient_checkpointing = checkpointing
        loss = unet(x, torch.tensor([5, 700]), ctx, mask).square().mean()
        loss.backward()
        missing = [n for n, p in unet.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
        assert not missing
        grads.append(({n: p.grad.clone() for n, p in unet.named_parameters()}, ctx.grad.clone()))
        ctx.grad = None
    (plain, ctx_plain), (ckpt, ctx_ckpt) = grads
    for n in plain:
        torch.testing.assert_close(ckpt[n], plain[n], atol=1e-6, rtol=1e-5, msg=n)
    torch.testing.assert_close(ctx_ckpt, ctx_plain, atol=1e-6, rtol=1e-5)


def test_config_round_trips_through_json():
    cfg = CONFIGS["three-levels"]
    again = UNetConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and isinstance(again.block_out_channels, tuple)
    assert UNetConfig.from_dict({}) == UNetConfig()


@pytest.mark.parametrize(
    "bad",
    [
        {"block_out_channels": (64, 128), "attention": (False, True, True)},
        {"block_out_channels": (64, 100, 192)},  # not a multiple of 32 groups
        {"attention_head_dim": 40},  # 128 channels do not split into 40-channel heads
        {"layers_per_block": 0},
        {"heads": 4},  # unknown key
    ],
)
def test_bad_configs_are_refused(bad):
    with pytest.raises(MuseforgeError):
        UNetConfig.from_dict(bad)


def test_diffusers_config_heads_per_level():
    d = to_diffusers_config(UNetConfig())
    assert d["attention_head_dim"] == (1, 2, 4, 6)  # diffusers' name for heads per level; 32 channels each
    assert d["down_block_types"] == (
        "DownBlock2D",
        "DownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
    )
    assert d["up_block_types"] == ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D")
