"""Text speed: our sampler vs transformers ``generate()`` on the same exported weights.

    python benchmarks/text_speed.py [--sizes poet gpt2] [--model models/text-poet/model.safetensors]
        [--new 100] [--runs 3] [--threads 2] [--device cpu] [--json]

Sampling, at two model sizes:

- ``poet``: the shipped 2.8 M-parameter model (``models/text-poet``), the one a user meets;
- ``gpt2``: GPT-2 124M's shape (12 layers, 12 heads, 768 wide, context 1024, 50,257 tokens) with
  random weights (speed does not depend on their values), built by ``GPT`` with a fixed seed.

Each is exported with ``museforge.text.hf.export_gpt2`` and loaded back as a transformers
``GPT2LMHeadModel``, so both sides run the same weights (the largest logit difference on the
prompt is reported). Same prompt, top-k 50, temperature 1.0, exactly ``--new`` tokens (end of
text forbidden: ``min_new_tokens``), batch 1 and 16; ours and theirs interleaved, ``--runs``
each after one warm-up; median tokens/s, the ratio of medians, and the median of the per-pair
ratios (ours and the transformers run right after it share the machine's load). At small sizes
the per-token Python overhead dominates (where our sampler gains most); at 124M the matrix
products do, and both sides spend most of their time in the same kernels.

Training speed (the shared loop against a plain PyTorch loop of the same model) is
``benchmarks/train_loop.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from museforge.text.model import GPT, GPTConfig
from museforge.text.poet import default_model_path
from museforge.text.sampling import SamplingConfig
from museforge.text.tokenizer import CharTokenizer

PROMPT = "<qijue>《秋夜》\n"
GPT2_124M = GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)


def gpt2_sized(tok: CharTokenizer, seed: int = 0) -> tuple[GPT, CharTokenizer]:
    """A randomly initialised GPT of GPT-2 124M's shape, and the poet's vocabulary padded with
    unused characters to its 50,257 tokens (so the same prompt gives the same ids)."""
    have = set(tok.chars) | set("".join(tok.specials))
    filler = (chr(c) for c in range(0x4E00, 0x10FFFF) if not 0xD800 <= c <= 0xDFFF and chr(c) not in have)
    need = GPT2_124M.vocab_size - tok.vocab_size
    big = CharTokenizer(tok.specials, tok.chars + "".join(next(filler) for _ in range(need)))
    assert big.vocab_size == GPT2_124M.vocab_size
    torch.manual_seed(seed)
    return GPT(GPT2_124M).eval(), big


def ours(model: GPT, ids: torch.Tensor, new: int, seed: int) -> float:
    cfg = SamplingConfig(temperature=1.0, top_k=50, min_new_tokens=new, max_new_tokens=new, loop_guard=0)
    g = torch.Generator(device=ids.device).manual_seed(seed)
    t0 = time.perf_counter()
    out = model.generate(ids, cfg, generator=g)
    dt = time.perf_counter() - t0
    assert all(len(o) == new for o in out)
    return ids.shape[0] * new / dt


def theirs(hf, ids: torch.Tensor, new: int, eos: int) -> float:
    t0 = time.perf_counter()
    out = hf.generate(
        ids,
        do_sample=True,
        top_k=50,
        temperature=1.0,
        max_new_tokens=new,
        min_new_tokens=new,
        pad_token_id=eos,
        eos_token_id=eos,
        attention_mask=torch.ones_like(ids),
    )
    dt = time.perf_counter() - t0
    assert out.shape[1] - ids.shape[1] == new
    return ids.shape[0] * new / dt


def sampling(model: GPT, hf, tok: CharTokenizer, device: str, new: int, runs: int) -> dict:
    """Ours vs transformers at batch 1 and 16 on one pair of models with the same weights."""
    base = torch.tensor([tok.encode(PROMPT)], device=device)
    with torch.no_grad():
        diff = (model(base)[0] - hf(base).logits).abs().max().item()
    res: dict = {"params_m": round(model.num_params() / 1e6, 2), "max_logit_diff": float(f"{diff:.2e}")}
    for batch in (1, 16):
        ids = base.expand(batch, -1).contiguous()
        a, b = [], []
        with torch.no_grad():
            ours(model, ids, 5, 0)
            theirs(hf, ids, 5, tok.eos_id)
            for r in range(runs):
                a.append(ours(model, ids, new, r))
                b.append(theirs(hf, ids, new, tok.eos_id))
        res[f"batch{batch}"] = {
            "museforge_tok_s": round(statistics.median(a), 1),
            "transformers_tok_s": round(statistics.median(b), 1),
            "ratio": round(statistics.median(a) / statistics.median(b), 2),
            # each run of ours next to the transformers run right after it: on a shared machine
            # the pair sees the same load, so the median of per-pair ratios is the steadier figure
            "ratio_paired_median": round(statistics.median(x / y for x, y in zip(a, b, strict=True)), 2),
            "museforge_runs": [round(x, 1) for x in a],
            "transformers_runs": [round(x, 1) for x in b],
        }
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--sizes",
        nargs="+",
        choices=("poet", "gpt2"),
        default=["poet", "gpt2"],
        help="poet: the shipped 2.8 M model; gpt2: GPT-2 124M's shape, random weights",
    )
    ap.add_argument("--model", default=str(default_model_path()), help="museforge .safetensors checkpoint")
    ap.add_argument("--new", type=int, default=100, help="new tokens per sample")
    ap.add_argument("--runs", type=int, default=3, help="interleaved runs per setting")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from transformers import GPT2LMHeadModel

    from museforge.text.hf import export_gpt2

    poet, tok, _ = GPT.load(args.model)
    result: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "threads": args.threads,
        "device": args.device,
        "new_tokens": args.new,
        "runs": args.runs,
        "sampling": {},
    }
    for size in args.sizes:
        model, mtok = (poet, tok) if size == "poet" else gpt2_sized(tok)
        with tempfile.TemporaryDirectory() as d:
            export_gpt2(model.cpu(), mtok, Path(d) / "gpt2")
            hf = GPT2LMHeadModel.from_pretrained(Path(d) / "gpt2").to(args.device).eval()
        model.to(args.device)
        result["sampling"][size] = sampling(model, hf, mtok, args.device, args.new, args.runs)
        del model, hf
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for size, res in result["sampling"].items():
            for k in ("batch1", "batch16"):
                v = res[k]
                print(
                    f"{size} ({res['params_m']} M) {k}: museforge {v['museforge_tok_s']} tok/s, "
                    f"transformers {v['transformers_tok_s']} tok/s, x{v['ratio']} "
                    f"(median of paired runs x{v['ratio_paired_median']})"
                )


if __name__ == "__main__":
    main()
