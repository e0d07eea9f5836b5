"""Faults a studio meets: the whole server killed with SIGKILL mid-job, or one worker; after a
restart (or the server's own recovery) the job completes exactly once and the Work verifies."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

SLOW_JOB = {
    "prompt": "a stormy sea at night",
    "seed": 5,
    "modalities": ["image"],
    "engines": {"image": "procedural-painting"},
    "params": {"image": {"size": 1536}},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Studio:
    def __init__(self, tmp: Path, *extra: str) -> None:
        self.tmp, self.extra, self.port = tmp, extra, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.tmp / "server.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "museforge",
                "studio",
                "--port",
                str(self.port),
                "--data",
                str(self.tmp / "data"),
                *self.extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait(lambda: self.get("/healthz")["ok"], 60)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)

    def get(self, path: str) -> dict:
        return json.loads(urllib.request.urlopen(self.url + path, timeout=10).read())

    def post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(
            self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        return json.loads(urllib.request.urlopen(request, timeout=30).read())

    def wait(self, check, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"timed out; server log:\n{(self.tmp / 'server.log').read_text()[-3000:]}")


def _workers(server_pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == server_pid and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _check_done_once(studio: Studio, ids: dict) -> None:
    from museforge.cli import main

    job = studio.get(f"/api/jobs/{ids['job_id']}")
    assert job["state"] == "done" and job["attempts"] == 2, job
    works = studio.tmp / "data" / "works"
    assert [p.name for p in works.iterdir()] == [ids["work_id"]]  # no second copy, no leftovers
    assert main(["verify", str(works / ids["work_id"])]) == 0


def _mid_job(tmp_path: Path, *extra: str) -> tuple[Studio, dict]:
    """A started studio and a slow job of it caught mid-run (progress reported, not finished).
    On a loaded machine the API may answer late enough to miss that window: then a fresh studio
    tries again, three times at most."""
    for attempt in range(3):
        folder = tmp_path / f"try{attempt}"
        folder.mkdir()
        studio = Studio(folder, *extra)
        studio.start()
        ids = studio.post("/api/works", SLOW_JOB)

        def job() -> dict:
            return studio.get(f"/api/jobs/{ids['job_id']}")  # noqa: B023 - called within this attempt

        studio.wait(lambda: (j := job())["progress"] > 0 or j["state"] in ("done", "failed"), 60)
        if job()["state"] == "running":
            return studio, ids
        studio.stop()
    pytest.fail("the slow job finished three times before it could be interrupted")


def test_killing_the_whole_server_mid_job_loses_nothing(tmp_path):
    studio, ids = _mid_job(tmp_path, "--workers", "1")
    try:
        studio.kill()
        folder = studio.tmp / "data" / "works" / ids["work_id"]
        assert not folder.exists() or (folder / "work.json").is_file()  # never half-written
        studio.start()
        studio.wait(lambda: studio.get(f"/api/jobs/{ids['job_id']}")["state"] == "done", 120)
        _check_done_once(studio, ids)
    finally:
        studio.stop()


def test_a_killed_worker_is_replaced_and_its_job_requeued(tmp_path):
    studio, ids = _mid_job(tmp_path, "--workers", "1", "--stale-after", "2")
    try:
        (victim,) = _workers(studio.proc.pid)
        os.kill(victim, signal.SIGKILL)
        studio.wait(lambda: studio.get(f"/api/jobs/{ids['job_id']}")["state"] == "done", 120)
        _check_done_once(studio, ids)
        assert studio.get("/healthz")["ok"]
    finally:
        studio.stop()


@pytest.fixture
def small_disk(tmp_path):
    """A 512 KiB tmpfs (root on Linux only)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        pytest.skip("mounting a tmpfs needs root on Linux")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(disk)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode(errors='replace').strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_full_disk_fails_the_job_cleanly_and_keeps_the_studio_working(tmp_path, small_disk):
    from fastapi.testclient import TestClient

    from museforge.studio import queue, worker
    from museforge.studio.api import Settings, create_app

    settings = Settings(url=f"sqlite:///{tmp_path / 's.db'}", data=small_disk / "data")
    app = create_app(settings)
    client = TestClient(app)
    big = {**SLOW_JOB, "params": {"image": {"size": 1024}}}  # a PNG larger than the disk
    ids = client.post("/api/works", json=big).json()
    assert worker.run_job(app.state.engine, settings.data, queue.claim(app.state.engine, "w")) == "failed"
    job = client.get(f"/api/jobs/{ids['job_id']}").json()
    assert job["state"] == "failed" and "No space left on device" in job["error"], job
    assert str(small_disk) not in job["error"] and "--out" not in job["error"] and "\n" not in job["error"]
    works = settings.data / "works"
    assert not works.exists() or not any(works.iterdir())  # nothing half-written left behind
    small = {**SLOW_JOB, "params": {"image": {"size": 32}}}
    again = client.post("/api/works", json=small).json()
    assert worker.run_job(app.state.engine, settings.data, queue.claim(app.state.engine, "w")) == "done"
    assert client.get(f"/api/works/{again['work_id']}").json()["state"] == "done"
