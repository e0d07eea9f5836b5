"""The ``create`` job: one prompt becomes one Work holding a poem, a painting and music."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from museforge import __version__
from museforge.emotion import Emotion, detect_emotion, detect_language, emotion_from_label
from museforge.engines import (
    MODALITIES,
    Artifact,
    Engine,
    OutputFile,
    Request,
    default_engine,
    get_engine,
    make_params,
)
from museforge.errors import MuseforgeError
from museforge.provenance import embed, load_signing_key, sign_manifest
from museforge.report import render_report
from museforge.runtime import (
    Progress,
    derive_seed,
    library_versions,
    make_generator,
    no_progress,
    sha256_bytes,
)
from museforge.work import FORMAT_VERSION, prepare_destination, write_work

EXAMPLE_PROMPT = "在一片神秘的森林中，"
MAX_PROMPT_CHARS = 4000
LANGS = ("zh", "en")


@dataclass
class CreateOptions:
    """Everything the ``create`` job needs; the CLI fills it from its arguments."""

    prompt: str
    seed: int
    out: Path
    emotion: str | None = None
    lang: str | None = None
    modalities: tuple[str, ...] = MODALITIES
    engines: dict[str, str] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    device: str = "cpu"
    overwrite: bool = False


def check_prompt(prompt: str) -> str:
    """The prompt stripped, or a one-line error when it is empty or too long."""
    text = prompt.strip()
    if not text:
        raise MuseforgeError("the prompt is empty; say what the work is about, e.g. 'a stormy sea at night'")
    if len(text) > MAX_PROMPT_CHARS:
        raise MuseforgeError(
            f"the prompt has {len(text):,} characters; the limit is {MAX_PROMPT_CHARS:,}."
            " Give a theme or an opening, not a whole text"
        )
    return text


def parse_modalities(text: str) -> tuple[str, ...]:
    """``"text,image"`` -> ``("text", "image")``, in the canonical order, checked.

    >>> parse_modalities("music, text")
    ('text', 'music')
    """
    asked = [m.strip().lower() for m in text.split(",") if m.strip()]
    if not asked:
        raise MuseforgeError(f"no modality given; choose from: {', '.join(MODALITIES)}")
    unknown = [m for m in asked if m not in MODALITIES]
    if unknown:
        raise MuseforgeError(f"unknown modality {unknown[0]!r}; choose from: {', '.join(MODALITIES)}")
    return tuple(m for m in MODALITIES if m in asked)


def resolve_emotion(prompt: str, lang: str, label: str | None) -> Emotion:
    return emotion_from_label(label) if label else detect_emotion(prompt, lang)


def slugify(text: str, limit: int = 24) -> str:
    """A folder-friendly short form of a prompt (keeps CJK characters).

    >>> slugify("A stormy sea, at night!")
    'a-stormy-sea-at-night'
    """
    words = re.findall(r"\w+", text.lower())
    return "-".join(words)[:limit].strip("-") or "work"


def default_out(prompt: str, root: Path = Path("works")) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return root / f"{stamp}-{slugify(prompt)}"


def provenance_record(
    prompt: str,
    lang: str,
    emotion: Emotion,
    engine: type[Engine],
    params: dict[str, Any],
    seed: int,
    model_sha256: str | None,
    libraries: dict[str, str],
) -> dict[str, Any]:
    """The record embedded in every file: all that decides its bytes, and nothing that varies."""
    return {
        "prompt": prompt,
        "lang": lang,
        "emotion": emotion.to_dict(),
        "engine": engine.name,
        "engine_version": engine.version,
        "model_sha256": model_sha256,
        "params": params,
        "seed": seed,
        "libraries": libraries,
    }


def run_engine(
    engine_cls: type[Engine],
    params: Any,
    prompt: str,
    lang: str,
    emotion: Emotion,
    seed: int,
    device: str,
    progress: Progress,
    libraries: dict[str, str],
) -> tuple[Artifact, list[OutputFile], dict[str, Any]]:
    """Run one engine and embed provenance in its files; shared by ``create`` and ``reproduce``."""
    engine = engine_cls()
    request = Request(prompt, lang, emotion, seed, params, device, progress)
    artifact = engine.run(request, make_generator(seed))
    record = provenance_record(
        prompt,
        lang,
        emotion,
        engine_cls,
        asdict(params),
        seed,
        engine.model_sha256(params),
        libraries,
    )
    files = [embedded for f in artifact.files for embedded in embed(f, record)]
    return artifact, files, record


def create_work(opts: CreateOptions, progress: Progress = no_progress) -> tuple[Path, list[str]]:
    """Run the job and write the Work; returns its folder and the warnings to show."""
    prompt = check_prompt(opts.prompt)
    if opts.lang is not None and opts.lang not in LANGS:
        raise MuseforgeError(f"unknown language {opts.lang!r}; choose zh or en")
    lang = opts.lang or detect_language(prompt)
    emotion = resolve_emotion(prompt, lang, opts.emotion)
    plan = []
    for modality in opts.modalities:
        engine_cls = (
            get_engine(opts.engines[modality]) if modality in opts.engines else default_engine(modality)
        )
        if engine_cls.modality != modality:
            raise MuseforgeError(f"engine {engine_cls.name!r} makes {engine_cls.modality}, not {modality}")
        overrides = {**opts.params.get(modality, {}), **opts.params.get(engine_cls.name, {})}
        plan.append((modality, engine_cls, make_params(engine_cls.Params, overrides)))
    prepare_destination(opts.out, opts.overwrite)

    libraries = library_versions()
    entries, files, summaries, warnings = [], [], {}, []
    started = time.perf_counter()
    for modality, engine_cls, params in plan:
        seed = derive_seed(opts.seed, modality)
        t0 = time.perf_counter()
        progress(f"{modality}: {engine_cls.name}", 0.0)
        artifact, made, record = run_engine(
            engine_cls,
            params,
            prompt,
            lang,
            emotion,
            seed,
            opts.device,
            lambda stage, frac, m=modality: progress(f"{m}: {stage}", frac),
            libraries,
        )
        progress(f"{modality}: {engine_cls.name}", 1.0)
        names = {f.name for f in files}
        clash = [f.name for f in made if f.name in names]
        if clash:
            raise MuseforgeError(
                f"engine {engine_cls.name!r} wrote {clash[0]!r}, which another engine already wrote"
            )
        files.extend(made)
        warnings.extend(artifact.warnings)
        summaries[modality] = artifact.summary
        entries.append(
            {
                "modality": modality,
                "engine": engine_cls.name,
                "engine_version": engine_cls.version,
                "model_sha256": record["model_sha256"],
                "params": record["params"],
                "seed": seed,
                "files": [
                    {
                        "name": f.name,
                        "media_type": f.media_type,
                        "sha256": sha256_bytes(f.data),
                        "bytes": len(f.data),
                    }
                    for f in made
                ],
                "summary": artifact.summary,
                "warnings": artifact.warnings,
                "seconds": round(time.perf_counter() - t0, 3),
            }
        )

    manifest: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "museforge": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "prompt": prompt,
        "lang": lang,
        "seed": opts.seed,
        "emotion": emotion.to_dict(),
        "device": opts.device,
        "libraries": libraries,
        "artifacts": entries,
        "originality": None,
        "evaluation": None,
        "seconds": round(time.perf_counter() - started, 3),
    }
    progress("signing and writing", 0.0)
    manifest["signature"] = sign_manifest(manifest, load_signing_key())
    report = OutputFile("report.html", render_report(manifest).encode(), "text/html")
    out = write_work(opts.out, manifest, [*files, report], opts.overwrite)
    progress("signing and writing", 1.0)
    return out, warnings
