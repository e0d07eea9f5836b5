"""``reproduce``: replay a Work's record through the job layer and compare the bytes, file by file.

Works from a Work folder or from a lone file's embedded record. Input files (a photo, a melody)
are found by their recorded SHA-256: the paths given, built-in assets by name, then files of the
recorded name beside the Work and in the current folder. A file's seal (its signature) depends on
the key that signed it, so bytes are compared with the seal left out; everything else, the record
included, must match exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from museforge.engines import Engine, InputFile, get_engine
from museforge.errors import MuseforgeError
from museforge.jobs import Step, builtin_input, open_input, prepare, run_steps
from museforge.provenance import SIDECAR_SUFFIX, container_of, read_embedding, read_lone, strip_seal
from museforge.record import ArtifactRecord, InputRecord
from museforge.runtime import Progress, library_versions, no_progress
from museforge.work import is_work_folder, load_record, lone_record, sealed_files, work_folder


@dataclass(frozen=True)
class FileResult:
    name: str
    identical: bool
    note: str = ""


def _find_input(engine: type[Engine], item: InputRecord, given: Sequence[Path],
                search: Sequence[Path]) -> InputFile | None:
    """The input whose bytes hash to the recorded SHA-256, or None."""
    candidates: list[InputFile] = []
    if item.builtin:
        found = builtin_input(engine, item.role, item.name)
        if found is not None:
            candidates.append(found)
    for path in [*given, *(folder / item.name for folder in search if item.name)]:
        if path.exists():
            try:
                candidates.append(open_input(engine, item.role, path))
            except MuseforgeError:
                continue
    for candidate in candidates:
        if candidate.sha256 == item.sha256:
            return InputFile(item.role, item.name, candidate.data, item.builtin)
    return None


def _step(artifact: ArtifactRecord, given: Mapping[str, Sequence[Path]],
          search: Sequence[Path]) -> Step:
    engine = get_engine(artifact.engine)
    inputs: dict[str, list[InputFile]] = {}
    for item in artifact.inputs:
        found = _find_input(engine, item, given.get(item.role, ()), search)
        if found is None:
            raise MuseforgeError(
                f"input {item.role} {item.name or '(unnamed)'} (sha256 {item.sha256[:12]}) was not found "
                f"beside the Work or here; pass it with --input {item.role}=PATH"
            )
        inputs.setdefault(item.role, []).append(found)
    return prepare(engine, artifact.params, inputs, artifact.seed)


def same_content(name: str, original: bytes, made: bytes) -> bool:
    """Whether two versions of a file agree in every byte but their seal."""
    if original == made:
        return True
    if name.endswith(SIDECAR_SUFFIX):
        try:
            a, b = json.loads(original), json.loads(made)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return False
        return isinstance(a, dict) and isinstance(b, dict) and \
            {k: v for k, v in a.items() if k != "seal"} == {k: v for k, v in b.items() if k != "seal"}
    if container_of(name) is None:
        return False
    try:
        return strip_seal(Path(name), original) == strip_seal(Path(name), made)
    except MuseforgeError:
        return False


def reproduce_work(
    path: Path,
    progress: Progress = no_progress,
    inputs: Mapping[str, Sequence[Path]] | None = None,
) -> tuple[list[FileResult], list[str]]:
    """Regenerate each artifact from its record; per file, whether the bytes are identical.

    Also returns notes on what differs in the environment (library versions, engine versions),
    which explain a mismatch.
    """
    path = Path(path)
    if is_work_folder(path):
        folder = work_folder(path)
        records = [(load_record(folder), None)]
    elif path.is_dir():
        folder = path
        records = [(lone_record(p), p.name) for p in sealed_files(path)]
        if not records:
            raise MuseforgeError(f"{path} holds no work.json and no file with a museforge record")
    else:
        folder = path.parent
        records = [(lone_record(path), path.name)]
    search = [folder, folder.parent, Path.cwd()]
    here = library_versions()
    notes: list[str] = []
    results: list[FileResult] = []
    for record, only in records:
        notes += [f"{name} is {here.get(name, 'absent')} here, {version} when the Work was made"
                  for name, version in record.libraries.items()
                  if here.get(name) != version and f"{name} is" not in " ".join(notes)]
        for artifact in record.artifacts:
            engine = get_engine(artifact.engine)
            if engine.version != artifact.engine_version:
                notes.append(f"engine {engine.name} is version {engine.version} here, "
                             f"{artifact.engine_version} when the Work was made")
            step = _step(artifact, inputs or {}, search)
            stage = f"{artifact.modality or engine.modality}: {engine.name}"
            progress(stage, 0.0)
            work = run_steps([step], prompt=record.prompt, seed=record.seed, emotion=record.emotion,
                             lang=record.lang, device="cpu", libraries=record.libraries,
                             progress=lambda s, f, stage=stage: progress(f"{stage}: {s}", f))
            progress(stage, 1.0)
            made = {f.name: f.data for f in work.files}
            pairs = ([(f.name, f.name) for f in artifact.files] if only is None
                     else _lone_pairs(folder / only, made))
            for name, made_name in pairs:
                original = folder / name
                if made_name not in made:
                    results.append(FileResult(name, False, "the engine no longer writes this file"))
                elif not original.exists():
                    results.append(FileResult(name, False, "missing from the Work folder"))
                elif same_content(made_name, read_lone(original), made[made_name]):
                    results.append(FileResult(name, True))
                else:
                    results.append(FileResult(name, False, "bytes differ"))
    return results, notes


def _lone_pairs(path: Path, made: dict[str, bytes]) -> list[tuple[str, str]]:
    """(name on disk, name the engine gives) for a lone file and its sidecar: the seal records
    the engine's name, since a person may rename the file."""
    found = read_embedding(path)
    stamp = found.seal.get("file") if isinstance(found.seal, dict) else None
    made_name = stamp.get("name") if isinstance(stamp, dict) else None
    if not isinstance(made_name, str) or made_name not in made:
        same_kind = [n for n in made if Path(n).suffix == path.suffix]
        made_name = path.name if path.name in made else (same_kind[0] if len(same_kind) == 1 else path.name)
    pairs = [(path.name, made_name)]
    if container_of(path.name) is None:
        pairs.append((path.name + SIDECAR_SUFFIX, made_name + SIDECAR_SUFFIX))
    return pairs
