"""The AdaIN decoder on the shared loop, ``train style --method adain`` and ``train style --compare``."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from museforge.errors import MuseforgeError
from museforge.style import adain, adain_train, johnson, johnson_train, train_data
from museforge.style.features import VGG16, VGGFeatures


def random_vgg() -> VGGFeatures:
    with torch.random.fork_rng():
        torch.manual_seed(0)  # test-only: module init
        return VGGFeatures(VGG16, caffe=True, ceil_mode=True).eval().requires_grad_(False)


def pictures(n: int, size: tuple[int, int] = (48, 40), seed: int = 0) -> dict[str, Image.Image]:
    """Smooth random pictures (a coarse noise field, upsampled), so that a decoder can learn them."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n):
        coarse = Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8))
        out[f"p{seed}-{i}"] = coarse.resize(size[::-1], Image.Resampling.BILINEAR)
    return out


TINY = adain_train.AdainOptions(steps=8, size=32, batch=2, lr=1e-2, channels=(8, 8, 8, 8))


def test_tiny_adain_run_learns_and_saves_a_loadable_decoder(tmp_path):
    torch.set_num_threads(1)
    vgg = random_vgg()
    summary, report = adain_train.train(
        vgg,
        pictures(3),
        pictures(2, seed=1),
        TINY,
        tmp_path,
        meta={"name": "tiny-adain", "data_manifest_sha256": "ab" * 32},
        recipe=lambda step: f"test --steps {step}",
        log_every=4,
    )
    with torch.random.fork_rng():  # the untrained decoder on the same held-out pairs
        torch.manual_seed(TINY.seed)
        untrained = adain.Decoder(TINY.decoder())
    held_out = (
        adain_train.fixed_crops(list(pictures(3).values()), 32, 10_000),
        adain_train.fixed_crops(list(pictures(2, seed=1).values()), 32, 20_000),
    )
    with torch.no_grad():
        before, _ = adain_train.adain_loss(vgg, untrained, *held_out, TINY, bf16=report["bf16"])
    losses = [e["loss"] for e in summary.evals]
    assert len(losses) == 4 and summary.best < 0.95 * float(before)  # the held-out loss falls
    assert report["history"][-1]["style"] < 0.7 * report["history"][0]["style"]  # and the training loss
    assert summary.best == min(losses) and {"content", "style", "recon"} <= set(summary.evals[0])
    assert [r["step"] for r in report["history"]] == [1, 4, 8]
    model = adain.load_adain(vgg, tmp_path / "model.safetensors", fast=False)
    meta = model.metadata
    assert meta["name"] == "tiny-adain" and meta["steps_done"] == str(summary.best_step)
    assert meta["recipe"] == f"test --steps {summary.best_step}" and meta["layer"] == adain.LAYER
    assert set(model.builtin) == {"starry-night", "scream"}
    content = torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(2))
    out = model.stylize(content, [model.builtin["scream"]], [1.0])
    assert out.shape == content.shape and float(out.std()) > 0
    cfg = adain_train.loop_config(TINY)  # the earlier recipe's schedule: no warm-up, ends at 1/(1+5e-3 s)
    assert cfg.warmup == 0 and cfg.weight_decay == 0 and cfg.min_lr_ratio == pytest.approx(1 / 1.04)
    with pytest.raises(MuseforgeError, match="--recon-weight -1"):
        adain_train.AdainOptions(recon_weight=-1).check()


def test_a_skip_decoder_starts_as_the_decoder_it_grows_from():
    """From a decoder without the skip, the new last stage starts as an identity behind the old last
    convolution: the same pictures (exactly, with the same upsampling), whatever the photo."""
    torch.manual_seed(0)  # test-only: module init
    old = adain.Decoder(adain.DecoderConfig((8, 8, 8, 8), upsample="nearest", skip=False, encode_scale=1.0))
    new = adain.Decoder(adain.DecoderConfig((8, 8, 8, 8), upsample="nearest", encode_scale=1.0))
    assert adain_train.start_from(new, old) == []
    t = torch.randn(2, 512, 3, 4, generator=torch.Generator().manual_seed(1))
    photo = torch.rand(2, 3, 24, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(new(t, photo), old(t), rtol=0, atol=1e-6)
    assert new.training and all(p.requires_grad for p in new.parameters())
    with pytest.raises(MuseforgeError, match="does not fit"):
        adain_train.start_from(
            new, adain.Decoder(adain.DecoderConfig((4, 4, 4, 4), skip=False, encode_scale=1.0))
        )
    vgg, content = random_vgg(), photo[:, :, :16, :16]
    plain = adain_train.AdainOptions(steps=2, size=32, batch=2, channels=(8, 8, 8, 8))
    with_grid = adain_train.AdainOptions(steps=2, size=32, batch=2, channels=(8, 8, 8, 8), grid_weight=100.0)
    with torch.no_grad():
        base, _ = adain_train.adain_loss(vgg, new, content, photo, plain, False)
        loss, parts = adain_train.adain_loss(vgg, new, content, photo, with_grid, False)
    assert parts["grid"] > 0 and float(loss - base) == pytest.approx(100 * parts["grid"], rel=1e-4)


def test_a_pruned_student_keeps_the_strongest_filters():
    """A student as wide as its teacher is the teacher; a thinner one keeps, in each layer, the
    filters of largest L1 norm over the input channels kept before it."""
    from museforge.style.features import prune_vgg

    teacher = random_vgg()
    x = torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(0))
    full = prune_vgg(teacher, (*VGG16[:3], (512,)))
    torch.testing.assert_close(full(x, ["relu4_1"])["relu4_1"], teacher(x, ["relu4_1"])["relu4_1"])
    thin = prune_vgg(teacher, ((4, 4), (8,)))
    w = teacher.layers["conv1_1"].weight
    kept = w.abs().sum((1, 2, 3)).topk(4).indices.sort().values
    assert torch.equal(thin.layers["conv1_1"].weight, w[kept])
    assert torch.equal(
        thin.layers["conv1_2"].weight,
        teacher.layers["conv1_2"].weight[:, kept][
            teacher.layers["conv1_2"].weight[:, kept].abs().sum((1, 2, 3)).topk(4).indices.sort().values
        ],
    )
    for too_big in (((4, 4, 4),), ((128,),)):
        with pytest.raises(MuseforgeError, match="more layers or filters than its teacher"):
            prune_vgg(teacher, too_big)


def test_distilling_a_student_trains_it_alone_and_brings_it_nearer_the_vgg(tmp_path):
    """``distill_only``: the student starts pruned from the VGG and learns its relu4_1 (the held-out
    distillation loss falls); the decoder's weights stay those of ``--init``. Training the decoder
    beside a student adds the distillation loss to the decoder's."""
    torch.set_num_threads(1)
    vgg = random_vgg()
    start = tmp_path / "start.safetensors"
    torch.manual_seed(0)  # test-only: module init
    adain.save_model(start, adain.Decoder(adain.DecoderConfig((8, 8, 8, 8))), {}, {"recipe": "start"})
    student = ((4, 4), (8, 8), (16, 16, 16), (512,))
    opts = adain_train.AdainOptions(
        steps=12, size=32, batch=2, lr=3e-3, channels=(8, 8, 8, 8), student=student, distill_only=True
    )
    summary, _ = adain_train.train(
        vgg, pictures(3), pictures(2, seed=1), opts, tmp_path / "out",
        meta={"name": "t"}, recipe=lambda s: "r", init=start, builtin={},
    )  # fmt: skip
    before, after = adain.read_model(start)[0], adain.read_model(tmp_path / "out" / "model.safetensors")[0]
    assert {k for k in after if not k.startswith("decoder.student.")} == set(before)
    assert all(torch.equal(before[k], after[k]) for k in before)
    distill = [e["distill"] for e in summary.evals]
    assert min(distill[1:]) < 0.9 * distill[0]
    model = adain.load_adain(vgg, tmp_path / "out" / "model.safetensors", fast=False)
    assert model.decoder.config.student == student
    joint = adain_train.AdainOptions(size=32, channels=(8, 8, 8, 8), student=student)
    plain = adain_train.AdainOptions(size=32, channels=(8, 8, 8, 8), student=student, distill_weight=0.0)
    content, style = adain_train.fixed_crops(list(pictures(2).values()), 32, 0, 2), torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        loss, parts = adain_train.adain_loss(vgg, model.decoder, content, style, joint, False)
        base, _ = adain_train.adain_loss(vgg, model.decoder, content, style, plain, False)
    assert parts["distill"] > 0 and float(loss - base) == pytest.approx(parts["distill"], rel=1e-3)
    with pytest.raises(MuseforgeError, match="give --student"):
        adain_train.AdainOptions(distill_only=True).check()


def test_batches_come_only_from_the_step_generator():
    from museforge.style.train_data import Augment

    images = list(pictures(3).values())
    family = adain_train.AdainFamily(
        adain.Decoder(adain.DecoderConfig((4, 4, 4, 4))),
        random_vgg(),
        Augment(images, 32, 0.4, torch.Generator()),
        Augment(images, 32, 0.15, torch.Generator()),
        TINY,
        (torch.zeros(1), torch.zeros(1)),
        {},
        {},
        lambda _: "",
    )
    a = family.batch(torch.Generator().manual_seed(5), 2)
    family.batch(torch.Generator().manual_seed(6), 2)
    b = family.batch(torch.Generator().manual_seed(5), 2)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True)) and a[0].shape == (2, 3, 32, 32)


def train_cli(argv: list[str]) -> int:
    from museforge.cli import build_parser

    args = build_parser().parse_args(["train", "style", *argv, "-q"])
    return args.func(args)


@pytest.fixture()
def tiny_data(monkeypatch):
    """Random VGG, tiny photos and paintings, tiny held-out photos: the commands in seconds."""
    import museforge.style.features as features

    monkeypatch.setattr(features, "load_hed_vgg16", random_vgg)
    monkeypatch.setattr(train_data, "content_photos", lambda **kw: pictures(3))
    monkeypatch.setattr(train_data, "procedural_paintings", lambda count, seed: pictures(1, (50, 50), 3))
    monkeypatch.setattr(train_data, "held_out_photos", lambda **kw: pictures(2, (64, 72), 4))
    monkeypatch.setattr(johnson_train, "evaluate", lambda *a, **k: {"content": 1.0, "style": 1.0, "tv": 0.0})
    monkeypatch.setattr(johnson_train, "speed", lambda model: 0.01)
    monkeypatch.setattr("museforge.cli.train_style.COMPARE_SIZE", 64)


def painting(tmp_path, name: str = "painting.png", seed: int = 1) -> str:
    path = tmp_path / name
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(path)
    return str(path)


def test_train_style_adain_refusals_are_one_line(tmp_path, tiny_data):
    style = painting(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        ([], "give STYLE_IMAGE"),
        ([style, "--method", "adain"], "drop STYLE_IMAGE"),
        ([style, "--styles", str(empty)], "--styles is for --method adain"),
        (["--method", "adain", "--steps", "0"], "--steps 0"),
        (["--method", "adain", "--size", "8"], "--size 8"),
        (["--method", "adain", "--style-weight", "nan"], "--style-weight nan"),
        (["--method", "adain", "--styles", str(tmp_path / "absent")], "no such folder"),
        (["--method", "adain", "--styles", str(empty)], "no .png, .jpg or .webp"),
        (["--method", "adain", "--compare", str(tmp_path / "absent.safetensors")], "no AdaIN model file"),
        (["--method", "adain", "--compare", style], "not a museforge AdaIN model"),
        ([style, "--compare", style], "not a fast style"),
        ([style, "--from-scratch"], "--from-scratch is for --method adain"),
        ([style, "--device", "cuda"], "--device is for --method adain"),
    ]
    if not torch.cuda.is_available():
        cases.append((["--method", "adain", "--device", "cuda"], "sees no CUDA GPU"))
    for argv, message in cases:
        with pytest.raises(MuseforgeError, match=message) as err:
            train_cli([*argv, "--out", str(tmp_path / "o")])
        assert "\n" not in str(err.value)
    assert not (tmp_path / "o").exists()


def test_train_style_adain_writes_a_decoder_its_card_and_a_comparison(tmp_path, tiny_data):
    styles = tmp_path / "paintings"
    styles.mkdir()
    for name, picture in pictures(2, (40, 40), 5).items():
        picture.save(styles / f"{name}.png")
    previous = tmp_path / "old.safetensors"
    adain.save_model(previous, adain.Decoder(), {}, {"name": "old"})
    out = tmp_path / "decoder"
    argv = ["--method", "adain", "--styles", str(styles), "--steps", "2", "--size", "32", "--out", str(out)]
    assert train_cli([*argv, "--compare", str(previous)]) == 0
    assert {"model.safetensors", "training.json", "README.md", "compare.json", "compare.html"} <= {
        p.name for p in out.iterdir()
    }
    model = adain.load_adain(random_vgg(), out / "model.safetensors", fast=False)
    assert len(model.metadata["data_manifest_sha256"]) == 64
    doc = json.loads((out / "training.json").read_text())
    assert doc["steps_done"] == 2 and len(doc["data"]) == 5 and doc["options"]["style_weight"] == 0.25
    compare = json.loads((out / "compare.json").read_text())
    for key in ("new", "previous"):
        assert set(compare[key]) == {"content", "style", "stride_artefact_median", "photos"}
        assert compare[key]["photos"] == 2
    first = min(p.name for p in styles.iterdir())  # judged on the user's own painting
    assert compare["data"].endswith(first) and "Starry Night" not in compare["data"]
    card = (out / "README.md").read_text()
    assert "## Against the previous model" in card and "stride_artefact_median" in card


def test_train_style_adain_fine_tunes_the_shipped_decoder_unless_told_otherwise(
    tmp_path, tiny_data, monkeypatch
):
    """By default the shipped decoder is the start (its last phase's learning rate and grid loss,
    its recipe as the previous phase); --from-scratch starts from random weights."""
    models = tmp_path / "models"
    torch.manual_seed(0)  # test-only: module init
    student = ((4, 4), (8, 8), (8, 8, 8), (512,))
    config = adain.DecoderConfig((8, 8, 8, 8), "bilinear", True, 0.5, student, student_styles=True)
    shipped = adain.Decoder(config)
    adain.save_model(
        models / adain.MODEL_NAME / "model.safetensors", shipped, {}, {"recipe": "shipped recipe"}
    )
    monkeypatch.setenv("MUSEFORGE_MODELS", str(models))
    argv = ["--method", "adain", "--steps", "1", "--size", "32"]
    assert train_cli([*argv, "--out", str(tmp_path / "tuned")]) == 0
    assert train_cli([*argv, "--from-scratch", "--out", str(tmp_path / "new")]) == 0
    tuned, new = (json.loads((tmp_path / d / "training.json").read_text()) for d in ("tuned", "new"))
    assert tuned["previous_phase"] == "shipped recipe" and new["previous_phase"] is None
    assert tuned["options"]["lr"] == 1e-4 and tuned["options"]["grid_weight"] == 40_000
    assert tuned["options"]["channels"] == [8, 8, 8, 8]  # the shipped decoder's shape, its student too
    assert tuned["options"]["student"] == [list(b) for b in student] and new["options"]["student"] == []
    shape = ("channels", "upsample", "skip", "encode_scale", "student", "student_styles")
    assert adain.DecoderConfig.from_json({k: tuned["options"][k] for k in shape}) == config
    assert not new["options"]["student_styles"] and new["options"]["encode_scale"] == 1.0
    assert "thin VGG (blocks 4,4/8,8/8,8,8/512)" in (tmp_path / "tuned" / "README.md").read_text()
    assert "thin VGG" not in (tmp_path / "new" / "README.md").read_text()
    assert new["options"]["lr"] == adain_train.AdainOptions().lr and new["options"]["grid_weight"] == 0
    assert new["options"]["channels"] == list(adain.DECODER_CHANNELS)


def test_train_style_compare_sets_two_fast_styles_side_by_side(tmp_path, tiny_data):
    style = painting(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    base = [style, "--steps", "2", "--size", "32"]
    assert train_cli([*base, "--out", str(first)]) == 0
    assert not (first / "compare.json").exists()
    assert train_cli([*base, "--seed", "3", "--out", str(second), "--compare", str(first)]) == 0
    compare = json.loads((second / "compare.json").read_text())
    assert compare["name"] == "second" and compare["previous_name"] == str(first)
    new, old = compare["new"], compare["previous"]
    for figures in (new, old):
        assert set(figures) == {"content", "style", "stride_artefact_median", "photos"}
        assert figures["photos"] == 2 and figures["content"] > 0 and figures["stride_artefact_median"] > 0
    assert new != old  # two different networks, scored on the same photos
    assert "held-out photos" in compare["data"] and "<table>" in (second / "compare.html").read_text()
    card = (second / "README.md").read_text()
    assert "## Against the previous model" in card and f"{new['content']:.4f}" in card
    assert johnson.load(second).metadata["steps"] == 2


def test_a_student_that_encodes_styles_learns_them_and_stores_its_own_builtin_statistics(tmp_path):
    """``student_styles``: distillation covers the style crops too (the mean of the two MSEs), the
    decoder is given the student's style statistics, and the file's built-in statistics are the
    student's, computed without freezing the decoder in training."""
    torch.set_num_threads(1)
    vgg = random_vgg()
    student = ((4, 4), (8, 8), (8, 8, 8), (512,))
    opts = adain_train.AdainOptions(
        steps=2, size=32, batch=2, lr=1e-3, channels=(8, 8, 8, 8), student=student, student_styles=True
    )
    torch.manual_seed(0)  # test-only: module init
    decoder = adain.Decoder(opts.decoder())
    content, style = adain_train.fixed_crops(list(pictures(2).values()), 32, 0, 2), torch.rand(2, 3, 32, 32)
    alone = replace(opts, distill_only=True)
    with torch.no_grad():
        both, _ = adain_train.distill_loss(vgg, decoder, content, False, style)
        only_content, _ = adain_train.distill_loss(vgg, decoder, content, False)
        only_style, _ = adain_train.distill_loss(vgg, decoder, style, False)
        via_options, _ = adain_train.adain_loss(vgg, decoder, content, style, alone, False)
        styled, _ = adain_train.adain_loss(vgg, decoder, content, style, opts, False)
        plain, _ = adain_train.adain_loss(vgg, adain.Decoder(replace(opts, student_styles=False).decoder()),
                                          content, style, opts, False)  # fmt: skip
    assert float(both) == pytest.approx((float(only_content) + float(only_style)) / 2, rel=1e-4)
    assert float(via_options) == pytest.approx(float(both), rel=1e-6)
    assert float(styled) != pytest.approx(float(plain), rel=1e-3)
    decoder.train().requires_grad_(True)
    stats = adain_train.builtin_stats(vgg, decoder)
    assert decoder.training and all(p.requires_grad for p in decoder.parameters())
    assert set(stats) == {"starry-night", "scream"} and stats["scream"][0].shape == (1, 512, 1, 1)
    summary, _ = adain_train.train(
        vgg, pictures(3), pictures(2, seed=1), opts, tmp_path, meta={"name": "t"}, recipe=lambda s: "r",
    )  # fmt: skip
    model = adain.load_adain(vgg, tmp_path / "model.safetensors", fast=False)
    assert model.decoder.config.student_styles and summary.steps == 2
    expected = adain_train.builtin_stats(vgg, model.decoder)
    for name, (mean, std) in expected.items():
        torch.testing.assert_close(model.builtin[name][0], mean, rtol=2e-3, atol=2e-3)
        torch.testing.assert_close(model.builtin[name][1], std, rtol=2e-3, atol=2e-3)
    with pytest.raises(MuseforgeError, match="--device tpu"):
        replace(opts, device="tpu").check()
