"""The one call every front end uses: run engines on a prompt and input files, get a Work.

``prepare`` checks an engine's parameters and input files before anything runs; ``run_steps``
resolves the prompt's language and mood, runs each engine with its own seed, embeds and seals
the record in every file, and signs the Work. ``run`` does both for one engine. The command
line, ``create`` (a loop over modalities), ``reproduce`` (a replay of a record) and the studio
call nothing else to make a Work, and nothing here prints: progress goes through one callback.
"""

from __future__ import annotations

import datetime as dt
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from museforge import __version__
from museforge.emotion.moods import Emotion, emotion_from_label
from museforge.engines import (
    Engine,
    InputFile,
    OutputFile,
    Request,
    build_params,
    get_engine,
)
from museforge.errors import MuseforgeError
from museforge.files import read_at_most
from museforge.hashing import sha256_bytes
from museforge.keys import load_signing_key, own_name, public_b64
from museforge.originality.service import COPY_RETRIES, check_artifact
from museforge.provenance import embed, sign_manifest
from museforge.record import ArtifactRecord, FileRecord, InputRecord, Signature, WorkRecord
from museforge.report import render_report
from museforge.runtime import (
    MAX_SEED,
    Progress,
    check_device,
    check_seed,
    derive_seed,
    library_versions,
    make_generator,
    no_progress,
)
from museforge.work import REPORT, Work

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

MAX_PROMPT_CHARS = 4000
"""The longest prompt, in characters after normalisation (NFC, controls removed, stripped)."""
LANGS = ("zh", "en")
MAX_INPUT_BYTES = 256 * 1024 * 1024
"""The largest input file read (images are bounded further by their pixel count)."""
MAX_FILES_PER_ROLE = 16
"""The most input files of one role (styles to blend, masks)."""

_KEPT_CONTROLS = frozenset("\n\t")


def _invisible(ch: str) -> bool:
    """Whitespace, a control or a format character (zero-width space, BOM, bidi marks)."""
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf")


def clean_text(text: str, what: str = "the prompt") -> str:
    """``text`` in NFC with line ends as ``\\n``, every control character but newline and tab
    and every byte-order mark removed; a one-line error when it holds bytes that are not UTF-8
    (lone surrogates, as Python decodes such bytes from the command line or standard input).

    >>> clean_text("e\\u0301\\x1b[1m\\r\\n\\ufefftab\\there")
    'é[1m\\ntab\\there'
    """
    bad = next((i for i, ch in enumerate(text) if 0xD800 <= ord(ch) <= 0xDFFF), None)
    if bad is not None:
        raise MuseforgeError(f"{what} is not valid UTF-8 text (an undecodable byte at character "
                             f"{bad + 1:,}); save it as UTF-8 and try again")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "".join(ch for ch in text if ch in _KEPT_CONTROLS or not (
        unicodedata.category(ch) == "Cc" or ch == "\ufeff"))


def check_prompt(prompt: str, limit: int = MAX_PROMPT_CHARS, *, empty_ok: bool = False) -> str:
    """The prompt normalised (:func:`clean_text`) and stripped of whitespace and invisible
    characters at both ends, or a one-line error when it is empty (only invisible characters;
    allowed with ``empty_ok``) or longer than ``limit`` characters."""
    text = clean_text(prompt)
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    text = text[start:end]
    if not text and not empty_ok:
        raise MuseforgeError("the prompt is empty; say what the work is about, e.g. 'a stormy sea at night'")
    if len(text) > limit:
        raise MuseforgeError(
            f"the prompt has {len(text):,} characters; the limit is {limit:,}."
            " Give a theme or an opening, not a whole text"
        )
    return text


def resolve_language(prompt: str, lang: str | None) -> str:
    """``lang`` when given (checked), else the prompt's language."""
    if lang is not None:
        if lang not in LANGS:
            raise MuseforgeError(f"unknown language {lang!r}; choose zh or en")
        return lang
    from museforge.emotion.detect import detect_language

    return detect_language(prompt)


def resolve_emotion(prompt: str, lang: str, label: str | Emotion | None) -> Emotion:
    """The mood the person gave (a label or an Emotion), else the one read from the prompt."""
    if isinstance(label, Emotion):
        return label
    if label:
        return emotion_from_label(label)
    from museforge.emotion.detect import detect_emotion

    return detect_emotion(prompt, lang)


# ---------------------------------------------------------------- inputs


def read_input(role: str, path: Path | str, builtin: bool = False) -> InputFile:
    """An input file as bytes, with one-line errors; at most MAX_INPUT_BYTES are read."""
    path = Path(path)
    if not _is_file(path):
        raise MuseforgeError(f"{role} {shown(str(path))}: no such file")
    try:
        data = read_at_most(path, MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise MuseforgeError(f"{role} {path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_INPUT_BYTES:
        raise MuseforgeError(f"{role} {path}: larger than {MAX_INPUT_BYTES // 2**20} MiB; use a smaller file")
    return InputFile(role, path.name, data, builtin)


def shown(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters for a one-line message.

    >>> shown("C4 " * 40, 12)
    'C4 C4 C4 ...'
    """
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_file(path: Path) -> bool:
    """Whether ``path`` names a file; False for a name no file can have (too long, NUL)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def builtin_input(engine: type[Engine], role: str, name: str) -> InputFile | None:
    """A built-in asset an engine knows by name (a shipped style image or model), else None."""
    finder = getattr(engine, "builtin_input", None)
    path = finder(role, name) if finder else None
    return read_input(role, path, builtin=True) if path is not None else None


def open_input(engine: type[Engine], role: str, source: str | Path) -> InputFile:
    """An input named on a command line: an engine's own lookup first (a model folder, a shipped
    style by name), then a file, then a built-in asset of that name."""
    locate = getattr(engine, "locate_input", None)
    found = locate(role, str(source)) if locate else None
    if found is not None:
        path, label, builtin = found
        return InputFile(role, label, read_input(role, path).data, builtin)
    path = Path(source)
    if not _exists(path):
        asset = builtin_input(engine, role, str(source))
        if asset is not None:
            return asset
    return read_input(role, path)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def gather_inputs(engine: type[Engine], given: Mapping[str, Sequence[str | Path | InputFile]]
                  ) -> dict[str, tuple[InputFile, ...]]:
    """Every input of ``engine`` read by role (files, or names the engine knows), then counted."""
    specs = {s.role: s for s in engine.inputs}
    out: dict[str, tuple[InputFile, ...]] = {}
    for role, sources in given.items():
        if role not in specs:
            known = ", ".join(specs) or "none"
            raise MuseforgeError(f"engine {engine.name!r} takes no input {role!r}; its inputs: {known}")
        if len(sources) > MAX_FILES_PER_ROLE:
            raise MuseforgeError(f"{len(sources)} files given as {role}; the limit is {MAX_FILES_PER_ROLE}")
        out[role] = tuple(s if isinstance(s, InputFile) else open_input(engine, role, s) for s in sources)
    for spec in engine.inputs:
        count = len(out.get(spec.role, ()))
        if spec.required and not count:
            raise MuseforgeError(f"engine {engine.name!r} needs {spec.role} ({spec.help})")
        if count > 1 and not spec.multiple:
            raise MuseforgeError(f"engine {engine.name!r} takes one {spec.role}, not {count}")
    return out


# ---------------------------------------------------------------- steps


@dataclass(frozen=True)
class Step:
    """One engine run, checked and ready: the engine, its parameters, its inputs and its seed."""

    engine: type[Engine]
    params: Any
    inputs: Mapping[str, tuple[InputFile, ...]] = field(default_factory=dict)
    seed: int = 0

    @property
    def modality(self) -> str:
        return self.engine.modality


def prepare(engine: str | type[Engine], params: Mapping[str, Any] | Any = None,
            inputs: Mapping[str, Sequence[str | Path | InputFile]] | None = None, seed: int = 0) -> Step:
    """A checked Step: every parameter against its type and range and the engine's own checks,
    every input file read and counted. Raises MuseforgeError before anything runs."""
    engine_cls = get_engine(engine) if isinstance(engine, str) else engine
    if params is None or isinstance(params, Mapping):
        built = build_params(engine_cls, params or {})
    else:
        built = params
        engine_cls.check(built)
    files = gather_inputs(engine_cls, inputs or {})
    engine_cls.check_inputs(built, files)
    return Step(engine_cls, built, files, check_seed(seed))


def _input_records(step: Step) -> tuple[InputRecord, ...]:
    return tuple(InputRecord(f.role, f.name, f.sha256, len(f.data), f.builtin)
                 for spec in step.engine.inputs for f in step.inputs.get(spec.role, ()))


def run_steps(
    steps: Sequence[Step],
    *,
    prompt: str = "",
    seed: int = 0,
    emotion: str | Emotion | None = None,
    lang: str | None = None,
    device: str = "cpu",
    progress: Progress = no_progress,
    libraries: dict[str, str] | None = None,
    key: Ed25519PrivateKey | None = None,
    stream: Callable[[int, str], None] | None = None,
    allow_copy: bool = False,
) -> Work:
    """Run checked steps in order and return the signed Work; each file carries its sealed record.
    ``stream`` shows a text engine's words as they are written (it never changes a byte).

    Each artifact of a learned engine is checked against the index of its training data
    (:mod:`museforge.originality.service`) and the verdict recorded; a ``copy`` is made again
    with a new seed (the seed that made the kept one is recorded) unless ``allow_copy``, which
    the record then says."""
    if not steps:
        raise MuseforgeError("nothing to run")
    device = check_device(device)
    prompt = check_prompt(prompt, empty_ok=any(s.inputs for s in steps))
    lang = resolve_language(prompt, lang)
    mood = any(s.engine.uses_mood for s in steps)
    feeling = resolve_emotion(prompt, lang, emotion) if mood or emotion else None
    key = key or load_signing_key()
    signer = own_name()
    record = WorkRecord(
        museforge=__version__,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        prompt=prompt,
        lang=lang,
        seed=check_seed(seed),
        emotion=feeling,
        device=device,
        libraries=libraries or library_versions(),
        artifacts=[],
        signer=signer,
    )
    files: list[OutputFile] = []
    originality: dict[str, Any] = {}
    started = time.perf_counter()
    for step in steps:
        label = f"{step.modality}: " if len(steps) > 1 else ""
        t0 = time.perf_counter()
        engine = step.engine()
        progress(f"{label}{step.engine.name}", 0.0)
        step_seed = step.seed
        for attempt in range(COPY_RETRIES + 1):
            request = Request(
                prompt, lang, feeling if step.engine.uses_mood and feeling else _neutral(), step_seed,
                step.params, device,
                (lambda stage, frac, label=label: progress(f"{label}{stage}", frac)),
                step.inputs,
                stream,
            )
            artifact = engine.run(request, make_generator(step_seed))
            verdict = check_artifact(step.engine.name, step.params, step.modality, artifact.files)
            if verdict.get("verdict") != "copy":
                break
            nearest = verdict["nearest"][0]["item"] if verdict.get("nearest") else "a training item"
            if allow_copy:
                verdict["overridden"] = True
                break
            if attempt == COPY_RETRIES:
                raise MuseforgeError(f"{step.engine.name}: {COPY_RETRIES + 1} attempts in a row copy "
                                     f"{nearest!r} of its training data; try another seed, or keep the "
                                     "copy with --allow-copy")
            step_seed = derive_seed(step.seed, f"copy-{attempt + 1}") & MAX_SEED
            progress(f"{label}a copy of {shown(nearest, 40)}: made again", 0.0)
        if attempt:
            verdict["attempts"] = attempt + 1
        originality[step.modality] = verdict
        progress(f"{label}{step.engine.name}", 1.0)
        entry = ArtifactRecord(
            modality=step.modality,
            engine=step.engine.name,
            engine_version=step.engine.version,
            model_sha256=engine.model_sha256(step.params),
            params=_params_json(step.params),
            seed=step_seed,
            files=[],
            inputs=_input_records(step),
            summary=artifact.summary,
            warnings=list(artifact.warnings),
            uses_mood=step.engine.uses_mood,
        )
        made = [sealed for f in artifact.files for sealed in embed(f, record.record_of(entry), key, signer)]
        taken = {f.name for f in files}
        clash = [f.name for f in made if f.name in taken]
        if clash:
            raise MuseforgeError(f"engine {step.engine.name!r} wrote {clash[0]!r}, which another engine "
                                 "already wrote")
        entry.files = [FileRecord(f.name, f.media_type, sha256_bytes(f.data), len(f.data)) for f in made]
        entry.seconds = round(time.perf_counter() - t0, 3)
        record.artifacts.append(entry)
        files.extend(made)
    record.seconds = round(time.perf_counter() - started, 3)
    record.originality = originality
    report = OutputFile(REPORT, render_report(record, public_b64(key)).encode(), "text/html")
    record.report = FileRecord(REPORT, report.media_type, sha256_bytes(report.data), len(report.data))
    signature = sign_manifest(record.unsigned_json(), key)
    record.signature = Signature(signature["algorithm"], signature["public_key"], signature["value"])
    return Work(record, files, report)


def _neutral() -> Emotion:
    """The mood handed to engines that do not use one (it is not recorded)."""
    return emotion_from_label("serene")


def _params_json(params: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(params)


def run(
    engine: str | type[Engine],
    params: Mapping[str, Any] | Any = None,
    inputs: Mapping[str, Sequence[str | Path | InputFile]] | None = None,
    seed: int = 0,
    progress: Progress = no_progress,
    *,
    prompt: str = "",
    emotion: str | Emotion | None = None,
    lang: str | None = None,
    device: str = "cpu",
) -> Work:
    """Run one engine on a prompt and input files and return its signed Work."""
    step = prepare(engine, params, inputs, seed)
    return run_steps([step], prompt=prompt, seed=seed, emotion=emotion, lang=lang, device=device,
                     progress=progress)
