"""The hostile-input corpus of ``tests/fuzz``, counted by category and outcome.

Runs every category of the corpus (fixed cases, kill -9 scenarios, concurrent writers and the
hypothesis-generated inputs, each bad outcome kept rather than stopping the run) in a throwaway
museforge home, and prints a Markdown table for BENCHMARKS.md: cases, clean errors, correct
results, internal errors, hangs, losses, wrong acceptances and other faults. The goal is zero in
every column after the first three. Cases that went wrong are listed below the table.

    python benchmarks/fuzz_report.py                 # the whole corpus, a few minutes
    python benchmarks/fuzz_report.py --only works    # one category
    python benchmarks/fuzz_report.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
sys.path.insert(0, str(ROOT / "src"))

COLUMNS = ("clean error", "correct result", "internal error", "hang", "loss", "wrong acceptance", "other")


def run(only: list[str] | None) -> tuple[dict[str, list], bool]:
    """Outcomes by category (``generated: NAME`` for the hypothesis corpora), and whether a
    real tmpfs was used for the full-disk cases."""
    import fuzzlib

    runner = fuzzlib.Runner(Path(tempfile.mkdtemp(prefix="museforge-fuzz-")))
    tmpfs = not fuzzlib.tmpfs_available(runner.root)
    names = [*fuzzlib.CATEGORIES, *fuzzlib.SCENARIOS, *(f"generated: {g}" for g in fuzzlib.GENERATED)]
    results: dict[str, list] = {}
    try:
        for name in names:
            if only and not any(o in name for o in only):
                continue
            started = time.perf_counter()
            if name.startswith("generated: "):
                outcomes = fuzzlib.run_property(name.removeprefix("generated: "), runner, strict=False)
            else:
                outcomes = fuzzlib.run_category(runner, name, tmpfs=tmpfs)
            results[name] = outcomes
            print(f"{name}: {len(outcomes)} cases in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    finally:
        runner.close()
    return results, tmpfs


def table(results: dict[str, list]) -> str:
    heads = {
        "clean error": "clean errors",
        "correct result": "correct results",
        "internal error": "internal errors",
        "hang": "hangs",
        "loss": "losses",
        "wrong acceptance": "wrong acceptances",
        "other": "other",
    }
    head = "| category | cases | " + " | ".join(heads[c] for c in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    total: Counter = Counter()
    for name, outcomes in results.items():
        counts = Counter(o.kind for o in outcomes)
        total.update(counts)
        total["cases"] += len(outcomes)
        lines.append(f"| {name} | {len(outcomes)} | " + " | ".join(str(counts[c]) for c in COLUMNS) + " |")
    lines.append(
        f"| **all** | **{total['cases']}** | " + " | ".join(f"**{total[c]}**" for c in COLUMNS) + " |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", action="append", help="run only categories whose name holds this (repeatable)"
    )
    parser.add_argument("--json", type=Path, help="also write every outcome to this JSON file")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="museforge-fuzz-home-")
    os.environ["MUSEFORGE_HOME"] = home
    os.environ.pop("MUSEFORGE_DEBUG", None)
    started = time.perf_counter()
    results, tmpfs = run(args.only)
    seconds = time.perf_counter() - started
    print(
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {seconds:.0f} s; full disks on "
        f"{'a real tmpfs' if tmpfs else 'a simulated ENOSPC (no tmpfs mount here)'}\n"
    )
    print(table(results))
    bad = [o for outcomes in results.values() for o in outcomes if not o.good]
    if bad:
        print("\nCases that went wrong:")
        for o in bad:
            print(f"- {o.line()}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    name: [
                        {"name": o.name, "kind": o.kind, "detail": o.detail, "seconds": round(o.seconds, 3)}
                        for o in outcomes
                    ]
                    for name, outcomes in results.items()
                },
                indent=1,
                ensure_ascii=False,
            )
        )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
