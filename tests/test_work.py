import json
from pathlib import Path

import pytest

from museforge.create import CreateOptions, check_prompt, create_work, parse_modalities
from museforge.errors import MuseforgeError
from museforge.provenance import read_embedded
from museforge.reproduce import reproduce_work
from museforge.runtime import sha256_bytes
from museforge.work import load_manifest, verify_work


def _create(out: Path, **kw) -> Path:
    opts = CreateOptions(
        prompt=kw.pop("prompt", "a stormy sea at night"), seed=kw.pop("seed", 5), out=out, **kw
    )
    path, _ = create_work(opts)
    return path


def test_work_round_trip(tmp_path, fake_engines):
    out = _create(tmp_path / "w")
    manifest = load_manifest(out)
    assert [a["modality"] for a in manifest["artifacts"]] == ["text", "image", "music"]
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "music.mid",
        "music.wav",
        "painting.png",
        "poem.txt",
        "poem.txt.provenance.json",
        "report.html",
        "work.json",
    ]
    for artifact in manifest["artifacts"]:
        assert artifact["engine"].startswith("fake-") and artifact["params"] == {"size": 8, "fail": False}
        for f in artifact["files"]:
            assert sha256_bytes((out / f["name"]).read_bytes()) == f["sha256"]
    record = read_embedded(out / "painting.png")
    assert record["seed"] == manifest["artifacts"][1]["seed"] and record["prompt"] == manifest["prompt"]
    assert manifest["emotion"]["source"] == "detected"
    signed, checks = verify_work(out)
    assert signed and all(c.status == "ok" for c in checks)


def test_same_seed_same_bytes_and_modality_seeds_independent(tmp_path, fake_engines):
    a = _create(tmp_path / "a")
    b = _create(tmp_path / "b")
    c = _create(tmp_path / "c", modalities=("image",))
    for name in ("painting.png", "music.mid", "music.wav", "poem.txt"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "painting.png").read_bytes() == (c / "painting.png").read_bytes()
    d = _create(tmp_path / "d", seed=6)
    assert (a / "painting.png").read_bytes() != (d / "painting.png").read_bytes()


def test_reproduce_identical_then_detects_edit(tmp_path, fake_engines):
    out = _create(tmp_path / "w", emotion="serene")
    results, notes = reproduce_work(out)
    assert notes == [] and len(results) == 5 and all(r.identical for r in results)
    (out / "poem.txt").write_text("edited")
    results, _ = reproduce_work(out)
    assert [r.name for r in results if not r.identical] == ["poem.txt"]
    signed, checks = verify_work(out)
    assert signed and {c.name: c.status for c in checks}["poem.txt"] == "changed"


def test_verify_detects_manifest_tampering(tmp_path, fake_engines):
    out = _create(tmp_path / "w")
    manifest = json.loads((out / "work.json").read_text())
    manifest["prompt"] = "something else"
    (out / "work.json").write_text(json.dumps(manifest))
    signed, _ = verify_work(out)
    assert not signed


def test_failed_engine_leaves_nothing_behind(tmp_path, fake_engines):
    with pytest.raises(RuntimeError):
        _create(tmp_path / "w", params={"image": {"fail": "true"}})
    assert list(tmp_path.iterdir()) == []


def test_existing_destination_needs_overwrite(tmp_path, fake_engines):
    out = _create(tmp_path / "w")
    with pytest.raises(MuseforgeError, match="--overwrite"):
        _create(out)
    _create(out, overwrite=True, seed=9)
    assert load_manifest(out)["seed"] == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


def test_bad_options():
    with pytest.raises(MuseforgeError, match="empty"):
        check_prompt("   ")
    with pytest.raises(MuseforgeError, match="limit"):
        check_prompt("x" * 10_000_000)
    with pytest.raises(MuseforgeError, match="unknown modality 'video'"):
        parse_modalities("text,video")


def test_unknown_parameter_and_engine(tmp_path, fake_engines):
    with pytest.raises(MuseforgeError, match="unknown parameter 'colour'"):
        _create(tmp_path / "w", params={"image": {"colour": "red"}})
    with pytest.raises(MuseforgeError, match="unknown engine 'nope'"):
        _create(tmp_path / "w", engines={"image": "nope"})
    with pytest.raises(MuseforgeError, match="not a valid int"):
        _create(tmp_path / "w", params={"fake-image": {"size": "big"}})
