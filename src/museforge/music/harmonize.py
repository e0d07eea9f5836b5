"""Harmonise a melody in four parts with the shipped chorale model, as the ``chorale-harmonizer``
engine. The melody comes as an input file (MIDI or MusicXML, hashed into the record) or as a
note string parameter, so a Work records everything needed to reproduce it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from museforge.engines import Artifact, Engine, InputSpec, Request, param
from museforge.errors import MuseforgeError
from museforge.music.data import STEP, grid_to_notes, notes_to_grid
from museforge.music.harmonizer import SOPRANO_INPUT_RANGE, VOICE_RANGES, Harmonizer, load_harmonizer
from museforge.music.render import RENDERERS
from museforge.music.score import MAX_TEMPO, Note, Score, Track, parse_tempo_changes
from museforge.music.theory import Meter, find_key, note_name, parse_key

CHOIR = 52  # General MIDI "choir aahs"
MAX_STEPS = 2048
HARMONIZER = "music-harmonizer"


def model_file(name: str) -> Path:
    from museforge.runtime import models_root

    return models_root() / name / "model.safetensors"


@cache
def _load(path: str, mtime: float) -> tuple[Harmonizer, dict[str, str]]:
    return load_harmonizer(Path(path))


def shipped_harmonizer() -> tuple[Harmonizer, dict[str, str]]:
    path = model_file(HARMONIZER)
    if not path.is_file():
        raise MuseforgeError(f"the harmoniser model {path} is missing; train it with "
                             "'python recipes/music_harmonizer.py'")
    return _load(str(path), path.stat().st_mtime)


def melody_to_string(notes: list[Note]) -> str:
    """A canonical note string (rests as ``R``) for a monophonic line starting at 0.

    >>> melody_to_string([Note(0, 1, 60, 80), Note(1.5, 0.5, 62, 80)])
    'C4:1 R:0.5 D4:0.5'
    """
    out, t = [], 0.0
    for n in notes:
        if n.start > t + 1e-9:
            out.append(f"R:{_num(n.start - t)}")
        out.append(f"{note_name(n.pitch)}:{_num(n.duration)}")
        t = n.start + n.duration
    return " ".join(out)


def _num(x: float) -> str:
    return f"{round(x, 4):g}"


def check_range(notes: list[Note]) -> None:
    """A one-line error when the melody does not fit the soprano (the voice it becomes).

    >>> check_range([Note(0, 1, 48, 80), Note(1, 1, 52, 80)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    museforge.errors.MuseforgeError: the melody spans C3-E3, below the soprano range C4-C6 ... 12)
    """
    lo, hi = SOPRANO_INPUT_RANGE
    low, high = min(n.pitch for n in notes), max(n.pitch for n in notes)
    if low >= lo and high <= hi:
        return
    where = "below" if low < lo and high <= hi else "above" if low >= lo else "wider than"
    fits = [k for k in sorted(range(-96, 97, 12), key=abs) if low + k >= lo and high + k <= hi]
    hint = (f"transpose it by {fits[0]:+d} semitones (--transpose {fits[0]})" if fits
            else "no voice can sing it; shorten its range")
    raise MuseforgeError(f"the melody spans {note_name(low)}-{note_name(high)}, {where} the soprano "
                         f"range {note_name(lo)}-{note_name(hi)} it must take above alto, tenor and "
                         f"bass; {hint}")


def quantize(notes: list[Note]) -> list[Note]:
    """Notes snapped to the sixteenth grid, at least a sixteenth long, not overlapping."""
    out: list[Note] = []
    for n in sorted(notes, key=lambda n: n.start):
        s = round(n.start / STEP) * STEP
        e = max(s + STEP, round((n.start + n.duration) / STEP) * STEP)
        if out and out[-1].start + out[-1].duration > s:
            if out[-1].start >= s:
                continue
            out[-1] = Note(out[-1].start, s - out[-1].start, out[-1].pitch, out[-1].velocity)
        out.append(Note(s, e - s, n.pitch, n.velocity))
    return out


def harmonize(model: Harmonizer, melody: list[Note], meter: Meter, beam: int = 4) -> list[list[Note]]:
    """Soprano, alto, tenor and bass note lists for a melody (quarters from the bar line)."""
    if not melody:
        raise MuseforgeError("the melody has no notes")
    check_range(melody)
    sop_notes = quantize(melody)
    end = max(n.start + n.duration for n in sop_notes)
    bar = meter.bar_quarters
    steps = math.ceil(end / STEP - 1e-9)
    if steps > MAX_STEPS:
        raise MuseforgeError(f"the melody lasts {end:g} quarters; harmonise at most {MAX_STEPS * STEP:g} "
                             "quarters at a time")
    sop = notes_to_grid([(n.start, n.duration, n.pitch) for n in sop_notes], steps)
    pos = ((np.arange(steps) * STEP) % bar / STEP).round().astype(np.int64)
    atb = model.generate(sop.astype(np.int64), pos, beam=beam)
    voices = [sop_notes]
    for row in atb:
        voices.append([Note(s, d, p, 72) for s, d, p in grid_to_notes(row)])
    return voices


@dataclass(frozen=True)
class HarmonizerParams:
    melody: str = param("", "the melody as a note string, e.g. 'C4 D4 E4:2' (duration in quarters "
                        "after ':'), when no melody file is given")
    meter: str = param("", "time signature such as 3/4 (empty: the file's, or 4/4 for a note string)")
    key: str = param("", "key for the signature, e.g. 'G major' (empty: found from the notes)")
    tempo: int = param(0, "quarter notes a minute, 20-300 (0: the file's, or 72)", range=(0, int(MAX_TEMPO)))
    tempo_changes: str = param("", "later tempo changes as OFFSET:BPM pairs (offsets in quarters), "
                               "e.g. '16:60,24:72'")
    transpose: int = param(0, "semitones to move the melody first", range=(-48, 48))
    beam: int = param(4, "beam width of the constrained search", range=(1, 16))
    renderer: str = param("auto", "audio renderer: auto (FluidSynth when installed, else built in), "
                          "fluidsynth or builtin", choices=RENDERERS)


MELODY = InputSpec("melody", "music", "a MIDI or MusicXML file whose top line is the melody", required=False)


class ChoraleHarmonizer(Engine):
    name = "chorale-harmonizer"
    modality = "music"
    version = "2"
    description = "four-part (SATB) harmonisation of a melody by a model trained on Bach's chorales"
    Params = HarmonizerParams
    inputs = (MELODY,)
    uses_mood = False
    priority = -10  # needs a melody: never the default for 'create'

    @classmethod
    def check(cls, params: HarmonizerParams) -> None:
        from museforge.music.io import check_line_params

        check_line_params(params.meter, params.key, params.tempo, params.tempo_changes, params.melody)

    @classmethod
    def check_inputs(cls, params: HarmonizerParams, inputs: Mapping[str, Any]) -> None:
        from museforge.music.io import check_music_input

        if bool(inputs.get("melody")) == bool(params.melody.strip()):
            raise MuseforgeError("give the melody once: a MIDI or MusicXML file (input melody) or a "
                                 "note string (parameter melody)")
        for file in inputs.get("melody", ()):
            check_music_input(file)

    def model_sha256(self, params: HarmonizerParams) -> str | None:
        from museforge.hashing import sha256_file

        path = model_file(HARMONIZER)
        return sha256_file(path) if path.is_file() else None

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        from museforge.music.engine import score_artifact
        from museforge.music.io import melody_input, tempo_of

        p: HarmonizerParams = request.params
        file = request.input("melody")
        melody, source = melody_input(file, p.melody, p.meter, p.transpose)
        meter = source.meter
        tempo, changes = tempo_of(file, source, p.tempo, p.tempo_changes, 72)
        check_range(melody)
        model, _ = shipped_harmonizer()
        request.progress("harmonising", 0.0)
        voices = harmonize(model, melody, meter, p.beam)
        request.progress("harmonising", 1.0)
        everything = [n for v in voices for n in v]
        key = parse_key(p.key) if p.key.strip() else find_key(
            [n.pitch for n in everything], [n.duration for n in everything])
        names = ("soprano", "alto", "tenor", "bass")
        tracks = [Track(f"{name} (choir)", CHOIR, i, v) for i, (name, v) in enumerate(zip(names, voices,
                                                                                       strict=True))]
        end = max(n.start + n.duration for n in everything)
        score = Score(tracks, tempo, meter, key, max(1, math.ceil(end / meter.bar_quarters - 1e-9)),
                      "chorale", tempo_changes=parse_tempo_changes(changes))
        return score_artifact(score, request, p.renderer, {"voices": list(names)})


def voice_ranges_text() -> str:
    """The four voices' ranges, for messages."""
    return ", ".join(f"{v} {note_name(a)}-{note_name(b)}" for v, (a, b) in VOICE_RANGES.items())
