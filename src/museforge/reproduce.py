"""``reproduce``: run every artifact of a Work again and compare the bytes, file by file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from museforge.create import run_engine
from museforge.emotion import Emotion
from museforge.engines import get_engine, make_params
from museforge.runtime import Progress, library_versions, no_progress
from museforge.work import load_manifest, work_folder


@dataclass(frozen=True)
class FileResult:
    name: str
    identical: bool
    note: str = ""


def reproduce_work(path: Path, progress: Progress = no_progress) -> tuple[list[FileResult], list[str]]:
    """Regenerate each artifact from ``work.json``; per file, whether the bytes are identical.

    Also returns notes on what differs in the environment (library versions, engine versions),
    which explain a mismatch.
    """
    manifest = load_manifest(path)
    folder = work_folder(path)
    emotion = Emotion.from_dict(manifest["emotion"])
    recorded_libs = manifest["libraries"]
    libraries = library_versions()
    notes = [
        f"{name} is {libraries.get(name, 'absent')} here, {version} when the Work was made"
        for name, version in recorded_libs.items()
        if libraries.get(name) != version
    ]
    results = []
    for entry in manifest["artifacts"]:
        engine_cls = get_engine(entry["engine"])
        if engine_cls.version != entry["engine_version"]:
            notes.append(
                f"engine {engine_cls.name} is version {engine_cls.version} here, "
                f"{entry['engine_version']} when the Work was made"
            )
        params = make_params(engine_cls.Params, entry["params"])
        stage = f"{entry['modality']}: {engine_cls.name}"
        progress(stage, 0.0)
        _, files, _ = run_engine(
            engine_cls,
            params,
            manifest["prompt"],
            manifest["lang"],
            emotion,
            entry["seed"],
            "cpu",
            lambda s, f, stage=stage: progress(f"{stage}: {s}", f),
            recorded_libs,
        )
        progress(stage, 1.0)
        made = {f.name: f.data for f in files}
        for listed in entry["files"]:
            name = listed["name"]
            original = folder / name
            if name not in made:
                results.append(FileResult(name, False, "the engine no longer writes this file"))
            elif not original.exists():
                results.append(FileResult(name, False, "missing from the Work folder"))
            elif original.read_bytes() == made[name]:
                results.append(FileResult(name, True))
            else:
                results.append(FileResult(name, False, "bytes differ"))
    return results, notes
