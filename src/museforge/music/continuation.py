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
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import torch

from museforge.engines import Artifact, Engine, Request
from museforge.errors import MuseforgeError
from museforge.music.compose import Note, Score, Track, check_tempo, parse_tempo_changes
from museforge.music.guard import guard_line, shipped_index
from museforge.music.harmonize import model_file
from museforge.music.harmonizer import read_checkpoint
from museforge.music.melody_model import MelodyConfig, MelodyModel
from museforge.music.theory import Key, parse_key, parse_meter
from museforge.originality.melody import MelodyIndex

MELODY = "music-melody"


@cache
def _load(path: str, mtime: float) -> tuple[MelodyModel, dict[str, str]]:
    import json

    tensors, meta = read_checkpoint(Path(path))
    model = MelodyModel(MelodyConfig(**json.loads(meta["config"])))
    model.load_state_dict(tensors)
    return model.eval(), meta


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
    motif: str = field(default="D4:0.5 E4:0.5 F4 A4 D5:2", metadata={
        "help": "the motif as a note string (duration in quarters after ':')"})
    bars: int = field(default=8, metadata={"help": "bars to add, 1-64"})
    meter: str = field(default="4/4", metadata={"help": "time signature of the motif"})
    key: str = field(default="", metadata={"help": "key of the motif; empty: found from its notes"})
    tempo: int = field(default=100, metadata={"help": "quarter notes a minute, 20-300"})
    tempo_changes: str = field(default="", metadata={
        "help": "later tempo changes as OFFSET:BPM pairs (offsets in quarters), e.g. '16:60,24:72'"})
    temperature: float = field(default=0.9, metadata={"help": "sampling temperature, 0.1-2"})
    harmonize: bool = field(default=False, metadata={"help": "add alto, tenor and bass"})
    renderer: str = field(default="auto", metadata={"help": "auto, fluidsynth or builtin"})


class FolkContinuer(Engine):
    name = "folk-continuer"
    modality = "music"
    version = "2"
    description = "continues a motif in its key and meter with a model trained on folk tunes"
    Params = ContinuerParams
    priority = -10  # needs a motif: never the default for 'create'

    def model_sha256(self, params: ContinuerParams) -> str | None:
        from museforge.music.render import file_sha256

        path = model_file(MELODY)
        return file_sha256(path) if path.is_file() else None

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        from museforge.music.engine import score_artifact
        from museforge.music.io import parse_note_string

        p: ContinuerParams = request.params
        meter = parse_meter(p.meter)
        if not 1 <= p.bars <= 64:
            raise MuseforgeError(f"bars must be 1-64, got {p.bars}")
        if not 0.1 <= p.temperature <= 2:
            raise MuseforgeError(f"temperature must be 0.1-2, got {p.temperature}")
        check_tempo(p.tempo)
        motif_score = parse_note_string(p.motif, p.meter)
        motif = motif_score.tracks[0].notes
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
        tracks = [Track("melody (flute)", 73, 0, notes)]
        if p.harmonize:
            from museforge.music.harmonize import CHOIR, harmonize, shipped_harmonizer

            voices = harmonize(shipped_harmonizer()[0], notes, meter)
            tracks = [Track(f"{v} (choir)", CHOIR, i, ns)
                      for i, (v, ns) in enumerate(zip(("soprano", "alto", "tenor", "bass"), voices,
                                                      strict=True))]
        score = Score(tracks, float(p.tempo), meter, key, bars, "continuation",
                      tempo_changes=parse_tempo_changes(p.tempo_changes))
        extra = {"motif_notes": len(motif), "new_notes": len(new), "originality": report}
        return score_artifact(score, request, p.renderer, extra)
