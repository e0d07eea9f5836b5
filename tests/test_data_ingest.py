"""``museforge data``: a folder becomes a licence-aware data set; its manifest, card and checks."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from museforge.cli import main
from museforge.data import licences
from museforge.data.ingest import Options, ingest
from museforge.data.manifest import CARD, MANIFEST, open_dataset, verify
from museforge.errors import MuseforgeError

CC_BY = (
    "Attribution 4.0 International\n\n=======================================================\n\n"
    'Creative Commons Corporation ("Creative Commons") is not a law firm and does not provide legal '
    "services or legal advice.\n"
)


def _picture(seed: int, size: tuple[int, int] = (48, 32)) -> Image.Image:
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    return Image.fromarray(low).resize(size, Image.Resampling.BICUBIC)


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _make_folder(root: Path) -> dict[str, str]:
    """The folder a person would bring; returns the opt-out list's entries by name."""
    from museforge.music.io import parse_note_string, score_to_musicxml
    from museforge.music.midi import score_to_midi

    paint, poems, loose = root / "paint", root / "poems", root / "loose"
    for folder in (paint, poems, loose):
        folder.mkdir(parents=True)
    (paint / "LICENSE").write_text(CC_BY)
    (paint / "a.png").write_bytes(_png(_picture(1)))
    (paint / "a.txt").write_text("a stormy sea at night")
    (paint / "b.png").write_bytes(_png(_picture(2)))
    (paint / "b.txt").write_text("a quiet lake in spring")
    (paint / "z-copy.png").write_bytes((paint / "a.png").read_bytes())
    _picture(1).save(paint / "z-again.jpg", quality=85)
    (paint / "broken.png").write_bytes(_png(_picture(3))[:120])
    (paint / "zero.png").write_bytes(b"")
    (paint / "photo.mid").write_bytes(_png(_picture(4)))
    (paint / "opted.png").write_bytes(_png(_picture(5)))
    (paint / "opted.json").write_text(json.dumps({"url": "https://example.org/opted", "tags": ["sea"]}))
    (paint / "hashed.png").write_bytes(_png(_picture(6)))
    (poems / "moon.txt").write_text("The moon is bright,\r\nthe night is calm and sad.\n")
    (poems / "moon.txt.license").write_text("cc-by-nc-4.0\n")
    (root / "tune.mid").write_bytes(score_to_midi(parse_note_string("D4 E4 F4 G4 A4 Bb4 C5 D5 A4:2")))
    (root / "tune.mid.license").write_text("SPDX-License-Identifier: CC0-1.0\n")
    xml = score_to_musicxml(parse_note_string("C4 E4 G4 C5 G4 E4 C4 D4 F4 A4:2", meter="3/4"))
    (root / "song.musicxml").write_bytes(xml)
    (root / "song.json").write_text(json.dumps({"license": "Public Domain", "caption": "a happy dance"}))
    (loose / "untold.txt").write_text("a poem nobody licensed\n")
    return {"hashed": hashlib.sha256((paint / "hashed.png").read_bytes()).hexdigest()}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("ingest")
    src = root / "mine"
    entries = _make_folder(src)
    opt_out = root / "opt-out.txt"
    opt_out.write_text(
        f"# taken down on request\nhttps://example.org/opted\n{entries['hashed']}  # by hash\n"
    )
    out = root / "set"
    seen: list[tuple[str, float]] = []
    ingest(src, out, Options(opt_out=opt_out), lambda stage, f: seen.append((stage, f)))
    assert seen[-1] == ("writing the data set", 1.0)
    return src, out, opt_out


def _by_file(rows: list[dict]) -> dict[str, dict]:
    return {r["file"]: r for r in rows}


def test_rows(made: tuple[Path, Path, Path]) -> None:
    _, out, _ = made
    ds = open_dataset(out)
    rows = _by_file(ds.rows)
    assert sorted(rows) == ["paint/a.png", "paint/b.png", "poems/moon.txt", "song.musicxml", "tune.mid"]
    assert [r["id"] for r in ds.rows] == sorted(r["id"] for r in ds.rows)
    a = rows["paint/a.png"]
    assert (a["kind"], a["licence"], a["licence_source"], a["width"], a["height"]) == (
        "image",
        "CC-BY-4.0",
        "folder",
        48,
        32,
    )
    assert a["caption"] == "a stormy sea at night" and a["mood"] == "tense" and a["tags"] == ["paint"]
    assert a["id"] == a["sha256"][:16] and a["path"] == f"items/image/{a['id']}.png"
    with Image.open(ds.file(a)) as im:
        assert (im.format, im.mode, im.size) == ("PNG", "RGB", (48, 32))
    moon = rows["poems/moon.txt"]
    assert (moon["licence"], moon["licence_source"], moon["chars"]) == ("CC-BY-NC-4.0", "sidecar", 46)
    assert ds.file(moon).read_bytes() == b"The moon is bright,\nthe night is calm and sad.\n"
    tune = rows["tune.mid"]
    assert ds.file(tune).read_bytes() == (made[0] / "tune.mid").read_bytes()
    assert (tune["licence"], tune["key"], tune["meter"], tune["notes"]) == ("CC0-1.0", "D minor", "4/4", 9)
    song = rows["song.musicxml"]
    assert song["path"].endswith(".mid") and ds.file(song).read_bytes()[:4] == b"MThd"
    assert (song["licence"], song["meter"], song["caption"], song["mood"]) == (
        "LicenseRef-PublicDomain",
        "3/4",
        "a happy dance",
        "joyful",
    )
    assert {r["split"] for r in ds.rows} <= {"train", "val"}
    assert ds.licences() == {"CC-BY-4.0": 2, "CC-BY-NC-4.0": 1, "CC0-1.0": 1, "LicenseRef-PublicDomain": 1}
    assert [r["file"] for r in ds.items("image")] == sorted(
        ["paint/a.png", "paint/b.png"], key=lambda f: rows[f]["id"]
    )
    assert len(ds.items("music", "train")) + len(ds.items("music", "val")) == 2
    assert sorted(p.relative_to(out).as_posix() for p in (out / "items").rglob("*") if p.is_file()) == sorted(
        r["path"] for r in ds.rows
    )


def test_refusals_in_card(made: tuple[Path, Path, Path]) -> None:
    card = open_dataset(made[1]).card
    reasons = {r["path"]: (r["reason"], r["detail"]) for r in card["refused"]}
    assert reasons["paint/z-copy.png"] == ("exact duplicate", "of paint/a.png")
    assert reasons["paint/z-again.jpg"] == ("near duplicate", "of paint/a.png")
    assert reasons["paint/broken.png"][0] == "corrupt"
    assert reasons["paint/zero.png"][0] == "empty"
    assert reasons["paint/photo.mid"][0] == "name does not match content"
    assert reasons["paint/opted.png"][0] == "opted out" and reasons["paint/hashed.png"][0] == "opted out"
    assert reasons["loose/untold.txt"][0] == "no licence"
    assert len(reasons) == 8
    assert card["counts"]["image"]["total"] == 2 and card["items"] == 5
    assert card["manifest_sha256"] == hashlib.sha256((made[1] / MANIFEST).read_bytes()).hexdigest()
    assert card["options"]["opt_out"]["file"] == "opt-out.txt" and card["assumed_licence"] is None
    assert "near duplicate (of paint/a.png)" in (made[1] / "README.md").read_text()


def test_same_folder_same_bytes(
    made: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out, opt_out = made
    again = tmp_path / "again"
    monkeypatch.setattr("museforge.data.ingest.CHUNK", 2)  # two worker processes even for a few files
    ingest(src, again, Options(opt_out=opt_out, workers=2))
    for name in (MANIFEST, CARD, "README.md"):
        assert (again / name).read_bytes() == (out / name).read_bytes()


def test_hand_edited_manifest_refused(made: tuple[Path, Path, Path], tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(made[1], copy)
    table = pq.read_table(copy / MANIFEST)
    licence = table.column("licence").to_pylist()
    table = table.set_column(table.schema.get_field_index("licence"), "licence", [["MIT"] * len(licence)])
    pq.write_table(table, copy / MANIFEST)
    with pytest.raises(MuseforgeError, match=r"manifest.parquet was changed after ingest .*--rehash"):
        open_dataset(copy)
    assert main(["data", "verify", str(copy), "--rehash"]) == 0
    assert open_dataset(copy).licences() == {"MIT": 5}
    pq.write_table(table.drop_columns(["split"]), copy / MANIFEST)
    assert main(["data", "verify", str(copy), "--rehash"]) == 1


def test_verify_catches_changed_item(
    made: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(made[1], copy)
    assert verify(open_dataset(copy)) == []
    row = _by_file(open_dataset(copy).rows)["poems/moon.txt"]
    (copy / row["path"]).write_text("The moon is dim.\n")
    problems = verify(open_dataset(copy))
    assert len(problems) == 1 and problems[0].startswith(row["path"])
    capsys.readouterr()
    assert main(["data", "verify", str(copy)]) == 1
    assert row["path"] in capsys.readouterr().out


def test_licence_uses(made: tuple[Path, Path, Path]) -> None:
    ds = open_dataset(made[1])
    licences.check_use(ds, "research")
    with pytest.raises(MuseforgeError, match=r"commercial use: CC-BY-NC-4.0 \(1 item\)"):
        licences.check_use(ds, "commercial")
    assert not licences.permits("LicenseRef-Mine", "research")
    assert not licences.permits("CC-BY-NC-ND-4.0", "commercial") and licences.permits(
        "CC-BY-SA-4.0", "commercial"
    )


@pytest.mark.parametrize(
    ("text", "spdx"),
    [
        ("CC BY 4.0", "CC-BY-4.0"),
        ("cc-by-nc-4.0", "CC-BY-NC-4.0"),
        ("Public Domain", "LicenseRef-PublicDomain"),
        ("CC0", "CC0-1.0"),
        ("Creative Commons Attribution-ShareAlike 3.0", "CC-BY-SA-3.0"),
        ("CC BY-NC-SA 4.0", "CC-BY-NC-SA-4.0"),
        ("apache 2.0", "Apache-2.0"),
        ("mit", "MIT"),
        ("GPL", None),
        ("cc-by-9.0", None),
    ],
)
def test_normalise(text: str, spdx: str | None) -> None:
    assert licences.normalise(text) == spdx


@pytest.mark.parametrize(
    ("text", "spdx"),
    [
        (CC_BY, "CC-BY-4.0"),
        (
            "MIT License\n\nCopyright (c) 2026 A. Painter\n\nPermission is hereby granted, free of charge",
            "MIT",
        ),
        (
            "                    Apache License\n              Version 2.0, January 2004",
            "Apache-2.0",
        ),
        (
            "Copyright 2026\n\nRedistribution and use in source and binary forms ...\nNeither the name of",
            "BSD-3-Clause",
        ),
        ("Creative Commons Legal Code\n\nCC0 1.0 Universal\n", "CC0-1.0"),
        ("These poems are in the public domain.\n", "LicenseRef-PublicDomain"),
        ("All rights reserved.\n", None),
    ],
)
def test_licence_files(text: str, spdx: str | None) -> None:
    assert licences.from_text(text) == spdx


def test_assumed_licence(made: tuple[Path, Path, Path], tmp_path: Path) -> None:
    result = ingest(made[0], tmp_path / "assumed", Options(assume_licence="CC BY 4.0"))
    row = _by_file(result.rows)["loose/untold.txt"]
    assert (row["licence"], row["licence_source"]) == ("CC-BY-4.0", "assumed")
    assert result.card["assumed_licence"] == "CC-BY-4.0" and result.card["licence_sources"]["assumed"] == 1
    assert "only because it was assumed" in (tmp_path / "assumed" / "README.md").read_text()
    option = ingest(made[0], tmp_path / "option", Options(licence="MIT", assume_licence="CC0"))
    assert _by_file(option.rows)["loose/untold.txt"]["licence_source"] == "option"


def test_cli(made: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out, _ = made
    target = tmp_path / "cli"
    assert main(["data", "ingest", str(src), "--out", str(target), "--licence", "MIT", "-q"]) == 0
    said = capsys.readouterr().out
    assert said.startswith("8 items (") and str(target / "README.md") in said
    assert main(["data", "ingest", str(src), "--out", str(target), "-q"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["data", "ingest", str(src), "--out", str(target), "--licence", "nonsense", "-q"]) == 1
    assert main(["data", "ingest", str(src), "--out", str(src / "inside"), "-q"]) == 1
    assert main(["data", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "CC-BY-NC-4.0" in shown and "paint/z-copy.png: exact duplicate (of paint/a.png)" in shown
    assert main(["data", "verify", str(out)]) == 0
    assert main(["data", "show", str(src)]) == 1


def test_conversion_limits(tmp_path: Path) -> None:
    from museforge.music.io import parse_note_string
    from museforge.music.midi import score_to_midi

    src = tmp_path / "src"
    src.mkdir()
    (src / "LICENSE").write_text("CC0 1.0 Universal\n")
    turned = _picture(7, (40, 24))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    turned.save(src / "turned.jpg", quality=95, exif=exif)
    _picture(8, (300, 100)).save(src / "wide.png")
    (src / "big.txt").write_text("x" * 100_000)
    (src / "notes.docx").write_bytes(b"PK\x03\x04 not music")
    (src / "tune-c.mid").write_bytes(score_to_midi(parse_note_string("C4 D4 E4 F4 G4 A4 B4 C5 D5")))
    (src / "tune-g.mid").write_bytes(score_to_midi(parse_note_string("G4 A4 B4 C5 D5 E5 F#5 G5 A5", bpm=140)))
    result = ingest(src, tmp_path / "out", Options(max_side=64, max_file_mb=0.05, val_share=0))
    rows = _by_file(result.rows)
    assert (rows["turned.jpg"]["width"], rows["turned.jpg"]["height"]) == (24, 40)
    assert (rows["wide.png"]["width"], rows["wide.png"]["height"]) == (64, 21)
    assert {r["split"] for r in result.rows} == {"train"}
    reasons = {r["path"]: (r["reason"], r["detail"]) for r in result.card["refused"]}
    assert reasons["big.txt"][0] == "too large" and reasons["notes.docx"][0] == "unsupported type"
    assert reasons["tune-g.mid"] == ("near duplicate", "of tune-c.mid")
