"""A deterministic rule-based composer: art direction + form -> a multi-track Score.

How a piece is made:

1. **Form.** The bars are cut into phrases of four bars (``plan_phrases``) labelled AABA (or
   ABAC for a double period). Every phrase ends with a cadence: inner phrases with a half
   cadence (on V) or an imperfect authentic one (V-I, melody on the third); the last phrase
   with a perfect authentic cadence (V7-I, melody on the tonic).
2. **Harmony.** One chord a bar (two in the bar before a cadence), drawn from chords typical
   of the mode (dorian's IV, mixolydian's VII, ...); repeated A phrases keep their chords.
3. **Melody.** One motif (a one-bar rhythm whose density follows the direction, plus a contour
   of mostly steps) is stated, sequenced a step away, varied (inverted, fragmented, rhythm
   split or merged) and led by step into the cadence goal. Strong beats take chord tones,
   leaps are resolved by a step the other way, and the piece ends on the tonic.
4. **Accompaniment.** A chord track (sustained pad, broken chords or rhythmic comping as the
   energy rises), a bass line, and light percussion for aroused moods.

All randomness comes from the numpy Generator passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np

from museforge.emotion.mapping import ArtDirection
from museforge.emotion.moods import MOODS_TABLE, mode_mood
from museforge.errors import MuseforgeError
from museforge.music.instruments import RANGES, fit_octave, fold_into, instrument_range
from museforge.music.score import DRUM_CHANNEL, Note, Score, Track, quarter_tempo
from museforge.music.theory import (
    Chord,
    Key,
    Meter,
    cadence,
    parse_key,
    roman_chord,
)

FORMS = ("aaba", "period")

# A mood's instruments (melody, chords, bass) are its MoodSpec.instruments in MOODS_TABLE; a
# piece in a bare key borrows those of the first mood in the key's mode (mode_mood).

# Chords a phrase may wander through, per mode, most characteristic first.
CHORD_POOLS: dict[str, tuple[str, ...]] = {
    "major": ("vi", "IV", "ii", "iii"),
    "minor": ("VI", "iv", "III", "VII"),
    "dorian": ("IV", "ii", "VII", "III"),
    "phrygian": ("II", "iv", "VII", "VI"),
    "lydian": ("II", "vi", "iii", "V"),
    "mixolydian": ("VII", "IV", "v", "ii"),
}

DRUM_KICK, DRUM_SIDESTICK, DRUM_SNARE, DRUM_HAT, DRUM_CRASH = 36, 37, 38, 42, 49
DEGREE_RANGE = (-3, 9)
"""Melody range in scale degrees around the melody's tonic (a fifth below to a tenth above)."""
MELODY_REACH = (DEGREE_RANGE[0], DEGREE_RANGE[1] + 1)
"""Every degree a melody can take: a cadence may be approached from one step above the range."""


@dataclass(frozen=True)
class Form:
    """The shape of a piece: length, meter and phrase structure (``aaba`` or ``period``)."""

    bars: int = 16
    meter: Meter = field(default_factory=lambda: Meter(4, 4))
    structure: str = "aaba"


@dataclass(frozen=True)
class Phrase:
    label: str
    start_bar: int
    bars: int
    cadence: str  # "half" | "imperfect" | "authentic"


def plan_phrases(bars: int, structure: str = "aaba") -> list[Phrase]:
    """Cut ``bars`` into four-bar phrases with labels and cadences.

    >>> [(p.label, p.bars, p.cadence) for p in plan_phrases(16)]
    [('A', 4, 'half'), ('A', 4, 'imperfect'), ('B', 4, 'half'), ('A', 4, 'authentic')]
    >>> [(p.label, p.cadence) for p in plan_phrases(8, "period")]
    [('A', 'half'), ('A', 'authentic')]
    >>> [p.bars for p in plan_phrases(10)], [p.bars for p in plan_phrases(3)]
    ([4, 6], [3])
    """
    if structure not in FORMS:
        raise MuseforgeError(f"unknown form {structure!r}; choose one of: {', '.join(FORMS)}")
    lengths = [4] * (bars // 4)
    rem = bars % 4
    if rem >= 3 or not lengths:
        lengths.append(rem)
    elif rem:
        lengths[-1] += rem
    n = len(lengths)
    if n <= 2:
        labels = ["A"] * n
        cadences = ["half", "authentic"][-n:] if n == 2 else ["authentic"]
    elif n == 3:
        labels, cadences = ["A", "B", "A"], ["half", "half", "authentic"]
    else:
        pattern = ("A", "A", "B", "A") if structure == "aaba" else ("A", "B", "A", "C")
        kinds = (("half", "imperfect", "half", "authentic") if structure == "aaba"
                 else ("imperfect", "half", "imperfect", "authentic"))
        labels = [pattern[i % 4] for i in range(n)]
        cadences = [kinds[i % 4] for i in range(n)]
        cadences[-1] = "authentic"
    out, start = [], 0
    for label, length, kind in zip(labels, lengths, cadences, strict=True):
        out.append(Phrase(label, start, length, kind))
        start += length
    return out


def energy_of(direction: ArtDirection) -> float:
    """Arousal in [0, 1], recovered from the direction's melodic density (``0.75 + 1.5 a``)."""
    return float(np.clip((direction.density - 0.75) / 1.5, 0.0, 1.0))


# --- harmony -------------------------------------------------------------------------------

Harmony = list[tuple[float, float, Chord]]


def _split_point(meter: Meter) -> float | None:
    """Where the bar before a cadence changes chord, in quarters from the bar line."""
    if len(meter.strong_beats) > 1:
        return meter.strong_beats[1]
    if meter.beats >= 2:
        return meter.beat_quarters * ((meter.beats + 1) // 2)
    return None


def phrase_harmony(key: Key, meter: Meter, phrase: Phrase, body: list[str]) -> list[list[str]]:
    """Roman numerals for each bar of a phrase: its body chords, then the cadence."""
    tonic = cadence(key, "authentic")[1]
    predominant = cadence(key, "half")[0]
    split = _split_point(meter) is not None
    bars: list[list[str]] = [[n] for n in body]
    if phrase.cadence == "half":
        last = body[-1] if body else tonic
        lead = next((c for c in CHORD_POOLS[key.mode] if c not in (last, predominant)), tonic)
        tail = [[lead, predominant] if split else [predominant], ["V"]]
    else:
        tail = [[predominant, "V7"] if split else ["V7"], [tonic]]
    if phrase.bars == 1:
        tail = [["V7", tonic] if phrase.cadence != "half" else [predominant, "V"]] if split else [
            [tonic if phrase.cadence != "half" else "V"]]
    return (bars + tail)[-phrase.bars:] if phrase.bars >= 2 else tail


def body_chords(key: Key, phrase: Phrase, rng: np.random.Generator) -> list[str]:
    """Chords of the bars before the cadence: the tonic (or a contrast chord for B), then
    chords of the mode's pool without immediate repeats."""
    pool = CHORD_POOLS[key.mode]
    tonic = cadence(key, "authentic")[1]
    n = max(phrase.bars - 2, 0)
    chords: list[str] = []
    for i in range(n):
        if i == 0:
            chords.append(tonic if phrase.label == "A" else str(rng.choice(pool[:2])))
            continue
        options = [c for c in pool if c != chords[-1]]
        weights = np.array([1.0 / (1 + j) for j in range(len(options))])
        chords.append(str(rng.choice(options, p=weights / weights.sum())))
    return chords


# --- melody --------------------------------------------------------------------------------


def rhythm_cells(meter: Meter) -> dict[int, list[tuple[float, ...]]]:
    """Ways to fill one beat with 1-4 notes, as fractions of the beat."""
    if meter.compound:
        return {1: [(1.0,)], 2: [(2 / 3, 1 / 3)], 3: [(1 / 3,) * 3, (0.5, 1 / 6, 1 / 3)]}
    return {1: [(1.0,)], 2: [(0.5, 0.5), (0.75, 0.25)], 3: [(0.5, 0.25, 0.25), (0.25, 0.25, 0.5)],
            4: [(0.25,) * 4]}


def make_rhythm(meter: Meter, density: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    """One bar of ``(offset, duration)`` pairs averaging about ``density`` notes a beat."""
    cells = rhythm_cells(meter)
    counts = np.array(sorted(cells), dtype=float)
    beat = meter.beat_quarters
    out: list[tuple[float, float]] = []
    i = 0
    while i < meter.beats:
        # a note held over two beats counts as half a note a beat
        if i + 1 < meter.beats and rng.random() < max(0.0, 0.45 - 0.35 * density):
            out.append((i * beat, 2 * beat))
            i += 2
            continue
        w = np.exp(-((counts - density) ** 2) / 0.6)
        k = int(rng.choice(counts, p=w / w.sum()))
        options = cells[k]
        cell = options[int(rng.integers(len(options)))]
        t = i * beat
        for frac in cell:
            out.append((t, frac * beat))
            t += frac * beat
        i += 1
    return [(_q(a), _q(b)) for a, b in out]


def _q(x: float) -> float:
    """Round to the MIDI tick grid (1/480 of a quarter) so times survive a round trip."""
    return round(x * 480) / 480


def vary_rhythm(rhythm: list[tuple[float, float]], rng: np.random.Generator) -> list[tuple[float, float]]:
    """Split the longest note in two, or merge the two shortest neighbours."""
    r = list(rhythm)
    if len(r) >= 3 and rng.random() < 0.5:
        i = min(range(len(r) - 1), key=lambda j: (r[j][1] + r[j + 1][1], j))
        r[i : i + 2] = [(r[i][0], r[i][1] + r[i + 1][1])]
    else:
        i = max(range(len(r)), key=lambda j: (r[j][1], -j))
        half = _q(r[i][1] / 2)
        r[i : i + 1] = [(r[i][0], half), (_q(r[i][0] + half), _q(r[i][1] - half))]
    return r


def make_contour(n: int, rng: np.random.Generator) -> list[int]:
    """Scale-step moves between ``n`` notes: mostly steps, some skips, leaps resolved by step."""
    moves = np.array([-1, 1, -2, 2, -3, 3, -4, 4, 0])
    probs = np.array([0.3, 0.3, 0.1, 0.1, 0.04, 0.05, 0.02, 0.03, 0.06])
    contour = [0]
    for _ in range(1, n):
        last = contour[-1]
        if abs(last) >= 3:
            contour.append(-int(np.sign(last)))
        else:
            contour.append(int(rng.choice(moves, p=probs)))
    return contour


@dataclass
class Motif:
    rhythm: list[tuple[float, float]]
    contour: list[int]


class MelodyWriter:
    """Realises contours over chords, keeping strong beats on chord tones and leaps resolved."""

    def __init__(self, key: Key, meter: Meter, tonic_pitch: int, rng: np.random.Generator):
        self.key, self.meter, self.tonic_pitch, self.rng = key, meter, tonic_pitch, rng
        self.prev: int | None = None
        self.resolve = 0  # direction the next note must step after a leap

    def pitch(self, degree: int, chord: Chord) -> int:
        """The pitch of a degree, raised or lowered to a chromatic chord tone next to it."""
        p = self.key.degree_pitch(degree, self.tonic_pitch)
        pcs = chord.pitch_classes
        scale = {(self.key.tonic + i) % 12 for i in self.key.intervals}
        if p % 12 not in pcs:
            for d in (1, -1):
                if (p + d) % 12 in pcs and (p + d) % 12 not in scale:
                    return p + d
        return p

    def is_chord_tone(self, degree: int, chord: Chord) -> bool:
        return self.pitch(degree, chord) % 12 in chord.pitch_classes

    def nearest_chord_tone(self, target: int, chord: Chord, direction: int,
                           avoid: int | None = None) -> int:
        """The chord tone nearest ``target``, ties toward ``direction``, not ``avoid`` if a
        third or less away there is another."""
        lo, hi = DEGREE_RANGE
        order = (direction or 1, -(direction or 1))
        found = [target + sign * dist for dist in range(0, 8) for sign in order
                 if lo <= target + sign * dist <= hi and self.is_chord_tone(target + sign * dist, chord)]
        if not found:
            return target
        if found[0] == avoid and len(found) > 1 and abs(found[1] - target) <= 2:
            return found[1]
        return found[0]

    def realise(
        self,
        bar_start: float,
        rhythm: list[tuple[float, float]],
        contour: list[int],
        chord_at: Callable[[float], Chord],
        start: int | None = None,
    ) -> list[tuple[float, float, int]]:
        """Degrees for one bar: ``(start, duration, degree)``."""
        lo, hi = DEGREE_RANGE
        strong = set(self.meter.strong_beats)
        out = []
        for i, (off, dur) in enumerate(rhythm):
            chord = chord_at(bar_start + off)
            prev = self.prev
            if prev is None:
                target = start if start is not None else 2
            elif i == 0 and start is not None:
                target = start
            else:
                target = prev + contour[i % len(contour)]
            if prev is not None and self.resolve:
                target = prev + self.resolve
            if not lo <= target <= hi and prev is not None:
                target = prev - (target - prev)
            target = int(np.clip(target, lo, hi))
            direction = int(np.sign(target - prev)) if prev is not None else 0
            on_beat = abs(off / self.meter.beat_quarters - round(off / self.meter.beat_quarters)) < 1e-9
            if off in strong:
                if self.resolve and prev is not None:
                    # resolve in the promised direction onto a chord tone within a third
                    for cand in (prev + self.resolve, prev + 2 * self.resolve):
                        if lo <= cand <= hi and self.is_chord_tone(cand, chord):
                            target = cand
                            break
                    else:
                        target = self.nearest_chord_tone(prev + self.resolve, chord, self.resolve)
                else:
                    target = self.nearest_chord_tone(target, chord, direction, avoid=prev)
            elif on_beat and not self.is_chord_tone(target, chord) and self.rng.random() < 0.6:
                for cand in (target + (direction or 1), target - (direction or 1)):
                    if lo <= cand <= hi and cand != prev and self.is_chord_tone(cand, chord):
                        target = cand
                        break
            if prev is not None and off not in strong:
                semis = abs(self.pitch(target, chord) - self.pitch(prev, chord))
                if semis == 6 or (abs(target - prev) == 1 and semis == 3):  # tritone, aug. second
                    alt = prev - int(np.sign(target - prev))
                    target = alt if lo <= alt <= hi else prev
            move = target - prev if prev is not None else 0
            self.resolve = -int(np.sign(move)) if abs(move) >= 3 else 0
            self.prev = target
            out.append((bar_start + off, dur, target))
        return out


def _goal(kind: str, prev: int) -> list[int]:
    """Cadence goal degrees, best first."""
    if kind == "authentic":
        return sorted((0, 7), key=lambda d: abs(d - prev))
    if kind == "imperfect":
        return sorted((2, 4), key=lambda d: abs(d - prev))
    return sorted((1, 4, -1, 6, 8), key=lambda d: (abs(d - prev), d not in (1, 4)))


# --- the composer --------------------------------------------------------------------------


def compose(
    direction: ArtDirection,
    rng: np.random.Generator,
    form: Form = Form(),
    key: Key | None = None,
    bpm: float | None = None,
    mood: str | None = None,
    percussion: bool | None = None,
) -> Score:
    """Compose a piece. ``key`` defaults to the direction's tonic and mode, ``bpm`` (felt beats
    a minute) to its tempo, ``mood`` picks the instruments, and percussion plays when the
    energy is high unless ``percussion`` says otherwise."""
    key = key or parse_key(f"{direction.tonic} {direction.mode}")
    meter = form.meter
    bar = meter.bar_quarters
    energy = energy_of(direction)
    bpm = float(bpm or direction.tempo)
    phrases = plan_phrases(form.bars, form.structure)

    # harmony: same body chords for every A phrase
    bodies: dict[str, list[str]] = {}
    stale: set[str] = set()
    renewed: list[bool] = []
    harmony: Harmony = []
    split = _split_point(meter)
    for ph in phrases:
        if ph.label not in bodies or len(bodies[ph.label]) < ph.bars - 2:
            bodies[ph.label] = body_chords(key, ph, rng)
            stale.add(ph.label)
        renewed.append(ph.label in stale)
        stale.discard(ph.label)
        numerals = phrase_harmony(key, meter, ph, bodies[ph.label][: max(ph.bars - 2, 0)])
        for j, bar_chords in enumerate(numerals):
            t0 = (ph.start_bar + j) * bar
            if len(bar_chords) == 2 and split is not None:
                harmony.append((t0, split, roman_chord(key, bar_chords[0])))
                harmony.append((t0 + split, bar - split, roman_chord(key, bar_chords[1])))
            else:
                harmony.append((t0, bar, roman_chord(key, bar_chords[0])))
    starts = [h[0] for h in harmony]

    def chord_at(t: float) -> Chord:
        i = int(np.searchsorted(starts, t + 1e-9, side="right")) - 1
        return harmony[max(i, 0)][2]

    # melody
    mood = mood if mood in MOODS_TABLE else mode_mood(key.mode)
    (mname, mprog), (cname, cprog), (bname, bprog) = MOODS_TABLE[mood].instruments
    register = direction.register
    tonic_pitch = min((register - 4 + d for d in range(-6, 7) if (register - 4 + d) % 12 == key.tonic),
                      key=lambda p: abs(p - (register - 4)))
    scale = {(key.tonic + i) % 12 for i in key.intervals}
    chromatic = {pc for _, _, chord in harmony for pc in chord.pitch_classes} - scale
    tonic_pitch = melody_tonic(key, tonic_pitch, RANGES[mprog], chromatic)
    writer = MelodyWriter(key, meter, tonic_pitch, rng)
    density = direction.density
    motifs: dict[str, Motif] = {}
    bar_cache: dict[tuple[str, int], list[tuple[float, float, int]]] = {}
    degrees: list[tuple[float, float, int]] = []
    seq_step = int(rng.choice([-1, 1, 2, -2], p=[0.35, 0.35, 0.15, 0.15]))
    for ph, fresh_chords in zip(phrases, renewed, strict=True):
        if fresh_chords:
            bar_cache = {k: v for k, v in bar_cache.items() if k[0] != ph.label}
        if ph.label not in motifs:
            d = density * (0.75 if ph.label == "B" else 1.0)
            rhythm = make_rhythm(meter, d, rng)
            motifs[ph.label] = Motif(rhythm, make_contour(len(rhythm), rng))
        motif = motifs[ph.label]
        motif_start: int | None = None
        for j in range(ph.bars):
            b = ph.start_bar + j
            t0 = b * bar
            last_bar = j == ph.bars - 1
            penult = j == ph.bars - 2
            cached = bar_cache.get((ph.label, j))
            if cached is not None and not (last_bar or penult):
                notes = [(t0 + off, du, dg) for off, du, dg in cached]
                degrees.extend(notes)
                writer.prev, writer.resolve = notes[-1][2], 0
                continue
            if last_bar:
                prev = writer.prev if writer.prev is not None else 2
                goal = _goal(ph.cadence, prev)[0]
                final = ph is phrases[-1]
                hold = bar if final or meter.beats < 3 else bar - meter.beat_quarters
                goal_at = max(h[0] for h in harmony if h[0] <= t0 + bar - 1e-9)
                if goal_at > t0 + 1e-9:  # a one-bar phrase: step into the goal at its chord
                    options = [d for d in (goal + 1, goal - 1, goal + 2, goal - 2)
                               if writer.is_chord_tone(d, chord_at(t0))] or [goal + 1]
                    degrees.append((t0, goal_at - t0, min(options, key=lambda d: abs(d - goal))))
                degrees.append((goal_at, hold - (goal_at - t0), goal))
                writer.prev, writer.resolve = goal, 0
                continue
            if j == 0:
                start_options = [d for d in (2, 4, 0, 7, 5, 1, 3, 6, 8)
                                 if writer.is_chord_tone(d, chord_at(t0))] or [2]
                if ph.label != "A":  # contrast: start high
                    start_options = sorted(start_options, key=lambda d: -d)
                motif_start = start_options[0]
                notes = writer.realise(t0, motif.rhythm, motif.contour, chord_at, motif_start)
            elif j == 1 and not penult:
                start = (motif_start if motif_start is not None else 2) + seq_step
                prev_deg = writer.prev if writer.prev is not None else start
                lo, hi = DEGREE_RANGE
                start = min((c for c in (start - 7, start, start + 7) if lo <= c <= hi),
                            key=lambda c: abs(c - prev_deg))
                start = writer.nearest_chord_tone(start, chord_at(t0), int(np.sign(seq_step)))
                notes = writer.realise(t0, motif.rhythm, motif.contour, chord_at, start)
            else:
                op = rng.integers(3)
                if op == 0:
                    rhythm, contour = motif.rhythm, [-c for c in motif.contour]
                elif op == 1:
                    half = max(1, len(motif.contour) // 2)
                    contour = (motif.contour[:half] * 2 + motif.contour)[: len(motif.rhythm)]
                    rhythm = motif.rhythm
                else:
                    rhythm = vary_rhythm(motif.rhythm, rng)
                    contour = make_contour(len(rhythm), rng)
                notes = writer.realise(t0, rhythm, contour, chord_at)
            if penult:
                # lead by step into the cadence goal
                s, du, dg = notes[-1]
                prev_deg = notes[-2][2] if len(notes) > 1 else dg
                goal = _goal(ph.cadence, prev_deg)[0]
                options = [goal + 1, goal - 1]
                if s % bar in meter.strong_beats:  # a downbeat must still be a chord tone
                    options = [d for d in (goal + 1, goal - 1, goal + 2, goal - 2)
                               if writer.is_chord_tone(d, chord_at(s))] or options
                approach = min(options, key=lambda d: (abs(d - goal), abs(d - prev_deg), d))
                notes[-1] = (s, du, approach)
                writer.prev, writer.resolve = approach, 0
            if j < 2 and not penult:
                bar_cache.setdefault((ph.label, j), [(st - t0, du, dg) for st, du, dg in notes])
            degrees.extend(notes)

    vel = direction.velocity
    melody_notes: list[Note] = []
    for i, (s, du, dg) in enumerate(degrees):
        pos = (s % bar)
        accent = 8 if pos == 0 else (4 if pos in meter.strong_beats else 0)
        legato = 1.0 if energy < 0.6 or i == len(degrees) - 1 else 0.9
        melody_notes.append(Note(_q(s), _q(du * legato if du > 0.25 else du),
                                 writer.pitch(dg, chord_at(s)), _vel(vel + 4 + accent)))

    tracks = [Track(f"melody ({mname})", mprog, 0, melody_notes),
              Track(f"chords ({cname})", cprog, 1,
                    chord_track(harmony, meter, register, vel, energy, RANGES[cprog])),
              Track(f"bass ({bname})", bprog, 2, bass_track(harmony, meter, vel, energy, RANGES[bprog]))]
    if percussion if percussion is not None else energy >= 0.65:
        tracks.append(Track("percussion", 0, DRUM_CHANNEL,
                            drum_track(form.bars, meter, phrases, vel, energy)))
    # placed in range above; folding by octaves is only the last resort of an instrument too narrow
    tracks = [Track(t.name, t.program, t.channel, fold_into(t.notes, instrument_range(t))) for t in tracks]
    return Score(tracks, quarter_tempo(bpm, meter), meter, key, form.bars,
                 "".join(p.label for p in phrases),
                 [(_q(s), _q(d), c.numeral) for s, d, c in harmony])


def _vel(v: float) -> int:
    return int(np.clip(round(v), 1, 127))


def voicing(chord: Chord, previous: list[int] | None, low: int, high: int) -> list[int]:
    """Close-position voicing within ``[low, high]`` moving least from the previous one."""
    pcs = list(chord.pitch_classes)
    candidates = []
    for inv in range(len(pcs)):
        order = pcs[inv:] + pcs[:inv]
        for base in range(low, high + 1):
            if base % 12 != order[0]:
                continue
            notes = [base]
            for pc in order[1:]:
                notes.append(notes[-1] + (pc - notes[-1]) % 12)
            if notes[-1] <= high:
                candidates.append(notes)
    if not candidates:
        return chord.pitches(low)
    centre = (low + high) / 2
    if previous is None:
        return min(candidates, key=lambda v: (abs(np.mean(v) - centre), v))
    return min(candidates, key=lambda v: (sum(abs(a - b) for a, b in zip(sorted(v), sorted(previous),
                                                                       strict=False)), v))


def melody_tonic(key: Key, tonic_pitch: int, span: tuple[int, int], chromatic: Collection[int] = ()) -> int:
    """The melody's tonic pitch moved by octaves, if need be, so that every pitch the melody
    can reach lies in the instrument's ``span``: the degrees of :data:`MELODY_REACH`, and a
    semitone beside them where that is one of the ``chromatic`` pitch classes (chord tones
    outside the scale, such as minor's raised leading tone, which :meth:`MelodyWriter.pitch`
    may take). Unchanged when it already fits, or when no octave does.

    >>> melody_tonic(Key("E", "minor"), 52, (55, 105), {3})  # a violin: E3 -> E4
    64
    >>> melody_tonic(Key("C", "major"), 60, (60, 96))  # a flute: G3 is out of reach, C5 it is
    72
    >>> melody_tonic(Key("F", "major"), 65, (60, 96))  # C4 to Bb5 fits: F4 stays
    65
    """
    pitches = [key.degree_pitch(d, tonic_pitch) for d in range(MELODY_REACH[0], MELODY_REACH[1] + 1)]
    pcs = set(chromatic)
    reach = [q for p in pitches for q in (p - 1, p, p + 1) if q == p or q % 12 in pcs]
    low, high = min(reach), max(reach)
    shift = fit_octave(low, high, span, (low + high) / 2)
    return tonic_pitch + (shift or 0)


def chord_track(harmony: Harmony, meter: Meter, register: int, vel: int, energy: float,
                span: tuple[int, int] = (0, 127)) -> list[Note]:
    """Sustained pad (calm), broken chords (moderate) or rhythmic comping (excited), voiced
    below the melody's register (moved by octaves into the instrument's ``span`` if need be)."""
    low, high = max(45, register - 13), register + 4
    shift = fit_octave(low, high, span, (low + high) / 2)
    low, high = (low + shift, high + shift) if shift is not None else span
    notes: list[Note] = []
    prev: list[int] | None = None
    beat = meter.beat_quarters
    v = vel - 14
    for s, d, chord in harmony:
        voice = voicing(chord, prev, low, high)
        prev = voice
        if energy < 0.35:
            notes += [Note(_q(s), _q(d), p, _vel(v)) for p in voice]
        elif energy < 0.65:
            sub = beat / 3 if meter.compound else beat / 2
            pattern = [voice[0], voice[-1], voice[1], voice[-1]]
            t, k = s, 0
            while t < s + d - 1e-9:
                length = min(sub, s + d - t)
                notes.append(Note(_q(t), _q(length), pattern[k % 4], _vel(v - 4 + (6 if k == 0 else 0))))
                t += sub
                k += 1
        else:
            t = s
            while t < s + d - 1e-9:
                length = min(beat, s + d - t)
                accent = 8 if abs(t - s) < 1e-9 else 0
                notes += [Note(_q(t), _q(length * 0.6), p, _vel(v + accent)) for p in voice]
                t += beat
    return notes


def bass_track(harmony: Harmony, meter: Meter, vel: int, energy: float,
               span: tuple[int, int] = (0, 127)) -> list[Note]:
    """Roots held (calm), root and fifth (moderate) or a driving pulse (excited). Roots lie in
    the octave from G#1 up, or from the instrument's lowest note where that is higher (a
    cello's C2); the fifth and the octave leap stay below its highest."""
    notes: list[Note] = []
    beat = meter.beat_quarters
    v = vel - 6
    floor = max(32, span[0])
    for s, d, chord in harmony:
        root = floor + (chord.root - floor) % 12
        fifth = root + 7 if root + 7 <= span[1] else root - 5
        octave = root + 12 if root + 12 <= span[1] else root
        if energy < 0.35 or d <= beat:
            notes.append(Note(_q(s), _q(d), root, _vel(v)))
        elif energy < 0.65:
            half = _q(beat * ((d / beat + 1) // 2))
            notes.append(Note(_q(s), half, root, _vel(v + 4)))
            notes.append(Note(_q(s + half), _q(d - half), fifth, _vel(v)))
        else:
            sub = beat / 3 if meter.compound else beat / 2
            t, k = s, 0
            while t < s + d - 1e-9:
                pitch = octave if k % 4 == 3 else root
                length = _q(min(sub, s + d - t) * 0.85)
                notes.append(Note(_q(t), length, pitch, _vel(v + (6 if k == 0 else 0))))
                t += sub
                k += 1
    return notes


def drum_track(bars: int, meter: Meter, phrases: list[Phrase], vel: int, energy: float) -> list[Note]:
    """Kick on strong beats, side stick or snare on the off beats, hi-hat subdivisions."""
    notes: list[Note] = []
    beat = meter.beat_quarters
    sub = beat / 3 if meter.compound else beat / 2
    v = vel - 12
    phrase_starts = {p.start_bar for p in phrases}
    backbeat = DRUM_SNARE if energy >= 0.8 else DRUM_SIDESTICK
    for b in range(bars):
        t0 = b * meter.bar_quarters
        if b == bars - 1:
            notes += [Note(_q(t0), 1.0, DRUM_CRASH, _vel(v + 6)), Note(_q(t0), 0.5, DRUM_KICK, _vel(v + 6))]
            continue
        if b in phrase_starts and b > 0:
            notes.append(Note(_q(t0), 1.0, DRUM_CRASH, _vel(v)))
        for i in range(meter.beats):
            t = t0 + i * beat
            if i * beat in meter.strong_beats:
                notes.append(Note(_q(t), _q(sub), DRUM_KICK, _vel(v + 6)))
            elif i % 2 == 1:
                notes.append(Note(_q(t), _q(sub), backbeat, _vel(v)))
            k = 0
            while k * sub < beat - 1e-9:
                hat_vel = _vel(v - 10 + (6 if k == 0 else 0))
                notes.append(Note(_q(t + k * sub), _q(sub / 2), DRUM_HAT, hat_vel))
                k += 1
    return notes
