"""Measure the mood detector on the held-out, labelled evaluation sets.

Run from the repository root (with the project's virtual environment active)::

    python benchmarks/emotion_accuracy.py                # both languages, text report
    python benchmarks/emotion_accuracy.py --lang zh      # Chinese only
    python benchmarks/emotion_accuracy.py --json         # one JSON object with every number

The sets live in ``benchmarks/data/emotion_eval_{zh,en}.tsv`` (UTF-8, header ``text<TAB>label``,
20 items for each of the 8 moods). They were written blind to the detector's word lists and must
not be used to tune it.

For each language the script runs ``museforge.emotion.detect_emotion(text, lang)`` and, in the
same run, two baselines:

* ``majority``: always answers the most frequent gold label of the set (ties broken by mood
  order). The sets are balanced, so this is chance level, 1/8 = 12.5%.
* ``vader`` (English only): the VADER compound score mapped onto mood quadrants:
  compound > 0.05 -> joyful, compound < -0.05 -> melancholy, otherwise serene.

Reported per system: accuracy, macro-F1 over the 8 moods, per-mood recall and precision, and a
confusion matrix (rows: gold label, columns: prediction; a detector answer outside the 8 moods
is counted in an extra ``other`` column).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MOODS: tuple[str, ...] = (
    "joyful",
    "awed",
    "serene",
    "nostalgic",
    "melancholy",
    "mysterious",
    "tense",
    "angry",
)
OTHER = "other"
LANGS: tuple[str, ...] = ("zh", "en")
DATA_DIR = Path(__file__).resolve().parent / "data"
VADER_POS = 0.05
VADER_NEG = -0.05

Predictor = Callable[[str], str]


@dataclass(frozen=True)
class Example:
    text: str
    label: str


@dataclass
class Scores:
    """Metrics of one system on one evaluation set."""

    system: str
    n: int
    accuracy: float
    macro_f1: float
    recall: dict[str, float]
    precision: dict[str, float]
    f1: dict[str, float]
    confusion: dict[str, dict[str, int]]
    seconds: float
    note: str = ""
    columns: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "recall": {m: round(v, 4) for m, v in self.recall.items()},
            "precision": {m: round(v, 4) for m, v in self.precision.items()},
            "f1": {m: round(v, 4) for m, v in self.f1.items()},
            "confusion": self.confusion,
            "seconds": round(self.seconds, 3),
            "note": self.note,
        }


def load_set(path: Path) -> list[Example]:
    """Read and validate one TSV evaluation file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != "text\tlabel":
        raise ValueError(f"{path}: expected header 'text<TAB>label'")
    examples: list[Example] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise ValueError(f"{path}:{lineno}: expected 2 tab-separated fields")
        text, label = parts[0].strip(), parts[1].strip()
        if label not in MOODS:
            raise ValueError(f"{path}:{lineno}: unknown label {label!r}")
        if text in seen:
            raise ValueError(f"{path}:{lineno}: duplicate text {text!r}")
        seen.add(text)
        examples.append(Example(text, label))
    return examples


def score(system: str, examples: Sequence[Example], predict: Predictor, note: str = "") -> Scores:
    """Run ``predict`` on every example and compute the metrics."""
    start = time.perf_counter()
    predictions = [predict(ex.text) for ex in examples]
    seconds = time.perf_counter() - start

    predictions = [p if p in MOODS else OTHER for p in predictions]
    columns = [*MOODS, OTHER] if OTHER in predictions else list(MOODS)
    confusion = {gold: dict.fromkeys(columns, 0) for gold in MOODS}
    for ex, pred in zip(examples, predictions, strict=True):
        confusion[ex.label][pred] += 1

    recall: dict[str, float] = {}
    precision: dict[str, float] = {}
    f1: dict[str, float] = {}
    for mood in MOODS:
        tp = confusion[mood][mood]
        gold_total = sum(confusion[mood].values())
        pred_total = sum(confusion[gold][mood] for gold in MOODS)
        r = tp / gold_total if gold_total else 0.0
        p = tp / pred_total if pred_total else 0.0
        recall[mood], precision[mood] = r, p
        f1[mood] = 2 * p * r / (p + r) if p + r else 0.0

    correct = sum(confusion[m][m] for m in MOODS)
    n = len(examples)
    return Scores(
        system=system,
        n=n,
        accuracy=correct / n if n else 0.0,
        macro_f1=sum(f1.values()) / len(MOODS),
        recall=recall,
        precision=precision,
        f1=f1,
        confusion=confusion,
        seconds=seconds,
        note=note,
        columns=columns,
    )


def detector_predictor(lang: str) -> Predictor:
    from museforge.emotion import detect_emotion

    def predict(text: str) -> str:
        result = detect_emotion(text, lang)
        label = getattr(result, "label", result)
        return str(label)

    return predict


def majority_predictor(examples: Sequence[Example]) -> tuple[Predictor, str]:
    counts = Counter(ex.label for ex in examples)
    top = max(counts.values())
    label = next(m for m in MOODS if counts[m] == top)
    return (lambda _text: label), f"always {label!r} (most frequent gold label, ties by order)"


def vader_predictor() -> tuple[Predictor, str]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()

    def predict(text: str) -> str:
        compound = analyzer.polarity_scores(text)["compound"]
        if compound > VADER_POS:
            return "joyful"
        if compound < VADER_NEG:
            return "melancholy"
        return "serene"

    note = f"VADER compound > {VADER_POS} -> joyful, < {VADER_NEG} -> melancholy, else serene"
    return predict, note


def evaluate(lang: str) -> dict[str, Scores]:
    examples = load_set(DATA_DIR / f"emotion_eval_{lang}.tsv")
    results = {
        "detector": score(
            "detector",
            examples,
            detector_predictor(lang),
            note=f"museforge.emotion.detect_emotion(text, {lang!r})",
        )
    }
    predict, note = majority_predictor(examples)
    results["majority"] = score("majority", examples, predict, note)
    if lang == "en":
        predict, note = vader_predictor()
        results["vader"] = score("vader", examples, predict, note)
    return results


def format_confusion(s: Scores) -> list[str]:
    width = max(len(m) for m in MOODS)
    header = " " * (width + 1) + " ".join(f"{c:>{width}}" for c in s.columns)
    lines = ["  confusion (rows: gold, columns: predicted)", "  " + header]
    for gold in MOODS:
        cells = " ".join(f"{s.confusion[gold][c]:>{width}}" for c in s.columns)
        lines.append(f"  {gold:<{width}} {cells}")
    return lines


def format_report(lang: str, results: dict[str, Scores]) -> str:
    n = next(iter(results.values())).n
    lines = [f"=== {lang}: {n} items, {n // len(MOODS)} per mood ==="]
    lines.append(f"  {'system':<10} {'accuracy':>9} {'macro-F1':>9} {'seconds':>8}")
    for s in results.values():
        lines.append(f"  {s.system:<10} {s.accuracy:>9.1%} {s.macro_f1:>9.3f} {s.seconds:>8.2f}")
    lines.append("")
    width = max(len(m) for m in MOODS)
    lines.append(f"  {'recall':<{width}} " + " ".join(f"{name:>10}" for name in results))
    for mood in MOODS:
        cells = " ".join(f"{s.recall[mood]:>10.2f}" for s in results.values())
        lines.append(f"  {mood:<{width}} {cells}")
    for s in results.values():
        lines.append("")
        lines.append(f"  [{s.system}] {s.note}")
        lines.extend(format_confusion(s))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lang", choices=["zh", "en", "both"], default="both")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    langs = LANGS if args.lang == "both" else (args.lang,)
    all_results = {lang: evaluate(lang) for lang in langs}

    if args.json:
        payload = {
            lang: {name: s.to_json() for name, s in results.items()} for lang, results in all_results.items()
        }
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print("\n\n".join(format_report(lang, res) for lang, res in all_results.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
