"""How well a line fits the lines before it: characters that Tang poets put in one poem.

``assets/line_fit_zh.npz`` (built by ``recipes/line_fit.py`` from the training split of the
built-in poet's corpus) holds the positive pointwise mutual information of characters' poem-level
co-occurrence. ``LineFit.score(line, context)`` is the mean PPMI over the pairs of a line's
characters and the context's (the rule poet gives a line's head and the lines before it), so a
line of the poem's scene (雁, 砧 after 秋夜) scores high and a line of another poem's scene low.
On held-out Tang poems it tells a poem's own second half from a borrowed one more often than chance
(``benchmarks/text_rule_poet.py --fit``), where the built-in language model hardly does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources

import numpy as np

from museforge.errors import MuseforgeError

FILE = "line_fit_zh.npz"


class LineFit:
    """The PPMI table and the characters it covers."""

    def __init__(
        self, chars: str, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, meta: dict
    ) -> None:
        self.meta = meta
        self.index = {c: i for i, c in enumerate(chars)}
        n = len(chars)
        table = np.zeros((n, n), dtype=np.float32)
        v = values.astype(np.float32) / float(meta.get("scale", 1))
        table[rows, cols] = v
        table[cols, rows] = v
        self.table = table

    def ids(self, text: Iterable[str]) -> list[int]:
        """Indices of the covered characters of ``text`` (others are skipped)."""
        return [i for c in text if (i := self.index.get(c)) is not None]

    def score(self, line: str, context: Iterable[str]) -> float:
        """Mean PPMI of ``line``'s characters with ``context``'s (0 when either has none covered).

        >>> fit = LineFit("秋雁春", np.array([0]), np.array([1]), np.array([64]), {"scale": 32})
        >>> fit.score("秋", "雁"), fit.score("春", "雁")
        (2.0, 0.0)
        """
        a, b = self.ids(line), self.ids("".join(context))
        if not a or not b:
            return 0.0
        return float(self.table[np.ix_(a, b)].mean())

    def poem_score(self, lines: list[str]) -> float:
        """Mean over a poem's lines after the first of each line's score against the lines before."""
        scores = [self.score(lines[k], lines[:k]) for k in range(1, len(lines))]
        return float(np.mean(scores)) if scores else 0.0


@cache
def load_line_fit() -> LineFit:
    """The shipped table (read once), or a one-line error saying how to rebuild it."""
    path = resources.files("museforge.text") / "assets" / FILE
    try:
        with resources.as_file(path) as p, np.load(p) as z:
            return LineFit(str(z["chars"]), z["rows"], z["cols"], z["values"], json.loads(str(z["meta"])))
    except (OSError, ValueError, KeyError) as err:
        raise MuseforgeError(
            f"cannot read the line fit {FILE}: {err}; rebuild it with recipes/line_fit.py"
        ) from None
