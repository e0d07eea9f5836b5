"""What a family trains on, read from a data set made by ``museforge data ingest``.

The licence check comes first: only the items of the family's kind count, and a data set whose
licences exclude the declared use (``research`` or ``commercial``) is refused before anything runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError

KIND_OF = {"text": "text", "music": "music", "image": "image", "style": "image"}


@dataclass
class TrainingData:
    """The rows of one kind of a data set, split, with what a model card says about them."""

    root: Path
    kind: str
    train: list[dict[str, Any]]
    val: list[dict[str, Any]]
    manifest_sha256: str
    licences: dict[str, int] = field(default_factory=dict)
    use: str = "research"

    def file(self, row: dict[str, Any]) -> Path:
        return self.root / row["path"]


def open_training_data(path: Path | str, family: str, use: str) -> TrainingData:
    """The items of ``family``'s kind in the data set at ``path``, refused when a licence among
    them excludes ``use``."""
    from museforge.data.licences import excluded
    from museforge.data.manifest import open_dataset

    kind = KIND_OF[family]
    dataset = open_dataset(path)
    rows = dataset.items(kind)
    if not rows:
        raise MuseforgeError(
            f"{path} holds no {kind} items to train the {family} model on "
            f"(it has {', '.join(f'{k}: {n}' for k, n in _kinds(dataset.rows).items()) or 'nothing'})"
        )
    counts = dict(sorted(Counter(r["licence"] for r in rows).items()))
    refused = excluded(counts, use)
    if refused:
        listed = ", ".join(f"{spdx} ({n} item{'s' if n != 1 else ''})" for spdx, n in refused.items())
        raise MuseforgeError(
            f"the {kind} items' licences do not permit {use} use: {listed}; ingest again "
            "without them (--opt-out) or declare the use they permit (--use)"
        )
    train = [r for r in rows if r["split"] == "train"]
    val = [r for r in rows if r["split"] == "val"]
    if not train:
        train, val = rows, []
    return TrainingData(dataset.root, kind, train, val, dataset.manifest_sha256, counts, use)


def _kinds(rows: list[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(r["kind"] for r in rows))


def texts(data: TrainingData) -> tuple[list[str], list[str]]:
    """Training and held-out documents of a text data set."""
    from museforge.train.text import as_document

    def read(rows: list[dict[str, Any]]) -> list[str]:
        return [as_document(data.file(r).read_text(encoding="utf-8"), r.get("caption") or "") for r in rows]

    return read(data.train), read(data.val)


def tunes(data: TrainingData) -> tuple[list[dict], list[dict], list[str]]:
    """Encoded training and held-out tunes of a music data set, and the files left out (why)."""
    from museforge.train.music import encode, read_tune

    skipped: list[str] = []

    def read(rows: list[dict[str, Any]]) -> list[dict]:
        out = []
        for r in rows:
            try:
                tune = read_tune(data.file(r))
            except MuseforgeError as err:
                skipped.append(str(err))
                continue
            coded = encode(tune) if tune else None
            if coded is None:
                skipped.append(f"{r['source']}: fewer than eight notes or outside the model's range")
                continue
            coded["pitches"] = [int(n[0]) for n in tune["notes"] if n[0] >= 0]
            coded["tune"] = tune
            out.append(coded)
        return out

    return read(data.train), read(data.val), skipped


def chorales(data: TrainingData) -> tuple[list[dict], list[dict], list[str]]:
    """Training and held-out four-part chorales of a music data set, tokenised as
    :func:`museforge.music.data.load_chorales` gives them, and the files left out (why)."""
    import warnings

    import music21

    from museforge.music.data import PITCH0, extract_chorale

    skipped: list[str] = []

    def read(rows: list[dict[str, Any]]) -> list[dict]:
        out = []
        for r in rows:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    item = extract_chorale(music21.converter.parse(str(data.file(r))))
            except Exception as err:  # music21 raises many kinds on a file it cannot read
                skipped.append(f"{r['source']}: cannot read it as four parts ({type(err).__name__})")
                continue
            if item is None:
                skipped.append(f"{r['source']}: not four parts with a meter")
                continue
            if not (item["grid"] >= PITCH0).any(axis=1).all():
                skipped.append(f"{r['source']}: a part without notes")
                continue
            out.append(
                {
                    "tokens": item["grid"],
                    "pos": item["pos"],
                    "bar_steps": item["bar_steps"],
                    "tonic": item["tonic"],
                    "minor": item["minor"],
                    "name": r["source"],
                }
            )
        return out

    return read(data.train), read(data.val), skipped
