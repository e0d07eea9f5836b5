"""Train the folk-melody model shipped in ``models/music-melody/`` and its originality index.

    python recipes/music_melody.py                       # the shipped model (1 CPU thread)
    python recipes/music_melody.py --steps 20 --out /tmp/m     # a smoke run
    python recipes/music_melody.py --goldfish-k 4 --out /tmp/g  # with the goldfish loss mask

Data: the folk and fiddle tunes in music21's corpus (Ryan's Mammoth Collection, O'Neill's 1850,
the Essen folk songs; ``recipes/music_data.py`` caches them), every tenth tune held out. Pitches
are taken relative to each tune's tonic; crops of 96 notes train the model to predict each
note's pitch, then its duration. Also writes ``corpus_ngrams.npy``: the interval 8-grams of
every training melody (and the chorale sopranos), for the originality check.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from museforge.music.data import load_chorales, load_folk, pitch_of
from museforge.music.harmonizer import save_checkpoint
from museforge.music.melody_model import N_DUR, MelodyConfig, MelodyModel, load_melody_model
from museforge.originality.melody import NGRAM, MelodyIndex
from museforge.originality.novelty import DEFAULT_H, goldfish_keep, note_tokens
from museforge.train import loop
from museforge.train.music import MusicFamily, collate, encode

RECIPE = "recipes/music_melody.py"


def with_keep(seqs: list[dict], k: int, h: int) -> list[dict]:
    """Tunes with their goldfish mask (``museforge.originality.novelty``): a note's loss is dropped
    by a hash of the ``h`` notes (pitch and duration) before it in the tune; ``k`` = 0: unchanged."""
    if not k:
        return seqs
    return [{**s, "keep": goldfish_keep(note_tokens(torch.as_tensor(s["p"]), torch.as_tensor(s["d"]), N_DUR),
                                         k, h).numpy()} for s in seqs]


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
    ap.add_argument("--steps", type=int, default=7000, help="optimizer steps (the loop keeps the best)")
    ap.add_argument("--minutes", type=float, default=0.0, help="stop after this many minutes (0: --steps)")
    ap.add_argument("--seed", type=int, default=0, help="seed of batches and initial weights")
    ap.add_argument("--batch", type=int, default=32, help="crops a batch")
    ap.add_argument("--length", type=int, default=96, help="crop length in notes")
    ap.add_argument("--lr", type=float, default=2e-3, help="AdamW learning rate")
    ap.add_argument("--out", default="models/music-melody", help="output folder")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--index-only", action="store_true", help="only rebuild corpus_ngrams.npy")
    ap.add_argument("--goldfish-k", type=int, default=0,
                    help="drop the loss of about 1 note in k by a hash of the notes before it (0: off)")
    ap.add_argument("--goldfish-h", type=int, default=DEFAULT_H, help="notes the goldfish mask hashes")
    args = ap.parse_args()
    if args.goldfish_k < 0 or args.goldfish_h < 1:
        ap.error("--goldfish-k takes 0 (off) or more, --goldfish-h 1 or more")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tunes, data_sha = load_folk()
    encoded = [(t, encode(t)) for t in tunes]
    train = [e for t, e in encoded if e is not None and not t["test"]]
    test = [e for t, e in encoded if e is not None and t["test"]]
    valid, train = train[::20], [e for i, e in enumerate(train) if i % 20]
    train = with_keep(train, args.goldfish_k, args.goldfish_h)
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
    family = MusicFamily(train, valid, config=config, data_sha256=data_sha["folk"], recipe=RECIPE,
                         length=args.length)
    if args.goldfish_k:
        family.train_seqs = train  # masked above with --goldfish-h
    cfg = loop.LoopConfig(steps=args.steps, minutes=args.minutes, batch=args.batch, lr=args.lr, warmup=200,
                          min_lr_ratio=0.1, weight_decay=0.01, beta2=0.999, eval_every=250,
                          checkpoint_every=250, seed=args.seed)
    summary = loop.run(family, cfg, Path(args.out), log=print,
                       accelerator=loop.make_accelerator("cpu"))
    model = family.model
    model.load_state_dict(load_melody_model(Path(args.out) / "model.safetensors")[0].state_dict())
    step = summary.steps
    log = [{"step": e["step"], "valid": round(e["loss"], 4)} for e in summary.evals]
    metrics = {"test": evaluate(model, test), "valid": evaluate(model, valid), "steps": step,
               "train_seconds": round(summary.seconds), "threads": args.threads,
               "tunes": {"train": len(train), "valid": len(valid), "test": len(test),
                         "skipped_out_of_range": sum(e is None for _, e in encoded)},
               "parameters": sum(p.numel() for p in model.parameters()),
               "index": {"melodies": len(lines), "ngram": NGRAM, "distinct_ngrams": len(index)}}
    save(model, config, data_sha, metrics, args)
    (Path(args.out) / loop.STATE).unlink(missing_ok=True)  # finished: nothing to resume
    (Path(args.out) / "metrics.json").write_text(json.dumps({**metrics, "log": log}, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
