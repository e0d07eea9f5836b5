"""Bradley–Terry ranking from pairwise choices ("which of these two is better?"), with
confidence intervals: the human-rating evaluation of art the studio's Compare page collects.

P(i beats j) = p_i / (p_i + p_j). Strengths are fitted by Hunter's (2004) minorise-maximise
iteration; ``prior`` adds that many wins and losses against a virtual average work (p = 1) to
every item, which keeps an item that never lost finite and anchors the scale. Scores are
log-strengths; the 95 % interval is score ± 1.96 standard errors from the observed Fisher
information (inverted with the virtual item held fixed, or by pseudo-inverse without a prior).

>>> ranks = bradley_terry([("a", "b")] * 3 + [("b", "a")], prior=0.0)
>>> round(math.exp(ranks["a"].score - ranks["b"].score), 6)
3.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rank:
    score: float
    low: float
    high: float
    wins: int
    games: int


def bradley_terry(
    choices: Iterable[tuple[str, str]], prior: float = 0.5, iterations: int = 10_000, tol: float = 1e-10
) -> dict[str, Rank]:
    """``choices``: (winner, loser) pairs. Returns each item's Rank, best first."""
    pairs = [(win, lose) for win, lose in choices if win != lose]
    items = sorted({x for pair in pairs for x in pair})
    if not items:
        return {}
    index = {x: i for i, x in enumerate(items)}
    n = len(items)
    wins = np.zeros((n, n))
    for win, lose in pairs:
        wins[index[win], index[lose]] += 1
    games = wins + wins.T
    total_wins = wins.sum(1) + prior
    p = np.ones(n)
    for _ in range(iterations):
        denom = (games / (p[:, None] + p[None, :])).sum(1) + 2 * prior / (p + 1.0)
        new = total_wins / np.maximum(denom, 1e-300)
        if prior == 0:
            new = new / math.exp(np.log(np.maximum(new, 1e-300)).mean())
        if np.max(np.abs(np.log(np.maximum(new, 1e-300)) - np.log(np.maximum(p, 1e-300)))) < tol:
            p = new
            break
        p = new
    theta = np.log(np.maximum(p, 1e-300))
    weight = games * (p[:, None] * p[None, :]) / (p[:, None] + p[None, :]) ** 2
    info = -weight
    np.fill_diagonal(info, weight.sum(1) + 2 * prior * p / (p + 1.0) ** 2)
    cov = np.linalg.inv(info) if prior > 0 else np.linalg.pinv(info)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    ranks = {
        x: Rank(
            float(theta[i]),
            float(theta[i] - 1.96 * se[i]),
            float(theta[i] + 1.96 * se[i]),
            int(wins[i].sum()),
            int(games[i].sum()),
        )
        for x, i in index.items()
    }
    return dict(sorted(ranks.items(), key=lambda kv: -kv[1].score))
