"""The conditional GAN: its losses against the formulas, why the generator's is non-saturating,
the shapes of its networks, and a few training steps on a tiny set."""

from __future__ import annotations

import math

import numpy as np
import torch

from museforge.image.diffusion.data import ImageSet
from museforge.image.gan import (
    Discriminator,
    GANConfig,
    GANTrainConfig,
    Generator,
    discriminator_loss,
    generator_loss,
    r1_penalty,
    sample,
    train_gan,
)


def test_the_losses_are_the_minimax_value_in_logits():
    real, fake = torch.tensor([1.5, -0.3]), torch.tensor([0.2, -2.0])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    want_d = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    assert math.isclose(float(discriminator_loss(real, fake)), float(want_d), rel_tol=1e-6)
    assert math.isclose(float(generator_loss(fake)), float(-torch.log(d_fake).mean()), rel_tol=1e-6)


def test_the_generator_loss_does_not_saturate_where_the_minimax_one_does():
    logit = torch.tensor([-8.0], requires_grad=True)  # D rejects the fake with confidence
    (ours,) = torch.autograd.grad(generator_loss(logit), logit)
    (minimax,) = torch.autograd.grad(torch.log(1 - torch.sigmoid(logit)).mean(), logit)
    assert abs(float(ours)) > 0.99 and abs(float(minimax)) < 1e-3


def test_networks_have_the_right_shapes_and_r1_is_positive():
    cfg = GANConfig(size=32, z_dim=8, width=8, text_dim=16)
    g, d = Generator(cfg), Discriminator(cfg)
    images = g(torch.randn(3, 8), torch.randn(3, 16))
    assert images.shape == (3, 3, 32, 32) and images.abs().max() <= 1
    real = torch.rand(3, 3, 32, 32, requires_grad=True)
    logits = d(real, torch.randn(3, 16))
    assert logits.shape == (3,) and float(r1_penalty(real, logits)) > 0


def test_a_few_training_steps_give_a_generator_that_follows_its_seed():
    rng = np.random.default_rng(0)
    data = ImageSet(
        rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8),
        ["a red sea"] * 6,
        [{}] * 6,
        [f"{i}.png" for i in range(6)],
        "0" * 64,
    )
    cfg = GANTrainConfig(gan=GANConfig(size=32, z_dim=8, width=8, text_dim=16), batch=4, steps=3, r1_every=2)
    result = train_gan(data, cfg, log=lambda s: None)
    assert result["steps"] == 3
    a, b = sample(result, ["a red sea"], 1), sample(result, ["a red sea"], 1)
    assert (
        a.shape == (1, 3, 32, 32)
        and torch.equal(a, b)
        and not torch.equal(a, sample(result, ["a red sea"], 2))
    )
