"""``museforge train style``: a fast style for one painting, or the any-style AdaIN decoder, on the
shared training loop; ``--compare`` scores the new model beside the previous one on held-out photos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from museforge.cli.common import StageProgress
from museforge.errors import MuseforgeError

COMPARE_PHOTOS, COMPARE_SIZE = 4, 256
"""``--compare`` scores both models on this many held-out photos at this size (cheap on a CPU)."""


def cmd_train_style(args: argparse.Namespace) -> int:
    """Handler for ``museforge train style``: a fast style for STYLE_IMAGE, or the AdaIN decoder."""
    if args.method == "adain":
        return _train_adain(args)
    if args.style_image is None:
        raise MuseforgeError(
            "give STYLE_IMAGE, the painting whose style is learnt (or --method adain for the "
            "any-style decoder)"
        )
    if args.styles is not None:
        raise MuseforgeError("--styles is for --method adain; a fast style learns the one STYLE_IMAGE")
    if args.from_scratch:
        raise MuseforgeError("--from-scratch is for --method adain; a fast style always starts anew")
    if args.device != "cpu":
        raise MuseforgeError("--device is for --method adain; a fast style trains on the CPU")
    return _train_fast(args)


def _options(preset: Any, args: argparse.Namespace) -> Any:
    """``preset`` (fast or AdaIN training options) with the command line's choices, checked."""
    from dataclasses import replace

    opts = replace(
        preset,
        steps=preset.steps if args.steps is None else args.steps,
        size=preset.size if args.size is None else args.size,
        style_weight=preset.style_weight if args.style_weight is None else args.style_weight,
        seed=args.seed,
        threads=args.threads,
    )
    opts.check()
    return opts


def _held_out() -> list:
    """The first :data:`COMPARE_PHOTOS` held-out photos (:data:`museforge.style.train_data.HELD_OUT`)."""
    from museforge.style import train_data

    return list(train_data.held_out_photos(max_edge=COMPARE_SIZE).items())[:COMPARE_PHOTOS]


def _compare(
    out: Path, previous: str, paint_new: Any, paint_old: Any, style: Any, what: str
) -> dict[str, Any]:
    """Both models' :func:`museforge.style.johnson_train.held_out_figures` on the same photos
    (``paint_*``: a content tensor to the painted one)."""
    from museforge.style import features
    from museforge.style.johnson_train import TrainOptions, held_out_figures

    vgg, photos = features.load_hed_vgg16(), _held_out()
    pictures = [p for _, p in photos]
    figures = {
        key: held_out_figures(paint, vgg, style, pictures, TrainOptions(), COMPARE_SIZE)
        for key, paint in (("new", paint_new), ("previous", paint_old))
    }
    names = ", ".join(n for n, _ in photos)
    return {
        "name": out.name,
        "previous_name": previous,
        "data": f"{len(photos)} held-out photo{'s' * (len(photos) != 1)} ({names}) at {COMPARE_SIZE} px, "
        + what,
        **figures,
    }


def _train_fast(args: argparse.Namespace) -> int:
    """Train one fast style into a folder."""
    import os
    import platform

    from museforge.atomic import new_folder
    from museforge.hashing import sha256_file
    from museforge.style import io as sio
    from museforge.style import johnson
    from museforge.style.johnson_train import TrainOptions, run_training
    from museforge.style.transfer import resolve_style

    path = resolve_style(args.style_image)
    previous = johnson.find(args.compare) if args.compare else None
    if args.compare and previous is None:
        raise MuseforgeError(
            f"--compare {args.compare}: not a fast style (a folder made by 'museforge train style', "
            "its model.safetensors, or a built-in style name)"
        )
    image = sio.open_rgb(path, "style image")
    content, licences = None, {}
    if args.data is not None:
        from museforge.train.datasets import open_training_data

        data = open_training_data(args.data, "style", args.use)
        content = {r["source"]: sio.open_rgb(data.file(r), "content image") for r in [*data.train, *data.val]}
        licences = data.licences
    from dataclasses import replace

    from museforge.style.johnson_train import QUALITY

    preset = replace(TrainOptions(), **QUALITY[args.quality])
    opts = _options(preset, args)
    out = Path(args.out or f"style-{path.stem}")
    if out.exists() and not args.overwrite and (out.is_file() or any(out.iterdir())):
        raise MuseforgeError(f"{out} exists; pass --overwrite or another --out")
    if out.is_file():
        raise MuseforgeError(f"--out {out} is a file; give a folder")

    def recipe(steps: int) -> str:
        return (
            f"museforge train style {args.style_image} --quality {args.quality} --steps {steps} "
            f"--size {opts.size} --style-weight {opts.style_weight:g} --seed {opts.seed} "
            f"--threads {opts.threads}" + (f" --data {args.data} --use {args.use}" if args.data else "")
        )

    def log(row: dict[str, float]) -> None:
        if not args.quiet:
            print(
                f"  step {row['step']:>5}: content {row['content']:.3f} style {row['style']:.3f} "
                f"({row['minutes']:.1f} min)",
                file=sys.stderr,
                flush=True,
            )

    hardware = f"{os.cpu_count()}-core {platform.machine()} CPU, {opts.threads} thread(s)"
    state_dir = out.parent / f".{out.name}.training"
    notes = ""
    if licences:
        listed = ", ".join(f"`{spdx}` ({n})" for spdx, n in licences.items())
        notes = f"Content images: the data set `{args.data}` (declared use {args.use}; licences {listed})."
    style_notes = f"`{path.name}` (given by the user; its licence is theirs to check)"
    with StageProgress(enabled=not args.quiet) as progress, new_folder(out, args.overwrite) as tmp:
        doc = run_training(
            image,
            sha256_file(path),
            tmp,
            opts,
            name=f"style-fast-{path.stem.replace('_', '-')}",
            style_label=path.name,
            style_notes=style_notes,
            recipe=recipe,
            hardware=hardware,
            usage=str(out),
            progress=progress,
            log=log,
            log_every=50,
            content=content,
            state_dir=state_dir,
            notes=notes,
        )
        if previous is not None:
            import json

            from museforge.style.johnson_train import write_card
            from museforge.train.compare import write_page

            comparison = _compare(
                out, args.compare, johnson.load(tmp), johnson.load(previous), image, f"style {path.name}"
            )
            saved = json.loads((tmp / "training.json").read_text())
            (tmp / "training.json").write_text(json.dumps({**saved, "compare": comparison}, indent=1) + "\n")
            curves = {out.name: [(e["step"], e["loss"]) for e in saved.get("held_out_evals", [])]}
            write_page(tmp, comparison, curves)
            write_card(tmp, style_notes, hardware, str(out), notes=notes)
    import shutil

    shutil.rmtree(state_dir, ignore_errors=True)
    if not args.quiet:
        print(
            f"{out}: {doc['steps_done']} steps in {doc['train_minutes']} min; use it with "
            f"'museforge style PHOTO {out} --fast'"
            + (f"; compared in {out / 'compare.html'}" if previous else ""),
            file=sys.stderr,
        )
    return 0


def _style_images(name: str, use: str) -> tuple[dict[str, Any], dict[str, int]]:
    """(name -> image, licence counts) of ``--styles``: a data set or a folder of images."""
    from museforge.style import io as sio

    path = Path(name).expanduser()
    if (path / "card.json").is_file():
        from museforge.train.datasets import open_training_data

        data = open_training_data(path, "style", use)
        rows = [*data.train, *data.val]
        return {r["source"]: sio.open_rgb(data.file(r), "style image") for r in rows}, data.licences
    if not path.is_dir():
        raise MuseforgeError(
            f"--styles {name}: no such folder; give a folder of paintings or a data set made by "
            "'museforge data ingest'"
        )
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
    if not files:
        raise MuseforgeError(f"--styles {name}: no .png, .jpg or .webp paintings in this folder")
    return {p.name: sio.open_rgb(p, "style image") for p in files}, {}


def _adain_file(name: str) -> Path:
    """The decoder file ``--compare`` names: 'builtin', a folder or a ``.safetensors`` file."""
    from museforge.style.adain import read_model, shipped_path

    path = shipped_path() if name == "builtin" else Path(name).expanduser()
    path = path / "model.safetensors" if path.is_dir() else path
    if not path.is_file():
        raise MuseforgeError(f"--compare {name}: no AdaIN model file at {path}")
    try:
        read_model(path)  # a one-line error now, not after training
    except MuseforgeError as err:
        raise MuseforgeError(f"--compare {name}: {err}") from None
    return path


def _train_adain(args: argparse.Namespace) -> int:
    """Train the AdaIN decoder into a folder (model.safetensors, training.json, README.md)."""
    import json
    import os
    import platform
    import shlex
    import shutil
    from dataclasses import replace

    from museforge.atomic import new_folder
    from museforge.checkpoints import read_metadata
    from museforge.style import adain_train, features, train_data
    from museforge.style import io as sio
    from museforge.style.adain import DecoderConfig, load_adain, shipped_path
    from museforge.style.transfer import BUILTIN_STYLES

    if args.style_image is not None:
        raise MuseforgeError(
            "--method adain learns any style: drop STYLE_IMAGE and give paintings with --styles "
            "(default: the bundled ones)"
        )
    shipped = shipped_path()
    init = None if args.from_scratch or not shipped.is_file() else shipped
    started = read_metadata(init) if init is not None else {}
    if init is not None:  # fine-tune the shipped decoder, as its own last phase did
        config = DecoderConfig.from_json(started.get("config", {}))  # its shape, its student fine-tuned too
        preset = adain_train.fine_tune_options(args.quality, config)
    else:
        preset = replace(adain_train.AdainOptions(), **adain_train.QUALITY[args.quality])
    opts = _options(replace(preset, device=args.device), args)
    out = Path(args.out or "style-adain")
    if out.exists() and not args.overwrite and (out.is_file() or any(out.iterdir())):
        raise MuseforgeError(f"{out} exists; pass --overwrite or another --out")
    if out.is_file():
        raise MuseforgeError(f"--out {out} is a file; give a folder")
    previous_file = _adain_file(args.compare) if args.compare else None
    licences: dict[str, int] = {}
    if args.styles is not None:
        styles, licences = _style_images(args.styles, args.use)
    else:
        bundled = {f"builtin:{k}": sio.open_rgb(v) for k, v in BUILTIN_STYLES.items()}
        styles = {**bundled, **train_data.procedural_paintings(opts.paintings, opts.seed)}
    if args.data is not None:
        from museforge.train.datasets import open_training_data

        data = open_training_data(args.data, "style", args.use)
        content = {r["source"]: sio.open_rgb(data.file(r), "content image") for r in [*data.train, *data.val]}
        for spdx, n in data.licences.items():
            licences[spdx] = licences.get(spdx, 0) + n
    else:
        content = train_data.content_photos(root=Path("/"))
    vgg = features.load_hed_vgg16()
    previous = load_adain(vgg, previous_file, fast=False) if previous_file else None
    data_hash, rows = train_data.manifest({**content, **styles})
    held = dict(_held_out()) or None
    argv = sys.argv[1:] if sys.argv[1:3] == ["train", "style"] else []
    command = (
        "museforge " + " ".join(shlex.quote(a) for a in argv)
        if argv
        else (
            f"museforge train style --method adain --quality {args.quality} --steps {opts.steps} "
            f"--size {opts.size} --style-weight {opts.style_weight:g} --seed {opts.seed}"
            + (f" --device {opts.device}" if opts.device != "cpu" else "")
        )
    )
    meta = {
        "name": out.resolve().name,
        "data_manifest_sha256": data_hash,
        "previous_phase": started.get("recipe"),
    }

    def log(row: dict[str, float]) -> None:
        if not args.quiet:
            print(f"  step {row['step']:>5}: content {row['content']:.3f} style {row['style']:.3f} "
                  f"({row['minutes']:.1f} min)", file=sys.stderr, flush=True)  # fmt: skip

    hardware = f"{os.cpu_count()}-core {platform.machine()} CPU, {opts.threads} thread(s)"
    if opts.device == "cuda":
        import torch

        hardware = f"{torch.cuda.get_device_name()} with a {hardware}"
    state_dir = out.parent / f".{out.name}.training"
    bundled_note = "the bundled photos" if args.data is None else f"the data set `{args.data}`"
    style_note = (
        "Starry Night, The Scream and procedural paintings" if args.styles is None else f"`{args.styles}`"
    )
    notes = f"- Content: {bundled_note}; styles: {style_note}; {len(content)} + {len(styles)} images."
    if licences:
        listed = ", ".join(f"`{spdx}` ({n})" for spdx, n in licences.items())
        notes += f"\n- Declared use {args.use}; licences {listed}."
    with StageProgress(enabled=not args.quiet) as progress, new_folder(out, args.overwrite) as tmp:
        summary, report = adain_train.train(
            vgg, content, styles, opts, tmp, meta=meta, recipe=lambda _step: command,
            held_out_content=held, init=init, state_dir=state_dir, progress=progress, log=log,
            log_every=50,
        )  # fmt: skip
        doc = {**report, "recipe": command, "data": rows}
        table = ""
        if previous is not None:
            from museforge.train.card import compare_table
            from museforge.train.compare import write_page

            new = load_adain(vgg, tmp / "model.safetensors", fast=False)
            # judged on the user's own first painting; on Starry Night when trained on the bundled ones
            what, style = (
                next(iter(styles.items())) if args.styles is not None
                else ("Starry Night", sio.open_rgb(BUILTIN_STYLES["starry-night"]))
            )  # fmt: skip
            x = sio.to_tensor(style)

            def painter(model: Any) -> Any:
                stats = model.style_stats(x)
                return lambda c: model.stylize(c, [stats], [1.0])

            doc["compare"] = _compare(out, args.compare, painter(new), painter(previous), style, what)
            write_page(tmp, doc["compare"], {out.name: [(e["step"], e["loss"]) for e in summary.evals]})
            table = f"On {doc['compare']['data']} (`compare.html`):\n\n{compare_table(doc['compare'])}"
        (tmp / "training.json").write_text(json.dumps(doc, indent=1) + "\n")
        (tmp / "README.md").write_text(adain_train.model_card(doc, notes, hardware, table))
    shutil.rmtree(state_dir, ignore_errors=True)
    if not args.quiet:
        print(
            f"{out}: {summary.steps} steps in {summary.seconds / 60:.1f} min, best held-out loss "
            f"{summary.best:.4f} at step {summary.best_step}"
            + (f"; compared in {out / 'compare.html'}" if previous else ""),
            file=sys.stderr,
        )
    return 0


def add_train_style_parser(train_sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``style`` to the subcommands of ``museforge train``."""
    from dataclasses import asdict

    from museforge.style.adain_train import FINE_TUNE_QUALITY as ADAIN_TUNE
    from museforge.style.adain_train import QUALITY as ADAIN_QUALITY
    from museforge.style.adain_train import AdainOptions
    from museforge.style.johnson_train import MAX_STEPS, MAX_THREADS, TrainOptions

    d = TrainOptions()
    p = train_sub.add_parser(
        "style",
        help="train a fast style network for one style image, or the AdaIN decoder",
        description="Train a small feed-forward network (Johnson et al. 2016) that paints any photo "
        "in the style of STYLE_IMAGE in a few hundredths of a second, on the bundled photos and "
        "procedural paintings, on the CPU (about 10 minutes on one thread by default; --quality "
        "standard is the shipped styles' recipe). Writes DIR "
        "with model.safetensors, training.json and README.md; use it with "
        "'museforge style PHOTO DIR --fast'. With --method adain, train the any-style AdaIN decoder "
        "instead (no STYLE_IMAGE; paintings from --styles). With --compare MODEL, both models are "
        "scored on the same held-out photos in DIR/compare.html and the card.",
    )
    p.add_argument(
        "style_image",
        metavar="STYLE_IMAGE",
        nargs="?",
        help="the painting whose style is learnt (not with --method adain)",
    )
    p.add_argument(
        "--method",
        choices=("fast", "adain"),
        default="fast",
        help="fast: a network for STYLE_IMAGE; adain: the decoder that paints in any style (default fast)",
    )
    p.add_argument(
        "--styles",
        metavar="DIR_OR_DATASET",
        help="with --method adain: the style paintings, a folder of images or a data set made by "
        "'museforge data ingest' (default: Starry Night, The Scream and procedural paintings)",
    )
    p.add_argument(
        "--compare",
        metavar="MODEL",
        help="a previous model (fast: a style folder, its model.safetensors or a built-in name; adain: "
        "a decoder file or 'builtin'): content loss, Gram style loss and stride artefact of both on "
        f"{COMPARE_PHOTOS} held-out photos at {COMPARE_SIZE} px go to DIR/compare.html, compare.json "
        "and the card",
    )
    p.add_argument(
        "--from-scratch",
        action="store_true",
        help="with --method adain: train a new decoder; by default the shipped one is fine-tuned on your "
        "paintings (learning rate 1e-4, stride-grid loss 40,000, as its own last phase)",
    )
    p.add_argument(
        "--out", metavar="DIR", help="the folder to write (default: ./style-STEM/, ./style-adain/ for adain)"
    )
    p.add_argument(
        "--data",
        type=Path,
        metavar="DATASET",
        help="content images from a data set made by 'museforge data ingest' (default: the bundled "
        "photos and procedural paintings; the bundled photos with --method adain)",
    )
    p.add_argument(
        "--use",
        choices=("research", "commercial"),
        default="research",
        help="what the model is for; a data set whose licences exclude it is refused (default research)",
    )
    from museforge.style.johnson_train import QUALITY

    presets = {k: {**asdict(d), **v} for k, v in QUALITY.items()}
    adain = {k: {**asdict(AdainOptions()), **v} for k, v in ADAIN_QUALITY.items()}
    p.add_argument(
        "--quality",
        choices=tuple(QUALITY),
        default="preview",
        help="preview: about 10 minutes on one thread ({preview[steps]} steps of {preview[size]} px crops); "
        "standard: the shipped styles' recipe, about 20 minutes ({standard[steps]} steps); high: a longer "
        "run for a finer result ({high[steps]} steps of {high[size]} px crops); with --method adain "
        "{tune} (a preview of about 10 minutes), {a[standard][steps]} and {a[high][steps]} steps, "
        "{a[preview][steps]} for a preview --from-scratch (default preview)".format(
            **presets, a=adain, tune=ADAIN_TUNE["preview"]["steps"]
        ),
    )
    p.add_argument(
        "--steps",
        type=int,
        help=f"optimizer steps, 1 to {MAX_STEPS:,} (default: the --quality preset's, "
        f"{presets['preview']['steps']} for preview, {ADAIN_TUNE['preview']['steps']} with --method adain)",
    )
    p.add_argument(
        "--size", type=int, help=f"training crop size in pixels (default: the preset's, {d.size} for preview)"
    )
    p.add_argument(
        "--style-weight",
        type=float,
        help=f"weight of the style loss; higher paints more, keeps less (default {d.style_weight:g}, "
        f"{AdainOptions().style_weight:g} with --method adain)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=d.seed,
        help=f"seed for data and initialisation, 0 to 2^53-1 (default {d.seed})",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=d.threads,
        help=f"CPU threads, 1 to {MAX_THREADS} (default {d.threads})",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace DIR if it holds files (the earlier one stays until the new one is complete)",
    )
    p.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="with --method adain: where to train (cuda: an NVIDIA GPU; default cpu)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_train_style)
    return p
