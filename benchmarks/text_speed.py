"""Text speed: our sampler vs transformers ``generate()`` on the same exported weights, and our
training loop vs a plain PyTorch loop of the same model.

    python benchmarks/text_speed.py [--model models/text-poet/model.safetensors] [--new 100]
        [--runs 3] [--threads 2] [--device cpu] [--json]

Sampling: same prompt, top-k 50, temperature 1.0, exactly ``--new`` tokens (end of text
forbidden: ``min_new_tokens``), batch 1 and 16; runs interleaved, median tokens/s reported.
Training: 20 steps (after 3 warm-up) of batch 16 x context 128, ours (``train.Streams`` +
``train.train`` pieces) vs a nanoGPT-style loop (Python list of windows, ``torch.stack``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from museforge.text.model import GPT
from museforge.text.poet import default_model_path
from museforge.text.sampling import SamplingConfig

PROMPT = "<qijue>《秋夜》\n"


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


def train_speed(model: GPT, steps: int = 20) -> dict:
    from museforge.text.train import Streams

    block, bs = model.config.block_size, 16
    g = torch.Generator().manual_seed(0)
    data = torch.randint(model.config.vocab_size, (400_000,), generator=g)
    streams = Streams.__new__(Streams)
    streams.ids, streams.starts = data, torch.arange(0, len(data) - block - 1, 37)
    res = {}
    for name in ("plain", "ours", "plain", "ours"):
        m = GPT(model.config).train()
        opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
        t = None
        for i in range(steps + 3):
            if i == 3:
                t = time.perf_counter()
            if name == "ours":
                x, y = streams.batch(bs, block, g)
            else:  # nanoGPT's get_batch
                ix = torch.randint(len(data) - block, (bs,), generator=g)
                x = torch.stack([data[j : j + block] for j in ix])
                y = torch.stack([data[j + 1 : j + 1 + block] for j in ix])
            _, loss, _ = m(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if name == "ours":
                torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
        assert t is not None
        res.setdefault(name, []).append(steps * bs * block / (time.perf_counter() - t))
    return {k: round(statistics.median(v)) for k, v in res.items()} | {
        "ratio": round(statistics.median(res["ours"]) / statistics.median(res["plain"]), 2)
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(default_model_path()), help="museforge .safetensors checkpoint")
    ap.add_argument("--new", type=int, default=100, help="new tokens per sample")
    ap.add_argument("--runs", type=int, default=3, help="interleaved runs per setting")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--skip-train", action="store_true", help="only sampling")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from transformers import GPT2LMHeadModel

    from museforge.text.hf import export_gpt2

    model, tok, _ = GPT.load(args.model, device=args.device)
    with tempfile.TemporaryDirectory() as d:
        export_gpt2(model.cpu(), tok, Path(d) / "gpt2")
        hf = GPT2LMHeadModel.from_pretrained(Path(d) / "gpt2").to(args.device).eval()
    model.to(args.device)
    result: dict = {
        "machine": platform.processor() or platform.machine(),
        "threads": args.threads,
        "device": args.device,
        "new_tokens": args.new,
        "sampling": {},
    }
    base = torch.tensor([tok.encode(PROMPT)], device=args.device)
    for batch in (1, 16):
        ids = base.expand(batch, -1).contiguous()
        a, b = [], []
        with torch.no_grad():
            ours(model, ids, 5, 0)
            theirs(hf, ids, 5, tok.eos_id)
            for r in range(args.runs):
                a.append(ours(model, ids, args.new, r))
                b.append(theirs(hf, ids, args.new, tok.eos_id))
        result["sampling"][f"batch{batch}"] = {
            "museforge_tok_s": round(statistics.median(a)),
            "transformers_tok_s": round(statistics.median(b)),
            "ratio": round(statistics.median(a) / statistics.median(b), 2),
        }
    if not args.skip_train:
        result["training_tok_s"] = train_speed(GPT.load(args.model)[0])
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for k, v in result["sampling"].items():
            print(
                f"{k}: museforge {v['museforge_tok_s']} tok/s, transformers {v['transformers_tok_s']} tok/s, "
                f"x{v['ratio']}"
            )
        if "training_tok_s" in result:
            print("training tokens/s:", result["training_tok_s"])


if __name__ == "__main__":
    main()
