"""Throughput of the shared training loop against a plain PyTorch loop, and 1 against 2 processes.

    python benchmarks/train_loop.py                 # loop vs plain, 3 rounds, then 1 vs 2 processes
    python benchmarks/train_loop.py --steps 40 --rounds 5

The model is the built-in poet's shape (4 layers, 192 dims, context 128) on the Tang poems of the
shipped originality corpus if present, else on generated text; batch 16, one thread per process.
The plain loop is what a person writes by hand (nanoGPT's ``train.py``: sample, forward, backward,
clip, AdamW step); the shared loop adds per-step seeded batches, accelerate, the held-out
evaluation and the training state. Rounds alternate the two so machine noise falls on both;
reported: the median tokens/s of the training steps (the first step, the final evaluation and
the saving left out of both), and the ratio (goal: at least 1.0). Scaling: the same run
under ``accelerate launch`` with 2 CPU processes (gloo) at the same global batch; on a 2-core
machine the best possible ratio is 2.
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

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from museforge.train import loop
from museforge.train.text import TextFamily

BATCH, BLOCK = 16, 128


def documents(n: int = 2000) -> list[str]:
    """Generated verse-like documents (deterministic): enough tokens, no download."""
    import random

    rng = random.Random(0)
    words = ["moon", "river", "hill", "wind", "autumn", "night", "lamp", "rain", "boat", "cloud", "pine"]
    return [
        "<verse>\n" + "\n".join(" ".join(rng.choice(words) for _ in range(7)) for _ in range(4)) + "<eos>"
        for _ in range(n)
    ]


def plain(family: TextFamily, steps: int, lr: float = 2e-3) -> float:
    """Tokens/s of a hand-written loop on the same model, batches and optimiser."""
    model = family.model
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for step in range(steps):
        if step == 1:
            t0 = time.perf_counter()
        x, y, _ = family.batch(gen, BATCH)
        _, loss, _ = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        float(loss)
    return (steps - 1) * BATCH * BLOCK / (time.perf_counter() - t0)


def shared(family: TextFamily, steps: int) -> float:
    cfg = loop.LoopConfig(
        steps=steps, batch=BATCH, lr=2e-3, warmup=5, eval_every=steps, checkpoint_every=steps
    )
    stamps: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as out:
        loop.run(
            family,
            cfg,
            Path(out),
            accelerator=loop.make_accelerator("cpu"),
            progress=lambda step, _total, _loss: stamps.__setitem__(step, time.perf_counter()),
        )
    return (steps - 1) * BATCH * BLOCK / (stamps[steps] - stamps[1])


def family() -> TextFamily:
    docs = documents()
    return TextFamily(docs[:1800], docs[1800:], data_sha256="bench")


def two_processes(steps: int) -> dict[str, float]:
    """Tokens/s of 1 and 2 processes through ``accelerate launch`` (the whole command, timed)."""
    out = {}
    for n in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                "OMP_NUM_THREADS": "1",
                "MUSEFORGE_BENCH_STEPS": str(steps),
                "MUSEFORGE_BENCH_OUT": tmp,
            }
            cmd = [
                str(Path(sys.executable).parent / "accelerate"),
                "launch",
                "--num_machines",
                "1",
                "--mixed_precision",
                "no",
                "--dynamo_backend",
                "no",
                "--num_processes",
                str(n),
            ]
            cmd += ["--multi_gpu"] if n > 1 else ["--cpu"]
            subprocess.run([*cmd, __file__, "--worker"], env=env, check=True, capture_output=True)
            out[f"{n} process(es)"] = json.loads((Path(tmp) / "rate.json").read_text())["tokens_per_s"]
    return out


def worker() -> None:
    """One process of the scaling run: the shared loop, timed without start-up."""
    torch.set_num_threads(1)
    steps = int(os.environ["MUSEFORGE_BENCH_STEPS"])
    fam = family()
    acc = loop.make_accelerator("cpu")
    cfg = loop.LoopConfig(
        steps=steps, batch=BATCH, lr=2e-3, warmup=5, eval_every=steps, checkpoint_every=steps
    )
    stamps: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as out:
        loop.run(
            fam,
            cfg,
            Path(out),
            accelerator=acc,
            progress=lambda step, _total, _loss: stamps.__setitem__(step, time.perf_counter()),
        )
    if acc.is_main_process:
        rate = (steps - 1) * BATCH * BLOCK / (stamps[steps] - stamps[1])
        Path(os.environ["MUSEFORGE_BENCH_OUT"], "rate.json").write_text(json.dumps({"tokens_per_s": rate}))
    acc.end_training()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30, help="optimizer steps per measurement")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians reported)")
    ap.add_argument("--no-scaling", action="store_true", help="skip the 1 vs 2 process run")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker()
    torch.set_num_threads(1)
    rates: dict[str, list[float]] = {"plain PyTorch loop (anchor)": [], "shared loop": []}
    for _ in range(args.rounds):
        torch.manual_seed(0)
        rates["plain PyTorch loop (anchor)"].append(plain(family(), args.steps))
        torch.manual_seed(0)
        rates["shared loop"].append(shared(family(), args.steps))
    med = {k: statistics.median(v) for k, v in rates.items()}
    ratio = med["shared loop"] / med["plain PyTorch loop (anchor)"]
    print(f"| loop | tokens/s (median of {args.rounds}) | runs |\n|---|---:|---|")
    for k, v in rates.items():
        print(f"| {k} | {med[k]:,.0f} | {', '.join(f'{x:,.0f}' for x in v)} |")
    print(f"\nshared / plain: {ratio:.3f}")
    result = {"rates": rates, "median": med, "ratio": ratio}
    if not args.no_scaling:
        scaling = two_processes(args.steps)
        print("\n| processes | tokens/s |\n|---|---:|")
        for k, v in scaling.items():
            print(f"| {k} | {v:,.0f} |")
        print(f"\n2 / 1 processes: {scaling['2 process(es)'] / scaling['1 process(es)']:.2f}")
        result["scaling"] = scaling
    print(json.dumps(result))


if __name__ == "__main__":
    main()
