"""Scheduler agreement: our four samplers against diffusers' schedulers of the same name.

    python benchmarks/scheduler_match.py [--steps 1 2 3 10 25 50] [--device cpu] [--json]

For every sampler, beta schedule, prediction type, timestep spacing and step count (DDIM also at
eta 0 and 0.7), both schedulers sample the same starting noise with the same stand-in model
(``0.9·x + 0.1·sin(t/37)·pattern``) and equally seeded CPU generators. Reported per sampler: the
loops run, how many agreed to the last bit, and the largest absolute difference of any
``prev_sample``, ``pred_original_sample`` or model input along the way. Euler ancestral skips
``sample`` prediction, which diffusers does not implement.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import warnings

import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
)

from museforge.image.diffusion.schedulers import (
    BETA_SCHEDULES,
    PREDICTION_TYPES,
    SAMPLERS,
    SPACINGS,
    make_scheduler,
)

THEIRS = {
    "ddpm": DDPMScheduler,
    "ddim": DDIMScheduler,
    "euler-a": EulerAncestralDiscreteScheduler,
    "dpmpp-2m": DPMSolverMultistepScheduler,
}
SHARED = ("beta_start", "beta_end", "beta_schedule", "prediction_type", "timestep_spacing", "steps_offset")
EXTRA = {
    "ddpm": ("clip_sample", "clip_sample_range", "variance_type"),
    "ddim": ("clip_sample", "clip_sample_range", "set_alpha_to_one"),
    "euler-a": (),
    "dpmpp-2m": ("lower_order_final", "final_sigmas_type"),
}


def loop_gap(name: str, steps: int, eta: float, device: str, **config: object) -> float:
    """Largest absolute difference over one sampling loop (timesteps and sigmas must be equal)."""
    ours = make_scheduler(name, **config)
    theirs = THEIRS[name](**{key: getattr(ours.config, key) for key in SHARED + EXTRA[name]})
    ours.set_timesteps(steps, device)
    theirs.set_timesteps(steps, device)
    assert torch.equal(ours.timesteps, theirs.timesteps)
    assert not hasattr(theirs, "sigmas") or torch.equal(ours.sigmas, theirs.sigmas)
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(2, 4, 32, 32, generator=g) * ours.init_noise_sigma).to(device)
    pattern = torch.randn(2, 4, 32, 32, generator=g).to(device)
    mine, yours = x, x.clone()
    g_mine, g_yours = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    kwargs = {"eta": eta} if name == "ddim" else {}
    gap = 0.0
    for t in ours.timesteps:
        a, b = ours.scale_model_input(mine, t), theirs.scale_model_input(yours, t)
        wave = 0.1 * math.sin(float(t) / 37) * pattern
        out = ours.step(0.9 * a + wave, t, mine, generator=g_mine, **kwargs)
        ref = theirs.step(0.9 * b + wave, t, yours, generator=g_yours, **kwargs)
        x0 = theirs.model_outputs[-1] if name == "dpmpp-2m" else ref.pred_original_sample
        pairs = ((a, b), (out.prev_sample, ref.prev_sample), (out.pred_original_sample, x0))
        gap = max(gap, *((p - q).abs().max().item() for p, q in pairs))
        mine, yours = out.prev_sample, ref.prev_sample
    return gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 3, 10, 25, 50])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    results = {}
    for name in SAMPLERS:
        gaps = []
        etas = (0.0, 0.7) if name == "ddim" else (0.0,)
        for schedule, kind, spacing, steps, eta in itertools.product(
            BETA_SCHEDULES, PREDICTION_TYPES, SPACINGS, args.steps, etas
        ):
            if name == "euler-a" and kind == "sample":
                continue
            config = {"beta_schedule": schedule, "prediction_type": kind, "timestep_spacing": spacing}
            gaps.append(loop_gap(name, steps, eta, args.device, **config))
        results[name] = {"loops": len(gaps), "bit_exact": gaps.count(0.0), "max_abs_diff": max(gaps)}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, row in results.items():
        loops, exact, gap = row["loops"], row["bit_exact"], row["max_abs_diff"]
        print(f"{name:9} loops {loops:4}  bit-exact {exact:4}  max |diff| {gap:.3g}")


if __name__ == "__main__":
    main()
