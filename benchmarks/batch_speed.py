"""Works per minute of ``museforge batch``: in one process (the anchor), in 2 worker processes, and
on a 2-CPU Ray cluster on this machine; median of several runs, and whether every artifact is the
same byte for byte in all three.

    python benchmarks/batch_speed.py [--n 8] [--runs 3] [--modalities text,music] [--json]

Each run is a fresh ``museforge batch`` process into an empty folder (import time included), as a
person would see it; the rounds alternate the three ways so that a busy machine slows each alike.
The Ray cluster is started once (not timed) with its own token and folder, and stopped afterwards
(its own processes only, by their process group).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROMPTS = [
    "a quiet lake at dawn",
    "a stormy sea at night",
    "在一片神秘的森林中，",
    "the last train home",
    "spring rain on old stones",
    "a lighthouse keeper's letter",
    "秋风吹过空山",
    "children running in the snow",
    "a desert road under stars",
    "the city wakes up",
    "月下独酌",
    "a garden after the war",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ray(env: dict[str, str], temp: Path) -> tuple[str, int, float]:
    """A 2-CPU head node on this machine: its address, its process group and the seconds it took."""
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("ray")), "start", "--head", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env,
    )  # fmt: skip
    if proc.wait(timeout=180) != 0:
        raise SystemExit("ray start failed")
    return f"127.0.0.1:{port}", proc.pid, time.perf_counter() - t0


def stop_group(pgid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
            for _ in range(30):
                time.sleep(0.1)
                os.killpg(pgid, 0)
        except ProcessLookupError:
            return


def run_batch(prompts: Path, out: Path, modalities: str, extra: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "museforge", "batch", str(prompts), "--out", str(out),
         "--modalities", modalities, "--seed", "11", "-q", *extra],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"batch {' '.join(extra)} failed: {done.stderr[-500:]}")
    return time.perf_counter() - t0


def artifacts(out: Path) -> dict[str, bytes]:
    """Every artifact file of every Work in ``out`` (work.json and report.html hold times)."""
    found = {}
    for work in sorted(p for p in out.iterdir() if p.is_dir()):
        record = json.loads((work / "work.json").read_text())
        for art in record["artifacts"]:
            for f in art["files"]:
                found[f"{work.name}/{f['name']}"] = (work / f["name"]).read_bytes()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="prompts (at most 12)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modalities", default="text,music")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "MUSEFORGE_HOME": str(root / "home"), "RAY_AUTH_MODE": "token",
               "RAY_AUTH_TOKEN": secrets.token_hex(32)}  # fmt: skip
        prompts = root / "prompts.txt"
        prompts.write_text("\n".join(PROMPTS[: args.n]) + "\n", encoding="utf-8")
        temp = Path(f"/tmp/mf-ray-{secrets.token_hex(3)}")
        address, pgid, ray_start = start_ray(env, temp)
        ways = {"sequential": [], "2 workers": ["--workers", "2"], "Ray, 2 CPUs": ["--ray", address]}
        walls: dict[str, list[float]] = {w: [] for w in ways}
        same = True
        differ: list[str] = []
        load = [os.getloadavg()[0]]
        try:
            for run in range(args.runs):
                made = {}
                for way, extra in ways.items():
                    out = root / f"{run}-{way.split()[0].strip(',')}"
                    walls[way].append(run_batch(prompts, out, args.modalities, extra, env))
                    made[way] = artifacts(out)
                    shutil.rmtree(out)
                first = made["sequential"]
                same = same and len(first) >= args.n and all(m.keys() == first.keys() for m in made.values())
                differ += [f"run {run + 1}, {way}: {name}" for way, m in made.items()
                           for name in sorted(first) if m.get(name) != first[name]]  # fmt: skip
                load.append(os.getloadavg()[0])
        finally:
            stop_group(pgid)
            shutil.rmtree(temp, ignore_errors=True)
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    anchor = statistics.median(walls["sequential"])
    rows = {
        way: {
            "median_s": round(statistics.median(w), 1),
            "works_per_minute": round(args.n * 60 / statistics.median(w), 1),
            "vs_sequential": round(anchor / statistics.median(w), 2),
        }
        for way, w in walls.items()
    }
    result = {
        "benchmark": "batch_speed",
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "prompts": args.n,
        "modalities": args.modalities,
        "runs": args.runs,
        "ways": rows,
        "identical_artifacts": same and not differ,
        "differing_files": differ[:20],
        "ray_start_s": round(ray_start, 1),
        "load_average": [round(x, 1) for x in load],
        "cpu_minutes": round((cpu.ru_utime + cpu.ru_stime) / 60, 1),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(f"batch of {args.n} prompts ({args.modalities}), median of {args.runs} runs on {result['machine']}")
    print("| | median wall | works per minute | vs sequential |")
    print("|---|---|---|---|")
    for way, row in rows.items():
        print(f"| {way} | {row['median_s']} s | {row['works_per_minute']} | {row['vs_sequential']}x |")
    for line in differ[:20]:
        print(f"differs: {line}")
    same_text = "yes" if result["identical_artifacts"] else "NO"
    print(f"every artifact identical in all three: {same_text}; Ray start "
          f"{result['ray_start_s']} s (not counted); load average {result['load_average']}; "
          f"{result['cpu_minutes']} CPU minutes outside Ray's processes")  # fmt: skip


if __name__ == "__main__":
    main()
