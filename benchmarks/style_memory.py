"""Peak memory of Gatys at a large size on CPU: coarse to fine, the levels above ``--tile`` pixels
optimised in overlapping tiles. A short run (``--steps``) is enough: the peak is reached by the
first step of the largest level.

    python benchmarks/style_memory.py [--size 2048] [--steps 1] [--tile 1024] [--threads 1]

Prints one JSON line: peak resident memory (getrusage ru_maxrss) and the time per level.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch
from PIL import Image

from museforge.runtime import make_generator
from museforge.style import io as sio
from museforge.style.features import load_vgg
from museforge.style.gatys import GatysParams, stylize_gatys
from museforge.style.transfer import BUILTIN_STYLES


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--steps", type=int, default=1, help="iterations at full size (coarser: 2x per level)")
    p.add_argument("--scales", type=int, default=3)
    p.add_argument("--tile", type=int, default=GatysParams.tile)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    from skimage import data

    content = sio.to_tensor(sio.fit(Image.fromarray(data.astronaut()), a.size))
    style = sio.to_tensor(sio.fit(sio.open_rgb(BUILTIN_STYLES["starry-night"]), a.size))
    net = load_vgg()
    before = peak_mb()
    t0 = time.perf_counter()
    params = GatysParams(steps=a.steps, scales=a.scales, tile=a.tile)
    out, summary = stylize_gatys(net, content, [style], [1.0], params, make_generator(0))
    print(
        json.dumps(
            {
                "bench": "gatys-memory",
                "size": f"{out.shape[-1]}x{out.shape[-2]}",
                "steps": a.steps,
                "tile": a.tile,
                "threads": a.threads,
                "peak_rss_mb": round(peak_mb()),
                "rss_before_mb": round(before),
                "seconds": round(time.perf_counter() - t0, 1),
                "levels": [{k: v[k] for k in ("size", "steps", "seconds")} for v in summary["scales"]],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
