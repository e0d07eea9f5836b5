"""What every originality index answers: the nearest training items, a similarity score, and a
calibrated verdict (``original``, ``similar`` or ``copy``).

**Calibration** (the percentile method of Somepalli et al., "Diffusion Art or Digital Forgery?",
2023). Two distributions of nearest-neighbour similarity are measured on the index's own data:
training items against the rest of the training set (leave one out) and held-out items against
the training set. Held-out items are, by construction, not copies, so

* ``similar`` starts at the 95th percentile of the held-out distribution: closer than 19 in 20
  genuinely new items come to anything they were not made from;
* ``copy`` starts above the largest held-out similarity: no new item in the calibration set came
  that close (with a margin of a fifth of the way from there to 1, never below ``similar``).

Scores are in [0, 1], 1 meaning identical after the index's normalisation; every index states
its score's meaning in ``Thresholds.measure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

LABELS = ("original", "similar", "copy")
SIMILAR_PERCENTILE = 95.0
COPY_MARGIN = 0.2


@dataclass(frozen=True)
class Match:
    """One training item near the query."""

    item: str
    """The training item's name (a file name, a poem's title and line, a tune's title)."""
    similarity: float
    detail: str = ""
    """What matched, readably (the shared line, the run of intervals, the hash distance)."""


@dataclass(frozen=True)
class Thresholds:
    """Where ``similar`` and ``copy`` begin, and the calibration they come from."""

    similar: float
    copy: float
    measure: str
    """What the score is (e.g. 'cosine of VGG-16 pooled features')."""
    calibration: dict[str, Any] = field(default_factory=dict)
    """Percentiles of the two distributions and their sizes, for the report."""

    def label(self, score: float) -> str:
        """The verdict of a score.

        >>> Thresholds(0.5, 0.9, "x").label(0.95), Thresholds(0.5, 0.9, "x").label(0.6)
        ('copy', 'similar')
        """
        if score >= self.copy:
            return "copy"
        return "similar" if score >= self.similar and score > 0 else "original"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Thresholds:
        return cls(float(data["similar"]), float(data["copy"]), str(data["measure"]),
                   dict(data.get("calibration") or {}))


@dataclass(frozen=True)
class Verdict:
    """An artifact checked against one index."""

    label: str
    score: float
    index: str
    """The index's name (what data it covers)."""
    thresholds: Thresholds
    matches: tuple[Match, ...] = ()
    overridden: bool = False
    """A ``copy`` the person chose to keep (the record says so)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.label,
            "score": round(self.score, 4),
            "index": self.index,
            "thresholds": {"similar": round(self.thresholds.similar, 4),
                           "copy": round(self.thresholds.copy, 4), "measure": self.thresholds.measure},
            "nearest": [{"item": m.item, "similarity": round(m.similarity, 4),
                         **({"detail": m.detail} if m.detail else {})} for m in self.matches],
            **({"overridden": True} if self.overridden else {}),
        }


def calibrate(train_nn: Sequence[float], heldout_nn: Sequence[float], measure: str,
              duplicates_at: float | None = None) -> Thresholds:
    """Thresholds from nearest-neighbour similarities: training items against the rest of the
    training set (leave one out) and held-out items against the training set. Held-out items
    scoring ``duplicates_at`` or more are duplicates inside the data itself (the same poem under
    two titles, the same tune in two collections): they are left out and counted.

    >>> t = calibrate([0.9, 0.95, 0.99], np.linspace(0.2, 0.6, 101), "cosine")
    >>> round(t.similar, 3), round(t.copy, 3)
    (0.58, 0.68)
    """
    held = np.asarray(heldout_nn, dtype=np.float64)
    train = np.asarray(train_nn, dtype=np.float64)
    duplicates = int((held >= duplicates_at).sum()) if duplicates_at is not None else 0
    if duplicates_at is not None:
        held = held[held < duplicates_at]
    if held.size == 0:
        raise ValueError("calibration needs held-out items")
    similar = float(np.percentile(held, SIMILAR_PERCENTILE))
    top = float(held.max())
    copy = max(similar, top + COPY_MARGIN * (1.0 - top))
    marks = (5, 25, 50, 75, 95, 99)
    calibration = {
        "heldout": {"n": int(held.size), **{f"p{p}": round(float(np.percentile(held, p)), 4) for p in marks},
                    "max": round(top, 4)},
        "train": ({"n": int(train.size), **{f"p{p}": round(float(np.percentile(train, p)), 4) for p in marks}}
                  if train.size else {"n": 0}),
        "method": f"similar: p{SIMILAR_PERCENTILE:g} of held-out; copy: held-out max + "
                  f"{COPY_MARGIN:g} x (1 - max)",
        **({"duplicates_left_out": duplicates, "duplicates_at": duplicates_at}
           if duplicates_at is not None else {}),
    }
    return Thresholds(similar, min(copy, 1.0), measure, calibration)
