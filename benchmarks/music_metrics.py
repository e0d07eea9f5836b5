"""Music metrics of our outputs next to the training corpora's own distribution.

    python benchmarks/music_metrics.py [--n 30] [--json]

Melodies: held-out folk tunes and chorale sopranos (the corpus) against the rule composer's
melodies (8 moods x seeds, 16 bars), the learned model's continuations of held-out tunes' first
two bars (8 bars each) and the learned composer's melodies (a ruled two-bar opening continued
by the model to 16 bars), each before and after the originality guard. Four-part writing:
Bach's held-out chorales against our harmonisations of their sopranos.

Originality: the share of melodies that repeat 8 or more consecutive intervals of a training
melody, any run and distinctive runs (those in at most 3 training melodies), before the guard
and after it (:mod:`museforge.music.guard`: the rule composer blocks and regenerates, then
repairs; the learned models mask corpus runs while sampling, with block-and-regenerate and
repair as fallbacks). Only runs that reach a generated note count: a continuation is checked
together with its whole motif, but runs wholly inside the motif (a held-out tune's opening, often
a variant of a training tune) are not held against us. "Old guard" is the previous scheme
(block and regenerate, 8 draws, distinctive runs only) for comparison.
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
from museforge.music.compose import Form, compose
from museforge.music.data import grid_to_notes, load_chorales, load_folk
from museforge.music.score import Note, Score
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
    from museforge.music.guard import compose_guarded, guard_line
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
    model, _, index = shipped_melody_model()
    if index is None:
        raise SystemExit("no corpus_ngrams.npy beside the melody model: run recipes/music_melody.py")
    # every melody as (pitches, context): runs wholly inside the first `context` pitches do not count
    lines: dict[str, list[tuple[list[int], int]]] = {}
    extra: dict[str, list[float]] = {}

    def moods_and_seeds() -> list[tuple[str, int]]:
        return [(mood, seed) for mood in MOODS for seed in range(max(1, args.n // len(MOODS)))]

    for guard in (False, True):
        tag = "after guard" if guard else "before guard"
        rule, pitches, attempts, repaired = [], [], [], []
        for mood, seed in moods_and_seeds():
            direction = art_direction(emotion_from_label(mood))
            if guard:
                s, report = compose_guarded(direction, np.random.default_rng(seed), Form(16), index)
                attempts.append(report["attempts"])
                repaired.append(report["repaired"])
            else:
                s = compose(direction, np.random.default_rng(seed), Form(16))
            rule.append(melody_metrics(s.tracks[0].notes, 4.0, 1.0, s.quarters))
            pitches.append(([n.pitch for n in s.tracks[0].notes], 0))
        rows[f"ours: rule composer (16 bars), {tag}"] = rule
        lines[f"rule composer, {tag}"] = pitches
        if guard:
            extra["rule composer"] = [statistics.mean(attempts), statistics.mean(r > 0 for r in repaired),
                                      statistics.mean(repaired)]

    candidates = [t for t in held_folk if t["meter"] in ("2/4", "3/4", "4/4", "6/8", "9/8", "12/8")]
    cont: dict[str, list] = {"before guard": [], "after guard": [], "old guard": []}
    cont_lines: dict[str, list[tuple[list[int], int]]] = {k: [] for k in cont}
    attempts, repaired = [], []
    for i, t in enumerate(candidates[: args.n]):
        motif = [Note(s, d, p, 80) for s, d, p in folk_melody(t, 0, 2)]
        if not motif:
            continue
        key = Key(["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"][t["tonic"]], t["mode"]
                  if t["mode"] in ("major", "minor", "dorian", "mixolydian") else "major")
        meter = parse_meter(t["meter"])

        def make(k: int, motif: list[Note] = motif, key: Key = key, t: dict = t, i: int = i,
                 masked: bool = True) -> list[Note]:
            gen = torch.Generator().manual_seed(1000 * i + k)
            return continue_melody(model, motif, key, t["meter"], t["bar"], 8, gen, 0.9 * (1 + 0.1 * k),
                                   index if masked else None)

        first = make(0, masked=False)
        old, _ = guarded(lambda k, make=make: make(k, masked=False),
                         lambda ns, motif=motif: [n.pitch for n in motif + ns], index,
                         context=len(motif), distinctive=True)
        new, report = guard_line(make, motif, index, key, meter, context=len(motif))
        attempts.append(report["attempts"])
        repaired.append(report["repaired"])
        for tag, notes in (("before guard", first), ("after guard", new), ("old guard", old)):
            cont[tag].append(melody_metrics(notes, t["bar"], meter.beat_quarters))
            cont_lines[tag].append(([n.pitch for n in motif + notes], len(motif)))
    for tag in ("before guard", "after guard"):
        rows[f"ours: learned continuation (8 bars), {tag}"] = cont[tag]
    for tag in ("before guard", "after guard", "old guard"):
        lines[f"learned continuation, {tag}"] = cont_lines[tag]
    extra["learned continuation"] = [statistics.mean(attempts), statistics.mean(r > 0 for r in repaired),
                                     statistics.mean(repaired)]

    for guard in (False, True):
        tag = "after guard" if guard else "before guard"
        learned, pitches, attempts, repaired = [], [], [], []
        for mood, seed in moods_and_seeds():
            direction = art_direction(emotion_from_label(mood))
            s, _ = compose_guarded(direction, np.random.default_rng(seed), Form(16), index if guard else None,
                                   percussion=False)
            opening = [n for n in s.tracks[0].notes if n.start < 8]

            def make(k: int, s: Score = s, opening: list[Note] = opening, seed: int = seed,
                     guard: bool = guard) -> list[Note]:
                gen = torch.Generator().manual_seed(seed + k)
                return continue_melody(model, opening, s.key, "4/4", 4.0, 14, gen, 0.9 * (1 + 0.1 * k),
                                       index if guard else None)

            if guard:
                new, report = guard_line(make, opening, index, s.key, Meter(4, 4), context=0)
                attempts.append(report["attempts"])
                repaired.append(report["repaired"])
            else:
                new = make(0)
            learned.append(melody_metrics(opening + new, 4.0, 1.0, s.quarters))
            pitches.append(([n.pitch for n in opening + new], 0))
        rows[f"ours: learned composer (16 bars), {tag}"] = learned
        lines[f"learned composer, {tag}"] = pitches
        if guard:
            extra["learned composer"] = [statistics.mean(attempts), statistics.mean(r > 0 for r in repaired),
                                         statistics.mean(repaired)]
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

    def rate(items: list[tuple[list[int], int]], distinctive: bool) -> str:
        flags = [index.reproduces(p, distinctive, context) for p, context in items]
        return f"{100 * sum(flags) / max(len(flags), 1):.1f} %"

    held_pitches = [([p for _, _, p in folk_melody(t)], 0) for t in held_folk[:300]]
    originality = {"held-out folk tunes (reference)": {
        "n": len(held_pitches), "any run": rate(held_pitches, False),
        "distinctive run": rate(held_pitches, True)}}
    for name, items in lines.items():
        originality[name] = {"n": len(items), "any run": rate(items, False),
                             "distinctive run": rate(items, True)}
    guard_work = {name: {"mean attempts": f"{a:.2f}", "repaired": f"{100 * r:.1f} %",
                         "notes moved": f"{m:.2f}"} for name, (a, r, m) in extra.items()}
    meta = json.loads(shipped_harmonizer()[1]["metrics"])
    nll = {"ours: ATB given soprano, sixteenth grid, nats/token": round(meta["test"]["nll"], 3),
           "ours: same, note onsets only": round(meta["test"]["nll_onsets"], 3),
           "Music Transformer (JSB, published)": 0.335, "Transformer baseline (JSB, published)": 0.417}
    result = {"melodies": melodies, "four_part_per_100_onsets": four_part, "originality": originality,
              "guard_work": guard_work, "chorale_nll": nll}
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
    print("\n| originality: repeats >= 8 consecutive intervals of a training melody | n | any run | "
          "distinctive run |\n|---|---|---|---|")
    for name, v in originality.items():
        print(f"| {name} | {v['n']} | {v['any run']} | {v['distinctive run']} |")
    print("\n| guard (after) | mean attempts | repaired | notes moved per melody |\n|---|---|---|---|")
    for name, v in guard_work.items():
        print(f"| {name} | {v['mean attempts']} | {v['repaired']} | {v['notes moved']} |")
    print("\n| held-out chorale NLL | nats |\n|---|---|")
    for name, v in nll.items():
        print(f"| {name} | {v} |")


if __name__ == "__main__":
    main()
