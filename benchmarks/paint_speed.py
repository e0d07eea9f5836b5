"""How long one 1024x1024 painting takes, per style: median of 3 runs (goal: under 5 s).

    python benchmarks/paint_speed.py [--size 1024] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

from museforge.emotion import detect_emotion
from museforge.engines import Request
from museforge.image.procedural import STYLES, ProceduralPainting, ProceduralParams
from museforge.runtime import make_generator

PROMPT = "a stormy sea at night"
GOAL_S = 5.0


def time_style(style: str, size: int, runs: int) -> list[float]:
    """Seconds of each run of one style (seeds 1..runs)."""
    emotion = detect_emotion(PROMPT, "en")
    times = []
    for seed in range(1, runs + 1):
        req = Request(PROMPT, "en", emotion, seed, ProceduralParams(style=style, size=size))
        t0 = time.perf_counter()
        ProceduralPainting().run(req, make_generator(seed))
        times.append(time.perf_counter() - t0)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description="Time the procedural painter per style.")
    ap.add_argument("--size", type=int, default=1024, help="edge in pixels (default 1024)")
    ap.add_argument("--runs", type=int, default=3, help="runs per style; the median is reported")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    rows = []
    for style in STYLES:
        times = time_style(style, args.size, args.runs)
        rows.append({"style": style, "median_s": round(statistics.median(times), 3),
                     "runs_s": [round(t, 3) for t in times],
                     "under_goal": statistics.median(times) < GOAL_S})
    if args.json:
        print(json.dumps({"size": args.size, "runs": args.runs, "goal_s": GOAL_S,
                          "cpu": platform.processor() or platform.machine(), "styles": rows},
                         indent=2))
        return 0
    print(f"{'style':<15} {'median s':>9}  runs ({args.size}x{args.size}, goal < {GOAL_S:g} s)")
    for r in rows:
        mark = "ok" if r["under_goal"] else "SLOW"
        print(f"{r['style']:<15} {r['median_s']:>9.3f}  {r['runs_s']}  {mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
