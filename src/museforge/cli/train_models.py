"""``museforge train text`` and ``museforge train music``: the shared loop on a data set.

Both read a data set made by ``museforge data ingest``, refuse it when its licences exclude the
declared ``--use``, train with :mod:`museforge.train.loop` (resuming an interrupted run in the same
``--out``), and write the model, its card and, with ``--compare``, the page that sets it beside the
previous model. Run under ``accelerate launch`` they train in several processes or GPUs.
``train music --model harmonizer`` trains the four-part chorale harmoniser on the data set's
four-part items instead of the melody model.
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import sys
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError

MAX_STEPS = 1_000_000
DEFAULTS = {
    "text": {"steps": 1500, "batch": 16, "lr": 2e-3, "warmup": 100},
    "music": {"steps": 2000, "batch": 32, "lr": 2e-3, "warmup": 100},
    "harmonizer": {"steps": 2000, "batch": 32, "lr": 2e-3, "warmup": 200},
}


def add_loop_options(p: argparse.ArgumentParser, family: str) -> None:
    """The options every family shares (data, use, base, budget, evaluation, resume)."""
    d = DEFAULTS[family]
    p.add_argument(
        "--data",
        required=True,
        type=Path,
        metavar="DATASET",
        help="a data set made by 'museforge data ingest'",
    )
    p.add_argument(
        "--use",
        choices=("research", "commercial"),
        default="research",
        help="what the model is for; a data set whose licences exclude it is refused (default research)",
    )
    p.add_argument(
        "--from",
        dest="base",
        metavar="MODEL",
        help="fine-tune this model file ('builtin' for the shipped one; default: from scratch)",
    )
    p.add_argument(
        "--out", type=Path, metavar="DIR", help=f"the model folder (default ./{family}-model-DATASET)"
    )
    p.add_argument("--steps", type=int, default=d["steps"], help=f"optimizer steps (default {d['steps']})")
    p.add_argument(
        "--minutes",
        type=float,
        default=0.0,
        help="stop after this many minutes of training, whatever --steps says (0: no limit)",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=d["batch"],
        help=f"items per step, all processes together (default {d['batch']})",
    )
    p.add_argument("--lr", type=float, default=d["lr"], help=f"peak learning rate (default {d['lr']:g})")
    p.add_argument(
        "--eval-every",
        type=int,
        default=100,
        metavar="N",
        help="evaluate on the held-out split every N steps; the best model is kept (default 100)",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=0,
        metavar="N",
        help="stop after N evaluations without a better held-out loss (0: never; default)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of batches and initial weights (default 0)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per process (default 1)")
    p.add_argument(
        "--compare",
        metavar="MODEL",
        help="a previous model of this family: its held-out and originality figures are set beside "
        "the new model's in OUT/compare.html and the card",
    )
    p.add_argument(
        "--goldfish-k",
        type=int,
        default=0,
        metavar="K",
        help="drop the loss of about 1 token in K by a hash of the tokens before it, so the model cannot "
        "learn to recite its training items verbatim (0: off; 4 is typical)",
    )
    p.add_argument("--overwrite", action="store_true", help="start again when OUT holds an earlier run")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")


def add_train_model_parsers(train_sub: argparse._SubParsersAction) -> None:
    for family, what in (
        ("text", "the character-level GPT poet on texts"),
        ("music", "the folk-melody model on MIDI or MusicXML tunes"),
    ):
        p = train_sub.add_parser(
            family,
            help=f"train {what}",
            description=f"Train {what} of a data set (made by 'museforge data ingest'), from scratch or from "
            "--from MODEL, on the CPU or, under 'accelerate launch', in several processes or on GPUs. The "
            "held-out split is evaluated every --eval-every steps and the best model is kept in "
            "OUT/model.safetensors with OUT/README.md, its card (data, licences, recipe, metrics). An "
            "interrupted run resumes when the same command is run again.",
        )
        add_loop_options(p, family)
        if family == "music":
            p.add_argument(
                "--model",
                choices=("melody", "harmonizer"),
                default="melody",
                help="melody: the folk-melody model (default); harmonizer: the four-part chorale harmoniser "
                "on the items with exactly four parts, soprano to bass (default --out "
                "./harmonizer-model-DATASET)",
            )
        p.set_defaults(func=cmd_train_model, family=family)


def _check(args: argparse.Namespace) -> None:
    if not 1 <= args.steps <= MAX_STEPS:
        raise MuseforgeError(f"--steps must lie between 1 and {MAX_STEPS:,}")
    if not 1 <= args.batch <= 1024:
        raise MuseforgeError("--batch must lie between 1 and 1024")
    if not 0 < args.lr <= 0.1:
        raise MuseforgeError("--lr must be above 0 and at most 0.1")
    if not 0 <= args.minutes <= 100_000:
        raise MuseforgeError("--minutes must lie between 0 and 100,000")
    if not 1 <= args.eval_every <= MAX_STEPS or not 0 <= args.patience <= 10_000:
        raise MuseforgeError("--eval-every must be at least 1 and --patience between 0 and 10,000")
    if not 0 <= args.seed < 2**53:
        raise MuseforgeError("--seed must lie between 0 and 2^53-1")
    if not 0 <= args.goldfish_k <= 1000:
        raise MuseforgeError("--goldfish-k must lie between 0 (off) and 1000")
    if not 1 <= args.threads <= 256:
        raise MuseforgeError("--threads must lie between 1 and 256")
    if args.goldfish_k and _kind(args) == "harmonizer":
        raise MuseforgeError(
            "--goldfish-k applies to the melody and text models; leave it out for --model harmonizer"
        )


def _kind(args: argparse.Namespace) -> str:
    """The model trained: 'text', 'music' (the melody model) or 'harmonizer'."""
    return "harmonizer" if getattr(args, "model", "melody") == "harmonizer" else args.family


def _model_path(name: str | None, family: str, what: str) -> Path | None:
    from museforge.runtime import models_root

    if name is None:
        return None
    shipped = {"text": "text-poet", "music": "music-melody", "harmonizer": "music-harmonizer"}[family]
    path = models_root() / shipped / "model.safetensors" if name == "builtin" else Path(name).expanduser()
    if path.is_dir():
        path = path / "model.safetensors"
    if not path.is_file():
        raise MuseforgeError(f"{what} {name}: no model file at {path}")
    return path


def build_family(
    family: str, data: Any, base: Path | None, recipe: str, goldfish_k: int = 0
) -> tuple[Any, list[str]]:
    """The family object for ``data`` (and notes on what was left out)."""
    from museforge.train import datasets

    if family == "harmonizer":
        from museforge.train.harmony import HarmonyFamily

        train, val, skipped = datasets.chorales(data)
        return HarmonyFamily(train, val, base=base, data_sha256=data.manifest_sha256, recipe=recipe), skipped

    if family == "text":
        from museforge.train.text import TextFamily

        train, val = datasets.texts(data)
        sha = data.manifest_sha256
        return TextFamily(train, val, base=base, data_sha256=sha, recipe=recipe, goldfish_k=goldfish_k), []
    from museforge.train.music import MusicFamily

    train, val, skipped = datasets.tunes(data)
    sha = data.manifest_sha256
    return MusicFamily(train, val, base=base, data_sha256=sha, recipe=recipe, goldfish_k=goldfish_k), skipped


def compare_with(family: str, fam: Any, out: Path, previous: Path, data: Any) -> dict[str, Any]:
    """Held-out and originality figures of the new model (best weights) and the previous one."""
    from museforge.train import compare

    new_fam, _ = build_family(family, data, out / "model.safetensors", "")
    old_fam, _ = build_family(family, data, previous, "")
    figures = {}
    for key, f in (("new", new_fam), ("previous", old_fam)):
        f.model.eval()
        import torch

        with torch.no_grad():
            metrics = f.evaluate(f.model)
            if family == "text":
                metrics |= compare.text_originality(f.model, f.tokenizer, _docs(fam))
            elif family == "harmonizer":
                metrics |= compare.harmony_originality(f.model, fam.train_set, fam.val_set)
            else:
                metrics |= compare.music_originality(f.model, fam.train_seqs, fam.val_seqs)
        figures[key] = metrics
    return {"name": out.name, "previous_name": str(previous), "data": str(data.root), **figures}


def _docs(fam: Any) -> list[str]:
    ids, starts = fam.train_ids.tolist(), fam.train_starts.tolist()
    bounds = [*starts, len(ids)]
    return [fam.tokenizer.decode(ids[a:b]) for a, b in itertools.pairwise(bounds)]


def cmd_train_model(args: argparse.Namespace) -> int:
    """Handler for ``museforge train text|music``."""
    import torch

    from museforge.train import card, loop
    from museforge.train.datasets import open_training_data

    _check(args)
    torch.set_num_threads(args.threads)
    family = _kind(args)
    base = _model_path(args.base, family, "--from")
    previous = _model_path(args.compare, family, "--compare")
    data = open_training_data(args.data, args.family, args.use)
    out = Path(args.out or f"{family}-model-{Path(args.data).resolve().name}")
    if out.is_file():
        raise MuseforgeError(f"--out {out} is a file; give a folder")
    resuming = (out / loop.STATE).is_file() and not args.overwrite
    if out.is_dir() and any(out.iterdir()) and not resuming and not args.overwrite:
        raise MuseforgeError(f"{out} holds files but no training state; pass --overwrite or another --out")
    if args.overwrite and out.is_dir():
        for name in (loop.STATE, loop.MODEL, "README.md", "compare.json", "compare.html"):
            (out / name).unlink(missing_ok=True)
    command = (
        "museforge " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if sys.argv[1:2] == ["train"]
        else f"museforge train {args.family} --data {args.data}"
        + (" --model harmonizer" if family == "harmonizer" else "")
    )
    fam, skipped = build_family(family, data, base, command, args.goldfish_k)
    acc = loop.make_accelerator()
    main = acc.is_main_process
    say = (lambda s: print(s, file=sys.stderr, flush=True)) if main and not args.quiet else (lambda _: None)
    for line in skipped[:5]:
        say(f"  left out {line}")
    say(
        f"{len(data.train)} training and {len(data.val)} held-out items; "
        f"{'resuming' if resuming else 'starting'} in {out} ({acc.num_processes} process(es))"
    )
    cfg = loop.LoopConfig(
        steps=args.steps,
        minutes=args.minutes,
        batch=args.batch,
        lr=args.lr,
        warmup=min(DEFAULTS[family]["warmup"], max(1, args.steps // 10)),
        eval_every=args.eval_every,
        checkpoint_every=min(100, args.eval_every),
        patience=args.patience,
        seed=args.seed,
    )

    def progress(step: int, total: int, loss: float) -> None:
        if not args.quiet and (step % 50 == 0 or step == total):
            say(f"  step {step:>6}/{total}: loss {loss:.4f}")

    summary = loop.run(fam, cfg, out, accelerator=acc, progress=progress, log=say)
    if main:
        comparison = compare_with(family, fam, out, previous, data) if previous else None
        if comparison:
            from museforge.train.compare import write_page

            write_page(out, comparison, {out.name: [(e["step"], e["loss"]) for e in summary.evals]})
        text = card.model_card(
            out.resolve().name,
            family,
            data=data,
            summary=summary,
            cfg=cfg,
            command=command,
            base=str(args.base or ""),
            compare=comparison,
        )
        card.write_card(out, text)
        say(
            f"{out / loop.MODEL}: {summary.steps} steps in {summary.seconds / 60:.1f} min, "
            f"best held-out loss {summary.best:.4f} at step {summary.best_step}"
            + (f"; compared in {out / 'compare.html'}" if comparison else "")
        )
    acc.end_training()
    return 0
