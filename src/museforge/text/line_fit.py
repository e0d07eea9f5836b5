"""How well a line fits the lines before it: characters that Tang poets put in one poem.

``assets/line_fit_zh.npz`` (built by ``recipes/line_fit.py`` from the training split of the
built-in poet's corpus) holds a vector per character: the leading singular vectors of the positive
pointwise mutual information of characters' poem-level co-occurrence. ``LineFit.score(line,
context)`` is the cosine of the mean vector of a line's characters with the context's (the rule
poet gives a line's head and the lines before it), so a line of the poem's scene (雁, 砧 after 秋夜)
scores high and a line of another poem's scene (内家香, 锦鸳鸯 after 故乡) low. On held-out Tang
poems it tells a poem's own second half from a borrowed one more often than chance
(``benchmarks/text_rule_poet.py --fit``), where the built-in language model hardly does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources

import numpy as np

from museforge.errors import MuseforgeError

FILE = "line_fit_zh.npz"


class LineFit:
    """The characters' vectors."""

    def __init__(self, chars: str, vectors: np.ndarray, meta: dict) -> None:
        self.meta = meta
        self.index = {c: i for i, c in enumerate(chars)}
        self.vectors = vectors.astype(np.float32)

    def ids(self, text: Iterable[str]) -> list[int]:
        """Indices of the covered characters of ``text`` (others are skipped)."""
        return [i for c in text if (i := self.index.get(c)) is not None]

    def vector(self, text: Iterable[str]) -> np.ndarray | None:
        """The mean vector of ``text``'s covered characters (None when it has none)."""
        ids = self.ids(text)
        return self.vectors[ids].mean(0) if ids else None

    def against(self, context: Iterable[str]) -> Callable[[str], float]:
        """``score`` with ``context`` fixed, its vector taken once (for many candidates)."""
        b = self.vector("".join(context))
        return lambda line: _cosine(self.vector(line), b)

    def score(self, line: str, context: Iterable[str]) -> float:
        """Cosine of ``line``'s mean vector with ``context``'s (0 when either has none covered).

        >>> fit = LineFit("秋雁春", np.array([[1.0, 0.0], [1.0, 0.2], [0.0, 1.0]]), {})
        >>> round(fit.score("秋", ["雁"]), 3), fit.score("春", ["秋"]), fit.score("月", ["秋"])
        (0.981, 0.0, 0.0)
        """
        return self.against(context)(line)

    def poem_score(self, lines: list[str]) -> float:
        """Mean over a poem's lines after the first of each line's score against the lines before."""
        scores = [self.score(lines[k], lines[:k]) for k in range(1, len(lines))]
        return float(np.mean(scores)) if scores else 0.0


def _cosine(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None:
        return 0.0
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0


@cache
def load_line_fit() -> LineFit:
    """The shipped vectors (read once), or a one-line error saying how to rebuild them."""
    path = resources.files("museforge.text") / "assets" / FILE
    try:
        with resources.as_file(path) as p, np.load(p) as z:
            return LineFit(str(z["chars"]), z["vectors"], json.loads(str(z["meta"])))
    except (OSError, ValueError, KeyError) as err:
        raise MuseforgeError(
            f"cannot read the line fit {FILE}: {err}; rebuild it with recipes/line_fit.py"
        ) from None
