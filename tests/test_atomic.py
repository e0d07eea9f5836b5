"""Nothing lost: results appear whole or not at all, the earlier one survives any failure, two
runs into one place never both succeed, and a killed run's leftovers are cleaned up."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from museforge import atomic
from museforge.atomic import new_folder, write_files
from museforge.cli import main
from museforge.errors import MuseforgeError
from museforge.work import verify_path

DEAD_PID = 2**22 + 12345  # above the kernel's default pid_max: never a live process


def test_a_name_taken_meanwhile_is_never_overwritten(tmp_path):
    target = tmp_path / "p.png"
    target.write_bytes(b"theirs")  # another run got there between our check and our write
    with pytest.raises(MuseforgeError, match="already exists"):
        write_files([(tmp_path / "a.txt", b"one"), (target, b"ours")])
    assert target.read_bytes() == b"theirs"
    assert not (tmp_path / "a.txt").exists()  # the group is all or nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png"]


def test_a_folder_filled_meanwhile_is_never_replaced(tmp_path):
    out = tmp_path / "w"
    with pytest.raises(MuseforgeError, match="already exists and is not empty"), new_folder(out) as tmp:
        (tmp / "mine.txt").write_text("mine")
        out.mkdir()
        (out / "theirs.txt").write_text("theirs")
    assert [p.name for p in tmp_path.iterdir()] == ["w"] and (out / "theirs.txt").exists()


def test_a_full_disk_leaves_the_earlier_file_and_no_part(tmp_path, monkeypatch):
    target = tmp_path / "p.png"
    target.write_bytes(b"earlier")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(MuseforgeError, match="No space left on device; nothing was written there"):
        write_files([(target, b"x" * 1000)], overwrite=True)
    assert target.read_bytes() == b"earlier" and [p.name for p in tmp_path.iterdir()] == ["p.png"]


def test_an_interrupted_replace_puts_the_earlier_folder_back(tmp_path, monkeypatch):
    out = tmp_path / "w"
    out.mkdir()
    (out / "old.txt").write_text("old")
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)  # a system without the swap
    real = os.rename
    calls = []

    def second_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "rename", second_fails)
    with pytest.raises(KeyboardInterrupt), new_folder(out, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"] and (out / "old.txt").read_text() == "old"


def test_replace_swaps_in_one_step(tmp_path):
    out = tmp_path / "w"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with new_folder(out, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["w"]


def test_leftovers_of_a_killed_run_are_cleaned_and_a_stranded_folder_put_back(tmp_path):
    (tmp_path / f".p.png.{DEAD_PID}-abc123.part").write_bytes(b"half")
    (tmp_path / f".w.tmp-{DEAD_PID}-xyz").mkdir()
    stranded = tmp_path / f".w.old-{DEAD_PID}-q1"
    stranded.mkdir()
    (stranded / "work.json").write_text("{}")
    live = tmp_path / f".p.png.{os.getpid()}-live.part"  # a run still going: left alone
    live.write_bytes(b"busy")
    write_files([(tmp_path / "p.png", b"new")])
    with new_folder(tmp_path / "other"):
        pass
    atomic.clean_leftovers(tmp_path, "w")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["p.png", "other", "w", live.name])
    assert (tmp_path / "w" / "work.json").exists()


def _create(out: Path, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "museforge", "create", "a stormy sea at night", "--seed", "5", "--out",
            str(out), "--modalities", "image,music", "--param", "image.size=512", "--param", "music.bars=8",
            "-q", *extra]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("delay", [0.5, 1.5, 3.0, 5.0])
def test_kill_9_during_a_replace_leaves_a_whole_work(tmp_path, delay):
    out = tmp_path / "w"
    assert _create(out).wait(timeout=120) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    run = _create(out, "--overwrite", "--seed", "6")
    time.sleep(delay)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=60)
    verdict = verify_path(out)
    assert verdict.intact, verdict  # the earlier Work, or the whole new one
    now = {p.name: p.read_bytes() for p in out.iterdir()}
    assert now == before or now["work.json"] != before["work.json"]
    assert _create(out, "--overwrite").wait(timeout=120) == 0  # the next run cleans up
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


def test_two_runs_into_one_out_never_both_succeed(tmp_path):
    out = tmp_path / "w"
    runs = [_create(out) for _ in range(2)]
    codes = sorted(r.wait(timeout=180) for r in runs)
    assert codes == [0, 1], codes
    assert verify_path(out).intact and sorted(p.name for p in tmp_path.iterdir()) == ["w"]


def test_commands_say_nothing_was_written_truthfully(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "p.png").mkdir()  # a folder where the file should go
    assert main(["paint", "sea", "--size", "32", "--seed", "1", "--out", str(locked / "p.png")]) == 1
    assert "is a folder" in capsys.readouterr().err
    assert [p.name for p in locked.iterdir()] == ["p.png"]


def _group(tmp_path: Path, tag: bytes) -> list[tuple[Path, bytes]]:
    return [(tmp_path / name, tag + b" " + name.encode()) for name in ("a.png", "a.svg", "a.mid")]


def test_a_group_interrupted_while_placing_puts_every_earlier_file_back(tmp_path, monkeypatch):
    write_files(_group(tmp_path, b"earlier"))
    placed = []

    def interrupt(tmp, path, overwrite):
        if placed:
            raise KeyboardInterrupt
        placed.append(path)
        os.replace(tmp, path)

    monkeypatch.setattr(atomic, "_place", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_files(_group(tmp_path, b"new"), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid", "a.png", "a.svg"]
    assert all(path.read_bytes() == data for path, data in _group(tmp_path, b"earlier"))


@pytest.mark.parametrize("earlier", [True, False])
def test_a_group_killed_while_placing_is_rolled_back_by_the_next_write(tmp_path, earlier):
    if earlier:
        write_files(_group(tmp_path, b"earlier"))
    pid = os.fork()
    if pid == 0:  # the killed run: dies between its first and second file
        calls = []
        real = atomic._place

        def die(tmp, path, overwrite):
            if calls:
                os._exit(9)
            calls.append(path)
            real(tmp, path, overwrite)

        atomic._place = die
        write_files(_group(tmp_path, b"new"), overwrite=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9
    assert (tmp_path / "a.png").read_bytes() == b"new a.png"  # half placed until the next write
    atomic.recover(tmp_path)
    visible = sorted(p.name for p in tmp_path.iterdir())
    if earlier:
        assert visible == ["a.mid", "a.png", "a.svg"]
        assert all(path.read_bytes() == data for path, data in _group(tmp_path, b"earlier"))
    else:
        assert visible == []
