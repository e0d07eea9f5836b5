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
    assert logits.shape == (3,) and float(r1_penalty(real, logits).detach()) > 0


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


def _tiny_gan(tmp_path):
    from museforge.image.diffusion.text import TextEncoder, TextEncoderConfig, Tokenizer, vocabulary_texts
    from museforge.image.diffusion.upscale import Upscaler, UpscalerConfig
    from museforge.image.gan_model import GANModel

    torch.manual_seed(0)
    tokenizer = Tokenizer.build(vocabulary_texts())
    model = GANModel(
        Generator(GANConfig(size=32, z_dim=8, width=8, text_dim=16)),
        TextEncoder(TextEncoderConfig(len(tokenizer.vocab), 16, 1, 2)),
        tokenizer,
        Upscaler(UpscalerConfig(factor=2, width=8, blocks=1)),
        name="tiny-gan",
    )
    with torch.no_grad():
        model.upscaler.tail.weight.normal_(0, 0.05)
        for m in model.generator.modules():  # give BatchNorm statistics something to round-trip
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
    return model.eval(), model.save(tmp_path / "tiny-gan" / "model.safetensors", data_sha256="0" * 64)


def test_the_gan_file_round_trips_and_paints_the_same_bytes_for_a_seed(tmp_path):
    from museforge.image.gan_model import load_gan

    model, path = _tiny_gan(tmp_path)
    again = load_gan(path.parent)
    assert again.size == 64 and again.meta["data_sha256"] == "0" * 64
    a, b = model.generate("the moon", 3), again.generate("the moon", 3)
    assert a.size == (64, 64) and np.abs(np.asarray(a, int) - np.asarray(b, int)).max() <= 2  # fp16 storage
    assert again.generate("the moon", 3).tobytes() == b.tobytes()
    assert again.generate("the moon", 4).tobytes() != b.tobytes()
    assert again.generate("the moon", 3, size=40).size == (40, 40)


def test_the_gan_engine_writes_a_signed_png_with_its_parameters(tmp_path, capsys):
    from PIL import Image

    from museforge.cli import main

    _, path = _tiny_gan(tmp_path)
    out = tmp_path / "out"
    assert (
        main(["run", "gan", "一轮明月", "--model", str(path.parent), "--seed", "5", "--out", str(out), "-q"])
        == 0
    )
    png = next(out.rglob("*.png"))
    text = Image.open(png).text["parameters"]
    assert "Seed: 5" in text and "Model: tiny-gan" in text and "Model hash: " in text
    assert main(["verify", str(png)]) == 0
    assert (
        main(["run", "gan", "x", "--model", str(tmp_path / "none"), "--out", str(tmp_path / "o2"), "-q"]) != 0
    )
    assert "missing" in capsys.readouterr().err


def test_tiled_upscaling_gives_the_pixels_of_one_pass_and_the_engine_enlarges(tmp_path, capsys):
    from PIL import Image

    from museforge.cli import main
    from museforge.image.diffusion.upscale import Upscaler, UpscalerConfig
    from museforge.image.upscale_engine import upscale

    torch.manual_seed(0)
    net = Upscaler(UpscalerConfig(factor=4, width=8, blocks=6)).eval()
    with torch.no_grad():
        net.tail.weight.normal_(0, 0.05)
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, (37, 50, 3), dtype=np.uint8))
    whole = upscale(net, image, tile=64)
    tiled = upscale(net, image, tile=16)
    assert whole.size == (200, 148)
    assert np.abs(np.asarray(whole, int) - np.asarray(tiled, int)).max() <= 1  # float rounding only
    _, path = _tiny_gan(tmp_path)
    image.save(tmp_path / "small.png")
    for factor in ("2", "4"):
        out = tmp_path / f"x{factor}"
        assert (
            main(
                [
                    "run",
                    "upscale",
                    "--image",
                    str(tmp_path / "small.png"),
                    "--factor",
                    factor,
                    "--model",
                    str(path),
                    "--out",
                    str(out),
                    "-q",
                ]
            )
            == 0
        )
        assert Image.open(next(out.rglob("*.png"))).size == (50 * int(factor), 37 * int(factor))
    assert (
        main(
            [
                "run",
                "upscale",
                "--image",
                str(tmp_path / "small.png"),
                "--factor",
                "3",
                "--model",
                str(path),
                "--out",
                str(tmp_path / "x3"),
                "-q",
            ]
        )
        != 0
    )
    assert "neither 2 nor 4" in capsys.readouterr().err
