"""Objective music metrics, after MusPy's definitions (Dong et al., 2020), plus four-part
voice-leading checks and the chorale model's held-out likelihood.

Notes are ``(start, duration, pitch)`` triples in quarter notes (or anything with ``start``,
``duration`` and ``pitch`` attributes). Each metric is a plain function with a doctest.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

NoteLike = Any
MAJOR = (0, 2, 4, 5, 7, 9, 11)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)
NATURAL_MINOR = (0, 2, 3, 5, 7, 8, 10)


def _triples(notes: Iterable[NoteLike]) -> list[tuple[float, float, int]]:
    out = []
    for n in notes:
        if isinstance(n, tuple):
            out.append((float(n[0]), float(n[1]), int(n[2])))
        else:
            out.append((float(n.start), float(n.duration), int(n.pitch)))
    return out


def pitch_class_entropy(notes: Iterable[NoteLike]) -> float:
    """Shannon entropy (bits) of the pitch-class histogram of note counts; 0 for one pitch class,
    log2(12) = 3.585 for all twelve equally.

    >>> round(pitch_class_entropy([(i, 1, p) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71])]), 4)
    2.8074
    >>> pitch_class_entropy([(0, 1, 60), (1, 1, 72)])
    0.0
    """
    counts = Counter(p % 12 for _, _, p in _triples(notes))
    total = sum(counts.values())
    if not total:
        return math.nan
    return -sum(c / total * math.log2(c / total) for c in counts.values()) + 0.0


def scale_consistency(notes: Iterable[NoteLike]) -> float:
    """The largest fraction of notes lying in one major or (natural or harmonic) minor scale.

    >>> scale_consistency([(i, 1, p) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 61])])
    0.875
    """
    pcs = [p % 12 for _, _, p in _triples(notes)]
    if not pcs:
        return math.nan
    best = 0.0
    for tonic in range(12):
        for scale in (MAJOR, NATURAL_MINOR, HARMONIC_MINOR):
            members = {(tonic + s) % 12 for s in scale}
            best = max(best, sum(pc in members for pc in pcs) / len(pcs))
    return best


def groove_consistency(notes: Iterable[NoteLike], bar: float, resolution: int = 48) -> float:
    """1 minus the mean Hamming distance between the onset patterns of consecutive bars, each a
    binary vector of ``resolution`` positions a bar, divided by ``resolution``.

    >>> groove_consistency([(0, 1, 60), (1, 1, 62), (4, 1, 60), (5, 1, 62)], bar=4, resolution=4)
    1.0
    >>> groove_consistency([(0, 1, 60), (4, 1, 60), (5, 1, 62)], bar=4, resolution=4)
    0.75
    """
    triples = _triples(notes)
    if not triples:
        return math.nan
    n_bars = max(1, math.ceil(max(s + d for s, d, _ in triples) / bar - 1e-9))
    patterns = [[False] * resolution for _ in range(n_bars)]
    for s, _, _ in triples:
        b = int(s // bar)
        pos = round((s - b * bar) / bar * resolution) % resolution
        patterns[min(b, n_bars - 1)][pos] = True
    if n_bars < 2:
        return 1.0
    dist = [sum(x != y for x, y in zip(a, b, strict=True)) for a, b in itertools.pairwise(patterns)]
    return 1.0 - sum(dist) / len(dist) / resolution


def empty_beat_rate(notes: Iterable[NoteLike], beat: float = 1.0, length: float | None = None) -> float:
    """Fraction of beats in which no note starts (MusPy's definition); ``length`` in quarters
    defaults to the end of the last note.

    >>> empty_beat_rate([(0, 2, 60), (3, 1, 62)], beat=1.0)
    0.5
    """
    triples = _triples(notes)
    end = length if length is not None else max((s + d for s, d, _ in triples), default=0.0)
    n = max(1, math.ceil(end / beat - 1e-9))
    busy = {int(s // beat + 1e-9) for s, _, _ in triples}
    return 1.0 - len(busy & set(range(n))) / n


def polyphony(notes: Iterable[NoteLike], step: float = 0.25) -> float:
    """Mean number of pitches sounding together, over the grid steps where any sounds.

    >>> polyphony([(0, 2, 60), (0, 2, 64), (0, 1, 67), (2, 1, 72)], step=1.0)
    2.0
    """
    triples = _triples(notes)
    if not triples:
        return math.nan
    counts: Counter[int] = Counter()
    for s, d, _ in triples:
        for k in range(round(s / step), max(round(s / step) + 1, round((s + d) / step))):
            counts[k] += 1
    return sum(counts.values()) / len(counts)


def pitch_range(notes: Iterable[NoteLike]) -> int:
    """Highest minus lowest pitch, in semitones.

    >>> pitch_range([(0, 1, 55), (1, 1, 79), (2, 1, 60)])
    24
    """
    pitches = [p for _, _, p in _triples(notes)]
    return max(pitches) - min(pitches) if pitches else 0


# ------------------------------------------------------------------ four-part writing

SATB_RANGES = ((60, 81), (53, 74), (48, 69), (36, 62))


def _slices(voices: Sequence[Iterable[NoteLike]]) -> list[tuple[float, list[int]]]:
    """The sounding pitch of each voice (-1 for silence) at every onset of any voice."""
    triples = [_triples(v) for v in voices]
    times = sorted({s for v in triples for s, _, _ in v})
    out = []
    for t in times:
        row = []
        for v in triples:
            p = next((p for s, d, p in v if s <= t + 1e-9 < s + d), -1)
            row.append(p)
        out.append((t, row))
    return out


def voice_leading_violations(voices: Sequence[Iterable[NoteLike]],
                             ranges: Sequence[tuple[int, int]] = SATB_RANGES) -> dict[str, int]:
    """Counts of parallel fifths, parallel octaves (and unisons), voice crossings and notes out
    of range, for voices given from the top down. A parallel needs both voices to move between
    consecutive onsets and keep the same perfect interval (modulo the octave); a crossing is a
    lower voice above a higher one at an onset.

    >>> s = [(0, 1, 67), (1, 1, 69)]; a = [(0, 1, 64), (1, 1, 65)]
    >>> t = [(0, 1, 60), (1, 1, 62)]; b = [(0, 1, 48), (1, 1, 41)]
    >>> voice_leading_violations([s, a, t, b])
    {'parallel_fifths': 1, 'parallel_octaves': 0, 'crossings': 0, 'out_of_range': 0}
    >>> voice_leading_violations([[(0, 1, 60), (1, 1, 62)], [(0, 1, 48), (1, 1, 64)]], ranges=[(0, 127)] * 2)
    {'parallel_fifths': 0, 'parallel_octaves': 0, 'crossings': 1, 'out_of_range': 0}
    """
    slices = _slices(voices)
    fifths = octaves = crossings = 0
    for (_, prev), (_, cur) in itertools.pairwise(slices):
        for i in range(len(cur)):
            for j in range(i + 1, len(cur)):
                if min(prev[i], prev[j], cur[i], cur[j]) < 0 or prev[i] == cur[i] or prev[j] == cur[j]:
                    continue
                before, after = (prev[i] - prev[j]) % 12, (cur[i] - cur[j]) % 12
                if before == after == 7:
                    fifths += 1
                elif before == after == 0:
                    octaves += 1
    for _, row in slices:
        crossings += sum(1 for i in range(len(row) - 1) if row[i] >= 0 and row[i + 1] > row[i])
    out_of_range = sum(1 for v, (lo, hi) in zip(voices, ranges, strict=False)
                       for _, _, p in _triples(v) if not lo <= p <= hi)
    return {"parallel_fifths": fifths, "parallel_octaves": octaves, "crossings": crossings,
            "out_of_range": out_of_range}


# ------------------------------------------------------------------ whole scores


def melody_metrics(notes: Iterable[NoteLike], bar: float, beat: float, length: float | None = None
                   ) -> dict[str, float]:
    """The per-line metrics of one melody, rounded for reports."""
    triples = _triples(notes)
    return {
        "pitch_class_entropy": round(pitch_class_entropy(triples), 4),
        "scale_consistency": round(scale_consistency(triples), 4),
        "groove_consistency": round(groove_consistency(triples, bar), 4),
        "empty_beat_rate": round(empty_beat_rate(triples, beat, length), 4),
        "pitch_range": pitch_range(triples),
    }


def summary_metrics(score: Any) -> dict[str, Any]:
    """Metrics of a :class:`~museforge.music.score.Score`: the first track as the melody, the
    pitched tracks together for polyphony, and voice leading when there are four voices."""
    pitched = [t for t in score.tracks if t.channel != 9 and t.notes]
    if not pitched:
        return {}
    m = score.meter
    out: dict[str, Any] = melody_metrics(pitched[0].notes, m.bar_quarters, m.beat_quarters, score.quarters)
    out["polyphony"] = round(polyphony([n for t in pitched for n in t.notes]), 4)
    if len(pitched) == 4 and all("(choir)" in t.name for t in pitched):
        out["voice_leading"] = voice_leading_violations([t.notes for t in pitched])
    return out


def chorale_nll(model: Any, chorales: Sequence[dict]) -> dict[str, float]:
    """Mean negative log-likelihood (nats) per alto, tenor and bass token of whole chorales,
    given the soprano, on the sixteenth-note grid (see :mod:`museforge.music.data`); also per
    voice and over note onsets only. ``chorales`` are :func:`~museforge.music.data.load_chorales`
    items."""
    import numpy as np
    import torch
    from torch.nn import functional as F

    from museforge.music.data import PITCH0
    from museforge.music.harmonizer import MAX_POS, end_bucket

    was_training = model.training
    model.eval()
    total, count, onset_sum, onset_n = np.zeros(3), 0, 0.0, 0
    with torch.no_grad():
        for c in chorales:
            tok = torch.as_tensor(c["tokens"].astype(np.int64))
            steps = tok.shape[1]
            pos = torch.as_tensor(np.minimum(c["pos"], MAX_POS - 1).astype(np.int64))[None]
            end = torch.as_tensor(end_bucket(steps - 1 - np.arange(steps)))[None]
            atb = tok[1:].T[None]
            logits = model(tok[0][None], pos, end, atb)
            nll = F.cross_entropy(logits[0].reshape(-1, logits.shape[-1]), atb[0].reshape(-1),
                                  reduction="none").view(-1, 3)
            total += nll.sum(0).numpy()
            count += nll.shape[0]
            onsets = atb[0] >= PITCH0
            onset_sum += float(nll[onsets].sum())
            onset_n += int(onsets.sum())
    model.train(was_training)
    per = total / max(count, 1)
    return {"nll": float(per.mean()), "nll_alto": float(per[0]), "nll_tenor": float(per[1]),
            "nll_bass": float(per[2]), "nll_onsets": onset_sum / max(onset_n, 1), "tokens": int(count * 3)}
