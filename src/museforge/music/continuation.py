"""Continue a motif with the shipped folk-melody model, as the ``folk-continuer`` engine.

The motif keeps its key and meter; the model adds ``bars`` bars after the motif's last bar line
and ends on the tonic. No continuation repeats 8 or more consecutive intervals of a training
melody: the sampler never picks a pitch that would complete such a run, and a continuation that
still holds one (only the forced final tonic can make one) is drawn again, then repaired
(:mod:`museforge.music.guard`). Runs wholly inside the user's motif are the user's and do not
count; runs that join the motif to new notes do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch

from museforge.engines import Artifact, Engine, InputSpec, Request, param
from museforge.errors import MuseforgeError
from museforge.music.guard import guard_line, shipped_index
from museforge.music.harmonize import model_file
from museforge.music.instruments import first_fitting
from museforge.music.melody_model import MelodyModel, load_melody_model
from museforge.music.render import RENDERERS
from museforge.music.score import MAX_TEMPO, Note, Score, Track, parse_tempo_changes
from museforge.music.theory import Key, note_name, parse_key
from museforge.originality.melody import MelodyIndex

MELODY = "music-melody"
LINE_INSTRUMENTS = (("flute", 73), ("clarinet", 71), ("viola", 41), ("cello", 42), ("acoustic piano", 0))
"""Who plays a continued line: the first of these whose range holds all of it."""


@cache
def _load(path: str, mtime: float) -> tuple[MelodyModel, dict[str, str]]:
    return load_melody_model(Path(path))


def shipped_melody_model() -> tuple[MelodyModel, dict[str, str], MelodyIndex | None]:
    """The folk-melody model, its metadata and the corpus n-gram index shipped beside it."""
    path = model_file(MELODY)
    if not path.is_file():
        raise MuseforgeError(f"the melody model {path} is missing; train it with "
                             "'python recipes/music_melody.py'")
    return (*_load(str(path), path.stat().st_mtime), shipped_index())


def continue_melody(model: MelodyModel, motif: list[Note], key: Key, meter: str, bar: float, bars: int,
                    generator: torch.Generator, temperature: float = 0.9,
                    index: MelodyIndex | None = None) -> list[Note]:
    """New notes continuing ``motif`` for ``bars`` bars after its last bar line; with ``index``,
    sampled so that no pitch completes an interval run of the corpus."""
    mode = key.mode if key.mode in ("major", "minor", "dorian", "mixolydian") else "major"
    motif_end = max(n.start + n.duration for n in motif)
    start = math.ceil(motif_end / bar - 1e-9) * bar
    end = start + bars * bar
    prompt = [(n.pitch, n.duration, n.start) for n in motif]
    if start - motif_end > 1e-9:
        prompt.append((-1, start - motif_end, motif_end))
    new = model.generate(prompt, key.tonic, mode, meter, bar, end, generator, temperature, avoid=index)
    return [Note(s, d, p, 84) for p, d, s in new if p >= 0]


@dataclass(frozen=True)
class ContinuerParams:
    motif: str = param("", "the motif as a note string, e.g. 'D4:0.5 E4:0.5 F4 A4 D5:2' (duration in "
                       "quarters after ':'), when no motif file is given")
    bars: int = param(8, "bars to add", range=(1, 64))
    meter: str = param("", "time signature of the motif (empty: the file's, or 4/4 for a note string)")
    key: str = param("", "key of the motif, e.g. 'D minor' (empty: found from its notes)")
    tempo: int = param(0, "quarter notes a minute, 20-300 (0: the file's, or 100)", range=(0, int(MAX_TEMPO)))
    tempo_changes: str = param("", "later tempo changes as OFFSET:BPM pairs (offsets in quarters), "
                               "e.g. '16:60,24:72'")
    transpose: int = param(0, "semitones to move the motif first", range=(-48, 48))
    temperature: float = param(0.9, "sampling temperature: lower is safer, higher more surprising",
                               range=(0.1, 2.0))
    harmonize: bool = param(False, "also harmonise the result in four parts with the chorale model")
    renderer: str = param("auto", "audio renderer: auto (FluidSynth when installed, else built in), "
                          "fluidsynth or builtin", choices=RENDERERS)


class FolkContinuer(Engine):
    name = "folk-continuer"
    modality = "music"
    version = "3"
    description = "continues a motif in its key and meter with a model trained on folk tunes"
    Params = ContinuerParams
    inputs = (InputSpec("motif", "music", "a MIDI or MusicXML file whose top line is the motif",
                        required=False),)
    uses_mood = False
    priority = -10  # needs a motif: never the default for 'create'

    @classmethod
    def check(cls, params: ContinuerParams) -> None:
        from museforge.music.io import check_line_params

        check_line_params(params.meter, params.key, params.tempo, params.tempo_changes, params.motif)

    @classmethod
    def check_inputs(cls, params: ContinuerParams, inputs: Mapping[str, Any]) -> None:
        from museforge.music.io import check_music_input

        if bool(inputs.get("motif")) == bool(params.motif.strip()):
            raise MuseforgeError("give the motif once: a MIDI or MusicXML file (input motif) or a "
                                 "note string (parameter motif)")
        for file in inputs.get("motif", ()):
            check_music_input(file)

    def model_sha256(self, params: ContinuerParams) -> str | None:
        from museforge.hashing import sha256_file

        path = model_file(MELODY)
        return sha256_file(path) if path.is_file() else None

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        from museforge.music.engine import score_artifact
        from museforge.music.io import melody_input, tempo_of

        p: ContinuerParams = request.params
        file = request.input("motif")
        motif, motif_score = melody_input(file, p.motif, p.meter, p.transpose)
        meter = motif_score.meter
        tempo, changes = tempo_of(file, motif_score, p.tempo, p.tempo_changes, 100)
        key = parse_key(p.key) if p.key.strip() else motif_score.key
        model, _, index = shipped_melody_model()
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))

        def attempt(k: int) -> list[Note]:
            gen = torch.Generator().manual_seed(seed + k)
            return continue_melody(model, motif, key, str(meter), meter.bar_quarters, p.bars, gen,
                                   min(2.0, p.temperature * (1 + 0.1 * k)), index)  # hotter each retry

        request.progress("continuing", 0.0)
        if index is not None:  # the motif is the user's: only runs reaching the new notes count
            new, report = guard_line(attempt, motif, index, key, meter, context=len(motif))
        else:
            new, report = attempt(0), {"attempts": 1, "blocked": 0, "repaired": 0, "reproduces": None}
        request.progress("continuing", 1.0)
        notes = motif + new
        end = max(n.start + n.duration for n in notes)
        bars = max(1, math.ceil(end / meter.bar_quarters - 1e-9))
        player = first_fitting(LINE_INSTRUMENTS, notes)
        if player is None:
            raise MuseforgeError(f"the line spans {note_name(min(n.pitch for n in notes))}-"
                                 f"{note_name(max(n.pitch for n in notes))}, beyond the piano's A0-C8; "
                                 "transpose the motif by octaves")
        tracks = [Track(f"melody ({player[0]})", player[1], 0, notes)]
        if p.harmonize:
            from museforge.music.harmonize import CHOIR, harmonize, shipped_harmonizer

            voices = harmonize(shipped_harmonizer()[0], notes, meter)
            tracks = [Track(f"{v} (choir)", CHOIR, i, ns)
                      for i, (v, ns) in enumerate(zip(("soprano", "alto", "tenor", "bass"), voices,
                                                      strict=True))]
        score = Score(tracks, tempo, meter, key, bars, "continuation",
                      tempo_changes=parse_tempo_changes(changes))
        extra = {"motif_notes": len(motif), "new_notes": len(new), "originality": report}
        return score_artifact(score, request, p.renderer, extra)
