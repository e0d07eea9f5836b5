"""Train the folk-melody model shipped in ``models/music-melody/`` and its originality index.

    python recipes/music_melody.py --minutes 20          # the shipped model (1 CPU thread)
    python recipes/music_melody.py --minutes 0.2 --out /tmp/m   # a smoke run

Data: the folk and fiddle tunes in music21's corpus (Ryan's Mammoth Collection, O'Neill's 1850,
the Essen folk songs; ``recipes/music_data.py`` caches them), every tenth tune held out. Pitches
are taken relative to each tune's tonic; crops of 96 notes train the model to predict each
note's pitch, then its duration. Also writes ``corpus_ngrams.npy``: the interval 8-grams of
every training melody (and the chorale sopranos), for the originality check.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from museforge.music.data import load_chorales, load_folk, pitch_of
from museforge.music.harmonizer import save_checkpoint
from museforge.music.melody_model import (
    BOS_TOK,
    N_DUR,
    MelodyConfig,
    MelodyModel,
    duration_token,
    meter_token,
    mode_token,
    pitch_token,
    pos_token,
)
from museforge.originality.melody import NGRAM, MelodyIndex

RECIPE = "recipes/music_melody.py"


def encode(tune: dict) -> dict[str, np.ndarray] | None:
    notes = tune["notes"]
    p = np.array([pitch_token(int(x), tune["tonic"]) for x in notes[:, 0]])
    if (p < 0).any():
        return None
    d = np.array([duration_token(float(x)) for x in notes[:, 1]])
    pos = np.array([pos_token(float(o) % tune["bar"]) for o in notes[:, 2]])
    return {"p": p, "d": d, "pos": pos, "meter": meter_token(tune["meter"]), "mode": mode_token(tune["mode"])}


def make_batch(seqs: list[dict], size: int, length: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    rows = []
    for _ in range(size):
        s = seqs[int(torch.randint(len(seqs), (1,), generator=gen))]
        n = len(s["p"])
        a = int(torch.randint(max(1, n - length + 1), (1,), generator=gen)) if n > length else 0
        rows.append((s, a, min(n, a + length)))
    return collate(rows)


def collate(rows: list[tuple[dict, int, int]]) -> dict[str, torch.Tensor]:
    n = max(b - a for _, a, b in rows)
    out = {k: torch.zeros(len(rows), n, dtype=torch.long) for k in ("prev_p", "prev_d", "pos", "next_p",
                                                                      "next_d")}
    out["mask"] = torch.zeros(len(rows), n, dtype=torch.bool)
    out["meter"] = torch.tensor([s["meter"] for s, _, _ in rows])
    out["mode"] = torch.tensor([s["mode"] for s, _, _ in rows])
    for i, (s, a, b) in enumerate(rows):
        m = b - a
        prev_p = np.concatenate([[BOS_TOK], s["p"][a : b - 1]]) if a == 0 else s["p"][a - 1 : b - 1]
        prev_d = np.concatenate([[N_DUR - 1], s["d"][a : b - 1]]) if a == 0 else s["d"][a - 1 : b - 1]
        out["prev_p"][i, :m] = torch.as_tensor(prev_p)
        out["prev_d"][i, :m] = torch.as_tensor(prev_d)
        out["pos"][i, :m] = torch.as_tensor(s["pos"][a:b])
        out["next_p"][i, :m] = torch.as_tensor(s["p"][a:b])
        out["next_d"][i, :m] = torch.as_tensor(s["d"][a:b])
        out["mask"][i, :m] = True
    return out


@torch.no_grad()
def evaluate(model: MelodyModel, seqs: list[dict]) -> dict[str, float]:
    """NLL (nats) per note of pitch and duration on whole tunes."""
    model.eval()
    tp = td = count = 0.0
    for i in range(0, len(seqs), 32):
        batch = collate([(s, 0, len(s["p"])) for s in seqs[i : i + 32]])
        lp, ld = model.loss(batch)
        n = float(batch["mask"].sum())
        tp, td, count = tp + float(lp) * n, td + float(ld) * n, count + n
    model.train()
    return {"nll_pitch": tp / count, "nll_duration": td / count, "nll_note": (tp + td) / count,
            "notes": int(count)}


def save(model: MelodyModel, config: MelodyConfig, data_sha: dict, metrics: dict,
         args: argparse.Namespace) -> None:
    save_checkpoint(model, Path(args.out) / "model.safetensors", config,
                    {"data_sha256": data_sha["folk"], "chorale_data_sha256": data_sha["chorales"],
                     "recipe": RECIPE, "data": "music21 corpus: ryansMammoth, oneills1850, essenFolksong",
                     "metrics": metrics, "args": vars(args)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0,
                    help="training budget in CPU minutes of this process (not wall time)")
    ap.add_argument("--seed", type=int, default=0, help="seed of batches and initial weights")
    ap.add_argument("--batch", type=int, default=32, help="crops a batch")
    ap.add_argument("--length", type=int, default=96, help="crop length in notes")
    ap.add_argument("--lr", type=float, default=2e-3, help="AdamW learning rate")
    ap.add_argument("--out", default="models/music-melody", help="output folder")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--index-only", action="store_true", help="only rebuild corpus_ngrams.npy")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    tunes, data_sha = load_folk()
    encoded = [(t, encode(t)) for t in tunes]
    train = [e for t, e in encoded if e is not None and not t["test"]]
    test = [e for t, e in encoded if e is not None and t["test"]]
    valid, train = train[::20], [e for i, e in enumerate(train) if i % 20]
    # originality index: every training melody (folk, then the chorale sopranos)
    lines = [[int(p) for p in t["notes"][:, 0] if p >= 0] for t, e in encoded if not t["test"]]
    chorales, chorale_sha = load_chorales()
    for c in chorales:
        lines.append([pitch_of(x) for x in c["tokens"][0] if x >= 2])
    index = MelodyIndex.build(lines)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    index.save(Path(args.out) / "corpus_ngrams.npy")
    data_sha = {"folk": data_sha, "chorales": chorale_sha}
    if args.index_only:
        return
    config = MelodyConfig()
    model = MelodyModel(config)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    budget, start = args.minutes * 60, time.process_time()
    best, best_state, step, log = float("inf"), None, 0, []
    while time.process_time() - start < budget:
        frac = (time.process_time() - start) / budget
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / 200) * (0.1 + 0.9 * (1 + np.cos(np.pi * frac)) / 2)
        lp, ld = model.loss(make_batch(train, args.batch, args.length, gen))
        loss = lp + ld
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 250 == 0:
            v = evaluate(model, valid)["nll_note"]
            log.append({"step": step, "train": round(float(loss), 4), "valid": round(v, 4),
                        "cpu_seconds": round(time.process_time() - start)})
            print(json.dumps(log[-1]), flush=True)
            if v < best:
                best, best_state = v, {k: t.clone() for k, t in model.state_dict().items()}
                save(model, config, data_sha, {"valid_best": log[-1]}, args)  # stop any time
    if best_state is not None:
        model.load_state_dict(best_state)
    metrics = {"test": evaluate(model, test), "valid": evaluate(model, valid), "steps": step,
               "train_cpu_seconds": round(time.process_time() - start), "threads": args.threads,
               "tunes": {"train": len(train), "valid": len(valid), "test": len(test),
                         "skipped_out_of_range": sum(e is None for _, e in encoded)},
               "parameters": sum(p.numel() for p in model.parameters()),
               "index": {"melodies": len(lines), "ngram": NGRAM, "distinct_ngrams": len(index)}}
    save(model, config, data_sha, metrics, args)
    (Path(args.out) / "metrics.json").write_text(json.dumps({**metrics, "log": log}, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
