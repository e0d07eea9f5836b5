"""The GAN's optional novelty term: its value on hand-made cases, the direction of its gradient, a
training run with it on, and training with it off exactly as before."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from museforge.image import gan
from museforge.image.diffusion.data import ImageSet
from museforge.image.gan import (
    GANConfig,
    GANTrainConfig,
    Generator,
    generator_loss,
    nearest_cosine,
    novelty_bank,
    novelty_features,
    novelty_loss,
    train_gan,
)


def _images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def _data(n: int = 6) -> ImageSet:
    return ImageSet(_images(n), ["a red sea"] * n, [{}] * n, [f"{i}.png" for i in range(n)], "0" * 64)


def _cfg(**novelty) -> GANTrainConfig:
    return GANTrainConfig(gan=GANConfig(size=32, z_dim=8, width=8, text_dim=16), batch=4, steps=2, r1_every=2,
                          **novelty)


def _train(cfg: GANTrainConfig, log=lambda s: None) -> tuple[dict, list]:
    losses: list = []
    result = train_gan(_data(), cfg, log=log, progress=lambda *a: losses.append(a))
    return result, losses


@pytest.fixture(scope="module")
def off_run() -> tuple[dict, list]:
    """Two steps of the default training (no novelty term), its result and its losses."""
    return _train(_cfg())


def test_a_copy_costs_weight_times_one_minus_margin_and_an_orthogonal_fake_nothing():
    bank = torch.eye(4)[:3]
    copy, orthogonal = bank[1:2], torch.eye(4)[3:]
    assert math.isclose(float(novelty_loss(copy, bank, 2.0, 0.7)), 2.0 * (1 - 0.7), rel_tol=1e-6)
    assert float(novelty_loss(orthogonal, bank, 2.0, 0.7)) == 0.0
    # the mean over fakes: one copy and one orthogonal fake cost half a copy
    both = torch.cat([copy, orthogonal])
    assert math.isclose(float(novelty_loss(both, bank, 2.0, 0.7)), 0.3, rel_tol=1e-6)
    # on images: a training image, or the same with other brightness and contrast, is a copy
    images = _images(5, 64)
    bank = novelty_bank(images)
    assert bank.shape == (5, 3 * 16 * 16)
    assert torch.allclose(bank.norm(dim=1), torch.ones(5))
    x = _tensor(images[2:3])
    for fake in (x, 0.5 * x - 0.1):
        f = novelty_features(fake)
        assert math.isclose(float(novelty_loss(f, bank, 1.5, 0.8)), 1.5 * 0.2, rel_tol=1e-4)
        assert math.isclose(float(nearest_cosine(f, bank)[0]), 1.0, rel_tol=1e-5)


def test_the_gradient_moves_a_near_copy_away_and_leaves_a_distant_fake_alone():
    images = _images(4, 64)
    bank = novelty_bank(images)
    near = (_tensor(images[:1]) + 0.1 * torch.randn(1, 3, 64, 64)).requires_grad_(True)
    before = novelty_loss(novelty_features(near), bank, 1.0, 0.5)
    (grad,) = torch.autograd.grad(before, near)
    after = novelty_loss(novelty_features(near.detach() - 20.0 * grad), bank, 1.0, 0.5)
    assert float(before.detach()) > 0.3 and float(after) < float(before.detach())
    far = torch.zeros(1, 3, 64, 64)
    far[:, :, :, :32] = 1.0  # left half bright: a layout no random image correlates with above 0.5
    far.requires_grad_(True)
    features = novelty_features(far)
    assert float(nearest_cosine(features.detach(), bank)[0]) < 0.5
    (grad,) = torch.autograd.grad(novelty_loss(features, bank, 1.0, 0.5), far)
    assert float(grad.abs().max()) == 0.0


def test_one_generator_step_on_the_term_lowers_it():
    torch.manual_seed(0)
    g = Generator(GANConfig(size=32, z_dim=8, width=8, text_dim=16))
    z, text = torch.randn(8, 8), torch.randn(8, 16)
    with torch.no_grad():  # the "training set": the generator's own images, a little changed (near
        # copies: at an exact copy the cosine is at its maximum and its gradient is zero)
        bank = novelty_features(g(z, text) + 0.1 * torch.randn(8, 3, 32, 32))
    opt = torch.optim.SGD(g.parameters(), lr=0.5)
    before = novelty_loss(novelty_features(g(z, text)), bank, 1.0, 0.5)
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = novelty_loss(novelty_features(g(z, text)), bank, 1.0, 0.5)
    assert float(before.detach()) > 0.3 and float(after) < float(before.detach())


def test_training_with_the_term_runs_and_reports_it(off_run):
    lines: list[str] = []
    result, _ = _train(_cfg(novelty_weight=1.0, novelty_margin=-1.0), log=lines.append)
    assert result["steps"] == 2
    stats = result["novelty"]
    assert stats["weight"] == 1.0 and stats["margin"] == -1.0 and stats["above_margin"] == 1.0
    assert -1.0 <= stats["nearest_cosine"] <= 1.0
    assert any("novelty: nearest cosine" in line for line in lines)
    pairs = zip(result["generator"].state_dict().values(), off_run[0]["generator"].state_dict().values(),
                strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)


def test_with_weight_zero_training_is_exactly_the_old_one(off_run, monkeypatch):
    logits = torch.tensor([0.3, -1.2, 2.0])
    features = novelty_features(torch.rand(3, 3, 32, 32))
    off = novelty_loss(features, features, 0.0, 0.5)
    assert torch.equal(generator_loss(logits) + off, generator_loss(logits))

    reference, reference_losses = off_run

    def no_bank(*args, **kwargs):
        raise AssertionError("the novelty bank is built only when the term is on")

    monkeypatch.setattr(gan, "novelty_bank", no_bank)
    result, losses = _train(_cfg(novelty_weight=0.0, novelty_margin=0.1))
    assert losses == reference_losses and "novelty" not in result and set(result) == set(reference)
    for name in ("generator", "text"):
        pairs = zip(reference[name].state_dict().values(), result[name].state_dict().values(), strict=True)
        assert all(torch.equal(a, b) for a, b in pairs)
    with pytest.raises(AssertionError, match="only when the term is on"):
        train_gan(_data(), _cfg(novelty_weight=0.5), log=lambda s: None)
