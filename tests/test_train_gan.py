"""The GAN on the shared loop: a few steps, an interrupted run that resumes onto the same curve,
its checkpoint as a GAN model file, and ``museforge train image --model gan`` with ``--compare``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from museforge.cli import main
from museforge.image.diffusion.data import ImageSet
from museforge.image.diffusion.text import TextEncoder, TextEncoderConfig, Tokenizer, vocabulary_texts
from museforge.image.gan import GANConfig, GANTrainConfig, Generator
from museforge.image.gan_model import GANModel, load_gan
from museforge.image.gan_train import GanFamily, held_out_figures
from museforge.train import loop

TINY = GANConfig(size=32, z_dim=8, width=8, text_dim=16)


def _data(n: int = 8, seed: int = 0) -> ImageSet:
    rng = np.random.default_rng(seed)
    captions = [("a red sea", "一轮明月")[i % 2] for i in range(n)]
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return ImageSet(images, captions, [{}] * n, [f"{i}.png" for i in range(n)], "a" * 64)


def _family(**cfg: object) -> GanFamily:
    torch.manual_seed(0)
    tokenizer = Tokenizer.build([*vocabulary_texts(), "a red sea"])
    text = TextEncoder(TextEncoderConfig(len(tokenizer.vocab), 16, 1, 2))
    settings = {"gan": TINY, "batch": 4, "steps": 4, "r1_every": 2, "eval_every": 2, "checkpoint_every": 2}
    train = GANTrainConfig(**{**settings, **cfg})
    return GanFamily(_data(), Generator(TINY), text, tokenizer, train, held_out=_data(4, seed=1))


def _run(out: Path, steps: int = 4, stop_at: int = 0) -> loop.Summary:
    family = _family(steps=steps)

    def progress(step: int, _total: int, _loss: float) -> None:
        if step == stop_at:
            raise KeyboardInterrupt

    return loop.run(family, family.loop_config(), out, progress=progress)


def test_an_interrupted_gan_run_resumes_onto_the_same_curve(tmp_path):
    whole = _run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "b", stop_at=3)
    state = torch.load(tmp_path / "b" / loop.STATE, weights_only=False)
    assert state["summary"]["steps"] == 3 and state["extra"]["step"] == 3
    resumed = _run(tmp_path / "b")
    assert resumed.resumed_from == 3 and resumed.steps == 4
    assert resumed.train_loss == whole.train_loss
    assert [e["loss"] for e in resumed.evals] == [e["loss"] for e in whole.evals]
    one, two = (torch.load(tmp_path / p / loop.STATE, weights_only=False)["extra"] for p in "ab")
    for key in ("discriminator", "ema"):
        assert all(torch.equal(one[key][k], two[key][k]) for k in one[key])


def test_the_gan_checkpoint_is_a_gan_model_and_the_betas_reach_adam(tmp_path):
    family = _family(steps=2, beta1=0.5)
    cfg = family.loop_config()
    assert (cfg.beta1, cfg.beta2, cfg.weight_decay, cfg.grad_clip) == (0.5, 0.99, 0.0, 0.0)
    assert family.opt_d.param_groups[0]["betas"] == (0.5, 0.99)
    summary = loop.run(family, cfg, tmp_path)
    assert summary.steps == 2 and 0 <= summary.evals[-1]["loss"] <= 2
    model = load_gan(tmp_path)
    assert model.meta["training"]["steps"] == 2 and model.meta["data_sha256"] == "a" * 64
    assert model.generate("a red sea", 1).size == (32, 32)
    assert loop.LoopConfig().beta1 == 0.9  # every other family keeps Adam's default


def test_the_held_out_figure_prefers_fakes_that_cover_the_held_out_images():
    held = _data(4, seed=1)
    tokenizer = Tokenizer.build(vocabulary_texts())
    text = TextEncoder(TextEncoderConfig(len(tokenizer.vocab), 16, 1, 2)).eval()

    class Copies(torch.nn.Module):  # "generates" the held-out images themselves, or one of them
        def __init__(self, rows: list[int]) -> None:
            super().__init__()
            self.cfg, self.rows = TINY, rows

        def forward(self, z: torch.Tensor, _text: torch.Tensor) -> torch.Tensor:
            x = torch.from_numpy(held.images).permute(0, 3, 1, 2).float().div(127.5).sub(1)
            return x[[self.rows[i % len(self.rows)] for i in range(len(z))]]

    diverse = held_out_figures(Copies([0, 0, 1, 1, 2, 2, 3, 3]), text, tokenizer, held)
    collapsed = held_out_figures(Copies([0]), text, tokenizer, held)
    assert diverse["loss"] < 1e-5 and collapsed["loss"] > 0.2
    assert collapsed["fake_similarity"] > 0.999 > diverse["fake_similarity"]


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "lighthouses"
    data.mkdir()
    for i in range(12):
        colour = ("red", "blue")[i % 2]
        pixels = rng.integers(0, 60, (24, 30, 3), dtype=np.uint8)
        pixels[..., 0 if colour == "red" else 2] += 180
        Image.fromarray(pixels).save(data / f"{i:02d}.png")
        (data / f"{i:02d}.txt").write_text(f"a {colour} lighthouse", encoding="utf-8")
    return data


def test_train_image_model_gan_resumes_compares_and_writes_a_gan(tmp_path, folder, capsys):
    previous = tmp_path / "previous"
    tokenizer = Tokenizer.build(vocabulary_texts())
    torch.manual_seed(1)
    GANModel(Generator(TINY), TextEncoder(TextEncoderConfig(len(tokenizer.vocab), 16, 1, 2)), tokenizer).save(
        previous / "model.safetensors", data_sha256="0" * 64
    )
    out = tmp_path / "gan"
    argv = ["train", "image", "--model", "gan", "--data", str(folder), "--from", "scratch", "--out", str(out)]
    argv += ["--batch", "2", "--sample-every", "2"]
    assert main([*argv, "--steps", "2", "--compare", str(previous)]) == 0
    assert "step      2/2" in capsys.readouterr().err
    compare = json.loads((out / "compare.json").read_text())
    for key in ("new", "previous"):
        figures = compare[key]
        assert figures["originality_images"] == 4
        assert 0 <= figures["nearest_score_mean"] <= figures["nearest_score_max"] <= 1
        assert -1 <= figures["nearest_cosine_mean"] <= figures["nearest_cosine_max"] <= 1
        assert 0 <= figures["loss"] <= 2 and "coverage" in figures
    assert main([*argv, "--steps", "3"]) == 0
    assert "resumed at step 2" in capsys.readouterr().err
    model = load_gan(out)
    assert model.meta["training"]["steps"] == 3 and model.meta["name"] == "gan"
    assert model.generator.cfg.size == 64 and (out / "samples" / "step-000002.png").is_file()
    assert "conditional GAN trained from scratch" in (out / "README.md").read_text()
    wrong = ["--steps", "1", "--compare", str(folder / "00.png"), "--out", str(tmp_path / "x")]
    assert main([*argv, *wrong]) != 0
    err = capsys.readouterr().err
    assert "not a museforge GAN model" in err and not (tmp_path / "x").exists()
