"""The diffusion model end to end with a tiny random model: captions and tokens in two languages,
the model file, sampling with every sampler, image to image and inpainting, the AUTOMATIC1111
parameters, the command line (imagine, edit, verify, reproduce), bad input, and training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from museforge.cli import main
from museforge.errors import MuseforgeError
from museforge.image.diffusion.model import load_model, model_hash
from museforge.image.diffusion.pipeline import a1111_parameters, generate
from museforge.image.diffusion.text import (
    MAX_TOKENS,
    Tokenizer,
    caption,
    tokenize,
    vocabulary_texts,
)
from museforge.image.diffusion.unet import UNetConfig

TINY = UNetConfig(
    sample_size=16,
    block_out_channels=(16, 32),
    attention=(False, True),
    layers_per_block=1,
    cross_attention_dim=32,
    attention_head_dim=8,
    norm_num_groups=8,
)


@pytest.fixture(scope="module")
def tiny_path(tiny_diffusion_path):
    return tiny_diffusion_path


@pytest.fixture(scope="module")
def tiny(tiny_path):
    return load_model(tiny_path)


def test_captions_in_both_languages_share_one_vocabulary():
    item = {"style": "stained-glass", "motifs": ["bird", "sun"], "mood": "joyful", "colours": ["red"]}
    en, zh = caption(item, "en"), caption(item, "zh")
    assert en == "a stained glass window of birds and the sun, in red, joyful mood"
    assert zh == "一幅彩色玻璃窗，画着飞鸟和太阳，红色，欢快的氛围"
    tokenizer = Tokenizer.build(vocabulary_texts())
    assert not tokenizer.unknown(en) and not tokenizer.unknown(zh)
    rng = np.random.default_rng(0)
    parts = {caption(item, "en", rng) for _ in range(40)}
    assert len(parts) > 5 and all(p == "" or set(tokenize(p)) <= set(tokenize(en)) for p in parts)


def test_a_long_prompt_is_cut_with_a_warning_never_silently(tiny):
    ids, cut = tiny.tokenizer.encode("sea " * 100)
    assert len(ids) == MAX_TOKENS and cut == 100 + 1 - MAX_TOKENS
    out = generate(tiny, "sea " * 100, seed=0, steps=2)
    assert any("24 token(s) longer than the 77" in w for w in out.warnings)
    assert any("zebra" in w for w in generate(tiny, "a zebra", seed=0, steps=2).warnings)


def test_the_model_file_round_trips_and_describes_itself(tiny_path, tiny):
    again = load_model(tiny_path)
    for a, b in zip(again.unet.parameters(), tiny.unet.parameters(), strict=True):
        assert torch.equal(a, b)
    assert tiny.size == 32 and tiny.meta["data_sha256"] == "0" * 64 and tiny.meta["recipe"] == "test"
    assert len(model_hash(tiny_path)) == 10


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "euler-a", "dpmpp-2m"])
def test_every_sampler_paints_the_same_bytes_for_the_same_seed(tiny, sampler):
    a = generate(tiny, "the moon over the sea", seed=5, steps=3, sampler=sampler).image
    b = generate(tiny, "the moon over the sea", seed=5, steps=3, sampler=sampler).image
    c = generate(tiny, "the moon over the sea", seed=6, steps=3, sampler=sampler).image
    assert a.size == (32, 32) and a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()


def test_guidance_and_the_negative_prompt_change_the_image(tiny):
    base = generate(tiny, "一幅水墨画，群山", seed=1, steps=3).image.tobytes()
    assert generate(tiny, "一幅水墨画，群山", seed=1, steps=3, cfg=1.0).image.tobytes() != base
    assert generate(tiny, "一幅水墨画，群山", "snow", seed=1, steps=3).image.tobytes() != base


def _photo(size=40):
    rng = np.random.default_rng(3)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def test_inpainting_changes_only_the_masked_region(tiny):
    init = _photo()
    mask = Image.new("L", init.size, 0)
    mask.paste(255, (0, 0, 20, 40))
    out = generate(tiny, "the sun", seed=2, steps=4, init=init, mask=mask).image
    got = np.asarray(out, dtype=int)
    kept = np.asarray(init.resize(out.size, Image.Resampling.LANCZOS), dtype=int)
    half = out.width // 2
    assert np.array_equal(got[:, half + 1 :], kept[:, half + 1 :])
    assert np.abs(got[:, : half - 1] - kept[:, : half - 1]).mean() > 5


def test_strength_zero_keeps_the_image_and_one_repaints_it(tiny):
    init = _photo(16)
    small = np.asarray(init, dtype=int)
    none = generate(tiny, "x", seed=1, steps=4, init=init, strength=0.0, cfg=1.0)
    assert none.image.size == (16, 16)  # an edit keeps the init image's size
    kept = np.asarray(none.image, dtype=int)
    full = np.asarray(generate(tiny, "x", seed=1, steps=4, init=init, strength=1.0).image, dtype=int)
    assert np.abs(kept - small).mean() < np.abs(full - small).mean()


def test_an_edit_keeps_the_shape_and_size_of_a_wide_photo_and_its_unmasked_pixels(tiny):
    rng = np.random.default_rng(4)
    init = Image.fromarray(rng.integers(0, 256, (30, 45, 3), dtype=np.uint8))
    assert generate(tiny, "the sea", seed=1, steps=2, init=init).image.size == (45, 30)
    assert generate(tiny, "the sea", seed=1, steps=2, init=init, size=90).image.size == (90, 60)
    mask = Image.new("L", init.size, 0)
    mask.paste(255, (0, 0, 15, 30))
    out = np.asarray(generate(tiny, "the sun", seed=2, steps=3, init=init, mask=mask).image, dtype=int)
    assert out.shape == (30, 45, 3)
    assert np.array_equal(out[:, 16:], np.asarray(init, dtype=int)[:, 16:])


def test_a_mask_of_another_size_is_refused(tiny):
    with pytest.raises(MuseforgeError, match="mask is 8x8 but the image is 40x40"):
        generate(tiny, "x", seed=1, steps=2, init=_photo(), mask=Image.new("L", (8, 8)))


def test_a1111_parameters_read_as_the_web_ui_writes_them():
    text = a1111_parameters(
        "a stormy sea at night",
        "blurry",
        steps=20,
        sampler="dpmpp-2m",
        cfg=5.0,
        seed=3,
        width=256,
        height=256,
        model_hash="abcdef0123",
        model_name="image-diffusion",
    )
    assert text == (
        "a stormy sea at night\nNegative prompt: blurry\nSteps: 20, Sampler: DPM++ 2M, CFG scale: 5, "
        "Seed: 3, Size: 256x256, Model hash: abcdef0123, Model: image-diffusion"
    )


def test_imagine_writes_a_png_that_verifies_and_reproduces(tmp_path, tiny_path, capsys):
    out = tmp_path / "sea.png"
    args = [
        "imagine",
        "a stormy sea at night",
        "--seed",
        "3",
        "--steps",
        "3",
        "--sampler",
        "dpmpp-2m",
        "--cfg",
        "5",
        "--model",
        str(tiny_path),
        "--out",
        str(out),
        "-q",
    ]
    assert main(args) == 0
    text = Image.open(out).text["parameters"]
    head = (
        f"a stormy sea at night\nSteps: 3, Sampler: DPM++ 2M, CFG scale: 5, Seed: 3, Size: 32x32, "
        f"Model hash: {model_hash(tiny_path)}, Model: tiny, "
    )
    assert text.startswith(head), text
    assert main(["verify", str(out)]) == 0
    assert main(["reproduce", str(out)]) == 0
    assert "identical" in capsys.readouterr().out
    zh = tmp_path / "zh.png"
    assert (
        main(
            [
                "imagine",
                "一幅水墨画，画着群山和月亮",
                "--seed",
                "3",
                "--steps",
                "2",
                "--model",
                str(tiny_path),
                "--out",
                str(zh),
                "-q",
            ]
        )
        == 0
    )
    assert Image.open(zh).size == (32, 32)


def test_edit_under_a_mask_through_the_command_line(tmp_path, tiny_path):
    _photo().save(tmp_path / "in.png")
    mask = Image.new("L", (40, 40), 0)
    mask.paste(255, (0, 0, 40, 20))
    mask.save(tmp_path / "mask.png")
    out = tmp_path / "edited.png"
    assert (
        main(
            [
                "edit",
                str(tmp_path / "in.png"),
                "the moon",
                "--mask",
                str(tmp_path / "mask.png"),
                "--seed",
                "1",
                "--steps",
                "3",
                "--model",
                str(tiny_path),
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    assert "Denoising strength: 0.6" in Image.open(out).text["parameters"]
    assert (
        main(
            [
                "reproduce",
                str(out),
                "--input",
                f"init={tmp_path / 'in.png'}",
                "--input",
                f"mask={tmp_path / 'mask.png'}",
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["imagine", "   "], "empty"),
        (["imagine", "x", "--model", "runwayml/stable-diffusion-v1-5"], "never downloads"),
        (["imagine", "x", "--sampler", "plms"], "dpmpp-2m"),
        (["imagine", "x", "--steps", "0"], "steps"),
        (["imagine", "x", "--cfg", "nan"], "cfg"),
        (["edit", "{bad}", "x"], "init"),
        (["edit", "{img}", "x", "--mask", "{small}"], "same size"),
        (["imagine", "x", "--model", "{corrupt}"], "corrupt"),
    ],
)
def test_bad_input_gets_one_line_and_writes_nothing(tmp_path, tiny_path, capsys, argv, words):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    _photo().save(tmp_path / "img.png")
    Image.new("L", (20, 20)).save(tmp_path / "small.png")
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x00" * 64)
    paths = {
        "bad": tmp_path / "bad.png",
        "img": tmp_path / "img.png",
        "small": tmp_path / "small.png",
        "corrupt": tmp_path / "corrupt.safetensors",
    }
    argv = [a.format(**paths) for a in argv]
    if "--model" not in argv:
        argv += ["--model", str(tiny_path)]
    out = tmp_path / "o.png"
    assert main([*argv, "--steps" if "--steps" not in argv else "--seed", "2", "--out", str(out), "-q"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("museforge") and words in err.lower(), err
    assert not out.exists()


def test_training_runs_resumes_and_its_model_loads(tmp_path):
    from museforge.image.dataset import make_dataset
    from museforge.image.diffusion.data import load_images
    from museforge.image.diffusion.train import TrainConfig, train

    make_dataset(10, 32, tmp_path / "set", seed=1, workers=1)
    data = load_images(tmp_path / "set", 16, "train")
    assert len(data) == 9 and len(load_images(tmp_path / "set", 16, "held-out")) == 1
    cfg = TrainConfig(unet=TINY, batch=2, steps=2, sample_every=0, checkpoint_every=1)
    model = train(data, tmp_path / "run", cfg, log=lambda s: None)
    assert model.meta["steps"] == 2
    cfg.steps = 3
    logs: list[str] = []
    again = train(data, tmp_path / "run", cfg, log=logs.append)
    assert again.meta["steps"] == 3 and any("resumed at step 2" in line for line in logs)
    again.save(tmp_path / "m" / "model.safetensors")
    assert generate(load_model(tmp_path / "m"), "a river", seed=0, steps=2).image.size == (16, 16)


@pytest.mark.slow
def test_the_shipped_model_paints_256_px_from_english_and_chinese(tmp_path):
    from museforge.image.diffusion.engine import builtin_path

    if not builtin_path().is_file():
        pytest.skip("the built-in diffusion model is not installed")
    model = load_model(builtin_path())
    assert model.size == 256 and model.meta["data_sha256"]
    for prompt in ("a stormy sea at night", "一幅水墨画，画着群山和月亮"):
        a = generate(model, prompt, seed=3, steps=8).image
        assert (
            a.size == (256, 256) and a.tobytes() == generate(model, prompt, seed=3, steps=8).image.tobytes()
        )
        assert np.asarray(a).std() > 10  # a picture, not a flat field


def test_variations_reuse_the_images_prompt_and_upscale_enlarges_it(tmp_path, tiny_path, capsys):
    png = tmp_path / "moon.png"
    base = ["--model", str(tiny_path), "--steps", "2", "-q"]
    assert main(["imagine", "the moon over the sea", "--seed", "1", "--out", str(png), *base]) == 0
    assert main(["vary", str(png), "--n", "2", "--seed", "7", "--out-dir", str(tmp_path / "v"), *base]) == 0
    first, second = tmp_path / "v" / "moon-var-7.png", tmp_path / "v" / "moon-var-8.png"
    texts = Image.open(first).text["parameters"]
    assert texts.startswith("the moon over the sea\n") and "Denoising strength: 0.5" in texts
    assert first.read_bytes() != second.read_bytes() and Image.open(second).size == (32, 32)
    assert main(["vary", str(tmp_path / "v" / "moon-var-7.png"), "--n", "0", *base]) != 0
    plain = tmp_path / "plain.png"
    _photo().save(plain)
    assert main(["vary", str(plain), *base]) != 0
    assert "carries no prompt" in capsys.readouterr().err
    assert main(["upscale", str(png), "--factor", "2", "--model", str(tiny_path), "-q"]) == 0
    big = tmp_path / "moon-x2.png"
    assert Image.open(big).size == (64, 64) and main(["verify", str(big)]) == 0
