"""Wall time of ``museforge create`` with default settings, per stage, median of several runs.

    python benchmarks/create_speed.py [--runs 3] [--prompt TEXT] [--json]

Each run is a fresh process (import time included), as a user would see it. The goal:
under 60 s on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = "在一片神秘的森林中，"


def one_run(prompt: str, seed: int, out: Path) -> tuple[float, dict[str, float]]:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "museforge", "create", prompt, "--seed", str(seed), "--out", str(out), "-q"],
        check=True,
        capture_output=True,
        env={**os.environ, "MUSEFORGE_HOME": str(out.parent / "home")},
    )
    wall = time.perf_counter() - t0
    manifest = json.loads((out / "work.json").read_text())
    return wall, {a["modality"]: a["seconds"] for a in manifest["artifacts"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prompt", default=EXAMPLE)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    walls, stages = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            wall, per = one_run(args.prompt, 7 + i, Path(tmp) / f"w{i}")
            walls.append(wall)
            for k, v in per.items():
                stages.setdefault(k, []).append(v)
    result = {
        "benchmark": "create_speed",
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "runs": args.runs,
        "median_wall_s": round(statistics.median(walls), 2),
        "max_wall_s": round(max(walls), 2),
        "median_stage_s": {k: round(statistics.median(v), 2) for k, v in stages.items()},
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"create, default settings, {args.runs} runs on {result['machine']}")
        print(f"  wall time: median {result['median_wall_s']} s, max {result['max_wall_s']} s (goal < 60 s)")
        for k, v in result["median_stage_s"].items():
            print(f"  {k:<6} {v} s")


if __name__ == "__main__":
    main()
