"""Every input bounded and checked: a careless or hostile user gets one clear line naming the
limit, never "internal error", never a hang."""

from __future__ import annotations

import errno
import io
import json
import math
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from museforge import jobs
from museforge.cli import main
from museforge.engines import InputFile, describe, load_engines
from museforge.errors import MuseforgeError
from museforge.runtime import MAX_SEED, check_device


def _run(capsys, argv, stdin=None, monkeypatch=None):
    """Exit status and stderr lines of one command."""
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", stdin)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines()


def _one_line(code, lines, needle, status=1):
    assert code == status, (code, lines)
    assert len(lines) == 1, lines
    assert needle in lines[0], lines
    assert "internal error" not in lines[0] and "Traceback" not in lines[0]


def _bytes_stdin(data: bytes, errors: str = "strict") -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors=errors)


# ---------------------------------------------------------------- 1. prompts


def test_prompt_is_normalised_in_one_place():
    decomposed = "e\u0301t\u00e9"  # é written as e + combining accent, then a composed é
    cleaned = jobs.check_prompt(f"\ufeff  {decomposed}\x1b[31m\r\nnext\x07\t \u200b ")
    assert cleaned == "\u00e9t\u00e9[31m\nnext"
    assert jobs.check_prompt("a\u200db") == "a\u200db"  # a joiner inside a word stays


@pytest.mark.parametrize("prompt", ["\u200b", "\ufeff", "\x01\x02\x7f", " \t\n\u3000",
                                    "\u200b\ufeff\x0b \u2060"])
def test_a_prompt_of_invisible_characters_is_empty(capsys, tmp_path, fake_engines, prompt):
    code, lines = _run(capsys, ["create", prompt, "--out", str(tmp_path / "w")])
    _one_line(code, lines, "the prompt is empty")
    assert not (tmp_path / "w").exists()


def test_prompt_limit_counts_characters_after_normalisation():
    assert len(jobs.check_prompt("e\u0301" * 4000)) == 4000  # 8,000 code points, 4,000 characters
    assert len(jobs.check_prompt("  " + "森" * 4000 + "\u200b" * 50)) == 4000
    with pytest.raises(MuseforgeError, match="4,001 characters; the limit is 4,000"):
        jobs.check_prompt("森" * 4001)


def test_poem_limit_goes_through_check_prompt(capsys, monkeypatch):
    seen = []
    real = jobs.check_prompt
    monkeypatch.setattr(jobs, "check_prompt", lambda text, *a, **k: seen.append(a) or real(text, *a, **k))
    code, lines = _run(capsys, ["poem", "x" * 2001, "--engine", "rule-poet"])
    _one_line(code, lines, "the limit is 2,000")
    assert seen and seen[0][0] == 2000
    code, lines = _run(capsys, ["poem", "\u200b\x1b\ufeff", "--engine", "rule-poet"])
    _one_line(code, lines, "the prompt is empty")


@pytest.mark.parametrize("argv", [["create", "-"], ["poem", "-", "--engine", "rule-poet"],
                                  ["run", "fake-text", "-"], ["poem", "--check", "-", "--form", "wujue"]])
def test_invalid_utf8_on_stdin_is_one_line(capsys, tmp_path, monkeypatch, fake_engines, argv):
    argv = [*argv, "--out", str(tmp_path / "w")] if argv[0] != "poem" else argv
    code, lines = _run(capsys, argv, _bytes_stdin(b"sea \xff\xfe night"), monkeypatch)
    _one_line(code, lines, "not UTF-8 text")
    # a C locale decodes stdin with surrogateescape: the bytes arrive as lone surrogates
    code, lines = _run(capsys, argv, _bytes_stdin(b"sea \xff night", "surrogateescape"), monkeypatch)
    _one_line(code, lines, "not valid UTF-8 text")
    assert not (tmp_path / "w").exists()


def test_undecodable_command_line_argument_is_one_line(capsys, tmp_path, fake_engines):
    arg = b"sea \xff".decode("utf-8", "surrogateescape")  # what Python puts in sys.argv
    code, lines = _run(capsys, ["create", arg, "--out", str(tmp_path / "w")])
    _one_line(code, lines, "argument 2 is not UTF-8 text: b'sea \\xff'", status=2)
    assert not (tmp_path / "w").exists()


def test_closed_or_failing_stdin(capsys, tmp_path, monkeypatch, fake_engines):
    out = ["--out", str(tmp_path / "w")]
    monkeypatch.setattr("sys.stdin", None)
    _one_line(*_run(capsys, ["create", "-", *out]), "standard input is closed")

    class Failing(io.StringIO):
        def __init__(self, exc: BaseException) -> None:
            super().__init__()
            self.exc = exc

        def read(self, size: int | None = -1) -> str:
            raise self.exc

    monkeypatch.setattr("sys.stdin", Failing(OSError(errno.EIO, "Input/output error")))
    _one_line(*_run(capsys, ["create", "-", *out]), "cannot read standard input (Input/output error)")
    monkeypatch.setattr("sys.stdin", Failing(KeyboardInterrupt()))
    _one_line(*_run(capsys, ["create", "-", *out]), "interrupted", status=130)
    assert not (tmp_path / "w").exists()


def test_huge_stdin_is_refused_without_reading_it_all(capsys, monkeypatch):
    stream = io.StringIO("a" * 1_000_000)
    code, lines = _run(capsys, ["poem", "--check", "-", "--form", "wujue"], stream, monkeypatch)
    _one_line(code, lines, "more than 100,000 characters")
    assert stream.tell() <= 100_001


# ---------------------------------------------------------------- 2. melodies


def test_note_string_limits_are_named():
    from museforge.music.io import MAX_MELODY_NOTES, parse_note_string

    assert MAX_MELODY_NOTES == 4000
    assert len(parse_note_string("C4:0.25 " * 4000).tracks[0].notes) == 4000
    for text, needle in [("C4 " * 4001, "4,001 notes and rests; the limit is 4,000"),
                         ("C4" + " " * 70_000, "characters; the limit is 64,000"),
                         ("C4:64 " * 40, "lasts 2,560 quarter notes; the limit is 2,048"),
                         ("C4 D4:1e999999999", "bad duration"),
                         ("C" + "9" * 5000, "unknown note")]:
        started = time.perf_counter()
        with pytest.raises(MuseforgeError, match=needle):
            parse_note_string(text)
        assert time.perf_counter() - started < 1


def test_continue_refuses_a_huge_motif_before_any_model_loads(capsys, tmp_path, monkeypatch):
    from museforge.music import continuation

    def no_model():
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(continuation, "shipped_melody_model", no_model)
    code, lines = _run(capsys, ["continue", "C4 " * 20_000, "--out", str(tmp_path / "c")])
    _one_line(code, lines, "20,000 notes and rests; the limit is 4,000")
    with pytest.raises(MuseforgeError, match="the limit is 4,000"):  # the engine checks it too (run, studio)
        jobs.prepare("folk-continuer", {"motif": "C4:0.25 " * 5000})
    assert not (tmp_path / "c").exists()


def test_a_note_string_is_a_file_only_when_that_file_exists(tmp_path, monkeypatch):
    from museforge.music.io import music_file

    monkeypatch.chdir(tmp_path)
    assert music_file("C4 D4 E4.mid") is None  # notes, never a path
    assert music_file("C4 " * 3000) is None
    with pytest.raises(MuseforgeError, match=r"file tune\.mid not found"):
        music_file("tune.mid")
    with pytest.raises(MuseforgeError, match="not found"):
        music_file("a" * 5000 + ".mid")  # a name no file system takes: no OSError
    (tmp_path / "tune.mid").write_bytes(b"MThd")
    assert music_file("tune.mid") == Path("tune.mid")


def test_music_files_are_bounded_before_parsing(tmp_path):
    from museforge.music.io import MAX_MUSIC_BYTES, read_music, read_music_bytes

    big = b"MThd" + b"\0" * MAX_MUSIC_BYTES
    with pytest.raises(MuseforgeError, match="larger than 2 MiB"):
        read_music_bytes("big.mid", big)
    (tmp_path / "big.musicxml").write_bytes(big)
    with pytest.raises(MuseforgeError, match="larger than 2 MiB"):
        read_music(str(tmp_path / "big.musicxml"))
    with pytest.raises(MuseforgeError, match="larger than 2 MiB"):  # refused in prepare, before any run
        jobs.prepare("chorale-harmonizer", {}, {"melody": [InputFile("melody", "big.mid", big)]})
    with pytest.raises(MuseforgeError, match=r"unknown file type '\.txt'"):
        jobs.prepare("chorale-harmonizer", {}, {"melody": [InputFile("melody", "tune.txt", b"C4")]})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/container.xml", '<rootfile full-path="score.xml"/>')
        archive.writestr("score.xml", b" " * (MAX_MUSIC_BYTES + 1))
    with pytest.raises(MuseforgeError, match="larger than 2 MiB unpacked"):
        read_music_bytes("zip.mxl", buf.getvalue())


def test_input_files_are_counted_and_named_safely():
    from museforge.engines import get_engine

    with pytest.raises(MuseforgeError, match="17 files given as styles; the limit is 16"):
        jobs.gather_inputs(get_engine("museforge-style-reinhard"), {"styles": ["starry-night"] * 17})
    with pytest.raises(MuseforgeError, match=r"no such file") as err:
        jobs.read_input("content", "x" * 5000)
    assert len(str(err.value)) < 120


def test_midi_events_and_melody_notes_are_capped(monkeypatch):
    from museforge.music import midi
    from museforge.music.io import melody_input
    from museforge.music.score import Note, Score, Track
    from museforge.music.theory import Key, Meter

    notes = [Note(i * 0.25, 0.25, 60 + i % 12, 80) for i in range(4001)]
    data = midi.score_to_midi(Score([Track("m", 0, 0, notes)], 120, Meter(4, 4), Key("C", "major"), 251))
    with pytest.raises(MuseforgeError, match=r"top line of long\.mid has 4,001 notes; the limit is 4,000"):
        melody_input(InputFile("motif", "long.mid", data), "", "")
    monkeypatch.setattr(midi, "MAX_MIDI_EVENTS", 100)
    with pytest.raises(MuseforgeError, match="events; the limit is 100"):
        midi.midi_to_score(data)


@pytest.mark.parametrize("patch,needle", [
    (lambda d: d.replace(b"\x01\xe0", b"\xe7\x28", 1), "SMPTE"),  # a time code in place of ticks a beat
    (lambda d: d.replace(b"\xff\x58\x04\x04\x02", b"\xff\x58\x04\x04\x40", 1), "time signature"),
    (lambda d: d.replace(b"\xff\x59\x02\x00\x00", b"\xff\x59\x02\x7f\x00", 1), "cannot read MIDI"),
])
def test_malformed_midi_is_one_line(patch, needle):
    from museforge.music.io import parse_note_string
    from museforge.music.midi import midi_to_score, score_to_midi

    data = patch(score_to_midi(parse_note_string("C4 D4 E4")))
    with pytest.raises(MuseforgeError, match=needle):
        midi_to_score(data)


# ---------------------------------------------------------------- 3. numbers


def test_every_numeric_parameter_has_a_range():
    for name, engine in load_engines().items():
        for info in describe(engine.Params):
            if info.type in (int, float):
                assert info.range is not None, (name, info.name)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_engine_parameters_are_refused(capsys, tmp_path, value):
    code, lines = _run(capsys, ["paint", "sea", f"--density={value}", "--out", str(tmp_path / "p.png")])
    _one_line(code, lines, "--density")


@pytest.mark.parametrize("text,needle", [
    ("16:nan", "got nan"), ("nan:60", "offset must be 0 to 100,000"), ("inf:60", "offset"),
    ("-4:60", "offset"), ("16:inf", "got inf"), ("8:60:1", "OFFSET:BPM"),
    (",".join(["1:60"] * 1001), "limit is 1,000"),
])
def test_tempo_change_strings(text, needle):
    from museforge.music.score import parse_tempo_changes

    with pytest.raises(MuseforgeError, match=needle):
        parse_tempo_changes(text)


@pytest.mark.parametrize("text", ["nan,1", "inf,1", "1e309,1", "2e6,1", "-1,2", "0,0"])
def test_weights_strings(text):
    from museforge.style.transfer import parse_weights

    with pytest.raises(MuseforgeError, match="weights"):
        parse_weights(text, 2)


def test_text_parameters_have_a_length_limit():
    with pytest.raises(MuseforgeError, match="tempo_changes has 70,000 characters; the limit is 65,536"):
        jobs.prepare("chorale-harmonizer", {"tempo_changes": "1" * 70_000})


@pytest.mark.parametrize("change,needle", [
    ({"style_weight": math.nan}, "--style-weight nan"), ({"tv_weight": math.inf}, "--tv-weight inf"),
    ({"steps": 10**6}, "1 to 100,000"), ({"threads": 10_000}, "--threads"), ({"seed": -1}, "seed -1"),
    ({"seed": MAX_SEED + 1}, "out of range"), ({"lr": math.nan}, "learning rate"), ({"batch": 0}, "--batch"),
])
def test_training_options_are_bounded(change, needle):
    from museforge.style.johnson_train import TrainOptions

    with pytest.raises(MuseforgeError, match=needle):
        TrainOptions(**change).check()


def test_scene_planning_refuses_non_finite_lengths():
    from museforge.music.scene import plan_bars, plan_tempo

    for seconds in (math.nan, math.inf, 1e300, 0):
        with pytest.raises(MuseforgeError, match="seconds"):
            plan_tempo(seconds, 96, "4/4")
    with pytest.raises(MuseforgeError, match="tempo"):
        plan_bars(45, math.nan, "4/4")


def test_huge_digit_strings_are_one_line():
    from museforge.music.theory import parse_meter, parse_note

    with pytest.raises(MuseforgeError, match="invalid meter"):
        parse_meter("9" * 5000 + "/4")
    with pytest.raises(MuseforgeError, match="unknown note"):
        parse_note("C" + "9" * 5000)


@pytest.mark.parametrize("argv,needle", [
    (["dataset", "procedural", "--n", "2", "--seed", "-1"], "seed -1 is out of range"),
    (["dataset", "procedural", "--n", "2", "--seed", str(MAX_SEED + 1)], "out of range"),
    (["dataset", "procedural", "--n", "2", "--workers", "-1"], "--workers must be from 0"),
    (["dataset", "procedural", "--n", "2", "--workers", "100000"], "to 64"),
    (["train", "style", "PHOTO", "--seed", "-1"], "seed -1 is out of range"),
    (["train", "style", "PHOTO", "--style-weight", "nan"], "--style-weight nan"),
    (["train", "style", "PHOTO", "--steps", "10000000"], "1 to 100,000"),
    (["style", "PHOTO", "PHOTO", "--method", "reinhard", "--seed", "-1"], "seed -1 is out of range"),
    (["style", "PHOTO", "PHOTO", "PHOTO", "--method", "reinhard", "--weights", "nan,1"], "weights 'nan,1'"),
    (["harmonize", "C4 D4", "--tempo-changes", "16:nan"], "got nan"),
])
def test_cli_numbers_and_seeds(capsys, tmp_path, argv, needle):
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.new("RGB", (24, 24), (90, 120, 200)).save(photo)
    argv = [str(photo) if a == "PHOTO" else a for a in argv]
    out = tmp_path / ("o.png" if argv[0] == "style" else "o")
    code, lines = _run(capsys, [*argv, "--out", str(out)])
    _one_line(code, lines, needle)
    assert not out.exists()


# ---------------------------------------------------------------- 4. owners and engine names


@pytest.mark.parametrize("argv,needles", [
    (["--param", "imgae.size=5"], ["--param imgae.size=5: unknown owner 'imgae'", "did you mean 'image'",
                                   "text, image, music", "fake-image, fake-music, fake-text"]),
    (["--input", "foo.content=x.png"], ["--input foo.content=x.png: unknown owner 'foo'", "fake-text"]),
    (["--engine", "imgae=fake-image"], ["'imgae' is not a modality", "did you mean 'image'"]),
    (["--engine", "image=nope"], ["unknown engine 'nope'", "fake-image"]),
])
def test_unknown_owners_and_engines_name_the_valid_ones(capsys, tmp_path, fake_engines, argv, needles):
    code, lines = _run(capsys, ["create", "sea", *argv, "--out", str(tmp_path / "w")])
    _one_line(code, lines, needles[0])
    assert all(n in lines[0] for n in needles), lines
    assert not (tmp_path / "w").exists()


def test_every_engine_has_a_usable_run_parser():
    from museforge.cli.run import engine_parser

    for name in load_engines():
        engine_parser(name).format_help()  # no option clashes (an input and a parameter both 'melody')


# ---------------------------------------------------------------- 5. devices


def test_unknown_or_absent_devices_are_refused(capsys, tmp_path, fake_engines):
    import torch

    for device in ("banana", "cuda:x", "cpu:0", "CUDA!"):
        code, lines = _run(capsys, ["create", "sea", "--device", device, "--out", str(tmp_path / "w")])
        _one_line(code, lines, f"unknown device {device!r}")
    if not torch.cuda.is_available():
        code, lines = _run(capsys, ["create", "sea", "--device", "cuda", "--out", str(tmp_path / "w")])
        _one_line(code, lines, "CUDA is not available")
        assert main(["create", "sea", "--device", "auto", "--out", str(tmp_path / "a"), "-q"]) == 0
        assert json.loads((tmp_path / "a" / "work.json").read_text())["device"] == "cpu"
    else:
        count = torch.cuda.device_count()
        with pytest.raises(MuseforgeError, match=f"has {count} CUDA device"):
            check_device(f"cuda:{count}")
        assert check_device("cuda") == "cuda"
    assert not (tmp_path / "w").exists()


def test_cuda_devices_are_checked_against_the_machine(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert check_device("cuda") == "cuda" and check_device("cuda:1") == "cuda:1"
    assert check_device("auto") == "cuda"
    with pytest.raises(MuseforgeError, match="this machine has 2 CUDA device"):
        check_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert check_device("auto") == "cpu"
    with pytest.raises(MuseforgeError, match="CUDA is not available; use --device cpu"):
        check_device("cuda:0")


def test_cpu_device_check_does_not_import_torch():
    code = ("import sys; from museforge.runtime import check_device; check_device('cpu'); "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


# ---------------------------------------------------------------- 6. show escapes control characters


def test_show_escapes_control_characters(capsys, tmp_path, fake_engines):
    work = tmp_path / "w"
    assert main(["create", "sea \u202eevil", "--seed", "1", "--out", str(work), "-q"]) == 0
    manifest = work / "work.json"
    raw = json.loads(manifest.read_text())
    raw["prompt"] = "sea\x1b[2J\x9b31m\nsignature valid\u202e"
    raw["artifacts"][0]["summary"]["style"] = "\x1b]0;pwned\x07"
    manifest.write_text(json.dumps(raw))
    capsys.readouterr()
    assert main(["show", str(work)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out and "\x07" not in out
    assert "prompt    sea\\x1b[2J\\x9b31m\\nsignature valid\\u202e" in out
    assert "\\x1b]0;pwned\\x07" in out
    assert main(["show", str(work), "--json"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out
    assert json.loads(out)["prompt"] == raw["prompt"]
    lone = tmp_path / "painting.png"  # a lone file: its own embedded record
    shutil.copy(work / "painting.png", lone)
    assert main(["show", str(lone)]) == 0
    out = capsys.readouterr().out
    assert "prompt    sea \\u202eevil" in out and "\u202e" not in out


# ---------------------------------------------------------------- 7. ordinary faults, one line each


def _shell(command: str, work: Path | None = None) -> subprocess.CompletedProcess:
    exe = f"{sys.executable} -m museforge"
    return subprocess.run(["bash", "-c", command.replace("MF", exe).replace("WORK", str(work))],
                          capture_output=True, text=True, timeout=120)


def test_closed_full_and_read_only_stdout(tmp_path, fake_engines):
    work = tmp_path / "w"
    assert main(["create", "sea", "--seed", "1", "--out", str(work), "-q"]) == 0
    cases = [("MF show WORK >&-", "standard output is closed"),
             ("MF show WORK 1</dev/null", "cannot write to standard output (Bad file descriptor)")]
    if Path("/dev/full").exists():
        cases += [("MF show WORK > /dev/full", "cannot write to standard output (No space left on device)"),
                  ("MF --help > /dev/full", "cannot write to standard output (No space left on device)")]
    for command, needle in cases:
        done = _shell(command, work)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and len(lines) == 1 and needle in lines[0], (command, done.stderr)


def test_operating_system_errors_are_one_line(capsys, monkeypatch):
    from museforge.cli import work

    def fail(exc: BaseException):
        def cmd(args):
            raise exc
        return cmd

    monkeypatch.setattr(work, "cmd_engines", fail(PermissionError(errno.EACCES, "Permission denied", "/x/y")))
    _one_line(*_run(capsys, ["engines"]), "museforge: error: /x/y: Permission denied")
    monkeypatch.setattr(work, "cmd_engines", fail(OSError(errno.ENOSPC, "No space left on device")))
    _one_line(*_run(capsys, ["engines"]), "No space left on device")
    monkeypatch.setattr(work, "cmd_engines", fail(MemoryError()))
    _one_line(*_run(capsys, ["engines"]), "out of memory")
    undecodable = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    monkeypatch.setattr(work, "cmd_engines", fail(undecodable))
    _one_line(*_run(capsys, ["engines"]), "not valid UTF-8")
    monkeypatch.setattr(work, "cmd_engines", fail(RuntimeError("a bug")))  # real bugs stay internal errors
    code, lines = _run(capsys, ["engines"])
    assert code == 70 and len(lines) == 1 and "internal error: RuntimeError: a bug" in lines[0]


def test_output_encoding_that_cannot_show_the_text(capsys, tmp_path, monkeypatch, fake_engines):
    work = tmp_path / "w"
    assert main(["create", "森林", "--seed", "1", "--out", str(work), "-q"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(io.BytesIO(), encoding="latin-1"))
    code, lines = _run(capsys, ["show", str(work)])
    _one_line(code, lines, "set a UTF-8 locale")


def test_unwritable_out_and_unusable_names(capsys, tmp_path, fake_engines):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for argv in (["paint", "sea", "--out", str(blocker / "p.png")],
                 ["compose", "--bars", "1", "--out", str(blocker / "c")],
                 ["dataset", "procedural", "--n", "1", "--out", str(blocker / "d")]):
        code, lines = _run(capsys, argv)
        _one_line(code, lines, str(blocker))
    long_name = "x" * 5000 + ".png"  # no file system takes it: one line, not an OSError
    code, lines = _run(capsys, ["style", long_name, "starry-night", "--out", str(tmp_path / "s.png")])
    _one_line(code, lines, "no such file")


def test_missing_models_fall_back_or_say_so(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSEFORGE_MODELS", str(tmp_path / "empty"))
    code, lines = _run(capsys, ["poem", "x", "--form", "wujue", "--seed", "1"])
    assert code == 0 and any("model is missing" in line for line in lines), lines
    code, lines = _run(capsys, ["continue", "C4 D4 E4 F4", "--out", str(tmp_path / "c")])
    _one_line(code, lines, "melody model")
    code, lines = _run(capsys, ["harmonize", "C4 D4 E4 F4", "--out", str(tmp_path / "h")])
    _one_line(code, lines, "harmoniser model")
