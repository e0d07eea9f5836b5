"""``batch``: a Work for every prompt of a file, in this process, in worker processes or on a Ray
cluster; each the same, byte for byte, as ``museforge create`` makes for its prompt and seed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from museforge.cli.common import (
    StageProgress,
    add_allow_copy,
    add_mood,
    add_quiet,
    add_seed,
    one_line,
    parse_assignments,
    parse_owned,
)

if TYPE_CHECKING:
    from museforge.cli.batch_runs import Result

MODALITY_LIST = "text,image,music"
MAX_WORKERS = 64


def cmd_batch(args: argparse.Namespace) -> int:
    from museforge.cli.batch_runs import (
        FAILED,
        MADE,
        SKIPPED,
        batch_seed,
        import_ray,
        read_prompts,
        run_batch,
        summary,
    )
    from museforge.create import CreateOptions, parse_modalities
    from museforge.errors import MuseforgeError

    if not 1 <= args.workers <= MAX_WORKERS:
        raise MuseforgeError(f"--workers {args.workers}: give a number from 1 to {MAX_WORKERS}")
    if args.ray is not None:
        if args.workers != 1:
            raise MuseforgeError("--workers does not go with --ray: the cluster runs one task per prompt")
        if not args.ray.strip():
            raise MuseforgeError("--ray needs an address: 'auto' or HOST:PORT of the cluster's head")
        import_ray()
    out = Path(args.out)
    shown = one_line(str(out))
    seed = batch_seed(out, args.seed)
    items = read_prompts(Path(args.prompts), seed)
    base = CreateOptions(
        prompt="",
        seed=seed,
        out=out,
        emotion=args.emotion,
        lang=args.lang,
        modalities=parse_modalities(args.modalities),
        engines=dict(parse_assignments(args.engine, "--engine")),
        params=parse_owned(args.param, "--param", "image.size=512"),
        allow_copy=args.allow_copy,
    )
    with StageProgress(not args.quiet) as bar:

        def report(result: Result, done: int, total: int) -> None:
            bar(f"{total} prompts", done / total)
            if not args.quiet and not bar.live:
                print(f"  [{done}/{total}] {one_line(result.item.folder)}: {result.status}", file=sys.stderr)

        try:
            results = run_batch(
                items,
                base,
                out,
                seed=seed,
                workers=args.workers,
                ray_address=args.ray.strip() if args.ray is not None else None,
                retry_failed=args.retry_failed,
                on_result=report,
            )
        except KeyboardInterrupt:
            print(
                f"museforge: interrupted; the Works made are in {shown}: run the same command to go on",
                file=sys.stderr,
            )
            return 130
    counts = summary(results)
    for result in results:
        for note in result.notes:
            print(f"museforge: warning: {one_line(result.item.folder)}: {one_line(note)}", file=sys.stderr)
        if result.status == FAILED:
            print(
                f"museforge: line {result.item.line} ({one_line(result.item.folder)}) failed: "
                f"{one_line(result.error)}",
                file=sys.stderr,
            )
    again = " (run again with --retry-failed to retry them)" if counts[FAILED] else ""
    print(
        f"{len(results)} prompts in {shown}: {counts[MADE]} made, {counts[SKIPPED]} already there, "
        f"{counts[FAILED]} failed{again}; seed {seed}, see {one_line(str(out / 'batch.json'))}"
    )
    return 1 if counts[FAILED] else 0


def add_batch_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "batch",
        help="make a work for every prompt in a file, in worker processes or on a Ray cluster",
        description="Make one Work per prompt of a file into DIR/NNNN-slug, each as 'museforge create' "
        "makes it for its prompt and seed. The file holds one prompt per line ('#' starts a comment), "
        'or JSON lines such as {"prompt": "a stormy sea", "seed": 7, "mood": "melancholy", '
        '"modalities": ["text", "music"], "lang": "en"}. Works already made are skipped, so running '
        "the same command again resumes a batch; DIR/batch.json lists every prompt, its seed and status.",
    )
    p.add_argument("prompts", metavar="PROMPTS", help="the prompt file (plain lines or JSON lines)")
    p.add_argument("--out", required=True, metavar="DIR", help="the folder of the Works (made if missing)")
    add_mood(p, "each prompt")
    add_seed(p)
    p.add_argument("--lang", choices=("zh", "en"), help="language of the poems (default: each prompt's)")
    p.add_argument(
        "--modalities",
        default=MODALITY_LIST,
        metavar="LIST",
        help=f"comma-separated subset of text,image,music,sculpture (default: {MODALITY_LIST})",
    )
    p.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="MODALITY=NAME",
        help="use this engine for a modality, e.g. image=procedural-painting",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="OWNER.KEY=VALUE",
        help="set an engine parameter; OWNER is a modality or an engine name, e.g. image.size=512",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help=f"worker processes on this machine, 1 to {MAX_WORKERS} (default 1: in this process)",
    )
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run one task per prompt on a Ray cluster: 'auto' or HOST:PORT of its head "
        "(needs pip install 'museforge[scale]'); each node signs with its own museforge key",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="make again the prompts an earlier run of this batch recorded as failed",
    )
    add_allow_copy(p)
    add_quiet(p)
    p.set_defaults(func=cmd_batch)
    return p
