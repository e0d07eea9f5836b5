"""The image originality index: edited copies of training images are found and called copies,
different images are not; files round-trip and refuse what they cannot use."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from museforge.errors import MuseforgeError
from museforge.originality.image import IMAGE_EDITS, ImageIndex, features_of, phash

SIZE = 48
"""The network's input edge in these tests (small, for speed; recorded in the features)."""
TRAIN, HELD = 24, 8


def painting(seed: int, edge: int = 96) -> np.ndarray:
    """A distinct synthetic picture: a gradient, random shapes and a grain of its own (the detail
    that tells two pictures of the same kind apart, as brushwork does)."""
    rng = np.random.default_rng(seed)
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0, 1, edge)[:, None, None]
    base = (top * (1 - ramp) + bottom * ramp) * np.ones((1, edge, 1))
    im = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(5, 10))):
        x0, y0 = rng.integers(-10, edge, 2)
        w, h = rng.integers(8, edge // 2, 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse((int(x0), int(y0), int(x0 + w), int(y0 + h)), fill=colour)
        elif shape == 1:
            draw.rectangle((int(x0), int(y0), int(x0 + w), int(y0 + h)), fill=colour)
        else:
            xy = (int(x0), int(y0), int(x0 + w), int(y0 + h))
            draw.line(xy, fill=colour, width=int(rng.integers(1, 4)))
    grain = Image.fromarray(rng.normal(0, 1, (edge // 4, edge // 4)).astype(np.float32), mode="F")
    texture = np.asarray(grain.resize((edge, edge), Image.Resampling.BICUBIC))[:, :, None] * 20
    return np.clip(np.asarray(im, dtype=np.float64) + texture, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def data() -> tuple[list[tuple[str, np.ndarray]], list[np.ndarray]]:
    train = [(f"train/{i:02d}.png", painting(i)) for i in range(TRAIN)]
    held = [painting(1000 + i) for i in range(HELD)]
    return train, held


@pytest.fixture(scope="module")
def index(data) -> ImageIndex:
    train, held = data
    idx = ImageIndex.build(train, name="synthetic", size=SIZE)
    idx.calibrate(held)
    return idx


def test_phash_is_stable_under_compression():
    a = painting(3)
    assert phash(a) == phash(a.copy())
    assert bin(phash(a) ^ phash(IMAGE_EDITS["jpeg50"](a, np.random.default_rng(0)))).count("1") <= 8


def test_every_edit_finds_its_source_above_any_new_image(index, data):
    train, held = data
    rng = np.random.default_rng(7)
    best_new = max(index.score(h) for h in held)
    for edit, fn in IMAGE_EDITS.items():
        for i in (0, 9, 17):
            name, image = train[i]
            edited = fn(image, rng)
            assert edited.dtype == np.uint8 and edited.ndim == 3 and edited.shape[2] == 3
            found = index.search(edited, k=3)
            assert found[0].item == name, (edit, i, found)
            assert found[0].similarity > best_new, (edit, i, found[0], best_new)
            assert found[0].similarity >= 0.9, (edit, i, found[0])


def test_calibration_orders_thresholds_and_gives_verdicts(index, data):
    train, _ = data
    t = index.thresholds
    assert t is not None and 0 <= t.similar <= t.copy <= 1
    assert t.calibration["heldout"]["n"] == HELD and t.calibration["train"]["n"] == TRAIN
    rng = np.random.default_rng(1)
    crop = IMAGE_EDITS["crop70"](train[5][1], rng)
    verdict = index.check(crop)
    assert verdict.label == "copy" and verdict.matches[0].item == train[5][0]
    assert verdict.index == "synthetic"
    new = painting(5000)
    assert index.check(new).label == "original"
    flat = np.full((80, 120, 3), 128, np.uint8)  # nothing to register: never a copy
    assert index.check(flat).label != "copy"


def test_save_and_load_give_identical_scores(index, data, tmp_path):
    train, held = data
    path = tmp_path / "images.npz"
    index.save(path)
    back = ImageIndex.load(path, size=SIZE)
    assert back.names == index.names and back.features == index.features
    assert back.vectors.dtype == np.float16
    assert back.thresholds == index.thresholds
    rng = np.random.default_rng(3)
    for image in (IMAGE_EDITS["rotate"](train[2][1], rng), held[0]):
        assert back.search(image) == index.search(image)


def test_add_equals_building_from_all(data):
    train, held = data
    whole = ImageIndex.build(train[:10], size=SIZE)
    part = ImageIndex.build(train[:6], size=SIZE).add(train[6:10])
    assert part.names == whole.names
    assert np.array_equal(part.vectors, whole.vectors)
    assert np.array_equal(part.hashes, whole.hashes) and np.array_equal(part.thumbs, whole.thumbs)
    assert part.search(held[1]) == whole.search(held[1])


def test_unreadable_and_foreign_files_are_one_line_errors(index, tmp_path):
    path = tmp_path / "i.npz"
    index.save(path)
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.npz").write_bytes(b"not an index")
    for bad in ("cut.npz", "junk.npz", "missing.npz"):
        with pytest.raises(MuseforgeError) as err:
            ImageIndex.load(tmp_path / bad, size=SIZE)
        assert str(err.value).startswith(f"cannot read the image index {tmp_path / bad}")
        assert "\n" not in str(err.value)
    with pytest.raises(MuseforgeError) as err:
        ImageIndex.load(path)  # made at SIZE px, loaded as the default
    message = str(err.value)
    assert "\n" not in message and features_of(SIZE) in message and features_of() in message
    assert "rebuild it with" in message


def test_build_folder_reads_images_recursively_and_counts_bad_files(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    Image.fromarray(painting(1)).save(tmp_path / "z.png")
    Image.fromarray(painting(2)).save(tmp_path / "a" / "b" / "y.jpg", quality=90)
    Image.fromarray(painting(3)).save(tmp_path / "a" / "x.webp")
    (tmp_path / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "manifest.jsonl").write_text("{}\n")
    idx = ImageIndex.build_folder(tmp_path, size=SIZE)
    assert idx.names == ["a/b/y.jpg", "a/x.webp", "z.png"]
    assert idx.skipped == 1 and len(idx.data_sha256) == 64 and idx.name == tmp_path.name
    assert idx.search(painting(3), k=1)[0].item == "a/x.webp"


def test_bad_inputs_are_refused(index):
    with pytest.raises(MuseforgeError):
        index.search(np.zeros((32, 32), np.uint8))
    with pytest.raises(MuseforgeError):
        ImageIndex.build([("x", np.zeros((4, 4, 3), np.uint8))], size=SIZE)
