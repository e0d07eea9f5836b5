"""Inference speed of museforge's UNet against diffusers' UNet2DConditionModel, same weights.

Median wall time of one forward under ``torch.no_grad`` (batch 2, as classifier-free guidance runs
it), torch's default thread count; goal: diffusers time / ours >= 1.0.

    python benchmarks/unet_speed.py [--runs 20] [--size 64] [--batch 2] [--threads N] [--json]

Calls of the two models alternate, so a busy machine slows both alike; the load average is printed
because on a shared machine multi-threaded timings swing widely (--threads 1 is steadier).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch

from museforge.image.diffusion.unet import UNet, UNetConfig, to_diffusers_config

TEXT_TOKENS = 16
GOAL = 1.0


def median_seconds(
    fns: dict[str, Callable[[], torch.Tensor]], runs: int, warmup: int = 2
) -> dict[str, float]:
    """Median seconds per call of each function; calls alternate so both see the same machine load."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description="Time museforge's UNet against diffusers' on this CPU.")
    ap.add_argument("--runs", type=int, default=20, help="timed forwards per model (median reported)")
    ap.add_argument("--size", type=int, default=64, help="image edge in pixels (default 64)")
    ap.add_argument("--batch", type=int, default=2, help="batch size (default 2: guided sampling)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from diffusers import UNet2DConditionModel

    cfg = UNetConfig()
    torch.manual_seed(0)
    ours = UNet(cfg).eval()
    ref = UNet2DConditionModel(**to_diffusers_config(cfg)).eval()
    ref.load_state_dict(ours.state_dict(), strict=True)

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch, cfg.in_channels, args.size, args.size, generator=gen)
    ctx = torch.randn(args.batch, TEXT_TOKENS, cfg.cross_attention_dim, generator=gen)
    mask = torch.ones(args.batch, TEXT_TOKENS, dtype=torch.bool)
    mask[:, TEXT_TOKENS // 2 :] = False  # half the text is padding, as a short prompt gives
    t = torch.full((args.batch,), 500)

    with torch.no_grad():
        deviation = (ours(x, t, ctx, mask) - ref(x, t, ctx, encoder_attention_mask=mask).sample).abs().max()
        medians = median_seconds(
            {
                "diffusers": lambda: ref(x, t, ctx, encoder_attention_mask=mask).sample,
                "museforge": lambda: ours(x, t, ctx, mask),
            },
            args.runs,
        )
    ours_s, ref_s = medians["museforge"], medians["diffusers"]

    result = {
        "config": cfg.to_dict(),
        "parameters": ours.num_parameters(),
        "batch": args.batch,
        "size": args.size,
        "runs": args.runs,
        "threads": torch.get_num_threads(),
        "ours_ms": round(ours_s * 1e3, 2),
        "diffusers_ms": round(ref_s * 1e3, 2),
        "speedup": round(ref_s / ours_s, 3),
        "max_abs_deviation": float(deviation),
        "load_average": round(os.getloadavg()[0], 2),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"UNet {result['parameters']:,} parameters, batch {args.batch}, {args.size}x{args.size}, "
            f"{result['threads']} threads, median of {args.runs}, load average {result['load_average']}"
        )
        print(f"  museforge  {result['ours_ms']:8.2f} ms")
        print(f"  diffusers  {result['diffusers_ms']:8.2f} ms")
        print(
            f"  diffusers / museforge = {result['speedup']:.3f} (goal >= {GOAL})  "
            f"max |difference| {result['max_abs_deviation']:.2e}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
