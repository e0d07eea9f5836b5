"""Train the four-part chorale harmoniser shipped in ``models/music-harmonizer/``.

    python recipes/music_harmonizer.py --minutes 20          # the shipped model (1 CPU thread)
    python recipes/music_harmonizer.py --minutes 0.2 --out /tmp/h   # a smoke run

Data: music21's Bach chorales (``recipes/music_data.py`` caches them), 10 % held out for the
test NLL and 10 % for validation (model selection). Training crops 8 bars (128 sixteenths) from
each chorale, transposed by a random -6..+5 semitones, and minimises the NLL of the alto, tenor
and bass tokens given the soprano. Deterministic: one seeded ``torch.Generator`` draws every
batch and dropout masks come from torch's default generator, seeded once.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from museforge.evaluate.music import chorale_nll
from museforge.music.data import HIGH, LOW, PITCH0, load_chorales
from museforge.music.harmonizer import MAX_POS, Harmonizer, HarmonizerConfig, end_bucket, save_checkpoint

RECIPE = "recipes/music_harmonizer.py"


def transpose(tokens: np.ndarray, k: int) -> np.ndarray:
    out = tokens.astype(np.int64).copy()
    out[out >= PITCH0] += k
    return out


def shift_range(tokens: np.ndarray) -> tuple[int, int]:
    pitched = tokens[tokens >= PITCH0] - PITCH0 + LOW
    return max(-6, LOW - int(pitched.min())), min(5, HIGH - int(pitched.max()))


def tensors(chorale: dict, start: int, length: int, k: int) -> tuple[torch.Tensor, ...]:
    tok = transpose(chorale["tokens"], k)
    steps = tok.shape[1]
    end = end_bucket(steps - 1 - np.arange(steps))
    sl = slice(start, start + length)
    return (torch.as_tensor(tok[0, sl]), torch.as_tensor(np.minimum(chorale["pos"][sl], MAX_POS - 1)),
            torch.as_tensor(end[sl]), torch.as_tensor(tok[1:, sl].T))


def batch(chorales: list[dict], size: int, length: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    rows = []
    for _ in range(size):
        c = chorales[int(torch.randint(len(chorales), (1,), generator=gen))]
        steps = c["tokens"].shape[1]
        start = int(torch.randint(max(1, steps - length + 1), (1,), generator=gen))
        lo, hi = shift_range(c["tokens"])
        k = int(torch.randint(lo, hi + 1, (1,), generator=gen))
        rows.append(tensors(c, start, length, k))
    n = max(r[0].shape[0] for r in rows)
    out = []
    for i in range(4):
        pad = [torch.nn.functional.pad(r[i], (0, 0, 0, n - len(r[i])) if i == 3 else (0, n - len(r[i])))
               for r in rows]
        out.append(torch.stack(pad).long())
    mask = torch.stack([torch.arange(n) < r[0].shape[0] for r in rows])
    return (*out, mask)


def evaluate(model: Harmonizer, chorales: list[dict]) -> dict[str, float]:
    """Held-out NLL per lower-voice token (see :func:`museforge.evaluate.music.chorale_nll`)."""
    return chorale_nll(model, chorales)


def save(model: Harmonizer, config: HarmonizerConfig, data_sha: str, metrics: dict,
         args: argparse.Namespace) -> None:
    save_checkpoint(model, Path(args.out) / "model.safetensors", config,
                    {"data_sha256": data_sha, "recipe": RECIPE, "data": "music21 corpus: Bach chorales",
                     "metrics": metrics, "args": vars(args)})


def finish_early_stopped(args: argparse.Namespace, train: list, valid: list, test: list,
                         data_sha: str) -> None:
    """Score a checkpoint saved at a validation best by a run that was stopped early."""
    from museforge.music.harmonizer import load_harmonizer

    model, meta = load_harmonizer(Path(args.out) / "model.safetensors")
    best = json.loads(meta["metrics"])["valid_best"]
    metrics = {"test": evaluate(model, test), "valid_nll": evaluate(model, valid)["nll"],
               "steps": best["step"], "train_cpu_seconds": best["cpu_seconds"], "threads": args.threads,
               "stopped_early": True,
               "chorales": {"train": len(train), "valid": len(valid), "test": len(test)},
               "parameters": sum(p.numel() for p in model.parameters())}
    save(model, model.config, data_sha, metrics, argparse.Namespace(**json.loads(meta["args"])))
    (Path(args.out) / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0,
                    help="training budget in CPU minutes of this process (not wall time)")
    ap.add_argument("--seed", type=int, default=0, help="seed of batches and initial weights")
    ap.add_argument("--batch", type=int, default=32, help="crops a batch")
    ap.add_argument("--length", type=int, default=128, help="crop length in sixteenths")
    ap.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate")
    ap.add_argument("--out", default="models/music-harmonizer", help="output folder")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--evaluate-only", action="store_true",
                    help="only score the checkpoint in --out (e.g. after stopping a run early)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # initial weights and dropout masks
    gen = torch.Generator().manual_seed(args.seed)
    chorales, data_sha = load_chorales()
    train = [c for c in chorales if c["split"] == 0]
    valid = [c for c in chorales if c["split"] == 1]
    test = [c for c in chorales if c["split"] == 2]
    if args.evaluate_only:
        finish_early_stopped(args, train, valid, test, data_sha)
        return
    config = HarmonizerConfig()
    model = Harmonizer(config)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    budget = args.minutes * 60
    start = time.process_time()
    best, best_state, step, log = float("inf"), None, 0, []
    while time.process_time() - start < budget:
        frac = (time.process_time() - start) / budget
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / 200) * (0.1 + 0.9 * (1 + np.cos(np.pi * frac)) / 2)
        sop, pos, end, atb, mask = batch(train, args.batch, args.length, gen)
        loss = model.loss(sop, pos, end, atb, mask)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 200 == 0:
            v = evaluate(model, valid)["nll"]
            log.append({"step": step, "train": round(float(loss), 4), "valid": round(v, 4),
                        "cpu_seconds": round(time.process_time() - start)})
            print(json.dumps(log[-1]), flush=True)
            if v < best:
                best, best_state = v, {k: t.clone() for k, t in model.state_dict().items()}
                save(model, config, data_sha, {"valid_best": log[-1]}, args)  # stop any time
    if best_state is not None:
        model.load_state_dict(best_state)
    seconds = time.process_time() - start
    metrics = {"test": evaluate(model, test), "valid_nll": evaluate(model, valid)["nll"],
               "steps": step, "train_cpu_seconds": round(seconds), "threads": args.threads,
               "chorales": {"train": len(train), "valid": len(valid), "test": len(test)},
               "parameters": sum(p.numel() for p in model.parameters())}
    save(model, config, data_sha, metrics, args)
    (Path(args.out) / "metrics.json").write_text(json.dumps({**metrics, "log": log}, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
