"""What every part of ``museforge evaluate`` shares: the figure record, a model's result, the run's
settings, and the readers of model cards (README.md tables, metrics.json, training.json).

A figure is either **computed** in this run, on held-out data, or taken **from the card** (the
model's README.md or the JSON files shipped beside it) where computing it would take too long;
every figure says which, and the page shows the two side by side.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from museforge.runtime import derive_seed

COMPUTED, CARD = "computed", "card"


@dataclass
class Metric:
    """One figure of one model."""

    key: str
    """Stable name (``fid``, ``validity.wujue``); a computed figure and the card's share it."""
    label: str
    value: float | int | None
    source: str = COMPUTED
    """``computed`` (this run) or ``card`` (the model card or a file shipped beside the model)."""
    n: int | None = None
    """How many samples the figure is over (None: not a sample statistic, or unknown)."""
    unit: str = ""
    """``share`` (0 to 1, shown as a percentage), ``nats``, ``bits``, ``semitones`` or free text."""
    better: str | None = None
    """``higher``, ``lower`` or None (neither: compare with the reference)."""
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if isinstance(self.value, float):
            out["value"] = round(self.value, 6)
        return out


@dataclass
class Plot:
    file: str
    caption: str


@dataclass
class ModelResult:
    """Everything the report says about one shipped model."""

    name: str
    family: str
    title: str = ""
    """The model card's first heading."""
    method: str = ""
    """What was measured and on what, in a sentence or three."""
    metrics: list[Metric] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    """Finer figures for the JSON (per-fault validity, per-item values) and examples for the page."""
    seconds: float = 0.0

    def add(self, key: str, label: str, value: float | int | None, source: str = COMPUTED, **kw: Any) -> None:
        if value is not None and not isinstance(value, int):
            value = float(value)
            if value != value:  # NaN: nothing to show
                value = None
        self.metrics.append(Metric(key, label, value, source, **kw))

    def value(self, key: str, source: str = COMPUTED) -> float | int | None:
        return next((m.value for m in self.metrics if m.key == key and m.source == source), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "title": self.title,
            "method": self.method,
            "seconds": round(self.seconds, 1),
            "settings": self.settings,
            "details": self.details,
            "metrics": [m.to_json() for m in self.metrics],
            "plots": [asdict(p) for p in self.plots],
            "notes": self.notes,
        }


Progress = Callable[[str], None]


def stderr_progress(line: str) -> None:
    print(f"museforge evaluate: {line}", file=sys.stderr, flush=True)


@dataclass
class Context:
    """The run's settings and what its parts share (the VGG network, reference embeddings)."""

    seed: int
    quick: bool
    out: Path
    """The folder the plots are written to."""
    models_root: Path
    text_corpus: Path | None = None
    progress: Progress = stderr_progress
    shared: dict[str, Any] = field(default_factory=dict)

    def seed_for(self, name: str) -> int:
        """A seed of its own for each named part (stable whichever models run), below 2**31."""
        return derive_seed(self.seed, f"evaluate:{name}") % (2**31)

    def timer(self) -> Callable[[], float]:
        start = time.perf_counter()
        return lambda: time.perf_counter() - start


# ------------------------------------------------------------------ model cards


def card_path(folder: Path) -> Path:
    return folder / "README.md"


def card_title(folder: Path) -> str:
    """The card's first ``# `` heading, without the ``#``."""
    try:
        text = card_path(folder).read_text(encoding="utf-8")
    except OSError:
        return ""
    return next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), "")


def card_tables(folder: Path) -> list[list[dict[str, str]]]:
    """Every Markdown table of the card: a list of rows, each header -> cell (the first column's
    header may be empty; its key is then ``""``)."""
    try:
        lines = card_path(folder).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    tables: list[list[dict[str, str]]] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if line.strip().startswith("|"):
            block.append(line.strip())
            continue
        if len(block) >= 3 and re.fullmatch(r"\|[\s:|-]+\|", block[1]):
            head = _cells(block[0])
            tables.append([dict(zip(head, _cells(row), strict=False)) for row in block[2:]])
        block = []
    return tables


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def card_row(folder: Path, first_cell: Callable[[str], bool]) -> dict[str, str] | None:
    """The first table row of the card whose first cell passes ``first_cell``."""
    for table in card_tables(folder):
        for row in table:
            cells = list(row.values())
            if cells and first_cell(cells[0]):
                return row
    return None


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def numbers(text: str) -> list[float]:
    """The numbers in a card cell, thousands separators dropped, a percentage as a share.

    >>> numbers("1,562"), numbers("84 %"), numbers("0.127 / 0.788 / 0.167 (100 poems)")
    ([1562.0], [0.84], [0.127, 0.788, 0.167, 100.0])
    """
    out = []
    for m in _NUMBER.finditer(text):
        value = float(m.group().replace(",", ""))
        rest = text[m.end() : m.end() + 2].lstrip()
        out.append(value / 100 if rest.startswith("%") else value)
    return out


def first_number(text: str | None) -> float | None:
    found = numbers(text or "")
    return found[0] if found else None


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
