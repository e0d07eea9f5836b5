"""Peak memory and wall time of a default Gatys run on CPU, over the whole run.

Each size runs in a fresh Python process (so ``getrusage(RUSAGE_SELF).ru_maxrss`` is that run's
own peak) and computes what ``museforge style PHOTO starry-night --size SIZE`` computes: the
photo and the style fitted to SIZE, VGG loaded, ``stylize_gatys`` with the default
``GatysParams`` (50 L-BFGS steps at full size, 3 coarse-to-fine levels each running twice the
steps of the next, levels wider than 1024 px optimised in 1024 px tiles), the result encoded as
PNG. A thread samples the resident set every 20 ms, and each L-BFGS step
records it too, so the report says where the peak falls: L-BFGS keeps ``history_size`` (20)
pairs of image-sized vectors, so the resident set grows for the first 20 steps of each level
and the peak comes well after the first step. A run also gives the wall time of a default run.

A full 2048 px run is 9 tiles of 50 steps at 1024 px after the coarser levels (hours on a
shared 2-core machine); ``--stop-after-tiles N`` ends the run after N tiles of the last level, each of
them past the 20-step history fill (the tiles are all 1024x1024, so later ones need no more).

    python benchmarks/style_memory.py [--sizes 1024 2048] [--runs 1] [--stop-after-tiles 0]
        [--threads 0] [--photo PATH]

Prints one JSON line per run and a summary line (medians over runs).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """Current resident set of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Stop(Exception):
    """Raised to end a run once enough tiles of the last level are done."""


def child(a: argparse.Namespace) -> None:
    """One run in this (fresh) process; prints one JSON line."""
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    from museforge.runtime import make_generator
    from museforge.style import gatys
    from museforge.style import io as sio
    from museforge.style.features import load_vgg

    style_path = Path(gatys.__file__).parent / "assets" / "starry_night.jpg"  # built-in starry-night
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sampler() -> None:
        while not done.is_set():
            samples.append((time.perf_counter(), rss_mb()))
            time.sleep(0.02)

    # every optimize() call (one per level, one per tile of a tiled level) is recorded: its size,
    # and the time and resident set after each of its steps
    calls: list[dict] = []
    real_optimize = gatys.optimize
    params = gatys.GatysParams()  # the CLI's defaults
    t0 = time.perf_counter()
    before = rss_mb()
    content = sio.to_tensor(sio.fit(sio.open_rgb(a.photo, "content"), a.child))
    style = sio.to_tensor(sio.fit(sio.open_rgb(style_path, "style"), a.child))
    h, w = content.shape[-2:]
    untiled = len(gatys.scale_sizes(h, w, params.scales, params.min_scale)) - 1
    tiled = max(h, w) > params.tile  # then every call after the coarser levels is a tile

    def optimize(x, loss_fn, optimizer, steps, lr=0.02, target_loss=None, progress=None):
        rec = {"size": f"{x.shape[-1]}x{x.shape[-2]}", "rss": [], "t": [], "t0": time.perf_counter()}
        calls.append(rec)

        def step(i: int, loss: float) -> None:
            rec["rss"].append(rss_mb())
            rec["t"].append(time.perf_counter())
            if progress:
                progress(i, loss)

        out = real_optimize(x, loss_fn, optimizer, steps, lr, target_loss, step)
        if tiled and a.stop_after_tiles and len(calls) - untiled >= a.stop_after_tiles:
            raise Stop
        return out

    gatys.optimize = optimize
    threading.Thread(target=sampler, daemon=True).start()
    stopped = False
    try:  # what `museforge style PHOTO starry-night --size SIZE` computes
        net = load_vgg()
        out, _ = gatys.stylize_gatys(net, content, [style], [1.0], params, make_generator(0))
        sio.png_bytes(sio.to_image(out))
    except Stop:
        stopped = True
    seconds = time.perf_counter() - t0
    done.set()
    peak_t, peak_rss = max(samples, key=lambda s: s[1]) if samples else (t0, 0.0)
    where = "before the first step"
    levels = []
    for i, c in enumerate(calls):
        if not c["t"]:
            continue
        ends = [c["t0"], *c["t"]]
        sampled = [
            max((r for t, r in samples if lo <= t <= hi), default=0.0) for lo, hi in itertools.pairwise(ends)
        ]
        top = max(range(len(sampled)), key=sampled.__getitem__)
        levels.append(
            {
                "call": i,
                "size": c["size"],
                "steps": len(c["t"]),
                "seconds": round(c["t"][-1] - c["t0"], 1),
                "peak_mb_step1": round(sampled[0]),  # sampled during the first step
                "peak_mb": round(sampled[top]),  # sampled during the call
                "peak_at_step": top + 1,
                "rss_between_steps_first_last_mb": [round(c["rss"][0]), round(c["rss"][-1])],
            }
        )
        if ends[0] <= peak_t <= ends[-1]:
            where = f"call {i} ({c['size']}), step {top + 1} of {len(c['t'])}"
    print(
        json.dumps(
            {
                "bench": "gatys-memory-run",
                "size": a.child,
                "threads": torch.get_num_threads(),
                "peak_rss_mb": round(peak_mb()),
                "sampled_peak_rss_mb": round(peak_rss),
                "sampled_peak_in": where,
                "rss_before_mb": round(before),
                "seconds": round(seconds, 1),
                "complete": not stopped,
                "levels": levels,
            }
        ),
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048], help="output sizes (longest side)")
    p.add_argument("--runs", type=int, default=1, help="fresh-process runs per size (median reported)")
    p.add_argument(
        "--stop-after-tiles",
        type=int,
        default=0,
        help="end a tiled run after this many tiles of the last level (0: run to the end)",
    )
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--photo", help="content photo (default: scikit-image's astronaut as a JPEG)")
    p.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        child(a)
        return
    with tempfile.TemporaryDirectory() as tmp:
        photo = a.photo
        if photo is None:
            from PIL import Image
            from skimage import data

            photo = str(Path(tmp) / "photo.jpg")
            Image.fromarray(data.astronaut()).save(photo, quality=92)
        results: dict[int, list[dict]] = {}
        for _ in range(a.runs):
            for size in a.sizes:
                cmd = [sys.executable, __file__, "--child", str(size), "--photo", photo]
                cmd += ["--threads", str(a.threads), "--stop-after-tiles", str(a.stop_after_tiles)]
                run = subprocess.run(cmd, capture_output=True, text=True)
                if run.returncode:
                    sys.exit(f"size {size}: the run failed:\n{run.stderr[-3000:]}")
                line = json.loads(run.stdout.strip().splitlines()[-1])
                print(json.dumps(line), flush=True)
                results.setdefault(size, []).append(line)
    summary = {
        str(size): {
            "runs": len(rs),
            "complete": all(r["complete"] for r in rs),
            "peak_rss_mb_median": round(statistics.median(r["peak_rss_mb"] for r in rs)),
            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in rs),
            "seconds_median": round(statistics.median(r["seconds"] for r in rs), 1),
            "seconds_all": [r["seconds"] for r in rs],
        }
        for size, rs in results.items()
    }
    print(json.dumps({"bench": "gatys-memory", "summary": summary}), flush=True)


if __name__ == "__main__":
    main()
