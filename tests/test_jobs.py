"""The job layer: one call to a signed Work, parameters checked before anything runs, every file
sealed so it verifies alone, a typed record, reproduce from a lone file, plugins in the CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import RUNS
from PIL import Image

from museforge import engines, jobs
from museforge.cli import main
from museforge.create import CreateOptions, create_work
from museforge.errors import MuseforgeError
from museforge.provenance import a1111_parameters, check_file, read_embedded, read_embedding, read_png_texts
from museforge.record import FORMAT, RecordError, WorkRecord
from museforge.reproduce import reproduce_work
from museforge.runtime import MAX_SEED
from museforge.work import load_manifest, verify_path


def _photo(path: Path, seed: int = 0) -> Path:
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(path)
    return path


def test_run_returns_a_signed_work_whose_files_verify_alone(tmp_path, fake_engines):
    work = jobs.run("fake-image", {"size": 12}, seed=4, prompt="a stormy sea")
    [entry] = work.record.artifacts
    assert entry.engine == "fake-image" and entry.params == {"size": 12, "fail": False} and entry.seed == 4
    assert work.record.signature is not None and work.record.emotion is not None
    [path] = work.save_files({"painting.png": tmp_path / "sub" / "p.png"})
    assert check_file(path).ok
    assert read_embedded(path)["seed"] == 4
    assert "Size: 12x12" in read_png_texts(path.read_bytes())["parameters"]


@pytest.mark.parametrize(("engine", "name"), [("fake-image", "painting.png"), ("fake-music", "music.mid"),
                                              ("fake-music", "music.wav"), ("fake-text", "poem.txt")])
def test_flipping_one_byte_of_a_lone_file_is_found_and_named(tmp_path, fake_engines, capsys, engine, name):
    work = jobs.run(engine, {}, seed=1, prompt="sea")
    path = work.save_files({name: tmp_path / name})[0]  # (a text file's sidecar follows it)
    assert main(["verify", str(path)]) == 0
    capsys.readouterr()
    data = bytearray(path.read_bytes())
    found = read_embedding(path)  # flip a byte of the content, not of the record
    after = found.at + found.inserted
    where = found.at // 2 if found.at > len(data) - after else after + (len(data) - after) // 2
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith(name))
    assert "changed" in line and "the file was altered" in out
    spans = [[int(x) for x in span.split("-")] for span in
             line.split("bytes ")[1].split(" changed")[0].replace(",", "").split(" ")]
    assert any(s[0] <= where <= s[-1] and s[-1] - s[0] < 128 for s in spans), line  # located to the block


def test_a_lone_svg_verifies_and_a_changed_one_is_named(tmp_path, capsys):
    out = tmp_path / "glass.png"
    assert main(["paint", "a city at night", "--style", "stained-glass", "--size", "32", "--seed", "2",
                 "--out", str(out)]) == 0
    svg = out.with_suffix(".svg")
    assert check_file(svg).ok and check_file(out).ok
    text = svg.read_text()
    svg.write_text(text.replace("</svg>", "<circle r='1'/></svg>"))
    verdict = check_file(svg)
    assert verdict.status == "changed" and "changed since it was signed" in verdict.detail


def test_a_file_edited_and_resealed_by_another_key_names_the_unknown_key(tmp_path, fake_engines, capsys):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from museforge.provenance import file_stamp, make_seal, reseal

    [path] = jobs.run("fake-image", {}, seed=1, prompt="sea").save_files({"painting.png": tmp_path / "p.png"})
    found = read_embedding(path)
    record = {**found.record, "prompt": "someone else's sea"}
    stamp = file_stamp("painting.png", "image/png", found.payload)
    seal = make_seal(record, stamp, Ed25519PrivateKey.generate(), "Mallory")
    path.write_bytes(reseal(path.name, found.payload, record, seal))
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert 'signed by an unknown key SHA256:' in out and 'calling itself "Mallory"' in out
    assert main(["verify", str(path), "--allow-unknown"]) == 0
    found2 = read_embedding(path)
    found2.record["prompt"] = "edited once more"  # an edit without a new seal
    path.write_bytes(reseal(path.name, found2.payload, found2.record, found2.seal))
    assert check_file(path).status == "forged"


def test_bad_parameter_fails_before_any_engine_runs(tmp_path, fake_engines):
    RUNS.clear()
    opts = CreateOptions(prompt="sea", seed=1, out=tmp_path / "w", params={"image": {"size": "500"}})
    with pytest.raises(MuseforgeError, match=r"^image\.size=500: size must be an integer from 1 to 64"):
        create_work(opts)
    assert RUNS == [] and not (tmp_path / "w").exists()


def test_bad_param_on_the_command_line_is_one_line(tmp_path, fake_engines, capsys):
    RUNS.clear()
    code = main(["create", "sea", "--param", "image.size=5000", "--out", str(tmp_path / "w"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err == ["museforge: error: image.size=5000: size must be an integer from 1 to 64, "
                                 "got 5000"]
    assert RUNS == []


def test_seeds_stay_exact_in_json(tmp_path, fake_engines, capsys):
    assert main(["create", "sea", "--seed", str(MAX_SEED + 1), "--out", str(tmp_path / "x"), "-q"]) == 1
    assert "out of range" in capsys.readouterr().err
    out = tmp_path / "w"
    assert main(["create", "sea", "--seed", str(MAX_SEED), "--out", str(out), "-q"]) == 0
    manifest = load_manifest(out)
    assert manifest["seed"] == MAX_SEED
    assert all(0 <= a["seed"] <= MAX_SEED for a in manifest["artifacts"])


def test_every_maker_is_a_registered_engine():
    found = engines.load_engines()
    for name in ("museforge-style-gatys", "museforge-style-adain", "museforge-style-johnson",
                 "museforge-style-reinhard", "museforge-style-histogram", "learned-poet", "rule-poet",
                 "chorale-harmonizer", "folk-continuer", "scene-scorer", "procedural-painting",
                 "procedural-sculpture", "rule-composer"):
        assert name in found, name
    styles = found["museforge-style-gatys"]
    assert [s.role for s in styles.inputs] == ["content", "styles", "masks"]
    assert engines.default_engine("image").name == "procedural-painting"  # style needs a photo


def test_engines_command_lists_inputs_and_ranges(capsys):
    assert main(["engines"]) == 0
    out = capsys.readouterr().out
    assert "input content (image, needed)" in out and "input melody (music, optional)" in out
    assert "size (int, default 768): width and height in pixels (16 to 2048)" in out


def test_stylised_image_reproduces_from_its_record(tmp_path, capsys):
    photo = _photo(tmp_path / "photo.png")
    out = tmp_path / "out" / "styled.png"
    assert main(["style", str(photo), "starry-night", "--method", "histogram", "--size", "48",
                 "--out", str(out), "-q"]) == 0
    record = read_embedded(out)
    assert record["input_names"] == {"content": ["photo.png"], "styles": ["builtin:starry_night.jpg"]}
    results, notes = reproduce_work(out)
    assert notes == [] and [(r.name, r.identical) for r in results] == [("styled.png", True)]
    _photo(photo, seed=1)  # the photo changed: reproduce says which input it misses
    with pytest.raises(MuseforgeError, match=r"input content photo\.png"):
        reproduce_work(out)
    original = _photo(tmp_path / "kept.png")
    assert main(["reproduce", str(out), "--input", f"content={original}", "-q"]) == 0
    assert "1 of 1 files identical" in capsys.readouterr().out


def test_create_with_a_style_engine_takes_inputs(tmp_path):
    photo = _photo(tmp_path / "photo.png")
    out = tmp_path / "w"
    opts = CreateOptions(prompt="a calm sea", seed=2, out=out, modalities=("image",),
                         engines={"image": "museforge-style-reinhard"},
                         params={"image": {"size": "32"}},
                         inputs={"image.content": [str(photo)], "image.styles": ["scream"]})
    create_work(opts)
    record = WorkRecord.from_json(load_manifest(out))
    [entry] = record.artifacts
    assert [(i.role, i.name, i.builtin) for i in entry.inputs] == [("content", "photo.png", False),
                                                                    ("styles", "scream.jpg", True)]
    assert verify_path(out).intact
    results, _ = reproduce_work(out)
    assert all(r.identical for r in results)


def test_work_json_v1_is_read_and_a_hostile_one_is_one_line(tmp_path, capsys):
    v1 = {"format": 1, "museforge": "0.1.0", "created": "2026-11-01T00:00:00+00:00", "prompt": "sea",
          "lang": "en", "seed": 3, "emotion": {"label": "serene", "valence": 0.6, "arousal": -0.6,
                                                "confidence": 1.0, "source": "given"},
          "device": "cpu", "libraries": {}, "originality": None, "evaluation": None, "seconds": 1.0,
          "artifacts": [{"modality": "text", "engine": "rule-poet", "engine_version": "1",
                         "model_sha256": None, "params": {"form": "auto", "title": True}, "seed": 9,
                         "files": [{"name": "poem.txt", "media_type": "text/plain", "sha256": "0" * 64,
                                    "bytes": 3}], "summary": {}, "warnings": [], "seconds": 0.1}]}
    record = WorkRecord.from_json(v1)
    assert record.format == 1 and record.artifacts[0].inputs == () and record.artifacts[0].seed == 9
    for bad, needle in [({**v1, "seed": "3"}, "'seed' must be a whole number"),
                        ({**v1, "format": FORMAT + 1}, "newer museforge"),
                        ({**v1, "artifacts": [{**v1["artifacts"][0], "modality": 1}]},
                         "'modality' must be text")]:
        with pytest.raises(RecordError, match=needle):
            WorkRecord.from_json(bad)
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "work.json").write_text("[" * 100_000 + "]" * 100_000)
    for command in ("show", "verify", "reproduce"):
        assert main([command, str(folder)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("museforge: error:"), (command, err)
    (folder / "work.json").write_text(json.dumps({**v1, "seed": 10**400}))
    assert main(["show", str(folder)]) == 1


def test_a1111_parameters_have_no_empty_field():
    record = {"prompt": "sea", "lang": "en", "engine": "e", "engine_version": "1", "seed": 1,
              "model_sha256": None, "libraries": {}, "emotion": None,
              "params": {"key": "", "tempo_changes": "", "bars": 4}}
    text = a1111_parameters(record, (8, 8)).splitlines()[1]
    assert ": ," not in text and not text.endswith(": ")
    assert all(part.split(": ", 1)[1].strip() for part in text.split(", "))


def test_poem_seed_is_random_by_default_and_recorded(tmp_path, capsys):
    out = tmp_path / "p.txt"
    assert main(["poem", "秋思", "--engine", "rule-poet", "--form", "wujue", "--out", str(out)]) == 0
    seed = read_embedded(out)["seed"]
    err = capsys.readouterr().err
    assert f"seed {seed}" in err
    again = ["poem", "秋思", "--engine", "rule-poet", "--form", "wujue", "--out", str(tmp_path / "q.txt")]
    assert main(again) == 0
    assert read_embedded(tmp_path / "q.txt")["seed"] != seed  # 1 in 2^31 to collide
    assert check_file(out).ok


LIGHT = textwrap.dedent("""
    import sys
    from museforge.cli import main
    try:
        main(sys.argv[1:])
    finally:
        print("HEAVY", [m for m in ("torch", "numpy", "music21") if m in sys.modules], file=sys.stderr)
""")


@pytest.mark.parametrize("argv", [["--help"], ["show", "WORK"], ["verify", "WORK"]])
def test_help_and_show_do_not_load_torch(tmp_path, fake_engines, argv):
    work = tmp_path / "w"
    assert main(["create", "sea", "--seed", "1", "--out", str(work), "-q"]) == 0
    argv = [str(work) if a == "WORK" else a for a in argv]
    done = subprocess.run([sys.executable, "-c", LIGHT, *argv], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in done.stderr, done.stderr


def test_show_piped_into_head_ends_quietly(tmp_path, fake_engines):
    work = tmp_path / "w"
    assert main(["create", "sea", "--seed", "1", "--out", str(work), "-q"]) == 0
    script = f"{sys.executable} -m museforge show {work} --json | head -1"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "{" and done.stderr == ""


PLUGIN = textwrap.dedent('''
    from dataclasses import dataclass
    from museforge.engines import Artifact, Engine, OutputFile, param

    @dataclass(frozen=True)
    class EchoParams:
        times: int = param(2, "how many times to say it", range=(1, 5))

    class Echo(Engine):
        name, modality, version, Params = "echo-plugin", "text", "1", EchoParams
        description = "says the prompt again"

        def run(self, request, generator):
            text = " ".join([request.prompt] * request.params.times)
            return Artifact("text", [OutputFile("echo.txt", text.encode(), "text/plain")], {"text": text})
''')


def test_a_plugin_engine_appears_in_the_cli(tmp_path, monkeypatch, capsys):
    site = tmp_path / "site"
    (site / "echo_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "echo_plugin.py").write_text(PLUGIN)
    (site / "echo_plugin-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\n"
                                                                 "Version: 1.0\n")
    (site / "echo_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[museforge.engines]\necho-plugin = echo_plugin:Echo\n")
    monkeypatch.syspath_prepend(str(site))
    engines.load_engines.cache_clear()
    try:
        assert main(["engines"]) == 0
        assert "echo-plugin 1" in capsys.readouterr().out
        with pytest.raises(SystemExit):
            main(["run", "echo-plugin", "--help"])
        assert "--times N" in capsys.readouterr().out
        out = tmp_path / "w"
        argv = ["run", "echo-plugin", "hello", "--times", "3", "--seed", "1", "--out", str(out), "-q"]
        assert main(argv) == 0
        assert (out / "echo.txt").read_text() == "hello hello hello"
        assert verify_path(out).intact
        assert main(["run", "echo-plugin", "hi", "--times", "9", "--out", str(tmp_path / "x")]) == 1
        assert "--times 9: times must be an integer from 1 to 5" in capsys.readouterr().err
    finally:
        engines.load_engines.cache_clear()


def test_piped_prompt_and_unicode_json(capsys, fake_engines, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("在一片神秘的森林中，"))
    out = tmp_path / "w"
    assert main(["create", "-", "--seed", "2", "--out", str(out), "-q"]) == 0
    assert load_manifest(out)["prompt"] == "在一片神秘的森林中，"
