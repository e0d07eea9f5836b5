"""``museforge evaluate`` for the music models, on held-out pieces of their training corpora.

Held-out data: the cached corpora (``recipes/music_data.py``, under ``$MUSEFORGE_CACHE``) when
they exist; otherwise the first held-out pieces are read straight from music21's bundled corpus in
the same order and by the same rule as the cache (every tenth usable piece), so the figures are
on the same pieces either way; no corpus file is written.

* ``music-melody``: negative log-likelihood per note of held-out folk tunes; each tune's first two
  bars continued for eight bars (originality guard on, as ``museforge continue`` does), the five
  melody metrics of :mod:`museforge.evaluate.music` against the tune's own next eight bars, and
  the share of continuations that repeat 8 or more consecutive intervals of a training melody
  (any run, and a distinctive one: in at most 3 training melodies), beside the same share of the
  held-out tunes themselves.
* ``music-harmonizer``: negative log-likelihood per alto, tenor and bass token of held-out Bach
  chorales given the soprano (:func:`museforge.evaluate.music.chorale_nll`); the sopranos
  harmonised by the model (beam search, as ``museforge harmonize``), and parallel fifths,
  parallel octaves, voice crossings and notes out of range per 100 onsets, against Bach's own.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError
from museforge.evaluate.report_base import CARD, Context, ModelResult, read_json

MELODY_KEYS = (
    "pitch_class_entropy",
    "scale_consistency",
    "groove_consistency",
    "empty_beat_rate",
    "pitch_range",
)
MELODY_LABELS = {
    "pitch_class_entropy": "pitch-class entropy (bits)",
    "scale_consistency": "scale consistency",
    "groove_consistency": "groove consistency",
    "empty_beat_rate": "empty-beat rate",
    "pitch_range": "pitch range (semitones)",
}
VOICE_KEYS = ("parallel_fifths", "parallel_octaves", "crossings", "out_of_range")
TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
HELD_OUT_EVERY = 10


# ------------------------------------------------------------------ held-out pieces


def _relabel(tune: dict) -> dict:
    """A "major" tune ending on its sixth degree is its relative minor (as the cached set does)."""
    pitched = tune["notes"][tune["notes"][:, 0] >= 0]
    if tune["mode"] == "major" and len(pitched) and int(pitched[-1, 0]) % 12 == (tune["tonic"] + 9) % 12:
        return {**tune, "tonic": (tune["tonic"] + 9) % 12, "mode": "minor"}
    return tune


def _parsed_folk() -> Iterator[dict]:
    """Held-out folk tunes in the cached set's order, parsed from music21's corpus."""
    from music21 import converter

    from museforge.music.data import FOLK_DIRS, FOLK_PER_FILE, _folk_files, extract_tune, split_abc

    kept = 0
    for source in FOLK_DIRS:
        for path in _folk_files(source):
            text = path.read_text(encoding="utf-8", errors="replace")
            for abc in split_abc(text, FOLK_PER_FILE[source]):
                try:
                    item = extract_tune(converter.parse(abc, format="abc"))
                except Exception:  # a tune music21 cannot read: the cached set skips it too
                    item = None
                if item is None:
                    continue
                if kept % HELD_OUT_EVERY == 0:
                    notes = np.array(item["notes"], dtype=np.float32).reshape(-1, 3)
                    yield _relabel({**item, "notes": notes, "test": True, "source": source})
                kept += 1


def held_out_folk(count: int) -> tuple[list[dict], str]:
    """Up to ``count`` held-out folk tunes and where they came from."""
    from museforge.music.data import cache_dir, load_folk

    path = cache_dir() / "folk.npz"
    if path.is_file():
        tunes, sha = load_folk(path)
        return [t for t in tunes if t["test"]][:count], f"the cached folk set (sha256 {sha[:12]}...)"
    out = []
    for tune in _parsed_folk():
        out.append(tune)
        if len(out) >= count:
            break
    return out, "music21's corpus, read in the cached set's order (no cache here)"


def held_out_chorales(count: int) -> tuple[list[dict], str]:
    """Up to ``count`` held-out chorales (``load_chorales`` items) and where they came from."""
    from museforge.music.data import cache_dir, extract_chorale, load_chorales

    path = cache_dir() / "chorales.npz"
    if path.is_file():
        chorales, sha = load_chorales(path)
        return [c for c in chorales if c["split"] == 2][:count], f"the cached chorales (sha256 {sha[:12]}...)"
    from music21 import corpus

    out, kept = [], 0
    for name in corpus.chorales.Iterator(returnType="filename"):
        try:
            item = extract_chorale(corpus.parse(name))
        except Exception:  # a malformed corpus file: the cached set skips it too
            item = None
        if item is None:
            continue
        if kept % HELD_OUT_EVERY == 0:
            out.append(
                {
                    "tokens": item["grid"].astype(np.int16),
                    "pos": item["pos"].astype(np.int16),
                    "bar_steps": item["bar_steps"],
                    "tonic": item["tonic"],
                    "minor": item["minor"],
                    "split": 2,
                    "name": str(name),
                }
            )
            if len(out) >= count:
                break
        kept += 1
    return out, "music21's corpus, read in the cached set's order (no cache here)"


# ------------------------------------------------------------------ the melody model


def folk_melody(
    tune: dict, start_bar: float = 0.0, bars: float | None = None
) -> list[tuple[float, float, int]]:
    """A tune's pitched notes ``(start, duration, pitch)`` from ``start_bar`` for ``bars`` bars,
    times from that bar line."""
    bar = tune["bar"]
    return [
        (o - start_bar * bar, d, int(p))
        for p, d, o in tune["notes"].tolist()
        if p >= 0 and o >= start_bar * bar - 1e-9 and (bars is None or o < (start_bar + bars) * bar - 1e-9)
    ]


def tune_nll(model: Any, tune: dict) -> tuple[float, float, int] | None:
    """Summed pitch and duration NLL (nats) of a whole tune and its note count; None when a
    pitch lies outside the model's range (the training recipe leaves those tunes out too)."""
    import torch

    from museforge.music.melody_model import (
        BOS_TOK,
        N_DUR,
        duration_token,
        meter_token,
        mode_token,
        pitch_token,
        pos_token,
    )

    notes = tune["notes"]
    p = [pitch_token(int(x), tune["tonic"]) for x in notes[:, 0]]
    if min(p) < 0:
        return None
    d = [duration_token(float(x)) for x in notes[:, 1]]
    pos = [pos_token(float(o) % tune["bar"]) for o in notes[:, 2]]
    batch = {
        "prev_p": torch.tensor([[BOS_TOK, *p[:-1]]]),
        "prev_d": torch.tensor([[N_DUR - 1, *d[:-1]]]),
        "pos": torch.tensor([pos]),
        "next_p": torch.tensor([p]),
        "next_d": torch.tensor([d]),
        "mask": torch.ones(1, len(p), dtype=torch.bool),
        "meter": torch.tensor([meter_token(tune["meter"])]),
        "mode": torch.tensor([mode_token(tune["mode"])]),
    }
    with torch.no_grad():
        nll_p, nll_d = model.loss(batch)
    return float(nll_p) * len(p), float(nll_d) * len(p), len(p)


def _mean(values: list[float]) -> float | None:
    v = [x for x in values if x == x]
    return statistics.fmean(v) if v else None


def evaluate_melody(ctx: Context, name: str, count: int) -> ModelResult:
    import torch

    from museforge.evaluate.music import melody_metrics
    from museforge.music.continuation import continue_melody, shipped_melody_model
    from museforge.music.score import Note
    from museforge.music.theory import Key, parse_meter

    result = ModelResult(name, "music")
    model, _, index = shipped_melody_model()
    model.eval()
    ctx.progress(f"{name}: reading {count} held-out folk tunes")
    tunes, where = held_out_folk(count)
    if not tunes:
        raise MuseforgeError("no held-out folk tunes could be read from music21's corpus")
    base = ctx.seed_for(name)
    ctx.progress(f"{name}: likelihood and continuations of {len(tunes)} tunes")
    sums, real_rows, ours_rows, flags, real_flags = [0.0, 0.0, 0], [], [], [], []
    for i, t in enumerate(tunes):
        nll = tune_nll(model, t)
        if nll is None:
            continue
        sums = [a + b for a, b in zip(sums, nll, strict=True)]
        try:
            meter = parse_meter(t["meter"])
        except MuseforgeError:
            continue
        motif = [Note(s, d, p, 80) for s, d, p in folk_melody(t, 0, 2)]
        truth = folk_melody(t, 2, 8)
        if len(motif) < 2 or len(truth) < 4:
            continue
        key = Key(
            TONICS[t["tonic"] % 12],
            t["mode"] if t["mode"] in ("major", "minor", "dorian", "mixolydian") else "major",
        )
        gen = torch.Generator().manual_seed(base + i)
        new = continue_melody(model, motif, key, t["meter"], t["bar"], 8, gen, 0.9, index)
        if not new:
            continue
        shift = math.ceil(max(n.start + n.duration for n in motif) / t["bar"] - 1e-9) * t["bar"]
        ours = [(n.start - shift, n.duration, n.pitch) for n in new]
        real_rows.append(melody_metrics(truth, t["bar"], meter.beat_quarters, 8 * t["bar"]))
        ours_rows.append(melody_metrics(ours, t["bar"], meter.beat_quarters, 8 * t["bar"]))
        if index is not None:
            line, real = [n.pitch for n in motif + new], [p for _, _, p in folk_melody(t)]
            flags.append([index.reproduces(line, d, len(motif)) for d in (False, True)])
            real_flags.append([index.reproduces(real, d, 0) for d in (False, True)])
    if sums[2]:
        result.add(
            "nll_note",
            "held-out NLL per note (pitch + duration)",
            (sums[0] + sums[1]) / sums[2],
            n=sums[2],
            unit="nats",
            better="lower",
            note=f"{len(tunes)} tunes",
        )
        result.add(
            "nll_pitch",
            "held-out NLL per note, pitch",
            sums[0] / sums[2],
            n=sums[2],
            unit="nats",
            better="lower",
        )
        result.add(
            "nll_duration",
            "held-out NLL per note, duration",
            sums[1] / sums[2],
            n=sums[2],
            unit="nats",
            better="lower",
        )
    for k in MELODY_KEYS:
        result.add(
            f"continuation.{k}",
            f"continuations: {MELODY_LABELS[k]}",
            _mean([r[k] for r in ours_rows]),
            n=len(ours_rows),
            unit="",
        )
        result.add(
            f"held_out.{k}",
            f"held-out tunes' own next 8 bars: {MELODY_LABELS[k]}",
            _mean([r[k] for r in real_rows]),
            n=len(real_rows),
            unit="",
            note="reference",
        )
    if real_rows and ours_rows:
        z = []
        for k in MELODY_KEYS:
            ref = [r[k] for r in real_rows]
            sd = statistics.pstdev(ref) or 1.0
            z.append(abs(statistics.fmean(r[k] for r in ours_rows) - statistics.fmean(ref)) / sd)
        result.add(
            "distance_to_held_out",
            "distance of the continuations to the held-out bars (mean |z|)",
            statistics.fmean(z),
            n=len(ours_rows),
            better="lower",
            note="mean over the five metrics of |mean - held-out mean| / held-out standard deviation",
        )
    for k, (kind, what) in enumerate((("", "any run"), (".distinctive", "a distinctive run"))):
        if not flags:
            break
        result.add(
            f"copy_rate{kind}",
            f"continuations repeating 8+ intervals of a training melody ({what})",
            sum(f[k] for f in flags) / len(flags),
            n=len(flags),
            unit="share",
            better="lower",
        )
        result.add(
            f"copy_rate{kind}.held_out",
            f"held-out tunes repeating 8+ intervals of a training melody ({what})",
            sum(f[k] for f in real_flags) / len(real_flags),
            n=len(real_flags),
            unit="share",
            note="reference: how often real, unseen tunes do",
        )
    metrics = read_json(ctx.models_root / name / "metrics.json") or {}
    test = metrics.get("test") or {}
    for key, label in (
        ("nll_note", "held-out NLL per note (pitch + duration)"),
        ("nll_pitch", "held-out NLL per note, pitch"),
        ("nll_duration", "held-out NLL per note, duration"),
    ):
        if isinstance(test.get(key), int | float):
            result.add(
                key,
                label,
                test[key],
                CARD,
                n=test.get("notes"),
                unit="nats",
                better="lower",
                note="metrics.json, all held-out tunes",
            )
    result.settings = {
        "tunes": len(tunes),
        "continued": len(ours_rows),
        "seed": base,
        "temperature": 0.9,
        "motif_bars": 2,
        "continuation_bars": 8,
        "guard": index is not None,
    }
    result.details = {"held_out_source": where, "continuations": ours_rows, "held_out_bars": real_rows}
    result.method = (
        f"{len(tunes)} held-out folk tunes ({where}): their likelihood under the model, and their first two "
        "bars continued for eight (temperature 0.9, originality guard on), measured against each tune's own "
        "next eight bars."
    )
    from museforge.evaluate.report_plots import compare_bars, distributions

    distributions(
        ctx,
        result,
        "melody-metrics",
        "Melody metrics: held-out bars vs the model's continuations",
        {
            MELODY_LABELS[k]: {"held-out": [r[k] for r in real_rows], "model": [r[k] for r in ours_rows]}
            for k in MELODY_KEYS
        },
        caption="Each metric's distribution over the held-out tunes' own bars 3-10 (left) and the "
        "model's continuations of their first two bars (right).",
    )
    compare_bars(
        ctx,
        result,
        "nll",
        "Held-out negative log-likelihood per note (nats)",
        ["pitch", "duration", "note"],
        ["nll_pitch", "nll_duration", "nll_note"],
        ylabel="nats",
    )
    return result


# ------------------------------------------------------------------ the harmoniser


def evaluate_harmonizer(ctx: Context, name: str, count: int) -> ModelResult:
    from museforge.evaluate.music import chorale_nll, polyphony, voice_leading_violations
    from museforge.music.data import grid_to_notes
    from museforge.music.harmonize import harmonize, shipped_harmonizer
    from museforge.music.score import Note
    from museforge.music.theory import Meter

    result = ModelResult(name, "music")
    model, _ = shipped_harmonizer()
    ctx.progress(f"{name}: reading {count} held-out chorales")
    chorales, where = held_out_chorales(count)
    if not chorales:
        raise MuseforgeError("no held-out chorales could be read from music21's corpus")
    ctx.progress(f"{name}: likelihood and harmonisations of {len(chorales)} chorales")
    nll = chorale_nll(model, chorales)
    rows: dict[str, list[dict[str, float]]] = {"Bach": [], "model": []}
    skipped = 0
    for c in chorales:
        voices = [grid_to_notes(v) for v in c["tokens"]]
        meter = Meter(c["bar_steps"] // 4, 4) if c["bar_steps"] % 4 == 0 else Meter(c["bar_steps"], 16)
        try:
            ours = harmonize(model, [Note(s, d, p, 80) for s, d, p in voices[0]], meter)
        except MuseforgeError:
            skipped += 1
            continue
        for who, parts in (("Bach", voices), ("model", ours)):
            v = voice_leading_violations(parts)
            onsets = len({n[0] if isinstance(n, tuple) else n.start for x in parts for n in x})
            rows[who].append(
                {
                    "polyphony": polyphony([n for x in parts for n in x]),
                    **{k: 100 * v[k] / max(onsets, 1) for k in VOICE_KEYS},
                    **{f"{k}_count": v[k] for k in VOICE_KEYS},
                }
            )
    result.add(
        "nll",
        "held-out NLL per alto/tenor/bass token",
        nll["nll"],
        n=nll["tokens"],
        unit="nats",
        better="lower",
        note=f"{len(chorales)} chorales",
    )
    result.add(
        "nll_onsets", "held-out NLL per token at note onsets", nll["nll_onsets"], unit="nats", better="lower"
    )
    for voice in ("alto", "tenor", "bass"):
        result.add(
            f"nll_{voice}",
            f"held-out NLL per token, {voice}",
            nll[f"nll_{voice}"],
            unit="nats",
            better="lower",
        )
    for who, items in rows.items():
        tag = "model" if who == "model" else "bach"
        for k in VOICE_KEYS:
            label = k.replace("_", " ")
            result.add(
                f"{tag}.{k}",
                f"{'model' if who == 'model' else 'Bach'}: {label} per 100 onsets",
                _mean([r[k] for r in items]),
                n=len(items),
                better="lower" if who == "model" else None,
                note="" if who == "model" else "reference: the held-out chorales themselves",
            )
            result.add(
                f"{tag}.{k}_count",
                f"{'model' if who == 'model' else 'Bach'}: {label}, total count",
                int(sum(r[f"{k}_count"] for r in items)),
                n=len(items),
            )
        result.add(
            f"{tag}.polyphony",
            f"{'model' if who == 'model' else 'Bach'}: mean voices sounding",
            _mean([r["polyphony"] for r in items]),
            n=len(items),
        )
    if skipped:
        result.notes.append(f"{skipped} soprano(s) lay outside the harmoniser's range and were left out")
    metrics = read_json(ctx.models_root / name / "metrics.json") or {}
    test = metrics.get("test") or {}
    for key, label in (
        ("nll", "held-out NLL per alto/tenor/bass token"),
        ("nll_onsets", "held-out NLL per token at note onsets"),
        ("nll_alto", "held-out NLL per token, alto"),
        ("nll_tenor", "held-out NLL per token, tenor"),
        ("nll_bass", "held-out NLL per token, bass"),
    ):
        if isinstance(test.get(key), int | float):
            result.add(
                key,
                label,
                test[key],
                CARD,
                n=test.get("tokens") if key == "nll" else None,
                unit="nats",
                better="lower",
                note="metrics.json, all held-out chorales",
            )
    result.settings = {"chorales": len(chorales), "beam": 4}
    result.details = {
        "held_out_source": where,
        "chorales": [c["name"] for c in chorales],
        "per_chorale": rows,
    }
    result.method = (
        f"{len(chorales)} held-out Bach chorales ({where}): the likelihood of Bach's alto, tenor and bass "
        "given "
        "the soprano, and the model's own harmonisation of each soprano (beam search with its voice-leading "
        "rules, as museforge harmonize), counted for the faults of four-part writing beside Bach's."
    )
    from museforge.evaluate.report_plots import compare_bars, group_bars

    labels = [k.replace("_", " ") for k in VOICE_KEYS]
    group_bars(
        ctx,
        result,
        "voice-leading",
        "Voice-leading faults per 100 onsets",
        labels,
        {
            who: [result.value(f"{'model' if who == 'model' else 'bach'}.{k}") for k in VOICE_KEYS]
            for who in rows
        },
        ylabel="per 100 onsets",
        caption="Parallel fifths, parallel octaves, voice crossings and notes outside the SATB ranges per "
        "100 onsets: Bach's held-out chorales beside the model's harmonisations of the same sopranos.",
    )
    compare_bars(
        ctx,
        result,
        "nll",
        "Held-out negative log-likelihood per token (nats)",
        ["all", "onsets", "alto", "tenor", "bass"],
        ["nll", "nll_onsets", "nll_alto", "nll_tenor", "nll_bass"],
        ylabel="nats",
    )
    return result
