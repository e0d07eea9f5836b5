"""The command line: documented options, one-line errors, and the create -> reproduce cycle."""

import io
import re

import pytest

from museforge.cli import build_parser, main


def _errors(capsys, argv, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["create", ""], "the prompt is empty"),
        (["create", "   "], "the prompt is empty"),
        (["create", "sea", "--emotion", "gloomy"], "invalid choice: 'gloomy'"),
        (["create", "sea", "--modalities", "text,video"], "unknown modality 'video'"),
        (["create", "sea", "--modalities", ","], "no modality given"),
        (["create", "sea", "--lang", "fr"], "invalid choice: 'fr'"),
        (["create", "sea", "--param", "size=5"], "must name its owner"),
        (["create", "sea", "--param", "image.colour=red"], "unknown parameter 'colour'"),
        (["create", "sea", "--engine", "image=nope"], "unknown engine 'nope'"),
        (["create", "sea", "--seed", "abc"], "invalid int value"),
        (["reproduce", "/nonexistent/work"], "not found"),
        (["show", "/nonexistent/work"], "not found"),
        (["create"], "the following arguments are required: prompt"),
    ],
)
def test_bad_input_gives_one_line_error(capsys, tmp_path, fake_engines, argv, needle):
    if argv[0] == "create" and len(argv) > 1:
        argv = [*argv, "--out", str(tmp_path / "w")]
    code, lines = _errors(capsys, argv)
    assert code != 0
    assert len(lines) == 1, lines
    assert needle in lines[0]
    assert "Traceback" not in lines[0]
    assert not (tmp_path / "w").exists()


def test_huge_prompt_from_stdin_is_refused(capsys, tmp_path, monkeypatch):
    code, lines = _errors(
        capsys, ["create", "-", "--out", str(tmp_path / "w")], "森" * 10_000_000, monkeypatch
    )
    assert code == 1 and len(lines) == 1 and "the limit is 4,000" in lines[0]


def test_unwritable_out(capsys, tmp_path, fake_engines):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, lines = _errors(capsys, ["create", "sea", "--out", str(blocker / "work")])
    assert code == 1 and len(lines) == 1 and lines[0].startswith("museforge: error: cannot write to")
    code, lines = _errors(capsys, ["create", "sea", "--out", "/proc/museforge-work"])
    assert code == 1 and len(lines) == 1 and "cannot write to /proc" in lines[0]


def test_every_option_is_documented():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) >= {"create", "reproduce", "show", "verify", "engines"}
    for name, subparser in sub.choices.items():
        assert subparser.description, name
        for action in subparser._actions:
            assert action.help and len(action.help) > 8, (name, action.dest)
    train = next(a for a in sub.choices["train"]._actions if a.dest == "train_command")
    for name, subparser in train.choices.items():
        assert subparser.description, name
        for action in subparser._actions:
            assert action.help and len(action.help) > 8, ("train", name, action.dest)
    help_text = sub.choices["create"].format_help()
    for option in ("--emotion", "--seed", "--lang", "--modalities", "--out", "--param", "--engine"):
        assert option in help_text


def test_fake_create_show_verify(capsys, tmp_path, fake_engines):
    out = tmp_path / "w"
    assert main(["create", "a stormy sea at night", "--seed", "3", "--out", str(out), "-q"]) == 0
    stdout = capsys.readouterr().out
    assert f"Work written to {out} (seed 3)" in stdout and "report.html" in stdout
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert re.search(r"emotion\s+\w+ \(valence", shown) and "signature valid" in shown
    assert main(["verify", str(out)]) == 0
    assert "the Work is intact" in capsys.readouterr().out
    (out / "painting.png").write_bytes(b"changed")
    assert main(["verify", str(out)]) == 1
    assert "painting.png  changed" in capsys.readouterr().out
    assert main(["reproduce", str(out), "-q"]) == 1
    assert re.search(r"painting.png +DIFFERENT \(bytes differ\)", capsys.readouterr().out)
