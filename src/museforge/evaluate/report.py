"""``museforge evaluate``: one report page of every shipped model's quality.

For each model folder under ``models/`` the report computes, on held-out data, the figures the
project has code for (the parts: :mod:`report_text`, :mod:`report_music`, :mod:`report_images`,
:mod:`report_style`), sets beside them the model card's own figures, and adds the originality
indexes' calibration and the studio's human ratings (:mod:`report_sections`). It writes
``index.html`` (:mod:`report_page`), the plots as PNG files and ``evaluation.json`` with the
same figures into one folder, built aside and moved into place when complete.

Sample sizes per model (``--n`` sets them all): poems per form, held-out tunes, held-out
chorales and held-out paintings; the style models use one held-out photo. Every random draw is
seeded from ``--seed``, so a run repeats its figures.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError
from museforge.evaluate.report_base import Context, ModelResult, Progress, card_title, stderr_progress

FAMILY_ORDER = ("text", "music", "image", "style")
DEFAULT_SAMPLES = {"text": 8, "melody": 8, "chorales": 6, "images": 32, "style_px": 512}
QUICK_SAMPLES = {"text": 1, "melody": 2, "chorales": 1, "images": 4, "style_px": 128}
MIN_N, MAX_N = 4, 1000
JSON_NAME, PAGE_NAME = "evaluation.json", "index.html"
THREADS = 1
"""torch threads while evaluating: one thread gives the same figures on any machine (reductions
split over threads can round differently) and is the fastest on a busy one."""


def family(name: str) -> str:
    """The family of a model folder's name (``other`` for one the report has no evaluator for)."""
    if name.startswith("text-"):
        return "text"
    if name.startswith("music-"):
        return "music"
    if name.startswith("image-"):
        return "image"
    if name.startswith("style-"):
        return "style"
    return "other"


def shipped_models(root: Path) -> list[str]:
    """The model folders under ``root`` (those with a model card or weights), text, music, image
    and style first, each family in name order."""
    if not root.is_dir():
        return []
    names = [
        p.name
        for p in root.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and ((p / "README.md").is_file() or any(p.glob("*.safetensors")))
    ]
    rank = {f: i for i, f in enumerate(FAMILY_ORDER)}
    return sorted(names, key=lambda n: (rank.get(family(n), len(rank)), n))


def check_models(wanted: Sequence[str] | None, root: Path) -> list[str]:
    """The models to evaluate: all shipped ones, or those named (each once, in the shipped order)."""
    shipped = shipped_models(root)
    if not shipped:
        raise MuseforgeError(f"no models in {root}; set MUSEFORGE_MODELS to the folder holding them")
    if not wanted:
        return shipped
    unknown = [w for w in wanted if w not in shipped]
    if unknown:
        raise MuseforgeError(
            f"unknown model {', '.join(map(repr, unknown))}; choose from: {', '.join(shipped)}"
        )
    return [s for s in shipped if s in set(wanted)]


def samples(n: int | None, quick: bool) -> dict[str, int]:
    """Sample sizes per family: the defaults (or ``--quick``'s), or ``n`` for every one."""
    if n is not None and not MIN_N <= n <= MAX_N:
        raise MuseforgeError(f"--n must be from {MIN_N} to {MAX_N:,}, got {n}")
    base = dict(QUICK_SAMPLES if quick else DEFAULT_SAMPLES)
    if n is not None:
        base.update(text=n, melody=n, chorales=n, images=n)
    return base


def samples_text(s: dict[str, int]) -> str:
    return (
        f"poems per form: {s['text']} (sonnets: {max(1, s['text'] // 2)}); held-out tunes: {s['melody']}; "
        f"held-out chorales: {s['chorales']}; held-out paintings: {s['images']}; "
        f"style losses at {s['style_px']} px"
    )


def check_out(out: Path) -> None:
    """``out`` may be new, empty, or an earlier report (which is replaced); nothing else."""
    if out.exists() and not out.is_dir():
        raise MuseforgeError(f"{out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / JSON_NAME).is_file():
        raise MuseforgeError(f"{out} holds files but no earlier report ({JSON_NAME}); choose another --out")


@dataclass
class Options:
    models: list[str]
    out: Path
    seed: int = 0
    n: int | None = None
    quick: bool = False
    studio_db: str | None = None
    text_corpus: Path | None = None
    command: str = "museforge evaluate"


def _evaluator(name: str, s: dict[str, int]) -> Callable[[Context], ModelResult] | None:
    if name == "text-poet":
        from museforge.evaluate.report_text import evaluate_text

        return lambda ctx: evaluate_text(ctx, name, s["text"])
    if name == "music-melody":
        from museforge.evaluate.report_music import evaluate_melody

        return lambda ctx: evaluate_melody(ctx, name, s["melody"])
    if name == "music-harmonizer":
        from museforge.evaluate.report_music import evaluate_harmonizer

        return lambda ctx: evaluate_harmonizer(ctx, name, s["chorales"])
    if name in ("image-diffusion", "image-gan"):
        from museforge.evaluate.report_images import evaluate_image_model

        return lambda ctx: evaluate_image_model(ctx, name, s["images"])
    if name == "style-adain":
        from museforge.evaluate.report_style import evaluate_adain

        return lambda ctx: evaluate_adain(ctx, name, s["style_px"])
    if name.startswith("style-fast-"):
        from museforge.evaluate.report_style import evaluate_fast

        return lambda ctx: evaluate_fast(ctx, name, s["style_px"])
    return None


def evaluate_model(ctx: Context, name: str, s: dict[str, int]) -> dict[str, Any]:
    """One model's section; a failure is reported in it (and on stderr), not raised."""
    folder = ctx.models_root / name
    clock = ctx.timer()
    ctx.progress(f"{name}: evaluating")
    run = _evaluator(name, s)
    error = None
    if run is None:
        result = ModelResult(name, family(name))
        result.notes.append("the report has no evaluator for this model; see its card")
    else:
        try:
            result = run(ctx)
        except Exception as err:  # one model's failure must not lose the others' figures
            if os.environ.get("MUSEFORGE_DEBUG"):
                raise
            result = ModelResult(name, family(name))
            what = " ".join(str(err).split())[:300]
            error = what if isinstance(err, MuseforgeError) else f"{type(err).__name__}: {what}"
            for leftover in ctx.out.glob(f"{name}-*.png"):  # plots drawn before the failure
                leftover.unlink()
    result.title = result.title or card_title(folder)
    result.seconds = clock()
    out = result.to_json()
    if error:
        out["error"] = error
        ctx.progress(f"{name}: failed ({error})")
    else:
        computed = sum(m.source == "computed" for m in result.metrics)
        ctx.progress(
            f"{name}: done in {result.seconds:.1f} s ({computed} figures computed, "
            f"{len(result.metrics) - computed} from the card)"
        )
    return out


def build(opts: Options, folder: Path, progress: Progress = stderr_progress) -> dict[str, Any]:
    """Evaluate, draw the plots into ``folder`` and return the report's JSON (also written there,
    with the page)."""
    from museforge import __version__
    from museforge.evaluate.report_page import render
    from museforge.evaluate.report_sections import originality, ratings
    from museforge.runtime import models_root

    s = samples(opts.n, opts.quick)
    ctx = Context(
        seed=opts.seed,
        quick=opts.quick,
        out=folder,
        models_root=models_root(),
        text_corpus=opts.text_corpus,
        progress=progress,
    )
    start = time.perf_counter()
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    progress(f"{len(opts.models)} model(s) into {opts.out}; {samples_text(s)}")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        models = {name: evaluate_model(ctx, name, s) for name in opts.models}
    finally:
        torch.set_num_threads(threads)
    progress("originality indexes")
    orig = originality(ctx)
    progress("human ratings")
    rated = ratings(ctx, opts.studio_db)
    report = {
        "format": 1,
        "command": opts.command,
        "created": created,
        "seed": opts.seed,
        "quick": opts.quick,
        "n": opts.n,
        "samples": s,
        "samples_text": samples_text(s),
        "museforge": __version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU core(s), {THREADS} torch thread(s), "
        f"Python {platform.python_version()}",
        "seconds": round(time.perf_counter() - start, 1),
        "models": models,
        "originality": orig,
        "ratings": rated,
    }
    report["files"] = sorted(p.name for p in folder.iterdir() if p.suffix == ".png")
    (folder / JSON_NAME).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / PAGE_NAME).write_text(render(report), encoding="utf-8")
    return report


def write_report(opts: Options, progress: Progress = stderr_progress) -> dict[str, Any]:
    """Build the report in a folder beside ``opts.out`` and move it into place when complete (an
    earlier report there is replaced; a folder holding anything else is refused)."""
    from museforge.atomic import new_folder
    from museforge.evaluate.report_sections import check_database

    check_out(opts.out)
    check_database(opts.studio_db)
    with new_folder(opts.out, overwrite=True) as tmp:
        report = build(opts, tmp, progress)
    return report
