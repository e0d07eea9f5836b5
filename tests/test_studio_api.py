"""The studio's API and queue on SQLite and on a real PostgreSQL: create a work and follow its job
to the end, files and records, bad input, the bounded queue, cancellation, recovery after a dead
worker (the job completes exactly once), variations that keep a modality, search, ratings."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
import sqlalchemy as sa

pytest.importorskip("fastapi")
import pgcluster
from fastapi.testclient import TestClient

from museforge.studio import queue, worker
from museforge.studio.api import Settings, create_app
from museforge.studio.db import jobs

TEXT_IMAGE = {
    "modalities": ["text", "image"],
    "engines": {"text": "rule-poet", "image": "procedural-painting"},
    "params": {"image": {"size": 32}},
}


@pytest.fixture(scope="session")
def postgres():
    with pgcluster.cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, postgres):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studio.db'}"
    if postgres is None:
        pytest.skip("PostgreSQL is not installed")
    name = f"t{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        postgres.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return postgres.rsplit("/", 1)[0] + f"/{name}"


def _app(db_url, tmp_path, **kw):
    settings = Settings(url=db_url, data=tmp_path / "data", **kw)
    app = create_app(settings)
    return app, TestClient(app), settings


def _run_next(app, settings) -> str:
    job = queue.claim(app.state.engine, "test-worker")
    assert job is not None
    return worker.run_job(app.state.engine, settings.data, job)


def test_a_chinese_prompt_becomes_a_work_whose_files_verify(db_url, tmp_path):
    from museforge.cli import main

    app, client, settings = _app(db_url, tmp_path)
    assert client.get("/healthz").json()["ok"]
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/works", "/api/jobs/{job_id}", "/api/works/{work_id}/variations", "/api/rankings"} <= set(
        paths
    )
    made = client.post("/api/works", json={"prompt": "在一片神秘的森林中，", "seed": 7, **TEXT_IMAGE})
    assert made.status_code == 202
    ids = made.json()
    assert client.get(f"/api/jobs/{ids['job_id']}").json()["state"] == "queued"
    assert _run_next(app, settings) == "done"
    job = client.get(f"/api/jobs/{ids['job_id']}").json()
    assert job["state"] == "done" and job["progress"] == 1.0 and job["attempts"] == 1
    work = client.get(f"/api/works/{ids['work_id']}").json()
    assert work["state"] == "done" and work["record"]["prompt"] == "在一片神秘的森林中，"
    assert {"poem.txt", "painting.png", "work.json"} <= set(work["files"])
    png = client.get(f"/api/works/{ids['work_id']}/files/painting.png")
    assert png.headers["content-type"] == "image/png"
    assert png.content == (settings.data / "works" / ids["work_id"] / "painting.png").read_bytes()
    assert client.get(f"/api/works/{ids['work_id']}/files/..%2Fstudio.db").status_code == 404
    assert main(["verify", str(settings.data / "works" / ids["work_id"])]) == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"prompt": "   "}, "empty"),
        ({"prompt": "sea", "params": {"image": {"size": 5}}}, "image.size"),
        ({"prompt": "sea", "engines": {"image": "no-such-engine"}}, "no-such-engine"),
        ({"prompt": "sea", "modalities": ["smell"]}, "smell"),
    ],
)
def test_bad_requests_get_one_line_and_queue_nothing(tmp_path, body, words):
    app, client, _ = _app(f"sqlite:///{tmp_path / 's.db'}", tmp_path)
    answer = client.post("/api/works", json=body)
    assert answer.status_code == 400 and words in answer.json()["error"]
    assert "\n" not in answer.json()["error"] and queue.counts(app.state.engine) == {}


def test_a_full_queue_answers_429_and_a_queued_job_can_be_cancelled(db_url, tmp_path):
    _, client, _ = _app(db_url, tmp_path, max_queue=2)
    first = client.post("/api/works", json={"prompt": "sea", "seed": 1, **TEXT_IMAGE}).json()
    client.post("/api/works", json={"prompt": "sea", "seed": 2, **TEXT_IMAGE})
    full = client.post("/api/works", json={"prompt": "sea", "seed": 3, **TEXT_IMAGE})
    assert full.status_code == 429 and full.headers["retry-after"] == "5"
    assert client.post(f"/api/jobs/{first['job_id']}/cancel").json()["state"] == "cancelled"
    assert client.get(f"/api/works/{first['work_id']}").json()["state"] == "cancelled"
    assert client.post("/api/works", json={"prompt": "sea", "seed": 4, **TEXT_IMAGE}).status_code == 202


def test_a_job_whose_worker_died_is_requeued_and_completes_exactly_once(db_url, tmp_path):
    app, client, settings = _app(db_url, tmp_path)
    engine = app.state.engine
    ids = client.post("/api/works", json={"prompt": "a quiet lake", "seed": 3, **TEXT_IMAGE}).json()
    assert queue.claim(engine, "doomed") is not None  # the worker takes it, then dies
    assert queue.claim(engine, "other") is None  # never handed out twice while running
    with engine.begin() as conn:
        conn.execute(jobs.update().values(heartbeat=0.0))
    assert queue.recover(engine, stale_after=15) == 1
    assert _run_next(app, settings) == "done"
    # died after writing the Work but before marking the job done: the next claim finds the Work
    folder = settings.data / "works" / ids["work_id"]
    stamp = (folder / "work.json").stat().st_mtime_ns
    with engine.begin() as conn:
        conn.execute(jobs.update().values(state="running", heartbeat=0.0))
    assert queue.recover(engine, stale_after=15) == 1
    assert _run_next(app, settings) == "done"
    assert (folder / "work.json").stat().st_mtime_ns == stamp  # not made a second time
    job = client.get(f"/api/jobs/{ids['job_id']}").json()
    assert job["state"] == "done" and job["attempts"] == 3


def test_progress_streams_as_server_sent_events_until_the_job_ends(tmp_path):
    app, client, settings = _app(f"sqlite:///{tmp_path / 's.db'}", tmp_path)
    ids = client.post("/api/works", json={"prompt": "a storm", "seed": 5, **TEXT_IMAGE}).json()
    runner = threading.Thread(target=_run_next, args=(app, settings))
    runner.start()
    seen = []
    with client.stream("GET", f"/api/jobs/{ids['job_id']}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
    runner.join()
    assert seen[-1]["state"] == "done" and len(seen) >= 2
    progress = [s["progress"] for s in seen if s["state"] == "running"]
    assert all(0 <= p <= 1 for p in progress)


def test_variations_keep_a_modality_byte_for_byte_and_change_the_rest(db_url, tmp_path):
    app, client, settings = _app(db_url, tmp_path)
    parent = client.post(
        "/api/works", json={"prompt": "the moon over the sea", "seed": 11, **TEXT_IMAGE}
    ).json()
    _run_next(app, settings)
    made = client.post(f"/api/works/{parent['work_id']}/variations", json={"count": 2, "keep": ["text"]})
    assert made.status_code == 202 and len(made.json()) == 2
    for _ in range(2):
        assert _run_next(app, settings) == "done"
    files = settings.data / "works"
    poem = (files / parent["work_id"] / "poem.txt").read_bytes()
    paintings = {(files / parent["work_id"] / "painting.png").read_bytes()}
    for child in made.json():
        work = client.get(f"/api/works/{child['work_id']}").json()
        assert work["parent"] == parent["work_id"]
        assert (files / child["work_id"] / "poem.txt").read_bytes() == poem
        paintings.add((files / child["work_id"] / "painting.png").read_bytes())
    assert len(paintings) == 3
    bad = client.post(f"/api/works/{parent['work_id']}/variations", json={"keep": ["music"]})
    assert bad.status_code == 400


def test_the_history_tree_holds_variations_and_forks_from_any_node(tmp_path):
    app, client, settings = _app(f"sqlite:///{tmp_path / 'studio.db'}", tmp_path)
    root = client.post("/api/works", json={"prompt": "a lantern", "seed": 1, **TEXT_IMAGE}).json()
    _run_next(app, settings)
    [child] = client.post(f"/api/works/{root['work_id']}/variations", json={"count": 1}).json()
    fork = client.post("/api/works", json={"prompt": "a lantern in snow", "seed": 2, **TEXT_IMAGE,
                                           "parent": child["work_id"]}).json()
    other = client.post("/api/works", json={"prompt": "unrelated", "seed": 3, **TEXT_IMAGE}).json()
    for want in (root, child, fork):
        tree = client.get(f"/api/works/{want['work_id']}/history").json()
        assert tree["root"] == root["work_id"] and tree["current"] == want["work_id"]
        parents = {n["id"]: n["parent"] for n in tree["works"]}
        assert parents == {root["work_id"]: None, child["work_id"]: root["work_id"],
                           fork["work_id"]: child["work_id"]}
    assert tree["works"][0]["picture"] == "painting.png"  # made; the others are queued
    alone = client.get(f"/api/works/{other['work_id']}/history").json()
    assert [n["id"] for n in alone["works"]] == [other["work_id"]]
    assert client.get("/api/works/nope/history").status_code == 404


def test_a_sculpture_is_a_work_with_a_model_the_page_can_load(tmp_path):
    from museforge.image.sculpture import load_mesh

    app, client, settings = _app(f"sqlite:///{tmp_path / 'studio.db'}", tmp_path)
    made = client.post("/api/works", json={"prompt": "一座山中的古塔", "seed": 5, "modalities": ["sculpture"],
                                           "params": {"sculpture": {"detail": 1}}}).json()
    assert _run_next(app, settings) == "done"
    work = client.get(f"/api/works/{made['work_id']}").json()
    assert {"sculpture.glb", "sculpture.stl", "preview.png"} <= set(work["files"])
    glb = client.get(f"/api/works/{made['work_id']}/files/sculpture.glb")
    assert glb.headers["content-type"] == "model/gltf-binary"
    [art] = work["record"]["artifacts"]
    assert load_mesh(glb.content, "glb").faces.shape[0] == art["summary"]["faces"]
    viewer = client.get("/static/viewer.js")
    assert viewer.status_code == 200 and "MuseforgeViewer" in viewer.text
    verified = client.get(f"/api/works/{made['work_id']}/verify").json()
    assert verified["intact"] and {f["status"] for f in verified["files"]} == {"ok"}
    (settings.data / "works" / made["work_id"] / "sculpture.stl").write_bytes(b"solid tampered")
    changed = client.get(f"/api/works/{made['work_id']}/verify").json()
    stl = next(f for f in changed["files"] if f["name"] == "sculpture.stl")
    assert not changed["intact"] and stl["status"] == "changed"
    assert client.get("/api/works/nope/verify").status_code == 404
    styles = {e["name"]: e for e in client.get("/api/engines").json()}["museforge-style-adain"]["inputs"]
    assert "starry-night" in {i["role"]: i for i in styles}["styles"]["builtins"]


def test_search_ratings_and_a_bradley_terry_ranking(db_url, tmp_path):
    app, client, settings = _app(db_url, tmp_path)
    ids = [
        client.post("/api/works", json={"prompt": p, "seed": i, **TEXT_IMAGE}).json()["work_id"]
        for i, p in enumerate(["a stormy sea", "a calm sea", "一座山"])
    ]
    for _ in ids:
        _run_next(app, settings)
    found = client.get("/api/works", params={"q": "sea"}).json()
    assert found["total"] == 2 and {w["id"] for w in found["works"]} == set(ids[:2])
    assert client.get("/api/works", params={"q": "山"}).json()["total"] == 1
    assert client.get("/api/works", params={"engine": "rule-poet"}).json()["total"] == 3
    assert client.get("/api/works", params={"engine": "rule"}).json()["total"] == 0  # whole names only
    assert client.get("/api/works", params={"q": "100%_"}).json()["total"] == 0
    for winner, loser in [(0, 1), (0, 1), (1, 0), (0, 2), (1, 2)]:
        body = {"a": ids[winner], "b": ids[loser], "winner": ids[winner]}
        assert client.post("/api/ratings", json=body).status_code == 201
    ranks = client.get("/api/rankings").json()
    assert [r["work_id"] for r in ranks] == ids
    assert all(r["low"] < r["score"] < r["high"] for r in ranks) and ranks[0]["wins"] == 3
    by_rating = client.get("/api/works", params={"order": "rating"}).json()["works"]
    assert [w["id"] for w in by_rating] == ids
    assert client.post("/api/ratings", json={"a": ids[0], "b": ids[0], "winner": ids[0]}).status_code == 400
    assert client.get("/api/works/nope").status_code == 404


def test_evolution_mutates_the_favourites_settings_within_their_ranges(tmp_path):
    _, client, _ = _app(f"sqlite:///{tmp_path / 's.db'}", tmp_path)
    a = client.post("/api/works", json={"prompt": "a stormy sea", "seed": 1, **TEXT_IMAGE}).json()["work_id"]
    b = client.post("/api/works", json={"prompt": "a calm sea", "seed": 2, **TEXT_IMAGE}).json()["work_id"]
    body = {"parents": [a, b], "count": 9, "rate": 1.0, "seed": 3}
    children = client.post("/api/evolve", json=body)
    assert children.status_code == 202 and len(children.json()) == 9
    requests = [client.get(f"/api/works/{c['work_id']}").json() for c in children.json()]
    assert [r["parent"] for r in requests] == [a, b] * 4 + [a]
    for r in requests:
        image = r["request"]["params"]["image"]
        assert image["size"] == 32  # size never mutates: a generation costs what its parents did
        assert 0.1 <= image["density"] <= 4.0 and 0.0 <= image["texture"] <= 2.0
        assert (
            image["style"]
            in {e["name"]: e for e in client.get("/api/engines").json()}["procedural-painting"]["params"][0][
                "choices"
            ]
        )
    assert len({(r["request"]["params"]["image"]["density"], r["request"]["seed"]) for r in requests}) == 9
    again = client.post("/api/evolve", json=body).json()
    first = [client.get(f"/api/works/{c['work_id']}").json()["request"] for c in again]
    assert [x["params"] for x in first] == [r["request"]["params"] for r in requests]  # seeded mutations
    assert client.post("/api/evolve", json={"parents": []}).status_code == 422
    assert client.post("/api/evolve", json={"parents": ["nope"]}).status_code == 404


def _png(size=(40, 30), seed=0) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _bomb() -> bytes:
    import struct
    import zlib

    def chunk(kind, payload):
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def test_an_uploaded_photo_is_stylised_and_bad_uploads_are_refused(tmp_path):
    import io

    import mido

    app, client, settings = _app(f"sqlite:///{tmp_path / 's.db'}", tmp_path)
    photo = client.post("/api/uploads", files={"file": ("../../etc/x.png", _png(), "image/png")})
    assert (
        photo.status_code == 201
        and photo.json()["kind"] == "image"
        and photo.json()["id"].startswith("upload:")
    )
    assert next(iter((settings.data / "uploads" / "local").iterdir())).name.endswith(
        ".png"
    )  # its name is its hash
    for payload, words in [
        (b"", "empty"),
        (b"\xff\xfe\x00 not an image at all", "not an image"),
        (_bomb(), "edge limit"),
        (b"MThd\x00\x00\x00\x06broken", "MIDI"),
    ]:
        answer = client.post("/api/uploads", files={"file": ("f.png", payload, "image/png")})
        assert answer.status_code == 400 and words in answer.json()["error"], answer.json()
    midi = mido.MidiFile()
    midi.tracks.append(
        mido.MidiTrack(
            [mido.Message("note_on", note=60, time=0), mido.Message("note_off", note=60, time=480)]
        )
    )
    buf = io.BytesIO()
    midi.save(file=buf)
    assert (
        client.post("/api/uploads", files={"file": ("m.mid", buf.getvalue(), "audio/midi")}).json()["kind"]
        == "music"
    )
    body = {
        "prompt": "",
        "seed": 1,
        "modalities": ["image"],
        "engines": {"image": "museforge-style-reinhard"},
        "params": {"image": {"size": 32}},
        "inputs": {"image.content": [photo.json()["id"]], "image.styles": ["builtin:starry-night"]},
    }
    made = client.post("/api/works", json={**body, "prompt": "my photo at night"})
    assert made.status_code == 202, made.json()
    assert _run_next(app, settings) == "done"
    record = client.get(f"/api/works/{made.json()['work_id']}").json()["record"]
    roles = {i["role"] for i in record["artifacts"][0]["inputs"]}
    assert roles == {"content", "styles"}
    for ref in ("/etc/passwd", "upload:../../x", "upload:" + "0" * 64, "builtin:no-such-style"):
        bad = client.post("/api/works", json={**body, "prompt": "x", "inputs": {"image.content": [ref]}})
        assert bad.status_code == 400, ref


def test_the_poem_editor_checks_a_form_live_and_rewrites_all_but_the_kept_lines(tmp_path):
    app, client, settings = _app(f"sqlite:///{tmp_path / 's.db'}", tmp_path)
    good = "白日依山尽\n黄河入海流\n欲穷千里目\n更上一层楼\n"
    verdict = client.post("/api/poems/check", json={"text": good, "form": "wujue"}).json()
    assert verdict["valid"], verdict
    bad = client.post("/api/poems/check", json={"text": "白日依山尽\n黄河入海流\n", "form": "wujue"}).json()
    assert not bad["valid"] and bad["violations"]
    assert client.post("/api/poems/check", json={"text": good, "form": "limerick"}).status_code == 400
    parent = client.post("/api/works", json={"prompt": "月夜思乡", "seed": 4, **TEXT_IMAGE}).json()
    _run_next(app, settings)
    draft = client.post("/api/uploads", files={"file": ("d.txt", good.encode(), "text/plain")}).json()
    assert draft["kind"] == "text"
    body = {
        "prompt": "月夜思乡",
        "seed": 5,
        "modalities": ["text"],
        "engines": {"text": "learned-poet"},
        "params": {"text": {"form": "wujue", "keep": "1,3"}},
        "inputs": {"text.draft": [draft["id"]]},
        "parent": parent["work_id"],
    }
    made = client.post("/api/works", json=body)
    assert made.status_code == 202, made.json()
    assert _run_next(app, settings) == "done"
    work = client.get(f"/api/works/{made.json()['work_id']}").json()
    assert work["parent"] == parent["work_id"]
    poem = client.get(f"/api/works/{work['id']}/files/poem.txt").text
    assert "白日依山尽" in poem and "欲穷千里目" in poem
    assert client.post("/api/works", json={**body, "parent": "someone-elses"}).status_code == 404
