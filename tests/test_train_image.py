"""``museforge train image``: a fine-tune on a folder of captioned images runs, shows progress,
resumes after an interruption, writes a model card, and its model loads through ``--model``."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from museforge.cli import main
from museforge.image.diffusion.model import load_model


@pytest.fixture
def base(tiny_diffusion_path):
    return tiny_diffusion_path


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "my photos"
    data.mkdir()
    for i in range(12):
        colour = ("red", "blue")[i % 2]
        pixels = np.zeros((24, 30, 3), np.uint8)
        pixels[..., 0 if colour == "red" else 2] = 200
        pixels += rng.integers(0, 40, pixels.shape, dtype=np.uint8)
        Image.fromarray(pixels).save(data / f"{i:02d}.png")
        (data / f"{i:02d}.txt").write_text(f"a {colour} lighthouse", encoding="utf-8")
    (data / "broken.png").write_bytes(b"not an image")
    return data


def test_a_fine_tune_resumes_learns_new_words_and_loads_through_model(tmp_path, base, folder, capsys):
    out = tmp_path / "lighthouses"
    argv = [
        "train",
        "image",
        "--data",
        str(folder),
        "--from",
        str(base),
        "--out",
        str(out),
        "--batch",
        "2",
        "--sample-every",
        "2",
    ]
    assert main([*argv, "--steps", "2"]) == 0
    err = capsys.readouterr().err
    assert "11 training images (1 skipped)" in err and "new word(s) added" in err
    assert "step      2/2" in err
    assert (out / "model.safetensors").is_file() and (out / "samples" / "step-000002.png").is_file()
    assert main([*argv, "--steps", "3"]) == 0
    assert "resumed at step 2" in capsys.readouterr().err
    model = load_model(out)
    assert model.meta["training"]["steps"] == 3 and not model.tokenizer.unknown("a red lighthouse")
    assert model.size == 32 and "fine-tuned from `tiny`" in (out / "README.md").read_text()
    png = tmp_path / "lighthouse.png"
    assert (
        main(
            [
                "imagine",
                "a red lighthouse",
                "--model",
                str(out),
                "--steps",
                "2",
                "--seed",
                "4",
                "--out",
                str(png),
                "-q",
            ]
        )
        == 0
    )
    assert "Model: lighthouses" in Image.open(png).text["parameters"]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--steps", "0"], "--steps"),
        (["--from", "runwayml/stable-diffusion-v1-5"], "not found"),
        (["--from", "{folder}/00.png"], "not a museforge diffusion model"),
        (["--lr", "5"], "--lr"),
    ],
)
def test_bad_training_input_gets_one_line(tmp_path, base, folder, capsys, extra, words):
    extra = [e.format(folder=folder) for e in extra]
    argv = [
        "train",
        "image",
        "--data",
        str(folder),
        "--out",
        str(tmp_path / "m"),
        "--from",
        str(base),
        *extra,
    ]
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "m").exists()


def test_a_folder_that_holds_other_files_is_not_overwritten(tmp_path, base, folder, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["train", "image", "--data", str(folder), "--out", str(out), "--from", str(base)]) != 0
    assert "--overwrite" in capsys.readouterr().err and (out / "notes.txt").read_text() == "mine"


def test_compare_scores_both_models_and_their_originality(tmp_path, base, folder):
    import json

    out = tmp_path / "compared"
    argv = ["train", "image", "--data", str(folder), "--from", str(base), "--out", str(out), "--batch", "2"]
    assert main([*argv, "--steps", "1", "--sample-every", "0", "--compare", str(base), "-q"]) == 0
    compare = json.loads((out / "compare.json").read_text())
    for key in ("new", "previous"):
        figures = compare[key]
        assert figures["loss"] > 0 and figures["originality_images"] == 4
        assert 0 <= figures["nearest_score_mean"] <= figures["nearest_score_max"] <= 1
        assert -1 <= figures["nearest_cosine_mean"] <= figures["nearest_cosine_max"] <= 1
    assert "nearest_score_max" in (out / "compare.html").read_text()
