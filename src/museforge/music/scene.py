"""Scene scores: a cue for a described scene, of an exact length, shaped as build-up, climax and
resolution (the ``scene-scorer`` engine).

The mood of the description picks key, instruments and a tempo. The tempo then moves with the
drama (:func:`tempo_shape`): steady through the build-up, pushing ahead in its last bars into a
climax about 6 % faster, back to the opening tempo for the resolution, which broadens in steps
over its last bars (a written-out ritardando, the final bar about 12 % slower). The whole tempo
map is scaled so that a whole number of bars lasts exactly the requested seconds, integrating
over every change (:func:`plan_tempo`). The three sections are composed by the rule composer at
rising, peak and falling energy (density, comping style, percussion), with a crescendo through
the build-up and a diminuendo through the resolution. Each section's melody is guarded against
8-interval runs of the training corpus, and so are the joins between them
(:mod:`museforge.music.guard`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from museforge.emotion import Emotion, art_direction
from museforge.engines import Artifact, Engine, Request, param
from museforge.errors import MuseforgeError
from museforge.music.compose import Form
from museforge.music.guard import compose_guarded, guard_score, melody_pitches, shipped_index
from museforge.music.render import RENDERERS
from museforge.music.score import (
    DRUM_CHANNEL,
    MAX_TEMPO,
    MIN_TEMPO,
    Note,
    Score,
    TempoMap,
    Track,
    quarter_tempo,
)
from museforge.music.theory import parse_key, parse_meter
from museforge.runtime import numpy_rng

MIN_SECONDS, MAX_SECONDS = 4.0, 600.0
SECTIONS = (("build-up", 0.4, -0.35, (0.7, 1.0)), ("climax", 0.35, 0.35, (1.05, 1.1)),
            ("resolution", 0.25, -0.6, (0.9, 0.6)))
"""Name, share of the bars, arousal shift and velocity scale at its start and end."""


def plan_bars(seconds: float, felt_bpm: float, meter_text: str) -> tuple[int, float]:
    """Bars and the exact steady quarter-note tempo that make ``seconds`` of music.

    >>> plan_bars(45, 120, "4/4")
    (22, 117.33333333333333)
    >>> bars, tempo = plan_bars(10, 60, "6/8"); bars * 3 * 60 / tempo
    10.0
    """
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:  # also refuses nan
        raise MuseforgeError(f"seconds must be {MIN_SECONDS:g}-{MAX_SECONDS:g}, got {seconds:g}")
    if not MIN_TEMPO <= felt_bpm <= MAX_TEMPO:
        raise MuseforgeError(f"tempo must be {MIN_TEMPO:g}-{MAX_TEMPO:g} beats a minute, got {felt_bpm:g}")
    meter = parse_meter(meter_text)
    q = quarter_tempo(felt_bpm, meter)
    bars = max(1, round(seconds * q / 60 / meter.bar_quarters))
    tempo = bars * meter.bar_quarters * 60 / seconds
    while tempo > 300 and bars > 1:
        bars -= 1
        tempo = bars * meter.bar_quarters * 60 / seconds
    while tempo < 20:
        bars += 1
        tempo = bars * meter.bar_quarters * 60 / seconds
    return bars, tempo


PUSH = (1.02, 1.04)
"""Tempo of the build-up's last bars, relative to the opening: the push into the climax."""
CLIMAX_TEMPO = 1.06
FINAL_TEMPO = 0.88
"""Tempo of the last bar; the resolution returns to the opening tempo, then its last (up to)
three bars slow to this in equal steps."""
RIT_BARS = 3


def tempo_shape(bars: int) -> list[float]:
    """Each bar's tempo relative to the opening tempo, following the sections of
    :func:`split_bars`.

    >>> tempo_shape(12)  # build-up 5, climax 4, resolution 3
    [1.0, 1.0, 1.0, 1.02, 1.04, 1.06, 1.06, 1.06, 1.06, 1.0, 0.94, 0.88]
    >>> tempo_shape(22)[-6:]  # the resolution's last three bars broaden in equal steps
    [1.06, 1.0, 1.0, 0.96, 0.92, 0.88]
    >>> tempo_shape(3)  # one section: only the final bar broadens
    [1.0, 1.0, 0.88]
    """
    sections = split_bars(bars)
    if len(sections) == 1:
        return [1.0] * (bars - 1) + [FINAL_TEMPO] if bars > 1 else [1.0]
    (_, build, _, _), (_, climax, _, _), (_, resolution, _, _) = sections
    push = PUSH[-min(len(PUSH), build - 1):] if build > 1 else ()
    rit = min(RIT_BARS, max(1, resolution - 1))  # a bar back at the opening tempo first
    steps = [round(1 - (1 - FINAL_TEMPO) * (k + 1) / rit, 6) for k in range(rit)]
    return ([1.0] * (build - len(push)) + list(push) + [CLIMAX_TEMPO] * climax
            + [1.0] * (resolution - rit) + steps)


def plan_tempo(seconds: float, felt_bpm: float, meter_text: str) -> tuple[int, TempoMap]:
    """Bars and a tempo map (quarter notes a minute) of the shape :func:`tempo_shape` that last
    exactly ``seconds``: the shape is scaled by the one factor that makes the time summed over
    every bar come out right, and bars are added or removed while a tempo would leave 20-300.

    >>> bars, tmap = plan_tempo(45, 120, "4/4"); bars, len(tmap)
    (22, 8)
    >>> from museforge.music.score import seconds_at
    >>> round(seconds_at(tmap, bars * 4.0), 9)
    45.0
    """
    meter = parse_meter(meter_text)
    bar = meter.bar_quarters
    bars, _ = plan_bars(seconds, felt_bpm, meter_text)
    for _ in range(1000):
        shape = tempo_shape(bars)
        base = sum(bar * 60 / r for r in shape) / seconds
        if base * max(shape) > MAX_TEMPO and bars > 1:
            bars -= 1
        elif base * min(shape) < MIN_TEMPO:
            bars += 1
        else:
            break
    tempo_map: list[tuple[float, float]] = []
    for i, r in enumerate(shape):
        if not tempo_map or tempo_map[-1][1] != base * r:
            tempo_map.append((i * bar, base * r))
    return bars, tuple(tempo_map)


def split_bars(bars: int) -> list[tuple[str, int, float, tuple[float, float]]]:
    """Bars per section; short cues get fewer sections.

    >>> [(n, b) for n, b, _, _ in split_bars(22)]
    [('build-up', 9), ('climax', 8), ('resolution', 5)]
    >>> [n for n, _, _, _ in split_bars(3)]
    ['climax']
    """
    if bars < 6:
        name, _, _shift, vel = SECTIONS[1]
        return [(name, bars, 0.0, vel)]
    build = round(bars * SECTIONS[0][1])
    climax = round(bars * SECTIONS[1][1])
    sizes = [build, climax, bars - build - climax]
    return [(name, n, shift, vel) for (name, _, shift, vel), n in zip(SECTIONS, sizes, strict=True)]


@dataclass(frozen=True)
class SceneParams:
    seconds: float = param(45.0, "length of the cue in seconds", range=(MIN_SECONDS, MAX_SECONDS))
    meter: str = param("4/4", "time signature such as 4/4 or 6/8")
    key: str = param("", "key such as 'E minor'; empty: the mood's")
    renderer: str = param("auto", "audio renderer: auto (FluidSynth when installed, else built in), "
                          "fluidsynth or builtin", choices=RENDERERS)


class SceneScorer(Engine):
    name = "scene-scorer"
    modality = "music"
    version = "2"
    description = "a cue of exact length for a scene: build-up, climax and resolution by rule"
    Params = SceneParams
    priority = 0

    @classmethod
    def check(cls, params: SceneParams) -> None:
        parse_meter(params.meter)
        if params.key.strip():
            parse_key(params.key)

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        from museforge.music.engine import score_artifact

        p: SceneParams = request.params
        if not MIN_SECONDS <= p.seconds <= MAX_SECONDS:
            raise MuseforgeError(f"seconds must be {MIN_SECONDS:g}-{MAX_SECONDS:g}, got {p.seconds:g}")
        meter = parse_meter(p.meter)
        emotion = request.emotion
        direction = art_direction(emotion)
        key = parse_key(p.key, default_mode=direction.mode) if p.key.strip() else parse_key(
            f"{direction.tonic} {direction.mode}")
        bars, tempo_map = plan_tempo(p.seconds, direction.tempo, p.meter)
        rng = numpy_rng(generator)
        index = shipped_index()
        tracks: dict[str, Track] = {}
        chords, sections, t0 = [], [], 0.0
        blocked = repaired = 0
        for name, n_bars, shift, (v0, v1) in split_bars(bars):
            arousal = max(-1.0, min(1.0, emotion.arousal + shift))
            section_dir = art_direction(Emotion(emotion.label, emotion.valence, arousal))
            part, report = compose_guarded(section_dir, rng, Form(n_bars, meter), index, key=key,
                                           bpm=direction.tempo, mood=emotion.label,
                                           percussion=(name == "climax" and arousal > 0.2) or None)
            blocked += report["blocked"]
            repaired += report["repaired"]
            span = part.quarters
            for track in part.tracks:
                into = tracks.setdefault(track.name, Track(track.name, track.program, track.channel, []))
                for note in track.notes:
                    frac = note.start / span
                    scale = v0 + (v1 - v0) * frac
                    into.notes.append(Note(note.start + t0, note.duration, note.pitch,
                                           max(1, min(127, round(note.velocity * scale)))))
            chords += [(s + t0, d, c) for s, d, c in part.chords]
            sections.append((name, n_bars))
            t0 += span
        order = sorted(tracks.values(), key=lambda t: (t.channel == DRUM_CHANNEL, t.channel))
        score = Score(order, tempo_map[0][1], meter, key, bars, "-".join(n for n, _ in sections), chords,
                      tempo_changes=tempo_map[1:])
        originality: dict[str, int | bool | None] = {"blocked": blocked, "repaired": repaired,
                                                     "reproduces": None}
        if index is not None:  # runs across the joins between sections
            score, moved = guard_score(score, index)
            originality |= {"repaired": repaired + moved,
                            "reproduces": index.reproduces(melody_pitches(score))}
        extra = {"requested_seconds": p.seconds, "sections": sections,
                 "arc": [name for name, _ in sections], "originality": originality}
        return score_artifact(score, request, p.renderer, extra)
