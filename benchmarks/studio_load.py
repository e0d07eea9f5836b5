"""Load on the studio, against 127.0.0.1 only, bounded in time: ``--browsers`` clients browse and
search (gallery pages, searches, a work's record and one of its files) while ``--creators``
clients each create works one after another and wait for them; with SQLite and with PostgreSQL
(a throwaway cluster from Debian's binaries).

    python benchmarks/studio_load.py [--seconds 60] [--browsers 50] [--creators 10] [--workers 2]

Reports p50/p95 latency per kind of request, errors (goal 0; a 429 from the bounded queue counts
as one), and works finished per minute. Works are small (a rule-based poem and a 64 px painting),
so the figures measure the server, the queue and the database rather than the engines.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

WORK = {
    "modalities": ["text", "image"],
    "engines": {"text": "rule-poet", "image": "procedural-painting"},
    "params": {"image": {"size": 64}},
}
PROMPTS = [
    "a stormy sea at night",
    "在一片神秘的森林中，",
    "a quiet lake at dawn",
    "秋天的落叶",
    "the moon over hills",
]
WORDS = ["sea", "森林", "lake", "moon", "落叶", "night", "xyz"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data: Path, db: str | None, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "museforge",
        "studio",
        "--port",
        str(port),
        "--data",
        str(data),
        "--workers",
        str(workers),
        "--max-queue",
        "1000",
    ]
    if db:
        args += ["--db", db]
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the studio did not start")


def run(url: str, seconds: float, browsers: int, creators: int) -> dict:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    finished = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def timed(client: httpx.Client, kind: str, method: str, path: str, **kw) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            response = client.request(method, url + path, timeout=30, **kw)
        except httpx.HTTPError:
            with lock:
                errors[kind] += 1
            return None
        with lock:
            latencies[kind].append(time.perf_counter() - t0)
            if response.status_code >= 400:
                errors[kind] += 1
        return response

    def browser(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client() as client:
            while time.monotonic() < stop_at:
                timed(client, "page /", "GET", "/")
                found = timed(client, "search", "GET", f"/api/works?q={rng.choice(WORDS)}&limit=20")
                listing = timed(client, "gallery", "GET", "/api/works?state=done&limit=30")
                works = listing.json()["works"] if listing is not None and listing.status_code == 200 else []
                if works:
                    work = rng.choice(works)
                    timed(client, "work", "GET", f"/api/works/{work['id']}")
                    timed(client, "file", "GET", f"/api/works/{work['id']}/files/painting.png")
                del found

    def creator(seed: int) -> None:
        rng = random.Random(1000 + seed)
        with httpx.Client() as client:
            while time.monotonic() < stop_at:
                made = timed(
                    client,
                    "create",
                    "POST",
                    "/api/works",
                    json={"prompt": rng.choice(PROMPTS), "seed": rng.randrange(10**9), **WORK},
                )
                if made is None or made.status_code != 202:
                    time.sleep(1)
                    continue
                job = made.json()["job_id"]
                while time.monotonic() < stop_at + 60:
                    state = timed(client, "job", "GET", f"/api/jobs/{job}")
                    if state is not None and state.json().get("state") in ("done", "failed", "cancelled"):
                        if state.json()["state"] == "done":
                            with lock:
                                finished.append(time.monotonic())
                        else:
                            with lock:
                                errors["job failed"] += 1
                        break
                    time.sleep(0.5)

    threads = [threading.Thread(target=browser, args=(i,)) for i in range(browsers)]
    threads += [threading.Thread(target=creator, args=(i,)) for i in range(creators)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    minutes = (time.monotonic() - started) / 60
    rows = {
        kind: {
            "n": len(v),
            "p50_ms": 1000 * statistics.median(v),
            "p95_ms": 1000 * statistics.quantiles(v, n=20)[-1] if len(v) > 1 else 1000 * v[0],
        }
        for kind, v in sorted(latencies.items())
    }
    return {
        "requests": rows,
        "errors": dict(errors),
        "works_done": len(finished),
        "works_per_minute": len(finished) / minutes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--browsers", type=int, default=50)
    ap.add_argument("--creators", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = ap.parse_args()
    import pgcluster

    results = {}
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        with tempfile.TemporaryDirectory() as tmp, pgcluster.cluster() as pg:
            if kind == "postgresql" and pg is None:
                print("PostgreSQL is not installed; skipped", file=sys.stderr)
                continue
            proc, url = start(Path(tmp) / "data", pg if kind == "postgresql" else None, args.workers)
            try:
                results[kind] = run(url, args.seconds, args.browsers, args.creators)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
        print(kind, json.dumps(results[kind]), file=sys.stderr, flush=True)
    print(
        json.dumps(
            {
                "seconds": args.seconds,
                "browsers": args.browsers,
                "creators": args.creators,
                "workers": args.workers,
                "load_average": os.getloadavg(),
                "results": results,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
