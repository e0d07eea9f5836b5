"""``paint``, ``sculpt`` and ``dataset``: outputs, determinism and one-line errors."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os

import pytest
from PIL import Image

from museforge.cli.image import add_dataset_parser, add_paint_parser, add_sculpt_parser
from museforge.errors import MuseforgeError
from museforge.provenance import read_embedded


def run(argv: list[str]) -> int:
    """Parse and run like ``museforge.cli.main``: a MuseforgeError becomes exit status 1."""
    parser = argparse.ArgumentParser(prog="museforge")
    sub = parser.add_subparsers()
    for add in (add_paint_parser, add_sculpt_parser, add_dataset_parser):
        add(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_every_option_has_help() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    for add in (add_paint_parser, add_sculpt_parser, add_dataset_parser):
        p = add(sub)
        assert p.description
        for action in p._actions:
            assert action.help, f"{p.prog} {action.dest} has no help"


def test_paint_writes_png_and_svg_with_provenance(tmp_path, capsys) -> None:
    out = tmp_path / "glass.png"
    assert run(["paint", "a city at night", "--style", "stained-glass", "--size", "64",
                "--seed", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out), str(out.with_suffix(".svg"))]
    assert Image.open(out).size == (64, 64)
    record = read_embedded(out)
    assert record["seed"] == 5 and record["params"]["style"] == "stained-glass"
    assert read_embedded(out.with_suffix(".svg"))["engine"] == "procedural-painting"
    again = tmp_path / "again.png"
    run(["paint", "a city at night", "--style", "stained-glass", "--size", "64", "--seed", "5",
         "--out", str(again)])
    assert out.read_bytes() == again.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(("argv", "needle"), [
    (["--style", "cubism"], "unknown style 'cubism'"),
    (["--size", "0"], "size must be an integer from 16 to 2048"),
    (["--size", "4096"], "size must be an integer from 16 to 2048"),
    (["--density", "9"], "density must lie in 0.1..4"),
    (["--out", "/proc/museforge/p.png"], "cannot write to /proc"),
    (["--out", "painting.jpg"], "must end in .png"),
])
def test_paint_bad_input(tmp_path, monkeypatch, argv, needle) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MuseforgeError, match=needle) as err:
        run(["paint", "sea", "--size", "32", *argv] if "--size" not in argv else ["paint", "sea", *argv])
    assert "\n" not in str(err.value)


def test_paint_makes_missing_folders(tmp_path, capsys) -> None:
    out = tmp_path / "new" / "deeper" / "p.png"
    assert run(["paint", "sea", "--size", "32", "--seed", "1", "--out", str(out)]) == 0
    assert Image.open(out).size == (32, 32)
    assert capsys.readouterr().out.split() == [str(out)]


def test_paint_refuses_existing_and_readonly(tmp_path) -> None:
    out = tmp_path / "p.png"
    out.write_bytes(b"x")
    with pytest.raises(MuseforgeError, match="already exists"):
        run(["paint", "sea", "--size", "32", "--out", str(out)])
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(MuseforgeError, match=r"cannot write to .*file\.txt"):
        run(["paint", "sea", "--size", "32", "--out", str(blocker / "p.png")])
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        try:
            with pytest.raises(MuseforgeError, match="permission denied"):
                run(["paint", "sea", "--size", "32", "--out", str(locked / "p.png")])
        finally:
            locked.chmod(0o700)


def test_sculpt_files_load_back_watertight(tmp_path, capsys) -> None:
    from museforge.image.sculpture import load_mesh

    for form in ("superformula", "organic", "tree"):
        out = tmp_path / form
        assert run(["sculpt", "an old tree", "--form", form, "--detail", "1", "--seed", "2",
                    "--out", str(out)]) == 0
        glb, stl = (out / "sculpture.glb").read_bytes(), (out / "sculpture.stl").read_bytes()
        for data, kind in ((glb, "glb"), (stl, "stl")):
            mesh = load_mesh(data, kind)
            assert mesh.is_watertight and mesh.volume > 0
        preview = Image.open(out / "preview.png").convert("L")
        lo, hi = preview.getextrema()
        assert preview.size == (512, 512) and hi - lo > 80
        assert json.loads((out / "sculpture.glb.provenance.json").read_text())["seed"] == 2
    again = tmp_path / "again"
    run(["sculpt", "an old tree", "--form", "tree", "--detail", "1", "--seed", "2", "--out",
         str(again)])
    for name in ("sculpture.glb", "sculpture.stl", "preview.png"):
        assert (again / name).read_bytes() == (tmp_path / "tree" / name).read_bytes()


def test_sculpt_auto_form_follows_motifs() -> None:
    from museforge.image.sculpture import choose_form

    assert choose_form(("forest",), 0.0) == "tree"
    assert choose_form(("sea",), 0.0) == "organic"
    assert choose_form(("moon",), 0.0) == "superformula"


def test_spikiness_rises_with_arousal() -> None:
    import numpy as np

    from museforge.image.sculpture import superformula_solid

    def spread(a: float) -> float:
        v, _ = superformula_solid(np.random.default_rng(1), a, 0.5, 1)
        r = np.linalg.norm(v[:, :2], axis=1)
        return float(r.std() / r.mean())

    assert spread(0.95) > spread(0.05)


def test_dataset_manifest_is_deterministic(tmp_path, capsys) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(["dataset", "procedural", "--n", "12", "--size", "32", "--out", str(a), "-q"]) == 0
    run(["dataset", "procedural", "--n", "12", "--size", "32", "--out", str(b), "-q",
         "--workers", "2"])
    manifest = (a / "manifest.jsonl").read_bytes()
    assert manifest == (b / "manifest.jsonl").read_bytes()
    records = [json.loads(line) for line in manifest.decode().splitlines()]
    assert len(records) == 12
    info = json.loads((a / "dataset.json").read_text())
    assert info["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    for r in records:
        data = (a / r["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"]
        assert Image.open(io.BytesIO(data)).size == (32, 32)
        assert r["caption"] == (a / r["file"]).with_suffix(".txt").read_text().strip()
        assert r["mood"] in r["caption"] and r["caption"].isascii()
    assert len({r["style"] for r in records}) >= 3
    with pytest.raises(MuseforgeError, match="not empty"):
        run(["dataset", "procedural", "--n", "2", "--out", str(a), "-q"])
    with pytest.raises(MuseforgeError, match="--n must be"):
        run(["dataset", "procedural", "--n", "0", "--out", str(tmp_path / "c"), "-q"])
