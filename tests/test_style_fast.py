"""Fast styles: the network, its file, a tiny training run, ``style --fast`` and ``train style``."""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from museforge.cli.style import add_style_parser
from museforge.errors import MuseforgeError
from museforge.provenance import RECORD_KEY, read_png_texts
from museforge.style import johnson, johnson_train, train_data
from museforge.style.features import VGG16, VGGFeatures

TINY = johnson.FastConfig(channels=(4, 8), blocks=1, stem_kernel=3)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tiny_net(seed: int = 0) -> johnson.TransformNet:
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # test-only: module init
        return johnson.TransformNet(TINY)


def test_network_keeps_odd_sizes_and_range():
    net = tiny_net()
    x = torch.rand(2, 3, 37, 53, generator=gen())
    out = net(x).detach()
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    with torch.no_grad():  # the inference path (batch_norm per image, channels-last) = training path
        reference = net(x)
    fast = johnson.FastStyle(net)(x)
    assert torch.allclose(fast, reference, atol=1e-5)
    for size in ((16, 17), (16, 3), (5, 40)):  # below the network's 8x: padded, then cropped back
        assert johnson.FastStyle(net)(torch.rand(1, 3, *size, generator=gen(1))).shape == (1, 3, *size)
    with pytest.raises(MuseforgeError, match="odd"):
        johnson.FastConfig(stem_kernel=4)


def test_upconv_is_upsample_then_reflected_conv():
    up = johnson.UpConv(3, 5)
    x = torch.rand(1, 3, 6, 9, generator=gen(2))
    reference = up.conv(
        F.pad(F.interpolate(x, scale_factor=2.0, mode="nearest"), (1, 1, 1, 1), mode="reflect")
    )
    assert torch.allclose(up(x), reference, atol=1e-5)


def pink_noise(size: int = 128, seed: int = 0) -> torch.Tensor:
    """Smooth noise with a photo-like 1/f^2 power spectrum, in [0, 1]."""
    f = torch.fft.fftfreq(size)
    radius = (f[:, None] ** 2 + f[None] ** 2).sqrt().clamp_min(1 / size)
    x = torch.fft.ifft2(torch.fft.fft2(torch.randn(3, size, size, generator=gen(seed))) / radius).real
    return (x - x.min()) / (x.max() - x.min())


def test_stride_artefact_sees_a_grid_and_not_smooth_noise():
    noise = pink_noise()
    i = torch.arange(128.0)
    wave = torch.cos(2 * torch.pi * i / 8)
    grid = 0.5 + 0.25 * wave[:, None] * wave[None]  # a pure 1/stride grid
    assert johnson.stride_artefact(grid.expand(3, -1, -1)) > 1000
    assert johnson.stride_artefact(noise) < 20
    gridded = (noise + 0.2 * (grid - 0.5)).clamp(0, 1)
    assert johnson.stride_artefact(gridded) > 10 * johnson.stride_artefact(noise)
    half = torch.cos(torch.pi * i)[None] * torch.ones(128, 1)  # period 2: a multiple of 1/8 too
    assert johnson.stride_artefact((0.5 + 0.2 * half).expand(1, 3, -1, -1)) > 1000
    with pytest.raises(MuseforgeError, match="smaller than the stride"):
        johnson.stride_artefact(torch.rand(3, 4, 4))


def test_stride_artefact_does_not_count_the_jump_between_borders():
    """A picture dark at the top and bright at the bottom jumps where the Fourier transform tiles
    it; read on its periodic part, it scores as its texture does, and a grid on it still shows."""
    noise = pink_noise()
    sky_to_ground = (0.4 * noise + 0.6 * torch.linspace(0, 1, 128)[:, None]).clamp(0, 1)
    x = sky_to_ground - sky_to_ground.mean((-2, -1), keepdim=True)
    tiled = torch.fft.fft2(x).abs().square().sum(0)  # the spectrum without the periodic part
    assert float(tiled[::16, ::16].flatten()[1:].mean() / tiled.median()) > 30
    assert johnson.stride_artefact(sky_to_ground) == pytest.approx(johnson.stride_artefact(noise), rel=0.2)
    i = torch.arange(128.0)
    wave = torch.cos(2 * torch.pi * i / 8)
    gridded = (sky_to_ground + 0.05 * wave[:, None] * wave[None]).clamp(0, 1)
    assert johnson.stride_artefact(gridded) > 10 * johnson.stride_artefact(sky_to_ground)


def test_grid_loss_is_zero_without_a_stride_pattern_and_grows_with_one():
    x = pink_noise(64, seed=1)[None]
    assert float(johnson_train.grid_loss(x, x, 8)) == 0.0
    i = torch.arange(64.0)
    pattern = 0.05 * torch.cos(2 * torch.pi * i / 4)[None] * torch.ones(64, 1)
    small, big = (johnson_train.grid_loss(x + a * pattern, x, 8) for a in (1.0, 2.0))
    assert 0 < float(small) < float(big)
    assert torch.allclose(big, 4 * small, rtol=1e-4)  # an energy: quadratic in the pattern


def test_jpeg_batches_show_blocks_to_the_network_and_clean_crops_to_the_loss():
    """With ``jpeg`` set, a batch is (what the network sees, the clean crops): the seen crops carry
    JPEG's 8-pixel blocks (more stride-periodic pattern), the same for the same seed; the loss
    compares the network's output with the clean crops."""
    images = [
        Image.fromarray((pink_noise(96, seed=s).permute(1, 2, 0).numpy() * 255).astype(np.uint8))
        for s in (2, 3)
    ]
    data = train_data.Augment(images, 64, 0.0, gen(0))
    opts = johnson_train.TrainOptions(jpeg=1.0)
    fam = johnson_train.StyleFamily(torch.nn.Identity(), None, data, opts, torch.zeros(1), None, 25)
    seen, clean = fam.batch(gen(7), 3)
    again, _ = fam.batch(gen(7), 3)
    assert seen.shape == clean.shape == (3, 3, 64, 64) and torch.equal(seen, again)
    for a, b in zip(seen, clean, strict=True):
        assert johnson.stride_artefact(a) > 1.2 * johnson.stride_artefact(b)
    seen_by_loss = []
    fam.loss_fn = lambda out, target: (seen_by_loss.append((out, target)) or torch.zeros(()), {})
    fam.loss(torch.nn.Identity(), (seen, clean))
    assert seen_by_loss[0][0] is seen and seen_by_loss[0][1] is clean
    plain = johnson_train.StyleFamily(
        torch.nn.Identity(), None, data, johnson_train.TrainOptions(), torch.zeros(1), None, 25
    )
    assert isinstance(plain.batch(gen(7), 2), torch.Tensor)
    with pytest.raises(MuseforgeError, match="--jpeg"):
        johnson_train.TrainOptions(jpeg=1.5).check()


def test_old_files_keep_their_network_and_smooth_ones_round_trip():
    old = johnson.FastConfig.from_json({"channels": [4, 8], "blocks": 1, "stem_kernel": 3})
    assert old.upsample == "nearest" and old.head == 0
    assert any(isinstance(m, johnson.UpConv) for m in johnson.TransformNet(old).modules())
    assert old == johnson.FastConfig(
        (4, 8), 1, 3, upsample="nearest", head=0, downsample="stride", skip=False
    )
    assert johnson.FastConfig().skip and johnson.FastConfig().downsample == "blur"  # today's networks
    smooth = johnson.FastConfig((4, 8), 1, 3, upsample="bilinear", head=4, skip=False)
    assert johnson.FastConfig.from_json(smooth.to_json()) == smooth
    net = johnson.TransformNet(smooth)
    assert not any(isinstance(m, johnson.UpConv) for m in net.modules())
    assert net(torch.rand(1, 3, 21, 30, generator=gen(4))).shape == (1, 3, 21, 30)
    with pytest.raises(MuseforgeError, match="bilinear or nearest"):
        johnson.FastConfig(upsample="cubic")


def test_a_skip_network_passes_detail_finer_than_its_stride():
    cfg = johnson.FastConfig((4, 8), 1, 3, upsample="bilinear", head=4, downsample="blur", skip=True)
    assert johnson.FastConfig.from_json(cfg.to_json()) == cfg
    net = johnson.TransformNet(cfg).eval()
    x = torch.rand(1, 3, 21, 30, generator=gen(5))
    assert net(x).shape == (1, 3, 21, 30)
    first = net.head[0]
    assert first.in_channels == 4 + 3  # the upsampled features and the photo
    with torch.no_grad():
        before = net(x)
        first.weight[:, 4:] = 0  # cut the photo's way in: the output changes
        assert not torch.allclose(net(x), before)
    with pytest.raises(MuseforgeError, match="skip needs"):
        johnson.FastConfig(head=0, skip=True)
    with pytest.raises(MuseforgeError, match="stride or blur"):
        johnson.FastConfig(downsample="max")


def test_save_load_round_trip_is_exact(tmp_path):
    net = tiny_net()
    with torch.no_grad():  # fp16 file: start from fp16-representable weights
        for p in net.parameters():
            p.copy_(p.half().float())
    path = tmp_path / "m" / johnson.FILE
    johnson.save_model(path, net, {"name": "tiny", "style_sha256": "ab" * 32, "recipe": "test"})
    loaded = johnson.load(path.parent)
    assert loaded.metadata["config"] == TINY.to_json() and loaded.metadata["recipe"] == "test"
    assert loaded.net.config == TINY and loaded.name == "tiny"
    for (k, a), (_, b) in zip(net.state_dict().items(), loaded.net.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    x = torch.rand(1, 3, 24, 40, generator=gen(3))
    assert torch.equal(johnson.FastStyle(net)(x), loaded(x))
    assert johnson.find(str(path)) == path and johnson.find(str(path.parent)) == path
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"junk")
    assert johnson.find(str(junk)) is None and johnson.read_metadata(junk) is None
    with pytest.raises(MuseforgeError, match="not a museforge fast style"):
        johnson.load(junk)
    with pytest.raises(MuseforgeError, match="no such file"):
        johnson.load(tmp_path / "absent")


def random_vgg() -> VGGFeatures:
    with torch.random.fork_rng():
        torch.manual_seed(0)  # test-only: module init
        return VGGFeatures(VGG16, caffe=True, ceil_mode=True).eval().requires_grad_(False)


def pictures(n: int, size: tuple[int, int] = (48, 40)) -> dict[str, Image.Image]:
    rng = np.random.default_rng(0)
    return {f"p{i}": Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)) for i in range(n)}


def test_tiny_training_runs_and_writes_files(tmp_path):
    smooth = johnson.FastConfig((4, 8), 1, 3, upsample="bilinear", head=4)
    opts = johnson_train.TrainOptions(
        steps=3, size=32, batch=2, style_size=48, config=smooth, grid_weight=10.0, seed=1
    )
    vgg, style = random_vgg(), pictures(1, (40, 56))["p0"]
    model, report = johnson_train.train(vgg, style, pictures(3), opts, log_every=1)
    assert [r["step"] for r in report["history"]] == [1, 2, 3]
    assert all(np.isfinite(r[k]) for r in report["history"] for k in ("content", "style", "tv", "grid"))
    again, _ = johnson_train.train(vgg, style, pictures(3), opts, log_every=1)
    pairs = zip(model.state_dict().values(), again.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)  # deterministic
    meta = {"name": "tiny", "style_sha256": "cd" * 32, "data_manifest_sha256": "ef" * 32, "recipe": "r"}
    johnson_train.write_outputs(tmp_path, model, report, meta, [{"name": "p0"}])
    loaded = johnson.load(tmp_path)
    assert loaded.metadata["steps"] == 3 and loaded.metadata["data_manifest_sha256"] == "ef" * 32
    assert "train_minutes" in loaded.metadata and loaded.metadata["style_sha256"] == "cd" * 32
    doc = json.loads((tmp_path / "training.json").read_text())
    assert doc["data"] == [{"name": "p0"}] and len(doc["history"]) == 3 and doc["recipe"] == "r"
    with pytest.raises(MuseforgeError, match="--steps 0"):
        johnson_train.train(vgg, style, pictures(1), johnson_train.TrainOptions(steps=0))


def photo(tmp_path, size: tuple[int, int] = (40, 56)) -> str:
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return str(path)


def style_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="museforge")
    add_style_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["style", *argv, "-q"])
    return args.func(args)


@pytest.fixture()
def shipped(tmp_path, monkeypatch):
    """Two tiny fast styles: one 'shipped' as models/style-fast-tiny, one in a user folder."""
    models = tmp_path / "models"
    johnson.save_model(models / "style-fast-tiny" / johnson.FILE, tiny_net(0), {"name": "style-fast-tiny"})
    johnson.save_model(tmp_path / "mine" / johnson.FILE, tiny_net(1), {"name": "mine"})
    monkeypatch.setenv("MUSEFORGE_MODELS", str(models))
    return models / "style-fast-tiny" / johnson.FILE, tmp_path / "mine"


def test_style_fast_through_cli(tmp_path, shipped):
    model, folder = shipped
    content = photo(tmp_path)
    out = tmp_path / "fast.png"
    argv = [content, "tiny", str(folder), "--fast", "--weights", "0.6,0.4", "--size", "48"]
    assert style_cli([*argv, "--out", str(out)]) == 0
    texts = read_png_texts(out.read_bytes())
    params, record = texts["parameters"], json.loads(texts[RECORD_KEY])
    assert "Sampler: johnson" in params and "Weights: 0.6;0.4" in params
    assert record["engine"] == "museforge-style-johnson" and "style-fast-tiny" in params
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert record["model_sha256"].split(";")[0] == digest and record["inputs"]["styles"][0] == digest
    assert Image.open(out).size == (48, 34)
    same = tmp_path / "same.png"
    assert style_cli([*argv, "--out", str(same)]) == 0
    assert same.read_bytes() == out.read_bytes()  # deterministic
    for i, extra in enumerate(
        (
            ["--preserve-color"],
            ["--preserve-color", "histogram"],
            ["--method", "johnson", "--strength", "0.5"],
        )
    ):
        assert style_cli([*argv, *extra, "--out", str(tmp_path / f"v{i}.png")]) == 0
    plain = tmp_path / "plain.png"
    assert (
        style_cli(
            [content, "tiny", "--method", "johnson", "--strength", "0", "--size", "48", "--out", str(plain)]
        )
        == 0
    )
    kept = np.asarray(Image.open(plain), dtype=np.int16)
    source = np.asarray(Image.open(content).resize((48, 34), Image.Resampling.LANCZOS), dtype=np.int16)
    assert np.abs(kept - source).max() <= 1  # strength 0 keeps the content


def test_style_fast_errors(tmp_path, shipped):
    _, folder = shipped
    content = photo(tmp_path)
    x = str(tmp_path / "x.png")
    cases = [
        ([content, str(folder), content, "--fast"], "not every STYLE"),
        ([content, content, "--method", "johnson"], "not a fast style"),
        ([content, "tiny", "--fast", "--method", "reinhard"], "drop --method reinhard"),
        ([content, "tiny", "--fast", "--strength", "2"], "0 to 1"),
        ([content, "tiny", "--fast", "--vgg", content], "drop --vgg"),
        ([content, "tiny", "--fast", "--masks", content], "--masks needs --method gatys"),
    ]
    for argv, message in cases:
        with pytest.raises(MuseforgeError, match=message) as err:
            style_cli([*argv, "--out", x])
        assert "\n" not in str(err.value)


def train_cli(argv: list[str]) -> int:
    """``museforge train style ARGV -q`` through museforge's own parser."""
    from museforge.cli import build_parser

    args = build_parser().parse_args(["train", "style", *argv, "-q"])
    return args.func(args)


def test_train_style_cli_writes_a_usable_folder(tmp_path, monkeypatch):
    """The whole command on tiny data: random VGG, three random photos, no paintings."""
    import museforge.style.features as features

    monkeypatch.setattr(features, "load_hed_vgg16", random_vgg)
    monkeypatch.setattr(train_data, "content_photos", lambda root: pictures(3))
    monkeypatch.setattr(train_data, "procedural_paintings", lambda count, seed: pictures(1, (50, 50)))
    monkeypatch.setattr(johnson_train, "evaluate", lambda *a, **k: {"content": 1.0, "style": 1.0, "tv": 0.0})
    style = tmp_path / "painting.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(style)
    out = tmp_path / "style-painting"
    assert train_cli([str(style), "--out", str(out), "--steps", "2", "--size", "32", "--threads", "1"]) == 0
    assert {p.name for p in out.iterdir()} == {"model.safetensors", "training.json", "README.md"}
    meta = johnson.load(out).metadata
    assert meta["style_sha256"] == hashlib.sha256(style.read_bytes()).hexdigest()
    assert meta["recipe"].startswith("museforge train style") and "--steps 2" in meta["recipe"]
    assert meta["steps"] == 2 and len(meta["data_manifest_sha256"]) == 64
    assert "## Data and licences" in (out / "README.md").read_text()
    result = tmp_path / "result.png"
    assert style_cli([photo(tmp_path), str(out), "--fast", "--size", "32", "--out", str(result)]) == 0
    assert "Sampler: johnson" in read_png_texts(result.read_bytes())["parameters"]


def test_train_style_quality_picks_a_preset_that_explicit_options_override(tmp_path, monkeypatch):
    seen: list[johnson_train.TrainOptions] = []

    def fake_run_training(style, sha, out, opts, **kw):
        seen.append(opts)
        raise MuseforgeError("stop here")

    monkeypatch.setattr(johnson_train, "run_training", fake_run_training)
    style = tmp_path / "painting.png"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(style)
    for argv in ([], ["--quality", "high"], ["--quality", "high", "--steps", "7"]):
        with pytest.raises(MuseforgeError, match="stop here"):
            train_cli([str(style), "--out", str(tmp_path / "o"), *argv])
    preview, high, high7 = seen
    assert preview == replace(johnson_train.TrainOptions(), steps=johnson_train.QUALITY["preview"]["steps"])
    assert preview.steps < johnson_train.TrainOptions().steps  # the shipped styles' recipe is "standard"
    assert (high.steps, high.size) == (
        johnson_train.QUALITY["high"]["steps"],
        johnson_train.QUALITY["high"]["size"],
    )
    assert high.steps > preview.steps and high7.steps == 7 and high7.size == high.size


def test_train_style_bad_inputs_are_one_line(tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_text("hello")
    style = tmp_path / "painting.png"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(style)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "file.txt").write_text("x")
    cases = [
        ([str(tmp_path / "absent.jpg")], "no such file"),
        ([str(notes)], "not an image"),
        ([str(style), "--steps", "0"], "--steps 0"),
        ([str(style), "--size", "8"], "--size 8"),
        ([str(style), "--out", str(taken)], "exists; pass --overwrite"),
    ]
    for argv, message in cases:
        with pytest.raises(MuseforgeError, match=message) as err:
            train_cli(argv)
        assert "\n" not in str(err.value)


@pytest.mark.slow
def test_shipped_fast_styles_paint():
    names = johnson.builtin_names()
    assert {"starry-night", "scream", "stained-glass", "ink-wash"} <= set(names)
    x = torch.rand(1, 3, 64, 48, generator=gen(5))
    for name in names:
        model = johnson.load(johnson.builtin_path(name))
        meta = model.metadata
        assert len(meta["style_sha256"]) == 64 and len(meta["data_manifest_sha256"]) == 64
        assert meta["recipe"].startswith("python recipes/style_fast.py") and meta["steps"] > 0
        out = johnson.stylize_fast(x, [model], [1.0])
        assert out.shape == x.shape and float((out - x).abs().mean()) > 0.02
        assert johnson.builtin_path(name).stat().st_size < 30_000_000


def test_train_style_takes_content_from_a_data_set_and_checks_its_licences(tmp_path, monkeypatch):
    import io

    from test_train_loop import make_dataset

    import museforge.style.features as features

    monkeypatch.setattr(features, "load_hed_vgg16", random_vgg)
    monkeypatch.setattr(johnson_train, "evaluate", lambda *a, **k: {"content": 1.0, "style": 1.0, "tv": 0.0})
    items = []
    for name, picture in pictures(4).items():
        buf = io.BytesIO()
        picture.save(buf, "PNG")
        items.append(("image", buf.getvalue(), f"-{name}.png"))
    data = make_dataset(tmp_path / "mine", items, "CC-BY-NC-4.0")
    style = tmp_path / "painting.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(style)
    out = tmp_path / "style-mine"
    argv = [str(style), "--out", str(out), "--steps", "2", "--size", "32", "--data", str(data)]
    with pytest.raises(MuseforgeError, match=r"do not permit commercial use: CC-BY-NC-4\.0"):
        train_cli([*argv, "--use", "commercial"])
    assert train_cli(argv) == 0
    doc = json.loads((out / "training.json").read_text())
    assert len(doc["data"]) == 4 and "`CC-BY-NC-4.0` (4)" in (out / "README.md").read_text()
    assert not (tmp_path / ".style-mine.training").exists()
