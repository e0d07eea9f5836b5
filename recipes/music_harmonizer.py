"""Train the four-part chorale harmoniser shipped in ``models/music-harmonizer/``.

    python recipes/music_harmonizer.py --steps 4200                   # the shipped model's length (1 thread)
    python recipes/music_harmonizer.py --steps 40 --out /tmp/h         # a smoke run

Data: music21's Bach chorales (``recipes/music_data.py`` caches them), 10 % held out for the
test NLL and 10 % for validation (model selection). The shared training loop
(:mod:`museforge.train.loop`) runs :class:`museforge.train.harmony.HarmonyFamily`: crops of 8 bars
(128 sixteenths) transposed by a random -6..+5 semitones, the NLL of the alto, tenor and bass
tokens given the soprano, AdamW at batch 32 with a 200-step warm-up to 2e-3 and cosine decay,
the validation NLL every 200 steps, the best model kept. Deterministic: each step's batch comes
from a generator seeded by the step; an interrupted run resumes when run again with the same --out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from museforge.evaluate.music import chorale_nll
from museforge.music.data import load_chorales
from museforge.music.harmonizer import load_harmonizer
from museforge.train import loop
from museforge.train.harmony import HarmonyFamily

RECIPE = "recipes/music_harmonizer.py"


def score(out: Path, splits: dict[str, list[dict]], extra: dict) -> dict:
    """Test and validation figures of the model in ``out``, written to ``out/metrics.json``."""
    model, _ = load_harmonizer(out / loop.MODEL)
    metrics = {
        "test": chorale_nll(model, splits["test"]),
        "valid_nll": chorale_nll(model, splits["valid"])["nll"],
        **extra,
        "chorales": {k: len(v) for k, v in splits.items()},
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4200, help="optimizer steps (the cosine decay ends here)")
    ap.add_argument("--minutes", type=float, default=0.0, help="stop after this many minutes (0: no limit)")
    ap.add_argument("--seed", type=int, default=0, help="seed of batches and initial weights")
    ap.add_argument("--batch", type=int, default=32, help="crops a batch")
    ap.add_argument("--length", type=int, default=128, help="crop length in sixteenths")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    ap.add_argument("--out", type=Path, default=Path("models/music-harmonizer"), help="output folder")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--evaluate-only", action="store_true", help="only score the checkpoint in --out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    chorales, data_sha = load_chorales()
    splits = {
        name: [c for c in chorales if c["split"] == i] for i, name in enumerate(("train", "valid", "test"))
    }
    if args.evaluate_only:
        print(json.dumps(score(args.out, splits, {"threads": args.threads}), indent=1))
        return
    family = HarmonyFamily(
        splits["train"],
        splits["valid"],
        data_sha256=data_sha,
        recipe=RECIPE,
        length=args.length,
        seed=args.seed,
        metadata={"data": "music21 corpus: Bach chorales", "args": {**vars(args), "out": str(args.out)}},
    )
    cfg = loop.LoopConfig(
        steps=args.steps,
        minutes=args.minutes,
        batch=args.batch,
        lr=args.lr,
        warmup=200,
        beta2=0.999,
        eval_every=200,
        checkpoint_every=200,
        seed=args.seed,
    )
    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    summary = loop.run(family, cfg, args.out, log=say)
    train = dict(summary.train_loss)
    log = [{"step": e["step"], "train": train.get(e["step"]), "valid": round(e["loss"], 4),
            "accuracy": round(e["accuracy"], 4)} for e in summary.evals]  # fmt: skip
    extra = {
        "steps": summary.steps,
        "best_step": summary.best_step,
        "stopped": summary.stopped,
        "train_seconds": round(summary.seconds),
        "threads": args.threads,
    }
    metrics = score(args.out, splits, extra)
    model, _ = load_harmonizer(args.out / loop.MODEL)
    family.save(model, args.out / loop.MODEL, metrics)  # the test figures in the header too
    (args.out / "metrics.json").write_text(json.dumps({**metrics, "log": log}, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
