"""The contact sheet in ``docs/``: every style for the two example prompts, labelled.

Regenerate with ``python -m museforge.image.contact_sheet`` (writes docs/contact_sheet.png);
``--cell`` sets the shown size of each 512 px painting, ``--out`` another file.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from museforge.emotion import detect_emotion, detect_language
from museforge.engines import Request
from museforge.image.procedural import STYLES, ProceduralPainting, ProceduralParams
from museforge.runtime import make_generator

PROMPTS = (("在一片神秘的森林中，", "mysterious forest (zh)"),
           ("a stormy sea at night", "a stormy sea at night"))
SIZE = 512
SEED = 7


def render(prompt: str, style: str, size: int = SIZE, seed: int = SEED) -> Image.Image:
    """One painting, with the mood read from the prompt as ``museforge paint`` does."""
    lang = detect_language(prompt)
    req = Request(prompt, lang, detect_emotion(prompt, lang), seed,
                  ProceduralParams(style=style, size=size))
    art = ProceduralPainting().run(req, make_generator(seed))
    return Image.open(io.BytesIO(art.files[0].data)).convert("RGB")


def _font(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                 "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"):
        if Path(path).exists():
            return ImageFont.truetype(path, px)
    return ImageFont.load_default()


def contact_sheet(cell: int = 280, pad: int = 12) -> Image.Image:
    """A grid: one row per prompt, one column per style, labels above and to the left."""
    styles = list(STYLES)
    label_w, head_h = 170, 34
    w = label_w + len(styles) * (cell + pad) + pad
    h = head_h + len(PROMPTS) * (cell + pad) + pad
    sheet = Image.new("RGB", (w, h), (246, 244, 239))
    d = ImageDraw.Draw(sheet)
    f = _font(16)
    for j, style in enumerate(styles):
        d.text((label_w + pad + j * (cell + pad) + cell / 2, head_h / 2), style, fill=(40, 40, 40),
               font=f, anchor="mm")
    for i, (prompt, label) in enumerate(PROMPTS):
        y = head_h + i * (cell + pad)
        d.multiline_text((pad, y + cell / 2), label.replace(" at ", "\nat ").replace(" forest", "\nforest"),
                         fill=(40, 40, 40), font=f, anchor="lm")
        for j, style in enumerate(styles):
            img = render(prompt, style).resize((cell, cell), Image.Resampling.LANCZOS)
            sheet.paste(img, (label_w + pad + j * (cell + pad), y))
    return sheet


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/contact_sheet.png", help="PNG file to write")
    ap.add_argument("--cell", type=int, default=280, help="shown size of each painting in pixels")
    args = ap.parse_args(argv)
    contact_sheet(args.cell).save(args.out, optimize=True)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
