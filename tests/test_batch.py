"""``museforge batch``: prompt files, seeds per prompt, identical Works sequentially, in worker
processes and on a Ray cluster; resuming, failures, and clear errors."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FakeText

from museforge import engines
from museforge.cli import main
from museforge.cli.batch_runs import FAILED, MADE, SKIPPED, read_prompts, run_batch
from museforge.create import CreateOptions
from museforge.engines import Artifact, OutputFile
from museforge.errors import MuseforgeError
from museforge.runtime import MAX_SEED, derive_seed

PROMPTS = (
    '# three quick works\na quiet lake\n\n{"prompt": "a stormy sea", "seed": 7, "mood": "melancholy"}\n'
    "在一片神秘的森林中，\n"
)
MUSIC = ["--modalities", "text,music", "--param", "music.bars=4"]
FAST = [*MUSIC, "--seed", "3", "-q"]
VOLATILE = ("created", "seconds", "signature", "report")


def _prompt_file(folder: Path, text: str = PROMPTS) -> Path:
    path = folder / "prompts.txt"
    path.write_text(text, encoding="utf-8")
    return path


def _stable(record: dict) -> dict:
    """A work.json without what differs from run to run (times, the signature over them)."""
    out = {k: v for k, v in record.items() if k not in VOLATILE}
    out["artifacts"] = [{k: v for k, v in a.items() if k != "seconds"} for a in record["artifacts"]]
    return out


def assert_same_works(a: Path, b: Path) -> None:
    """Every artifact file of every Work the same bytes, every record the same but its times."""
    folders = sorted(p.name for p in a.iterdir() if p.is_dir())
    assert folders == sorted(p.name for p in b.iterdir() if p.is_dir())
    assert len(folders) == 3
    for name in folders:
        record = json.loads((a / name / "work.json").read_text())
        assert _stable(record) == _stable(json.loads((b / name / "work.json").read_text()))
        files = [f["name"] for art in record["artifacts"] for f in art["files"]]
        assert {"poem.txt", "music.mid"} <= set(files)
        for file in files:
            assert (a / name / file).read_bytes() == (b / name / file).read_bytes(), f"{name}/{file}"


@pytest.fixture(scope="module")
def sequential(tmp_path_factory) -> Path:
    """The three prompts made one after another, in this process: the reference."""
    root = tmp_path_factory.mktemp("sequential")
    assert main(["batch", str(_prompt_file(root)), "--out", str(root / "works"), *FAST]) == 0
    return root / "works"


# ---------------------------------------------------------------- prompt files


def test_prompt_file_lines_json_and_seeds(tmp_path):
    items = read_prompts(_prompt_file(tmp_path), 3)
    assert [i.prompt for i in items] == ["a quiet lake", "a stormy sea", "在一片神秘的森林中，"]
    assert [i.line for i in items] == [2, 4, 5]
    assert [i.folder for i in items] == ["0001-a-quiet-lake", "0002-a-stormy-sea", "0003-在一片神秘的森林中"]
    assert items[1].seed == 7 and items[1].emotion == "melancholy"
    assert items[0].seed == derive_seed(3, "batch-0") & MAX_SEED
    assert items[2].seed == derive_seed(3, "batch-2") & MAX_SEED
    assert items[0].seed != read_prompts(_prompt_file(tmp_path), 4)[0].seed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('a sea\n{"prompt": "x", "colour": 1}\n', "line 2: unknown key 'colour'"),
        ('a sea\n\n{"prompt": \n', "line 3: not valid JSON"),
        ('{"prompt": "x", "mood": "grumpy"}\n', "line 1: unknown mood 'grumpy'"),
        ('{"prompt": "x", "seed": -1}\n', "line 1: seed -1 is out of range"),
        ('{"prompt": "x", "modalities": ["txt"]}\n', "line 1: unknown modality 'txt'"),
        ("# only\n\u200b\n", "line 2: the prompt is empty"),
        ("a sea\n" + "x" * 20_000 + "\n", "line 2: 20,000 characters; the limit is 16,384"),
        ("# nothing here\n\n", "holds no prompt"),
    ],
)
def test_bad_line_is_named(tmp_path, text, message):
    with pytest.raises(MuseforgeError, match=message.replace("(", r"\(")) as err:
        read_prompts(_prompt_file(tmp_path, text), 1)
    assert "\n" not in str(err.value)


def test_bad_line_from_command_line(tmp_path, capsys):
    path = _prompt_file(tmp_path, 'a sea\n{"prompt": 5}\n')
    assert main(["batch", str(path), "--out", str(tmp_path / "w"), *FAST]) == 1
    assert 'line 2: "prompt" must be given as a string' in capsys.readouterr().err
    assert not (tmp_path / "w").exists()  # nothing runs before the whole file is read


# ---------------------------------------------------------------- same bytes however it runs


def test_workers_make_the_same_bytes(sequential, tmp_path, capsys):
    code = main(["batch", str(_prompt_file(tmp_path)), "--out", str(tmp_path / "w"), *FAST, "--workers", "2"])
    assert code == 0
    assert "3 made, 0 already there, 0 failed" in capsys.readouterr().out
    assert_same_works(sequential, tmp_path / "w")
    record = json.loads((tmp_path / "w" / "batch.json").read_text())
    assert record["seed"] == 3 and [p["status"] for p in record["prompts"]] == [MADE] * 3


def test_same_bytes_as_create(sequential, tmp_path):
    out = tmp_path / "c"
    argv = ["create", "a stormy sea", "--seed", "7", "--emotion", "melancholy", *MUSIC, "-q"]
    assert main([*argv, "--out", str(out)]) == 0
    made = sequential / "0002-a-stormy-sea"
    for name in ("poem.txt", "music.mid", "music.wav"):
        assert (out / name).read_bytes() == (made / name).read_bytes()


def test_resume_skips_finished_works(sequential, tmp_path, capsys):
    out = tmp_path / "w"
    shutil.copytree(sequential, out)
    shutil.rmtree(out / "0002-a-stormy-sea")
    (out / ".0002-a-stormy-sea.tmp-999999999-x").mkdir()  # what a killed run leaves
    kept = (out / "0001-a-quiet-lake" / "work.json").stat().st_mtime_ns
    assert main(["batch", str(_prompt_file(tmp_path)), "--out", str(out), *FAST]) == 0
    assert "1 made, 2 already there, 0 failed" in capsys.readouterr().out
    assert (out / "0001-a-quiet-lake" / "work.json").stat().st_mtime_ns == kept
    assert not (out / ".0002-a-stormy-sea.tmp-999999999-x").exists()
    assert_same_works(sequential, out)
    statuses = [p["status"] for p in json.loads((out / "batch.json").read_text())["prompts"]]
    assert statuses == [SKIPPED, MADE, SKIPPED]


def test_folder_of_another_work_is_not_replaced(sequential, tmp_path, capsys):
    out = tmp_path / "w"
    shutil.copytree(sequential, out)
    code = main(["batch", str(_prompt_file(tmp_path)), "--out", str(out), *MUSIC, "--seed", "4", "-q"])
    assert code == 1
    err = capsys.readouterr().err
    assert "0001-a-quiet-lake) failed" in err and "another prompt, seed or modalities" in err
    assert_same_works(sequential, out)  # nothing was replaced


# ---------------------------------------------------------------- failures


class Brittle(FakeText):
    """A text engine that fails on prompts that say so."""

    name = "brittle-text"

    def run(self, request, generator) -> Artifact:
        if "fail" in request.prompt:
            raise RuntimeError("the engine broke")
        return Artifact("text", [OutputFile("poem.txt", request.prompt.encode(), "text/plain")], {})


def test_failing_prompt_does_not_stop_the_rest(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(engines, "load_engines", lambda: {"brittle-text": Brittle})
    path = _prompt_file(tmp_path, "first\nplease fail\nthird\n")
    out = tmp_path / "w"
    seen = []
    items = read_prompts(path, 1)
    base = CreateOptions(prompt="", seed=1, out=out, modalities=("text",), emotion="serene")
    results = run_batch(items, base, out, seed=1, on_result=lambda r, done, total: seen.append((done, total)))
    assert [r.status for r in results] == [MADE, FAILED, MADE]
    assert results[1].error == "RuntimeError: the engine broke"
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert (out / "0003-third" / "poem.txt").read_bytes() == b"third"
    assert not (out / "0002-please-fail").exists()
    entry = json.loads((out / "batch.json").read_text())["prompts"][1]
    assert entry["status"] == FAILED and entry["error"] == "RuntimeError: the engine broke"

    argv = ["batch", str(path), "--out", str(out), "--modalities", "text", "--seed", "1", "-q"]
    assert main(argv) == 1  # an earlier failure stays failed (and is not run) until retried
    captured = capsys.readouterr()
    assert "0 made, 2 already there, 1 failed" in captured.out and "--retry-failed" in captured.out
    assert "line 2 (0002-please-fail) failed: RuntimeError: the engine broke" in captured.err
    monkeypatch.setattr(Brittle, "run", lambda self, request, generator: Artifact(
        "text", [OutputFile("poem.txt", b"mended", "text/plain")], {}))  # fmt: skip
    assert main([*argv, "--retry-failed"]) == 0
    assert (out / "0002-please-fail" / "poem.txt").read_bytes() == b"mended"


def test_ray_missing_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    path = _prompt_file(tmp_path)
    assert main(["batch", str(path), "--out", str(tmp_path / "w"), *FAST, "--ray", "auto"]) == 1
    assert "pip install 'museforge[scale]'" in capsys.readouterr().err
    assert main(["batch", str(path), "--out", str(tmp_path / "w"), *FAST, "--workers", "0"]) == 1
    assert "--workers 0: give a number from 1 to 64" in capsys.readouterr().err


# ---------------------------------------------------------------- a Ray cluster


def test_ray_address_nobody_answers(tmp_path, capsys):
    pytest.importorskip("ray")
    path = _prompt_file(tmp_path)
    for address, message in ((f"127.0.0.1:{_free_port()}", "nothing answers at 127.0.0.1:"),
                             ("no-port", "--ray no-port: give 'auto' or HOST:PORT")):  # fmt: skip
        assert main(["batch", str(path), "--out", str(tmp_path / "w"), *FAST, "--ray", address]) == 1
        assert message in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_group(pgid: int) -> None:
    """End the processes of one process group (the cluster this test started): politely, then not."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
            for _ in range(30):
                time.sleep(0.1)
                os.killpg(pgid, 0)
        except ProcessLookupError:
            return


@pytest.fixture
def ray_cluster(tmp_path):
    """A two-CPU Ray cluster on this machine with its own token and folder, stopped afterwards:
    only its own processes, by their process group. Yields the address and the environment that
    reaches it."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'museforge[scale]')")
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        pytest.skip("the ray command is not installed")
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    temp = Path(f"/tmp/mf-ray-{secrets.token_hex(3)}")  # Ray's socket paths must stay short
    proc = subprocess.Popen(
        [str(ray_bin), "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
         "--disable-usage-stats", f"--temp-dir={temp}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env,
    )  # fmt: skip
    try:
        assert proc.wait(timeout=120) == 0, "ray start failed"
        yield f"127.0.0.1:{port}", env
    finally:
        _stop_group(proc.pid)
        shutil.rmtree(temp, ignore_errors=True)


def test_ray_cluster_makes_the_same_bytes(sequential, ray_cluster, tmp_path):
    address, env = ray_cluster
    argv = ["batch", str(_prompt_file(tmp_path)), "--out", str(tmp_path / "w"), *FAST, "--ray", address]
    done = subprocess.run([sys.executable, "-m", "museforge", *argv], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "3 made, 0 already there, 0 failed" in done.stdout
    assert_same_works(sequential, tmp_path / "w")
