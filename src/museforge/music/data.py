"""Training data from music21's bundled corpus, cached as compact ``.npz`` files.

Parsing the corpus with music21 takes minutes, so the recipes call :func:`chorale_dataset` and
:func:`folk_dataset` once and keep the arrays under ``$MUSEFORGE_CACHE`` (default
``~/.cache/museforge/music``). Each file records the SHA-256 of its own arrays, which the
shipped checkpoints carry as their training-data manifest hash.

Chorales are sampled on a sixteenth-note grid, one token per voice and step (DeepBach's
encoding): ``HOLD`` continues the previous note, ``REST`` is silence, ``PITCH0 + p - LOW`` starts
a note of MIDI pitch ``p``. Folk tunes are note lists: MIDI pitch (or -1 for a rest), duration
and offset in quarters, with each tune's key (tonic pitch class, mode) and meter.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

HOLD, REST, PITCH0 = 0, 1, 2
LOW, HIGH = 28, 96
"""Lowest and highest MIDI pitch a chorale token can hold."""
N_TOKENS = PITCH0 + HIGH - LOW + 1
STEP = 0.25
"""Grid step in quarter notes (a sixteenth)."""
FOLK_DIRS = ("ryansMammoth", "oneills1850", "essenFolksong")


def cache_dir() -> Path:
    """Where preprocessed corpora live: ``$MUSEFORGE_CACHE/music`` or ``~/.cache/museforge/music``."""
    root = os.environ.get("MUSEFORGE_CACHE") or Path.home() / ".cache" / "museforge"
    path = Path(root) / "music"
    path.mkdir(parents=True, exist_ok=True)
    return path


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    """A hash over named arrays (names, dtypes, shapes and bytes), independent of npz zipping.

    >>> a = arrays_sha256({"x": np.arange(3)}); a == arrays_sha256({"x": np.arange(3)})
    True
    """
    h = hashlib.sha256()
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{arr.dtype.str}:{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def token_of(pitch: int) -> int:
    """The onset token of a MIDI pitch.

    >>> token_of(LOW), token_of(60) - token_of(59)
    (2, 1)
    """
    if not LOW <= pitch <= HIGH:
        raise ValueError(f"pitch {pitch} outside {LOW}..{HIGH}")
    return PITCH0 + pitch - LOW


def pitch_of(token: int) -> int:
    """The MIDI pitch of an onset token (inverse of :func:`token_of`)."""
    return int(token) - PITCH0 + LOW


def notes_to_grid(notes: list[tuple[float, float, int]], steps: int) -> np.ndarray:
    """Tokens of one voice on the grid from ``(start, duration, pitch)`` notes.

    >>> notes_to_grid([(0, 0.5, 60), (0.5, 0.25, 62)], 4).tolist() == [token_of(60), HOLD,
    ...     token_of(62), REST]
    True
    """
    grid = np.full(steps, REST, dtype=np.int16)
    for start, dur, pitch in notes:
        a = round(start / STEP)
        b = max(a + 1, round((start + dur) / STEP))
        if a >= steps:
            continue
        grid[a] = token_of(pitch)
        grid[a + 1 : min(b, steps)] = HOLD
    return grid


def grid_to_notes(tokens: np.ndarray) -> list[tuple[float, float, int]]:
    """``(start, duration, pitch)`` notes of one voice from its grid tokens.

    >>> grid_to_notes(np.array([token_of(60), HOLD, REST, token_of(62)]))
    [(0.0, 0.5, 60), (0.75, 0.25, 62)]
    """
    out: list[tuple[float, float, int]] = []
    current: list | None = None
    for i, tok in enumerate(tokens.tolist()):
        if tok == HOLD and current is not None:
            current[1] += STEP
            continue
        if current is not None:
            out.append((current[0], current[1], current[2]))
            current = None
        if tok >= PITCH0:
            current = [i * STEP, STEP, pitch_of(tok)]
    if current is not None:
        out.append((current[0], current[1], current[2]))
    return out


# ------------------------------------------------------------------------------- chorales


def _part_notes(part) -> list[tuple[float, float, int]]:
    notes = []
    for n in part.stripTies().flatten().notes:
        pitch = max(p.midi for p in n.pitches) if n.isChord else n.pitch.midi
        notes.append((float(n.offset), float(n.quarterLength), int(pitch)))
    return notes


def extract_chorale(score) -> dict | None:
    """Grid tokens ``(4, steps)`` and bar positions of a four-part chorale, or None if unusable."""
    parts = list(score.parts)
    if len(parts) != 4:
        return None
    measures = parts[0].getElementsByClass("Measure")
    if not measures:
        return None
    ts = measures[0].timeSignature or parts[0].recurse().getElementsByClass("TimeSignature").first()
    if ts is None:
        return None
    bar = float(ts.barDuration.quarterLength)
    pickup = float(measures[0].paddingLeft or 0.0)
    voices = [_part_notes(p) for p in parts]
    end = max(s + d for v in voices for s, d, _ in v)
    steps = round(end / STEP)
    try:
        grid = np.stack([notes_to_grid(v, steps) for v in voices])
    except ValueError:
        return None
    pos = ((np.arange(steps) * STEP + pickup) % bar / STEP).round().astype(np.int16)
    key = score.analyze("key")
    return {"grid": grid, "pos": pos, "bar_steps": round(bar / STEP),
            "tonic": key.tonic.pitchClass, "minor": key.mode == "minor"}


def chorale_dataset(progress: Callable[[int, int], None] | None = None) -> Path:
    """Parse the 371 Bach chorales (once) into ``chorales.npz``; return its path.

    Split: of the usable four-part chorales in music21's order, every tenth (from the first) is
    held out for testing, every tenth from the sixth on for validation; the rest trains.
    """
    path = cache_dir() / "chorales.npz"
    if path.is_file():
        return path
    from music21 import corpus

    names = list(corpus.chorales.Iterator(returnType="filename"))
    grids, poss, meta, kept = [], [], [], []
    for i, name in enumerate(names):
        if progress:
            progress(i, len(names))
        try:
            item = extract_chorale(corpus.parse(name))
        except Exception:  # a few corpus files are malformed; skip them
            item = None
        if item is None:
            continue
        grids.append(item["grid"])
        poss.append(item["pos"])
        k = len(kept)
        split = 2 if k % 10 == 0 else (1 if k % 10 == 5 else 0)
        meta.append((item["grid"].shape[1], item["bar_steps"], item["tonic"], int(item["minor"]), split))
        kept.append(name)
    arrays = {
        "tokens": np.concatenate(grids, axis=1).astype(np.int16),
        "pos": np.concatenate(poss).astype(np.int16),
        "meta": np.array(meta, dtype=np.int32),  # steps, bar_steps, tonic, minor, split
        "names": np.array(kept),
    }
    np.savez_compressed(path, sha256=np.array(arrays_sha256(arrays)), **arrays)
    return path


def load_chorales(path: Path | None = None) -> tuple[list[dict], str]:
    """The cached chorales as dicts (``tokens``, ``pos``, ``bar_steps``, ``tonic``, ``minor``,
    ``split``: 0 train, 1 valid, 2 test, ``name``) and the data hash."""
    with np.load(path or chorale_dataset()) as z:
        tokens, pos, meta, names, sha = z["tokens"], z["pos"], z["meta"], z["names"], str(z["sha256"])
    out, at = [], 0
    for (steps, bar_steps, tonic, minor, split), name in zip(meta.tolist(), names.tolist(), strict=True):
        out.append({"tokens": tokens[:, at : at + steps], "pos": pos[at : at + steps],
                    "bar_steps": bar_steps, "tonic": tonic, "minor": bool(minor), "split": split,
                    "name": name})
        at += steps
    return out, sha


# ------------------------------------------------------------------------------- folk tunes


def _folk_files(source: str) -> list[Path]:
    from music21 import corpus

    return sorted((Path(corpus.__file__).parent / source).glob("*.abc"))


def split_abc(text: str, limit: int | None = None) -> list[str]:
    r"""The tunes of an abc file (each with the file header before the first ``X:``).

    >>> [t.splitlines()[1] for t in split_abc("%header\nX:1\nT:a\nX:2\nT:b\n")]
    ['X:1', 'X:2']
    """
    chunks = re.split(r"(?m)^(?=X:)", text)
    header, tunes = chunks[0], [c for c in chunks[1:] if c.strip()]
    return [header + t for t in tunes[:limit]]


def extract_tune(score) -> dict | None:
    """Notes, key and meter of one monophonic tune, or None if it has none of them."""
    part = score.parts[0] if hasattr(score, "parts") and score.parts else score
    flat = part.flatten()
    meters = list(part.recurse().getElementsByClass("TimeSignature"))
    ks = flat.getElementsByClass(("Key", "KeySignature")).first()
    if not meters or ks is None or len({m.ratioString for m in meters}) > 1:
        return None  # no meter, no key, or a changing meter
    ts = meters[0]
    key = ks if hasattr(ks, "mode") and hasattr(ks, "tonic") else ks.asKey("major")
    measures = part.getElementsByClass("Measure")
    pickup = float(measures[0].paddingLeft or 0.0) if measures else 0.0
    notes = []
    for n in flat.stripTies().notesAndRests:
        if n.quarterLength <= 0:
            continue
        if n.isRest:
            pitch = -1
        elif n.isChord:
            pitch = max(p.midi for p in n.pitches)
        else:
            pitch = n.pitch.midi
        notes.append((pitch, float(n.quarterLength), float(n.offset) + pickup))
    if len(notes) < 8:
        return None
    mode = key.mode if key.mode in ("major", "minor", "dorian", "mixolydian") else "major"
    return {"notes": notes, "tonic": key.tonic.pitchClass, "mode": mode,
            "meter": ts.ratioString, "bar": float(ts.barDuration.quarterLength)}


FOLK_PER_FILE = {"ryansMammoth": None, "oneills1850": 40, "essenFolksong": 60}
"""Tunes read from each file: all of Ryan's (one tune a file), the first 40 of each O'Neill's
file and the first 60 of each Essen collection (parsing all 10,000 takes an hour)."""


def folk_part(source: str, progress: Callable[[int, int], None] | None = None) -> Path:
    """Parse one folk collection (once) into ``folk-SOURCE.npz``; return its path."""
    from music21 import converter

    path = cache_dir() / f"folk-{source}.npz"
    if path.is_file():
        return path
    files = _folk_files(source)
    rows: list[tuple[int, float, float]] = []
    tunes: list[tuple] = []
    for i, f in enumerate(files):
        if progress:
            progress(i, len(files))
        for text in split_abc(f.read_text(encoding="utf-8", errors="replace"), FOLK_PER_FILE[source]):
            try:
                item = extract_tune(converter.parse(text, format="abc"))
            except Exception:  # a tune music21 cannot read
                item = None
            if item is None:
                continue
            rows.extend(item["notes"])
            tunes.append((len(item["notes"]), item["tonic"], item["mode"], item["meter"], item["bar"]))
    np.savez_compressed(
        path, notes=np.array(rows, dtype=np.float32).reshape(-1, 3),
        lengths=np.array([t[0] for t in tunes], dtype=np.int32),
        tonic=np.array([t[1] for t in tunes], dtype=np.int8), mode=np.array([t[2] for t in tunes]),
        meter=np.array([t[3] for t in tunes]), bar=np.array([t[4] for t in tunes], dtype=np.float32))
    return path


def folk_dataset(progress: Callable[[int, int], None] | None = None) -> Path:
    """Merge the parsed folk collections into ``folk.npz`` (parsing any not yet cached); every
    tenth tune is held out (``test``)."""
    path = cache_dir() / "folk.npz"
    if path.is_file():
        return path
    parts = []
    for source in FOLK_DIRS:
        with np.load(folk_part(source, progress)) as z:
            parts.append({k: z[k] for k in z.files} | {"source": np.full(len(z["lengths"]), source)})
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    arrays["tonic"], arrays["mode"] = relabel_minor(arrays)
    arrays["test"] = np.arange(len(arrays["lengths"])) % 10 == 0
    np.savez_compressed(path, sha256=np.array(arrays_sha256(arrays)), **arrays)
    return path


def relabel_minor(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Tonics and modes with "major" tunes that end on the sixth degree relabelled as the
    relative minor: many abc files give only a key signature, which music21 reads as major.

    >>> a = {"notes": np.array([[60, 1, 0], [57, 1, 1], [64, 1, 0], [60, 1, 1]], dtype=np.float32),
    ...      "lengths": np.array([2, 2]), "tonic": np.array([0, 0]), "mode": np.array(["major", "major"])}
    >>> t, m = relabel_minor(a); t.tolist(), m.tolist()
    ([9, 0], ['minor', 'major'])
    """
    ends = np.cumsum(arrays["lengths"]) - 1
    tonic, mode = arrays["tonic"].astype(np.int64).copy(), arrays["mode"].astype("<U10").copy()
    for i, (e, n) in enumerate(zip(ends.tolist(), arrays["lengths"].tolist(), strict=True)):
        tune = arrays["notes"][e + 1 - n : e + 1]
        pitched = tune[tune[:, 0] >= 0]
        final = int(pitched[-1, 0]) % 12 if len(pitched) else -1
        if mode[i] == "major" and final == (tonic[i] + 9) % 12:
            tonic[i], mode[i] = (tonic[i] + 9) % 12, "minor"
    return tonic.astype(np.int8), mode


def load_folk(path: Path | None = None) -> tuple[list[dict], str]:
    """The cached folk tunes as dicts (``notes`` array ``(n, 3)``, ``tonic``, ``mode``, ``meter``,
    ``bar``, ``test``, ``source``) and the data hash."""
    with np.load(path or folk_dataset()) as z:
        data = {k: z[k] for k in z.files}
    out, at = [], 0
    for i, n in enumerate(data["lengths"].tolist()):
        out.append({"notes": data["notes"][at : at + n], "tonic": int(data["tonic"][i]),
                    "mode": str(data["mode"][i]), "meter": str(data["meter"][i]),
                    "bar": float(data["bar"][i]), "test": bool(data["test"][i]),
                    "source": str(data["source"][i])})
        at += n
    return out, str(data["sha256"])
