"""Scene scores: a cue for a described scene, of an exact length, shaped as build-up, climax and
resolution (the ``scene-scorer`` engine).

The mood of the description picks key, instruments and a tempo; the tempo is then nudged so
that a whole number of bars lasts exactly the requested seconds. The three sections are
composed by the rule composer at rising, peak and falling energy (density, comping style,
percussion), with a crescendo through the build-up and a diminuendo through the resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from museforge.emotion import Emotion, art_direction
from museforge.engines import Artifact, Engine, Request
from museforge.errors import MuseforgeError
from museforge.music.compose import DRUM_CHANNEL, Form, Note, Score, Track, compose, quarter_tempo
from museforge.music.theory import parse_key, parse_meter
from museforge.runtime import numpy_rng

MIN_SECONDS, MAX_SECONDS = 4.0, 600.0
SECTIONS = (("build-up", 0.4, -0.35, (0.7, 1.0)), ("climax", 0.35, 0.35, (1.05, 1.1)),
            ("resolution", 0.25, -0.6, (0.9, 0.6)))
"""Name, share of the bars, arousal shift and velocity scale at its start and end."""


def plan_bars(seconds: float, felt_bpm: float, meter_text: str) -> tuple[int, float]:
    """Bars and the exact quarter-note tempo that make ``seconds`` of music.

    >>> plan_bars(45, 120, "4/4")
    (22, 117.33333333333333)
    >>> bars, tempo = plan_bars(10, 60, "6/8"); bars * 3 * 60 / tempo
    10.0
    """
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
    seconds: float = field(default=45.0, metadata={"help": "length of the cue in seconds, 4-600"})
    meter: str = field(default="4/4", metadata={"help": "time signature such as 4/4 or 6/8"})
    key: str = field(default="", metadata={"help": "key such as 'E minor'; empty: the mood's"})
    renderer: str = field(default="auto", metadata={"help": "auto, fluidsynth or builtin"})


class SceneScorer(Engine):
    name = "scene-scorer"
    modality = "music"
    version = "1"
    description = "a cue of exact length for a scene: build-up, climax and resolution by rule"
    Params = SceneParams
    priority = 0

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
        bars, tempo = plan_bars(p.seconds, direction.tempo, p.meter)
        rng = numpy_rng(generator)
        tracks: dict[str, Track] = {}
        chords, sections, t0 = [], [], 0.0
        for name, n_bars, shift, (v0, v1) in split_bars(bars):
            arousal = max(-1.0, min(1.0, emotion.arousal + shift))
            section_dir = art_direction(Emotion(emotion.label, emotion.valence, arousal))
            part = compose(section_dir, rng, Form(n_bars, meter), key=key, bpm=direction.tempo,
                           mood=emotion.label, percussion=(name == "climax" and arousal > 0.2) or None)
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
        score = Score(order, tempo, meter, key, bars, "-".join(n for n, _ in sections), chords)
        extra = {"requested_seconds": p.seconds, "sections": sections,
                 "arc": [name for name, _ in sections]}
        return score_artifact(score, request, p.renderer, extra)
