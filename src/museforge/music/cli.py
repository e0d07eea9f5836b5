"""The ``compose``, ``harmonize``, ``continue`` and ``score`` subcommands; ``museforge.cli`` adds
them to its parser.

Each ``add_*_parser(sub)`` adds one subparser and sets ``func`` to a handler ``(args) -> int``.
Every handler runs an engine through :func:`museforge.create.run_engine` (so each file carries
its provenance), writes ``music.mid``, ``music.musicxml`` (with a ``.provenance.json`` sidecar),
``music.wav`` and ``pianoroll.png`` into ``--out``, prints the paths it wrote, and raises
:class:`~museforge.errors.MuseforgeError` for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from museforge.emotion import MOODS
from museforge.errors import MuseforgeError
from museforge.runtime import resolve_seed

SEED_HELP = "seed for every random choice (default: a random one, printed)"
RENDERER_HELP = "audio renderer: auto (FluidSynth when installed, else built in), fluidsynth or builtin"


def _write(out: Path, files: list[Any], overwrite: bool) -> list[Path]:
    """Write engine files into folder ``out``, refusing to replace files unless ``overwrite``."""
    import os

    if out.exists() and not out.is_dir():
        raise MuseforgeError(f"{out} exists and is not a folder; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MuseforgeError(f"cannot create {out}: {exc.strerror or exc}; choose another --out") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise MuseforgeError(f"cannot write to {out}: permission denied; choose another --out")
    clash = [f.name for f in files if (out / f.name).exists()]
    if clash and not overwrite:
        raise MuseforgeError(f"{out / clash[0]} already exists; choose another --out or pass --overwrite")
    from museforge.work import write_atomic

    for f in files:
        write_atomic(out / f.name, f.data)
    return [out / f.name for f in files]


def _run(engine_cls: type, params: dict[str, Any], prompt: str, emotion: Any, seed: int,
         out: Path, overwrite: bool) -> Any:
    from museforge.create import run_engine
    from museforge.engines import make_params
    from museforge.runtime import library_versions, no_progress

    p = make_params(engine_cls.Params, params)
    artifact, files, _ = run_engine(engine_cls, p, prompt, "en", emotion, seed, "cpu", no_progress,
                                    library_versions())
    for path in _write(out, files, overwrite):
        print(path)
    for w in artifact.warnings:
        print(f"museforge: warning: {w}", file=sys.stderr)
    return artifact


def _common(p: argparse.ArgumentParser, out_default: str) -> None:
    p.add_argument("--seed", type=int, help=SEED_HELP)
    p.add_argument("--out", metavar="DIR", help=f"folder to write into (default: {out_default})")
    p.add_argument("--overwrite", action="store_true", help="replace files of the same name in --out")
    p.add_argument("--renderer", default="auto", choices=("auto", "fluidsynth", "builtin"),
                   help=RENDERER_HELP)


def _describe(summary: dict[str, Any]) -> str:
    m = summary.get("metrics", {})
    return (f"{summary['key']}, {summary['meter']}, {summary['bars']} bars, "
            f"{summary['seconds']:g} s; scale consistency {m.get('scale_consistency', float('nan')):.2f}")


# ---------------------------------------------------------------- compose


def cmd_compose(args: argparse.Namespace) -> int:
    """Compose a piece by rule from a mood, key, meter and length."""
    from museforge.emotion import emotion_from_label
    from museforge.music.compose import MODE_MOODS
    from museforge.music.engine import RuleComposer
    from museforge.music.theory import parse_key

    key = parse_key(args.key) if args.key else None
    mood = args.emotion or (MODE_MOODS[key.mode] if key else "serene")
    emotion = emotion_from_label(mood)
    seed = resolve_seed(args.seed)
    prompt = args.prompt or f"a {mood} piece"
    out = Path(args.out or f"compose-{mood}-{seed}")
    params = {"bars": args.bars, "meter": args.meter, "key": args.key or "", "tempo": args.tempo or 0,
              "form": args.form, "percussion": args.percussion, "renderer": args.renderer}
    art = _run(RuleComposer, params, prompt, emotion, seed, out, args.overwrite)
    print(f"{mood}: {_describe(art.summary)}; seed {seed}", file=sys.stderr)
    return 0


def add_compose_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``compose``: a rule-based piece (melody, chords, bass, percussion) for a mood."""
    p = sub.add_parser(
        "compose",
        help="compose a piece for a mood: MIDI, MusicXML, WAV and a piano roll",
        description="Compose melody, chords, bass and (for excited moods) percussion by rule: "
        "phrases in AABA or period form with cadences at their ends, a motif stated, sequenced "
        "and varied. The same arguments and seed give the same bytes.",
    )
    p.add_argument("--emotion", choices=MOODS, metavar="MOOD",
                   help=f"the mood: {', '.join(MOODS)} (default: from the key's mode, else serene)")
    p.add_argument("--key", help="key such as 'D minor', 'F# major' or 'A dorian' (default: the mood's)")
    p.add_argument("--bars", type=int, default=16, help="length in bars, 1-256 (default 16)")
    p.add_argument("--meter", default="4/4", help="time signature such as 3/4, 6/8 or 5/4 (default 4/4)")
    p.add_argument("--tempo", type=int, help="beats a minute (the dotted quarter in 6/8), 20-300 "
                   "(default: the mood's)")
    p.add_argument("--form", default="aaba", choices=("aaba", "period"), help="phrase structure")
    p.add_argument("--percussion", default="auto", choices=("auto", "on", "off"),
                   help="drums: auto (for excited moods), on or off")
    p.add_argument("--prompt", help="a line recorded as the piece's title and prompt")
    _common(p, "compose-MOOD-SEED")
    p.set_defaults(func=cmd_compose)
    return p


# ---------------------------------------------------------------- harmonize


def _melody_string(source: str, meter: str | None, transpose: int) -> tuple[str, Any]:
    from museforge.music.compose import Note
    from museforge.music.harmonize import melody_to_string
    from museforge.music.io import melody_of, read_music

    score = read_music(source, meter)
    line = melody_of(score)
    line = [Note(n.start, n.duration, n.pitch + transpose, n.velocity) for n in line]
    if any(not 0 <= n.pitch <= 127 for n in line):
        raise MuseforgeError(f"--transpose {transpose} moves notes outside the MIDI range")
    return melody_to_string(line), score


def _tempo_params(tempo: int | None, score: Any, source: str, default: int) -> dict[str, Any]:
    """``tempo`` and ``tempo_changes`` engine parameters: ``--tempo`` when given; else a file's
    opening tempo and its later changes; else ``default`` for a note string."""
    from museforge.music.compose import tempo_changes_text

    if tempo:
        return {"tempo": tempo, "tempo_changes": ""}
    if not Path(source).suffix:
        return {"tempo": default, "tempo_changes": ""}
    return {"tempo": round(score.tempo), "tempo_changes": tempo_changes_text(score.tempo_changes)}


def cmd_harmonize(args: argparse.Namespace) -> int:
    """Harmonise a melody in four parts (SATB) with the chorale model."""
    from museforge.emotion import emotion_from_label
    from museforge.music.harmonize import ChoraleHarmonizer

    melody, score = _melody_string(args.input, args.meter, args.transpose)
    seed = resolve_seed(args.seed)
    mood = "melancholy" if score.key.mode == "minor" else "serene"
    out = Path(args.out or f"harmonize-{seed}")
    params = {"melody": melody, "meter": str(score.meter), "key": args.key or "",
              **_tempo_params(args.tempo, score, args.input, 72), "beam": args.beam,
              "renderer": args.renderer}
    prompt = f"harmonize {Path(args.input).name if Path(args.input).suffix else args.input[:80]}"
    art = _run(ChoraleHarmonizer, params, prompt, emotion_from_label(mood), seed, out, args.overwrite)
    vl = art.summary["metrics"].get("voice_leading", {})
    print(f"SATB: {_describe(art.summary)}; parallel fifths {vl.get('parallel_fifths')}, "
          f"octaves {vl.get('parallel_octaves')}", file=sys.stderr)
    return 0


def add_harmonize_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``harmonize``: SATB from a melody (MIDI, MusicXML or a note string)."""
    p = sub.add_parser(
        "harmonize",
        help="harmonise a melody in four parts (SATB) like a Bach chorale",
        description="Write alto, tenor and bass under a melody with a model trained on Bach's "
        "chorales, searching only four-part writing without parallel fifths or octaves, voice "
        "crossing or voices out of range. The melody becomes the soprano (A3-C6).",
    )
    p.add_argument("input", help="a .mid/.midi or .musicxml/.xml/.mxl file, or notes such as "
                   "'C4 D4 E4:2 R G4:0.5' (name and octave, ':QUARTERS' for other than a quarter)")
    p.add_argument("--meter", help="time signature (default: the file's, or 4/4 for a note string)")
    p.add_argument("--tempo", type=int, help="quarter notes a minute, 20-300 (default: the file's, or 72)")
    p.add_argument("--key", help="key for the signature, e.g. 'G major' (default: found from the notes)")
    p.add_argument("--transpose", type=int, default=0, help="semitones to move the melody first")
    p.add_argument("--beam", type=int, default=4, help="beam width of the search, 1-16 (default 4)")
    _common(p, "harmonize-SEED")
    p.set_defaults(func=cmd_harmonize)
    return p


# ---------------------------------------------------------------- continue


def cmd_continue(args: argparse.Namespace) -> int:
    """Continue a motif with the folk-melody model."""
    from museforge.emotion import emotion_from_label
    from museforge.music.continuation import FolkContinuer

    melody, score = _melody_string(args.motif, args.meter, args.transpose)
    seed = resolve_seed(args.seed)
    key = args.key or str(score.key)
    mood = "melancholy" if score.key.mode == "minor" else "joyful"
    out = Path(args.out or f"continue-{seed}")
    params = {"motif": melody, "bars": args.bars, "meter": str(score.meter), "key": key,
              **_tempo_params(args.tempo, score, args.motif, 100), "temperature": args.temperature,
              "harmonize": args.harmonize, "renderer": args.renderer}
    prompt = f"continue {Path(args.motif).name if Path(args.motif).suffix else args.motif[:80]}"
    art = _run(FolkContinuer, params, prompt, emotion_from_label(mood), seed, out, args.overwrite)
    orig = art.summary.get("originality", {})
    print(f"continued: {_describe(art.summary)}; originality: {orig.get('attempts')} attempt(s), "
          f"{orig.get('blocked')} blocked", file=sys.stderr)
    return 0


def add_continue_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``continue``: a motif continued by the folk-melody model."""
    p = sub.add_parser(
        "continue",
        help="continue a motif in its key and meter with a model trained on folk tunes",
        description="Continue a melody with a model trained on the folk and fiddle tunes of "
        "music21's corpus, in the motif's key and meter, ending on the tonic at a bar line. A "
        "continuation that repeats 8 or more consecutive intervals of a training tune is "
        "thrown away and drawn again.",
    )
    p.add_argument("motif", help="a .mid/.musicxml file or notes such as 'D4:0.5 E4:0.5 F4 A4 D5:2'")
    p.add_argument("--bars", type=int, default=8, help="bars to add, 1-64 (default 8)")
    p.add_argument("--meter", help="time signature (default: the file's, or 4/4 for a note string)")
    p.add_argument("--key", help="key, e.g. 'D minor' (default: found from the motif)")
    p.add_argument("--tempo", type=int, help="quarter notes a minute, 20-300 (default: the file's, or 100)")
    p.add_argument("--transpose", type=int, default=0, help="semitones to move the motif first")
    p.add_argument("--temperature", type=float, default=0.9,
                   help="sampling temperature, 0.1-2: lower is safer, higher more surprising (default 0.9)")
    p.add_argument("--harmonize", action="store_true",
                   help="also harmonise the result in four parts with the chorale model")
    _common(p, "continue-SEED")
    p.set_defaults(func=cmd_continue)
    return p


# ---------------------------------------------------------------- score


def cmd_score(args: argparse.Namespace) -> int:
    """Score a scene: a cue of the requested length with a build-up, a climax and a resolution."""
    from museforge.create import check_prompt, resolve_emotion
    from museforge.emotion import detect_language
    from museforge.music.scene import SceneScorer

    prompt = check_prompt(args.description)
    lang = detect_language(prompt)
    emotion = resolve_emotion(prompt, lang, args.emotion)
    seed = resolve_seed(args.seed)
    out = Path(args.out or f"score-{emotion.label}-{seed}")
    params = {"seconds": args.seconds, "meter": args.meter, "key": args.key or "",
              "renderer": args.renderer}
    art = _run(SceneScorer, params, prompt, emotion, seed, out, args.overwrite)
    s = art.summary
    print(f"{emotion.label}: {_describe(s)}, {s['tempo']:g} quarters a minute; sections "
          f"{', '.join(f'{n} {b}' for n, b in s['sections'])}", file=sys.stderr)
    return 0


def add_score_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``score``: a cue for a scene, of an exact length."""
    p = sub.add_parser(
        "score",
        help="score a scene: a cue of exact length with build-up, climax and resolution",
        description="Read the mood of a scene description, choose tempo, key and instruments, "
        "and write a cue in three sections (build-up, climax, resolution) whose length matches "
        "--seconds to within one beat.",
    )
    p.add_argument("description", help="the scene, e.g. 'a chase through a night market'")
    p.add_argument("--seconds", type=float, default=45.0, help="length of the cue, 4-600 s (default 45)")
    p.add_argument("--emotion", choices=MOODS, metavar="MOOD",
                   help=f"the mood, instead of reading it from the description: {', '.join(MOODS)}")
    p.add_argument("--meter", default="4/4", help="time signature (default 4/4)")
    p.add_argument("--key", help="key, e.g. 'E minor' (default: the mood's)")
    _common(p, "score-MOOD-SEED")
    p.set_defaults(func=cmd_score)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one of the four music subcommands on its own (``python -m museforge.music.cli``)."""
    parser = argparse.ArgumentParser(prog="museforge", description="museforge music commands")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (add_compose_parser, add_harmonize_parser, add_continue_parser, add_score_parser):
        add(sub)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except MuseforgeError as exc:
        print(f"museforge: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
