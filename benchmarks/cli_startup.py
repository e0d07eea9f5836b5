"""How fast the command line answers: whole-process wall time of light commands.

Runs each command as a new process (``python -m museforge ...``) ``--runs`` times and reports the
median, beside two anchors measured in the same run: a bare interpreter (``python -c pass``, the
floor no command can beat) and ``python -c "import torch"`` (what every command paid when the
parser was built by importing the engines). A small Work is made first for ``show`` and ``verify``.

    python benchmarks/cli_startup.py --runs 10
    git worktree add /tmp/museforge-before <commit>   # then, beside an older version:
    python benchmarks/cli_startup.py --runs 10 --before /tmp/museforge-before/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall(argv: list[str], runs: int, src: str | None = None) -> float:
    """Median wall seconds of ``runs`` fresh processes (``src``: another museforge's source first)."""
    env = {**os.environ, "PYTHONPATH": src} if src else None
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="processes per command (default 10)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--before", metavar="SRC", help="an older museforge's src/ to time --help beside")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "w"
        subprocess.run([py, "-m", "museforge", "create", "a stormy sea at night", "--seed", "1", "--out",
                        str(work), "--param", "image.size=64", "--param", "music.bars=2", "-q"],
                       check=True, stdout=subprocess.DEVNULL, env=None)
        rows = {
            "python -c pass (floor)": wall([py, "-c", "pass"], args.runs),
            "python -c 'import torch' (anchor)": wall([py, "-c", "import torch"], args.runs),
            "museforge --help": wall([py, "-m", "museforge", "--help"], args.runs),
            "museforge show WORK": wall([py, "-m", "museforge", "show", str(work)], args.runs),
            "museforge verify WORK": wall([py, "-m", "museforge", "verify", str(work)], args.runs),
            "museforge show FILE.png": wall([py, "-m", "museforge", "show", str(work / "painting.png")],
                                            args.runs),
        }
        if args.before:
            before = wall([py, "-m", "museforge", "--help"], args.runs, args.before)
            rows["museforge --help (before)"] = before
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in rows.items()}, indent=2))
        return
    torch_time = rows["python -c 'import torch' (anchor)"]
    print(f"{'command':<36} {'median s':>9} {'x import torch':>15}")
    for name, seconds in rows.items():
        print(f"{name:<36} {seconds:>9.3f} {seconds / torch_time:>15.2f}")


if __name__ == "__main__":
    main()
