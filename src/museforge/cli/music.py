"""``compose``, ``harmonize``, ``continue`` and ``score``: each runs its engine through the job
layer and writes ``music.mid``, ``music.musicxml`` (with a ``.provenance.json`` sidecar),
``music.wav`` and ``pianoroll.png`` into ``--out``, each file carrying its signed record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from museforge.cli.common import (
    add_mood,
    add_param_flags,
    add_seed,
    given_params,
    print_paths,
    run_engine,
    warn,
)
from museforge.errors import MuseforgeError

NOTES_HELP = ("a .mid/.midi or .musicxml/.xml/.mxl file, or notes such as 'C4 D4 E4:2 R G4:0.5' "
              "(name and octave, ':QUARTERS' for other than a quarter)")


def _common(p: argparse.ArgumentParser, out_default: str) -> None:
    add_seed(p)
    p.add_argument("--out", metavar="DIR",
                   help=f"folder to write into, made if missing (default: {out_default})")
    p.add_argument("--overwrite", action="store_true", help="replace files of the same name in --out")
    p.set_defaults(quiet=True)


def _check_out(out: Path, overwrite: bool) -> None:
    """Fail before anything runs when ``out`` cannot take the four files."""
    from museforge.work import check_writable_file

    if out.exists() and not out.is_dir():
        raise MuseforgeError(f"{out} exists and is not a folder; choose another --out")
    for name in ("music.mid", "music.musicxml", "music.wav", "pianoroll.png"):
        check_writable_file(out / name, overwrite)


def _write(work: Any, out: Path, overwrite: bool) -> dict[str, Any]:
    print_paths(work.save_into(out, overwrite))
    warn(work)
    return work.record.artifacts[0].summary


def _describe(summary: dict[str, Any]) -> str:
    m = summary.get("metrics", {})
    return (f"{summary['key']}, {summary['meter']}, {summary['bars']} bars, "
            f"{summary['seconds']:g} s; scale consistency {m.get('scale_consistency', float('nan')):.2f}")


def _melody_params(text: str, meter: str | None, role: str
                   ) -> tuple[dict[str, list[str]], dict[str, Any], str]:
    """A melody argument as the engine takes it: a file (an input, hashed into the record), or a
    note string (a parameter, written canonically); and a short name for the prompt."""
    from museforge.music.harmonize import melody_to_string
    from museforge.music.io import melody_of, music_file, parse_note_string

    path = music_file(text)  # a file only when one of that name exists
    if path is not None:
        return {role: [text]}, {}, path.name
    line = melody_of(parse_note_string(text, meter or "4/4"))
    return {}, {role: melody_to_string(line)}, text[:80]


# ---------------------------------------------------------------- compose


def cmd_compose(args: argparse.Namespace) -> int:
    """Compose a piece by rule from a mood, key, meter and length."""
    from museforge.emotion.moods import MOODS_TABLE, mode_mood
    from museforge.music.theory import parse_key
    from museforge.runtime import resolve_seed

    values = given_params(args)
    key = parse_key(values["key"]) if values.get("key") else None
    in_mode = key is not None and any(s.mode == key.mode for s in MOODS_TABLE.values())
    mood = args.emotion or (mode_mood(key.mode) if in_mode else "serene")
    seed = resolve_seed(args.seed)
    out = Path(args.out or f"compose-{mood}-{seed}")
    _check_out(out, args.overwrite)
    work = run_engine("rule-composer", values, seed=seed, prompt=args.prompt or f"a {mood} piece",
                      emotion=mood, lang="en")
    summary = _write(work, out, args.overwrite)
    print(f"{mood}: {_describe(summary)}; seed {seed}", file=sys.stderr)
    return 0


def add_compose_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``compose``: a rule-based piece (melody, chords, bass, percussion) for a mood."""
    from museforge.emotion.moods import MOODS
    from museforge.music.engine import RuleComposerParams

    p = sub.add_parser(
        "compose",
        help="compose a piece for a mood: MIDI, MusicXML, WAV and a piano roll",
        description="Compose melody, chords, bass and (for excited moods) percussion by rule: "
        "phrases in AABA or period form with cadences at their ends, a motif stated, sequenced "
        "and varied. The same arguments and seed give the same bytes.",
    )
    p.add_argument("--emotion", choices=MOODS, metavar="MOOD",
                   help=f"the mood: {', '.join(MOODS)} (default: from the key's mode, else serene)")
    add_param_flags(p, RuleComposerParams)
    p.add_argument("--prompt", help="a line recorded as the piece's title and prompt")
    _common(p, "compose-MOOD-SEED")
    p.set_defaults(func=cmd_compose)
    return p


# ---------------------------------------------------------------- harmonize


def _melody_command(args: argparse.Namespace, engine: str, role: str, verb: str) -> dict[str, Any]:
    """Run a melody engine on the melody argument; returns its summary."""
    from museforge.runtime import resolve_seed

    values = given_params(args)
    inputs, melody, name = _melody_params(getattr(args, role), values.get("meter"), role)
    seed = resolve_seed(args.seed)
    out = Path(args.out or f"{verb}-{seed}")
    _check_out(out, args.overwrite)
    work = run_engine(engine, {**values, **melody}, inputs=inputs, seed=seed, prompt=f"{verb} {name}",
                      lang="en")
    return _write(work, out, args.overwrite)


def cmd_harmonize(args: argparse.Namespace) -> int:
    """Harmonise a melody in four parts (SATB) with the chorale model."""
    summary = _melody_command(args, "chorale-harmonizer", "melody", "harmonize")
    vl = summary["metrics"].get("voice_leading", {})
    print(f"SATB: {_describe(summary)}; parallel fifths {vl.get('parallel_fifths')}, "
          f"octaves {vl.get('parallel_octaves')}", file=sys.stderr)
    return 0


def add_harmonize_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``harmonize``: SATB from a melody (MIDI, MusicXML or a note string)."""
    from museforge.music.harmonize import HarmonizerParams

    p = sub.add_parser(
        "harmonize",
        help="harmonise a melody in four parts (SATB) like a Bach chorale",
        description="Write alto, tenor and bass under a melody with a model trained on Bach's "
        "chorales, searching only four-part writing without parallel fifths or octaves, voice "
        "crossing or voices out of range. The melody becomes the soprano (A3-C6). A melody file "
        "is hashed into the record, so 'museforge reproduce' rebuilds the result from it.",
    )
    p.add_argument("melody", metavar="INPUT", help=NOTES_HELP)
    add_param_flags(p, HarmonizerParams, skip=("melody",))
    _common(p, "harmonize-SEED")
    p.set_defaults(func=cmd_harmonize)
    return p


# ---------------------------------------------------------------- continue


def cmd_continue(args: argparse.Namespace) -> int:
    """Continue a motif with the folk-melody model."""
    summary = _melody_command(args, "folk-continuer", "motif", "continue")
    orig = summary.get("originality", {})
    print(f"continued: {_describe(summary)}; originality: {orig.get('attempts')} attempt(s), "
          f"{orig.get('blocked')} blocked", file=sys.stderr)
    return 0


def add_continue_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``continue``: a motif continued by the folk-melody model."""
    from museforge.music.continuation import ContinuerParams

    p = sub.add_parser(
        "continue",
        help="continue a motif in its key and meter with a model trained on folk tunes",
        description="Continue a melody with a model trained on the folk and fiddle tunes of "
        "music21's corpus, in the motif's key and meter, ending on the tonic at a bar line. A "
        "continuation that repeats 8 or more consecutive intervals of a training tune is "
        "thrown away and drawn again.",
    )
    p.add_argument("motif", help=NOTES_HELP)
    add_param_flags(p, ContinuerParams, skip=("motif",))
    _common(p, "continue-SEED")
    p.set_defaults(func=cmd_continue)
    return p


# ---------------------------------------------------------------- score


def cmd_score(args: argparse.Namespace) -> int:
    """Score a scene: a cue of the requested length with a build-up, a climax and a resolution."""
    from museforge.jobs import check_prompt
    from museforge.runtime import resolve_seed

    prompt = check_prompt(args.description)
    seed = resolve_seed(args.seed)
    out = Path(args.out) if args.out else None
    if out is not None:
        _check_out(out, args.overwrite)
    work = run_engine("scene-scorer", given_params(args), seed=seed, prompt=prompt, emotion=args.emotion)
    emotion = work.record.emotion.label if work.record.emotion else "none"
    out = out or Path(f"score-{emotion}-{seed}")
    s = _write(work, out, args.overwrite)
    print(f"{emotion}: {_describe(s)}, {s['tempo']:g} quarters a minute; sections "
          f"{', '.join(f'{n} {b}' for n, b in s['sections'])}", file=sys.stderr)
    return 0


def add_score_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``score``: a cue for a scene, of an exact length."""
    from museforge.music.scene import SceneParams

    p = sub.add_parser(
        "score",
        help="score a scene: a cue of exact length with build-up, climax and resolution",
        description="Read the mood of a scene description, choose tempo, key and instruments, "
        "and write a cue in three sections (build-up, climax, resolution) whose length matches "
        "--seconds to within one beat.",
    )
    p.add_argument("description", help="the scene, e.g. 'a chase through a night market'")
    add_param_flags(p, SceneParams)
    add_mood(p, "the description")
    _common(p, "score-MOOD-SEED")
    p.set_defaults(func=cmd_score)
    return p
