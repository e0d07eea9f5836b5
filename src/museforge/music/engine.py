"""The ``rule-composer`` engine: a mood becomes a short multi-track piece as MIDI and WAV, its
melody kept free of 8-interval runs of the training corpus (:mod:`museforge.music.guard`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from museforge.emotion import art_direction
from museforge.engines import Artifact, Engine, OutputFile, Request, param
from museforge.errors import MuseforgeError
from museforge.evaluate.music import summary_metrics
from museforge.music.compose import FORMS, Form
from museforge.music.guard import compose_guarded, shipped_index
from museforge.music.midi import score_to_midi
from museforge.music.render import RENDERERS, pianoroll_png, render_wav
from museforge.music.score import Score, check_tempo
from museforge.music.theory import parse_key, parse_meter
from museforge.runtime import numpy_rng

PERCUSSION = ("auto", "on", "off")
MUSICXML_TYPE = "application/vnd.recordare.musicxml+xml"


@dataclass(frozen=True)
class RuleComposerParams:
    bars: int = param(16, "length in bars", range=(1, 256))
    meter: str = param("4/4", "time signature such as 3/4, 6/8 or 5/4")
    key: str = param("", "key such as 'D minor', 'F# major' or 'A dorian'; a bare tonic takes the mood's "
                     "mode; empty: from the mood")
    tempo: int = param(0, "beats a minute (the dotted quarter in 6/8), 20-300; 0: from the mood",
                       range=(0, 300))
    form: str = param("aaba", "phrase structure", choices=FORMS)
    percussion: str = param("auto", "drums: auto (for excited moods), on or off", choices=PERCUSSION)
    renderer: str = param("auto", "audio renderer: auto (FluidSynth when installed, else built in), "
                          "fluidsynth or builtin", choices=RENDERERS)
    pianoroll: bool = param(True, "also write pianoroll.png")
    musicxml: bool = param(True, "also write music.musicxml (sheet music)")


def validate(params: RuleComposerParams) -> None:
    """Raise MuseforgeError with a one-line fix for any bad parameter."""
    if not isinstance(params.bars, int) or not 1 <= params.bars <= 256:
        raise MuseforgeError(f"bars must be a whole number from 1 to 256, got {params.bars!r}")
    parse_meter(params.meter)
    if params.key.strip():
        parse_key(params.key)
    check_tempo(params.tempo, from_mood=True)
    for name, value, choices in (("form", params.form, FORMS),
                                 ("percussion", params.percussion, PERCUSSION),
                                 ("renderer", params.renderer, RENDERERS)):
        if value not in choices:
            raise MuseforgeError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


class RuleComposer(Engine):
    name = "rule-composer"
    modality = "music"
    version = "3"
    description = "rule-based composer: motif, phrases and cadences in the mood's key, MIDI + WAV"
    Params = RuleComposerParams
    priority = 10

    @classmethod
    def check(cls, params: RuleComposerParams) -> None:
        validate(params)

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        params: RuleComposerParams = request.params
        validate(params)
        direction = art_direction(request.emotion)
        rng = numpy_rng(generator)
        meter = parse_meter(params.meter)
        key = parse_key(params.key, default_mode=direction.mode) if params.key.strip() else None
        percussion = {"auto": None, "on": True, "off": False}[params.percussion]
        request.progress("composing", 0.0)
        score, originality = compose_guarded(direction, rng, Form(params.bars, meter, params.form),
                                             shipped_index(), key=key, bpm=params.tempo or None,
                                             mood=request.emotion.label, percussion=percussion)
        request.progress("composing", 1.0)
        request.progress("writing MIDI", 0.0)
        midi = score_to_midi(score, title=request.prompt[:120] or "museforge")
        request.progress("rendering audio", 0.0)
        wav, info, warning = render_wav(score, midi, params.renderer)
        request.progress("rendering audio", 1.0)
        files = [OutputFile("music.mid", midi, "audio/midi"), OutputFile("music.wav", wav, "audio/wav")]
        if params.musicxml:
            from museforge.music.io import score_to_musicxml

            request.progress("writing MusicXML", 0.0)
            files.insert(1, OutputFile("music.musicxml", score_to_musicxml(score, request.prompt[:120] or
                                                                           "museforge"), MUSICXML_TYPE))
        if params.pianoroll:
            files.append(OutputFile("pianoroll.png", pianoroll_png(score), "image/png"))
        summary = {
            "key": str(score.key),
            "tempo": params.tempo or direction.tempo,
            "meter": str(meter),
            "bars": score.bars,
            "form": score.form,
            "seconds": round(score.seconds, 2),
            "tracks": [t.name for t in score.tracks],
            "renderer": info,
            "chords": " ".join(c for _, _, c in score.chords),
            "metrics": summary_metrics(score),
            "originality": originality,
        }
        return Artifact("music", files, summary, [warning] if warning else [])


def score_artifact(score: Score, request: Request, renderer: str, extra: dict[str, Any]) -> Artifact:
    """MIDI, MusicXML, WAV and piano roll of a Score, with a summary and its metrics."""
    from museforge.music.io import score_to_musicxml

    title = request.prompt[:120] or "museforge"
    request.progress("writing MIDI and MusicXML", 0.0)
    midi = score_to_midi(score, title=title)
    xml = score_to_musicxml(score, title=title)
    request.progress("rendering audio", 0.0)
    wav, info, warning = render_wav(score, midi, renderer)
    request.progress("rendering audio", 1.0)
    files = [OutputFile("music.mid", midi, "audio/midi"),
             OutputFile("music.musicxml", xml, MUSICXML_TYPE),
             OutputFile("music.wav", wav, "audio/wav"),
             OutputFile("pianoroll.png", pianoroll_png(score), "image/png")]
    summary = {"key": str(score.key), "tempo": round(score.tempo, 3), "meter": str(score.meter),
               "bars": score.bars, "seconds": round(score.seconds, 3),
               "tracks": [t.name for t in score.tracks], "renderer": info, **extra,
               "metrics": summary_metrics(score)}
    if score.tempo_changes:  # (offset in quarters, quarter notes a minute) after the opening tempo
        summary["tempo_changes"] = [[round(q, 3), round(b, 3)] for q, b in score.tempo_changes]
    return Artifact("music", files, summary, [warning] if warning else [])
