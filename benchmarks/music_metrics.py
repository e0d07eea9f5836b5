"""Music metrics of our outputs next to the training corpora's own distribution.

    python benchmarks/music_metrics.py [--n 30] [--json]

Melodies: held-out folk tunes and chorale sopranos (the corpus) against the rule composer's
melodies (8 moods x seeds, 16 bars) and the learned model's continuations of held-out tunes'
first two bars (8 bars each). Four-part writing: Bach's held-out chorales against our
harmonisations of their sopranos. Originality: the share of melodies that repeat 8 or more
consecutive intervals of a training melody (any run, and distinctive runs: those in at most 3
training melodies, which the guard blocks), before and after block-and-regenerate.
``distance_to_folk``: the mean over the five melody metrics of |mean - corpus mean| / corpus
standard deviation, against the held-out folk tunes (lower is closer to the corpus). Needs the
cached corpora (``recipes/music_data.py``) and the shipped models.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence

import numpy as np
import torch

from museforge.emotion import MOODS, art_direction, emotion_from_label
from museforge.evaluate.music import melody_metrics, polyphony, voice_leading_violations
from museforge.music.compose import Form, Note, compose
from museforge.music.data import grid_to_notes, load_chorales, load_folk
from museforge.music.theory import Key, Meter, parse_meter

KEYS = ("pitch_class_entropy", "scale_consistency", "groove_consistency", "empty_beat_rate", "pitch_range")


def stats(values: Sequence[float]) -> str:
    v = [x for x in values if x == x]
    if not v:
        return "n/a"
    return f"{statistics.mean(v):.3f} ± {statistics.pstdev(v):.3f}"


def table(rows: dict[str, list[dict]], keys: Sequence[str]) -> dict[str, dict[str, str]]:
    return {name: {k: stats([r[k] for r in items]) for k in keys} | {"n": str(len(items))}
            for name, items in rows.items()}


def folk_melody(t: dict, start_bar: float = 0.0, bars: float | None = None) -> list[tuple[float, float, int]]:
    out = []
    for p, d, o in t["notes"].tolist():
        if p >= 0 and o >= start_bar * t["bar"] and (bars is None or o < (start_bar + bars) * t["bar"]):
            out.append((o - start_bar * t["bar"], d, int(p)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30, help="samples per learned-model row")
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from museforge.music.continuation import continue_melody, shipped_melody_model
    from museforge.music.harmonize import harmonize, shipped_harmonizer
    from museforge.originality.melody import guarded

    folk, _ = load_folk()
    chorales, _ = load_chorales()
    held_folk = [t for t in folk if t["test"]]
    held_chorales = [c for c in chorales if c["split"] == 2]
    rows: dict[str, list[dict]] = {}
    rows["corpus: held-out folk tunes"] = [
        melody_metrics(folk_melody(t), t["bar"], parse_meter(t["meter"]).beat_quarters)
        for t in held_folk[:300] if len(folk_melody(t)) > 8]
    rows["corpus: held-out chorale sopranos"] = [
        melody_metrics(grid_to_notes(c["tokens"][0]), c["bar_steps"] / 4, 1.0) for c in held_chorales]
    rule = []
    rule_pitches = []
    for mood in MOODS:
        for seed in range(max(1, args.n // len(MOODS))):
            s = compose(art_direction(emotion_from_label(mood)), np.random.default_rng(seed), Form(16))
            rule.append(melody_metrics(s.tracks[0].notes, 4.0, 1.0, s.quarters))
            rule_pitches.append([n.pitch for n in s.tracks[0].notes])
    rows["ours: rule composer (16 bars)"] = rule

    model, _, index = shipped_melody_model()
    raw, guarded_out, raw_flags, guard_flags, attempts = [], [], [], [], []
    raw_any: list[bool] = []
    any_after: list[bool] = []
    candidates = [t for t in held_folk if t["meter"] in ("2/4", "3/4", "4/4", "6/8", "9/8", "12/8")]
    for i, t in enumerate(candidates[: args.n]):
        motif = [Note(s, d, p, 80) for s, d, p in folk_melody(t, 0, 2)]
        if not motif:
            continue
        key = Key(["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"][t["tonic"]], t["mode"]
                  if t["mode"] in ("major", "minor", "dorian", "mixolydian") else "major")

        def make(k: int, motif: list[Note] = motif, key: Key = key, t: dict = t, i: int = i) -> list[Note]:
            gen = torch.Generator().manual_seed(1000 * i + k)
            return continue_melody(model, motif, key, t["meter"], t["bar"], 8, gen, 0.9 * (1 + 0.1 * k))

        first = make(0)
        raw.append(melody_metrics(first, t["bar"], parse_meter(t["meter"]).beat_quarters))
        full = [n.pitch for n in motif[-8:] + first]  # runs that touch the new notes
        raw_flags.append(bool(index.reproduces(full)) if index is not None else False)
        raw_any.append(bool(index.reproduces(full, distinctive=False)) if index is not None else False)
        if index is not None:
            chosen, report = guarded(make, lambda ns, motif=motif: [n.pitch for n in motif[-8:] + ns],
                                     index)
            any_after.append(index.reproduces([n.pitch for n in motif[-8:] + chosen], distinctive=False))
            guard_flags.append(report["reproduces"])
            attempts.append(report["attempts"])
            guarded_out.append(chosen)
    rows["ours: learned continuation (8 bars)"] = raw
    learned = []
    for mood in MOODS:
        for seed in range(max(1, args.n // len(MOODS))):
            s = compose(art_direction(emotion_from_label(mood)), np.random.default_rng(seed), Form(16),
                        percussion=False)
            opening = [n for n in s.tracks[0].notes if n.start < 8]
            new = continue_melody(model, opening, s.key, "4/4", 4.0, 14, torch.Generator().manual_seed(seed))
            learned.append(melody_metrics(opening + new, 4.0, 1.0, s.quarters))
    rows["ours: learned composer (ruled opening + model, 16 bars)"] = learned
    melodies = table(rows, KEYS)
    ref = rows["corpus: held-out folk tunes"]
    for name, items in rows.items():  # mean |z| of each metric's mean against the folk corpus
        z = []
        for k in KEYS:
            mu = statistics.mean(r[k] for r in ref)
            sd = statistics.pstdev(r[k] for r in ref) or 1.0
            z.append(abs(statistics.mean(r[k] for r in items) - mu) / sd)
        melodies[name]["distance_to_folk"] = f"{statistics.mean(z):.3f}"

    harm, _ = shipped_harmonizer()
    satb: dict[str, list[dict]] = {"corpus: Bach, held-out chorales": [], "ours: harmonised sopranos": []}
    for c in held_chorales:
        voices = [grid_to_notes(v) for v in c["tokens"]]
        meter = Meter(c["bar_steps"] // 4, 4) if c["bar_steps"] % 4 == 0 else Meter(c["bar_steps"], 16)
        ours = harmonize(harm, [Note(s, d, p, 80) for s, d, p in voices[0]], meter)
        for name, vs in (("corpus: Bach, held-out chorales", voices), ("ours: harmonised sopranos", ours)):
            v = voice_leading_violations(vs)
            onsets = len({n[0] if isinstance(n, tuple) else n.start for x in vs for n in x})
            satb[name].append({"polyphony": polyphony([n for x in vs for n in x]),
                               **{k: 100 * v[k] / onsets for k in v}})
    four_part = table(satb, ("polyphony", "parallel_fifths", "parallel_octaves", "crossings", "out_of_range"))

    def rate(flags: list[bool]) -> str:
        return f"{100 * sum(flags) / max(len(flags), 1):.1f} % of {len(flags)}"

    held_pitches = [[p for _, _, p in folk_melody(t)] for t in held_folk[:300]]
    originality = {
        "held-out folk tunes (reference), any run": rate([index.reproduces(p, False) for p in held_pitches]),
        "held-out folk tunes (reference), distinctive run": rate([index.reproduces(p) for p in held_pitches]),
        "rule composer melodies, any run": rate([index.reproduces(p, False) for p in rule_pitches]),
        "rule composer melodies, distinctive run": rate([index.reproduces(p) for p in rule_pitches]),
        "learned continuations before guard, any run": rate(raw_any),
        "learned continuations before guard, distinctive run": rate(raw_flags),
        "learned continuations after guard, distinctive run": rate(guard_flags),
        "learned continuations after guard, any run": rate(any_after),
        "mean attempts with guard": f"{statistics.mean(attempts):.2f}" if attempts else "n/a",
    }
    meta = json.loads(shipped_harmonizer()[1]["metrics"])
    nll = {"ours: ATB given soprano, sixteenth grid, nats/token": round(meta["test"]["nll"], 3),
           "ours: same, note onsets only": round(meta["test"]["nll_onsets"], 3),
           "Music Transformer (JSB, published)": 0.335, "Transformer baseline (JSB, published)": 0.417}
    result = {"melodies": melodies, "four_part_per_100_onsets": four_part, "originality": originality,
              "chorale_nll": nll}
    if args.json:
        print(json.dumps(result, indent=1, ensure_ascii=False))
        return
    cols = (*KEYS, "distance_to_folk")
    print("| melodies | n | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for name, r in melodies.items():
        print(f"| {name} | {r['n']} | " + " | ".join(r[k] for k in cols) + " |")
    keys = ("polyphony", "parallel_fifths", "parallel_octaves", "crossings", "out_of_range")
    print("\n| four parts (violations per 100 onsets) | n | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for name, r in four_part.items():
        print(f"| {name} | {r['n']} | " + " | ".join(r[k] for k in keys) + " |")
    print("\n| originality: repeats >= 8 consecutive intervals of a training melody | rate |\n|---|---|")
    for name, v in originality.items():
        print(f"| {name} | {v} |")
    print("\n| held-out chorale NLL | nats |\n|---|---|")
    for name, v in nll.items():
        print(f"| {name} | {v} |")


if __name__ == "__main__":
    main()
