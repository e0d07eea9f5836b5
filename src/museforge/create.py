"""The ``create`` job: one prompt becomes one Work holding a poem, a painting and music; a loop of
:func:`museforge.jobs.prepare` over the modalities, then one :func:`museforge.jobs.run_steps`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from museforge import engines as registry
from museforge.engines import (
    CREATE_MODALITIES,
    MODALITIES,
    ParamError,
    build_params,
    default_engine,
    get_engine,
)
from museforge.errors import MuseforgeError
from museforge.jobs import Step, check_prompt, prepare, resolve_emotion, run_steps, shown
from museforge.runtime import MAX_SEED, Progress, derive_seed, no_progress
from museforge.work import prepare_destination

EXAMPLE_PROMPT = "在一片神秘的森林中，"

__all__ = ["CreateOptions", "check_owners", "check_prompt", "create_work", "parse_modalities", "plan_steps",
           "resolve_emotion"]


@dataclass
class CreateOptions:
    """Everything the ``create`` job needs; the CLI fills it from its arguments."""

    prompt: str
    seed: int
    out: Path
    emotion: str | None = None
    lang: str | None = None
    modalities: tuple[str, ...] = CREATE_MODALITIES
    engines: dict[str, str] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[str, list[str]] = field(default_factory=dict)
    device: str = "cpu"
    overwrite: bool = False
    allow_copy: bool = False
    """Keep an artifact the originality check calls a copy (the record says so)."""
    seeds: dict[str, int] = field(default_factory=dict)
    """Seeds of single modalities (the rest derive from ``seed``): keeping a modality while the
    others are made again is giving it its earlier seed."""


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


def plan_steps(opts: CreateOptions) -> list[Step]:
    """The checked steps of a ``create`` job, one per modality: every engine, parameter and input
    file checked, nothing run (the studio checks a request with it before queueing it)."""
    check_prompt(opts.prompt)
    steps = []
    check_owners(opts)
    for modality in opts.modalities:
        engine = get_engine(opts.engines[modality]) if modality in opts.engines else default_engine(modality)
        if engine.modality != modality:
            raise MuseforgeError(f"engine {engine.name!r} makes {engine.modality}, not {modality}")
        values = {**opts.params.get(modality, {}), **opts.params.get(engine.name, {})}
        inputs = {**_inputs_for(opts.inputs, modality), **_inputs_for(opts.inputs, engine.name)}
        seed = opts.seeds[modality] if modality in opts.seeds else derive_seed(opts.seed, modality) & MAX_SEED
        try:
            steps.append(prepare(engine, values, inputs, seed))
        except ParamError as err:  # named as the person wrote it: image.size=5
            owner = modality if err.name in opts.params.get(modality, {}) else engine.name
            raise err.rephrase(f"{owner}.{err.name}={shown(str(values.get(err.name)), 40)}") from None
    return steps


def create_work(opts: CreateOptions, progress: Progress = no_progress) -> tuple[Path, list[str]]:
    """Check everything, run one engine per modality, write the Work; returns its folder and the
    warnings to show. Nothing runs until every parameter and input has been checked."""
    prompt = check_prompt(opts.prompt)
    steps = plan_steps(opts)
    notes = _unused_notes(opts, steps)
    prepare_destination(opts.out, opts.overwrite)
    work = run_steps(steps, prompt=prompt, seed=opts.seed, emotion=opts.emotion, lang=opts.lang,
                     device=opts.device, progress=progress, allow_copy=opts.allow_copy)
    progress("writing", 0.0)
    out = work.save(opts.out, opts.overwrite)
    progress("writing", 1.0)
    from museforge.originality.service import originality_notes

    return out, [*notes, *(w for a in work.record.artifacts for w in a.warnings),
                 *originality_notes(work.record.originality)]


def _unused_notes(opts: CreateOptions, steps: list) -> list[str]:
    """A ``--param`` or ``--input`` for a modality or engine this run does not use is never
    ignored in silence: its values are still checked (a typo or an out-of-range value fails) and
    a warning says it was not used."""
    used = {*opts.modalities, *(step.engine.name for step in steps)}
    notes = []
    for owner in sorted({*opts.params, *(k.partition(".")[0] for k in opts.inputs)} - used):
        if opts.params.get(owner):
            engine = get_engine(opts.engines[owner]) if owner in opts.engines else (
                default_engine(owner) if owner in MODALITIES else get_engine(owner))
            try:
                build_params(engine, opts.params[owner])
            except ParamError as err:
                value = shown(str(opts.params[owner].get(err.name)), 40)
                raise err.rephrase(f"{owner}.{err.name}={value}") from None
        engines = ", ".join(step.engine.name for step in steps)
        notes.append(f"{owner!r} settings not used: this run makes {', '.join(opts.modalities)} "
                     f"with {engines}")
    return notes


def check_owners(opts: CreateOptions) -> None:
    """One-line errors for an ``--engine`` that names no modality and for a ``--param`` or
    ``--input`` whose owner is neither a modality nor an installed engine; each names the valid
    ones (and the nearest, for a typo)."""
    import difflib

    for modality in opts.engines:
        if modality not in MODALITIES:
            near = difflib.get_close_matches(modality, MODALITIES, 1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise MuseforgeError(f"--engine {modality}={opts.engines[modality]}: {modality!r} is not a "
                                 f"modality; {hint}write MODALITY=ENGINE with a modality of: "
                                 f"{', '.join(MODALITIES)}")
        get_engine(opts.engines[modality])  # names the installed engines when unknown
    installed = sorted(registry.load_engines())
    for what, keys in (("--param", [f"{o}.{k}={v}" for o, kv in opts.params.items() for k, v in kv.items()]),
                       ("--input", [f"{k}={v[0]}" for k, v in opts.inputs.items()])):
        for key in keys:
            owner = key.partition(".")[0]
            if owner in MODALITIES or owner in installed:
                continue
            near = difflib.get_close_matches(owner, [*MODALITIES, *installed], 1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise MuseforgeError(f"{what} {key[:60]}: unknown owner {owner!r}; {hint}use a modality "
                                 f"({', '.join(MODALITIES)}) or an installed engine ({', '.join(installed)})")


def _inputs_for(inputs: dict[str, list[str]], owner: str) -> dict[str, list[str]]:
    """``{"image.content": [...]}`` entries of one owner, by role."""
    return {key.partition(".")[2]: paths for key, paths in inputs.items() if key.partition(".")[0] == owner}
