"""The ``learned-composer`` engine: the shipped models write the music, the rules only start it.

The rule composer chooses key, meter and tempo from the mood and writes a two-bar opening (its
melody guarded); the folk-melody model continues it to the requested length, never sampling a
pitch that would complete 8 consecutive intervals of a training tune (drawn again, then
repaired, if the forced final tonic does; :mod:`museforge.music.guard`), and the chorale model
harmonises the whole melody in alto, tenor and bass (played by strings under the melody's
instrument).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from museforge.emotion import art_direction
from museforge.emotion.moods import MOODS_TABLE
from museforge.engines import Artifact, Engine, Request, param
from museforge.errors import MuseforgeError
from museforge.music.compose import Form
from museforge.music.guard import compose_guarded, guard_line, repair_melody
from museforge.music.harmonizer import SOPRANO_INPUT_RANGE
from museforge.music.instruments import RANGES, fold_into
from museforge.music.render import RENDERERS
from museforge.music.score import Note, Score, Track, check_tempo
from museforge.music.theory import parse_key, parse_meter
from museforge.runtime import numpy_rng


@dataclass(frozen=True)
class LearnedParams:
    bars: int = param(16, "length in bars", range=(2, 64))
    meter: str = param("4/4", "time signature such as 3/4 or 6/8")
    key: str = param("", "key such as 'D minor'; empty: from the mood")
    tempo: int = param(0, "beats a minute, 20-300; 0: from the mood", range=(0, 300))
    temperature: float = param(0.9, "melody sampling temperature", range=(0.1, 2.0))
    renderer: str = param("auto", "audio renderer: auto, fluidsynth or builtin", choices=RENDERERS)


def melody_span(program: int) -> tuple[int, int]:
    """Where the melody may lie: the soprano range the harmoniser takes, within the range of the
    instrument that plays it (a horn's top is F5).

    >>> melody_span(73), melody_span(60)
    ((60, 84), (60, 77))
    """
    (lo, hi), (ilo, ihi) = SOPRANO_INPUT_RANGE, RANGES[program]
    return max(lo, ilo), min(hi, ihi)


def fit_octave(notes: list[Note], span: tuple[int, int] = SOPRANO_INPUT_RANGE) -> list[Note]:
    """The line moved by whole octaves into ``span`` (the soprano range by default), the
    smallest move first; a line too wide for it has its outlying notes folded in by octaves.

    >>> [n.pitch for n in fit_octave([Note(0, 1, 50, 80), Note(1, 1, 55, 80)])]
    [62, 67]
    >>> [n.pitch for n in fit_octave([Note(0, 1, 40, 80), Note(1, 1, 90, 80)])]
    [64, 78]
    """
    lo, hi = span
    low, high = min(n.pitch for n in notes), max(n.pitch for n in notes)
    for k in sorted(range(-36, 37, 12), key=abs):
        if low + k >= lo and high + k <= hi:
            return [Note(n.start, n.duration, n.pitch + k, n.velocity) for n in notes]
    return fold_into(notes, span)


class LearnedComposer(Engine):
    name = "learned-composer"
    modality = "music"
    version = "2"
    description = "melody by the folk model from a ruled opening, four-part harmony by the chorale model"
    Params = LearnedParams
    priority = 5

    def model_sha256(self, params: LearnedParams) -> str | None:
        from museforge.hashing import sha256_bytes, sha256_file
        from museforge.music.harmonize import model_file

        paths = [model_file("music-melody"), model_file("music-harmonizer")]
        if not all(p.is_file() for p in paths):
            return None
        return sha256_bytes("".join(sha256_file(p) for p in paths).encode())

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        from museforge.music.continuation import continue_melody, shipped_melody_model
        from museforge.music.engine import score_artifact
        from museforge.music.harmonize import harmonize, shipped_harmonizer

        p: LearnedParams = request.params
        if not 2 <= p.bars <= 64:
            raise MuseforgeError(f"bars must be 2-64, got {p.bars}")
        check_tempo(p.tempo, from_mood=True)
        meter = parse_meter(p.meter)
        direction = art_direction(request.emotion)
        key = parse_key(p.key, default_mode=direction.mode) if p.key.strip() else None
        rng = numpy_rng(generator)
        model, _, index = shipped_melody_model()
        ruled, _ = compose_guarded(direction, rng, Form(max(4, p.bars), meter), index, key=key,
                                   bpm=p.tempo or None, mood=request.emotion.label, percussion=False)
        bar = meter.bar_quarters
        opening = [n for n in ruled.tracks[0].notes if n.start < 2 * bar]
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        request.progress("melody", 0.0)

        def attempt(k: int) -> list[Note]:
            gen = torch.Generator().manual_seed(seed + k)
            temperature = min(2.0, p.temperature * (1 + 0.1 * k))  # hotter on each retry
            return continue_melody(model, opening, ruled.key, str(meter), bar, p.bars - 2, gen, temperature,
                                   index)

        if index is not None:  # the opening is ours too: every run counts
            new, report = guard_line(attempt, opening, index, ruled.key, meter, context=0)
        else:
            new, report = attempt(0), {"attempts": 1, "blocked": 0, "repaired": 0, "reproduces": None}
        mname, mprog = MOODS_TABLE[request.emotion.label].instruments[0]
        span = melody_span(mprog)  # the soprano the harmoniser takes, playable by the instrument
        melody = fit_octave(opening + new, span)
        if index is not None:  # folding outlying notes by octaves changes intervals: check again
            melody, moved = repair_melody(melody, ruled.key, meter, index, span=span)
            report = {**report, "repaired": report["repaired"] + moved,
                      "reproduces": index.reproduces([n.pitch for n in melody])}
        request.progress("harmony", 0.0)
        voices = harmonize(shipped_harmonizer()[0], melody, meter)
        vel = direction.velocity
        tracks = [Track(f"melody ({mname})", mprog, 0, [Note(n.start, n.duration, n.pitch, vel + 8)
                                                         for n in voices[0]])]
        for i, name in enumerate(("alto", "tenor", "bass"), start=1):
            tracks.append(Track(f"{name} (strings)", 48, i, [Note(n.start, n.duration, n.pitch, vel - 10)
                                                              for n in voices[i]]))
        end = max(n.start + n.duration for t in tracks for n in t.notes)
        score = Score(tracks, ruled.tempo, meter, ruled.key, max(1, math.ceil(end / bar - 1e-9)), "learned")
        return score_artifact(score, request, p.renderer, {"originality": report})
