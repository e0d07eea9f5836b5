"""Multi-user mode: argon2 passwords, sessions, CSRF tokens, per-user isolation (another user's
work, job, file or rating answers 404), rate limits; and writes from other sites refused in every
mode."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from museforge.studio import auth, queue, worker
from museforge.studio.api import Settings, create_app
from museforge.studio.db import sessions, users

WORK = {"prompt": "a quiet lake", "seed": 1, "modalities": ["text"], "engines": {"text": "rule-poet"}}


@pytest.fixture
def studio(tmp_path):
    settings = Settings(
        url=f"sqlite:///{tmp_path / 's.db'}", data=tmp_path / "data", multi_user=True, creates_per_minute=3
    )
    app = create_app(settings)
    for name in ("alice", "bob"):
        auth.add_user(app.state.engine, name, f"{name}-password")
    return app, settings


def _signed_in(app, name):
    client = TestClient(app)
    answer = client.post("/api/login", json={"name": name, "password": f"{name}-password"})
    assert answer.status_code == 200
    client.headers["X-CSRF-Token"] = answer.json()["csrf"]
    return client


def test_accounts_sessions_and_csrf(studio):
    app, _ = studio
    anonymous = TestClient(app)
    assert anonymous.get("/").status_code == 200 and anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/api/works").status_code == 401
    assert anonymous.post("/api/works", json=WORK).status_code == 401
    assert anonymous.post("/api/login", json={"name": "alice", "password": "wrong-one!"}).status_code == 401
    assert anonymous.post("/api/login", json={"name": "nobody", "password": "whatever1"}).status_code == 401
    alice = _signed_in(app, "alice")
    cookie = alice.cookies.get(auth.SESSION_COOKIE)
    assert alice.get("/api/session").json()["user"] == "alice"
    token = alice.headers.pop("X-CSRF-Token")
    assert alice.post("/api/works", json=WORK).status_code == 403  # no CSRF token
    assert alice.post("/api/works", json=WORK, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    assert alice.post("/api/works", json=WORK, headers={"X-CSRF-Token": token}).status_code == 202
    with app.state.engine.connect() as conn:
        stored = conn.execute(sa.select(users.c.password).where(users.c.name == "alice")).scalar_one()
        tokens = conn.execute(sa.select(sessions.c.token)).scalars().all()
    assert stored.startswith("$argon2id$") and "alice-password" not in stored
    assert cookie not in tokens  # only its hash is kept
    alice.headers["X-CSRF-Token"] = token
    assert alice.post("/api/logout").status_code == 200
    assert alice.get("/api/works").status_code == 401


def test_one_user_never_sees_anothers_works(studio):
    app, settings = studio
    alice, bob = _signed_in(app, "alice"), _signed_in(app, "bob")
    mine = alice.post("/api/works", json=WORK).json()
    job = queue.claim(app.state.engine, "w")
    assert worker.run_job(app.state.engine, settings.data, job) == "done"
    other = alice.post("/api/works", json={**WORK, "seed": 2}).json()
    queue.claim(app.state.engine, "w")
    assert alice.get(f"/api/works/{mine['work_id']}").status_code == 200
    for path in (
        f"/api/works/{mine['work_id']}",
        f"/api/jobs/{mine['job_id']}",
        f"/api/works/{mine['work_id']}/files/poem.txt",
        f"/api/works/{mine['work_id']}/history",
        f"/api/jobs/{mine['job_id']}/events",
    ):
        assert bob.get(path).status_code == 404, path
    assert bob.post(f"/api/jobs/{mine['job_id']}/cancel").status_code == 404
    assert bob.post(f"/api/works/{mine['work_id']}/variations", json={"count": 1}).status_code == 404
    assert (
        bob.post(
            "/api/ratings", json={"a": mine["work_id"], "b": other["work_id"], "winner": mine["work_id"]}
        ).status_code
        == 404
    )
    assert bob.get("/api/works").json()["total"] == 0 and alice.get("/api/works").json()["total"] == 2
    assert bob.get("/api/rankings").json() == []


def test_creating_is_rate_limited_per_user(studio):
    app, _ = studio
    alice, bob = _signed_in(app, "alice"), _signed_in(app, "bob")
    codes = [alice.post("/api/works", json={**WORK, "seed": i}).status_code for i in range(4)]
    assert codes == [202, 202, 202, 429]
    assert bob.post("/api/works", json=WORK).status_code == 202


def test_writes_from_another_site_are_refused_in_every_mode(tmp_path, studio):
    local = TestClient(create_app(Settings(url=f"sqlite:///{tmp_path / 'l.db'}", data=tmp_path / "l")))
    assert local.post("/api/works", json=WORK, headers={"Origin": "https://evil.example"}).status_code == 403
    assert local.post("/api/works", json=WORK, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert local.post("/api/works", json=WORK, headers={"Origin": "http://testserver"}).status_code == 202
    assert local.post("/api/works", json={**WORK, "seed": 9}).status_code == 202  # curl sends no Origin
    app, _ = studio
    alice = _signed_in(app, "alice")
    assert alice.post("/api/works", json=WORK, headers={"Origin": "https://evil.example"}).status_code == 403


def test_add_user_from_the_command_line(tmp_path, monkeypatch, capsys):
    from museforge.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("a long secret\n"))
    data = tmp_path / "studio"
    assert main(["studio", "add-user", "carol", "--data", str(data), "--password-stdin"]) == 0
    app = create_app(Settings(url=f"sqlite:///{data / 'studio.db'}", data=data, multi_user=True))
    assert auth.check_password(app.state.engine, "carol", "a long secret")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["studio", "add-user", "dave", "--data", str(data), "--password-stdin"]) != 0
    assert "at least 8" in capsys.readouterr().err
    assert main(["studio", "add-user", "../x", "--data", str(data), "--password-stdin"]) != 0
