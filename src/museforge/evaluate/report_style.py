"""``museforge evaluate`` for the style models, on the held-out photo (scikit-image's astronaut,
which no style model trained on).

* ``style-fast-NAME``: the content, style (Gram) and total-variation losses of the network's
  painting of the photo, with the definitions and weights it was trained with (its
  ``training.json``), at 512 px as on the card (``--quick``: 128 px). The card's figures come
  from the same ``training.json``, so at 512 px the two should agree.
* ``style-adain``: the photo painted with each built-in style's stored statistics; content and
  style loss on the same VGG-16 features as the style sheets (``GatysLoss``, float32), against
  the style image at the same size. The card's figures (``benchmarks/fast_sheet.py``) are read
  from its text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from museforge.evaluate.report_base import CARD, Context, ModelResult, read_json

FAST_PREFIX = "style-fast-"
LOSSES = ("content", "style", "tv")


def held_out_photo() -> Any | None:
    """The astronaut as a PIL image, or None without scikit-image."""
    try:
        from skimage import data
    except ImportError:
        return None
    from PIL import Image

    return Image.fromarray(data.astronaut())


def _vgg(ctx: Context) -> Any:
    if "vgg" not in ctx.shared:
        from museforge.style.features import load_vgg

        ctx.shared["vgg"] = load_vgg()
    return ctx.shared["vgg"]


def _pixels(x: Any) -> np.ndarray:
    from museforge.style import io as sio

    return np.asarray(sio.to_image(x).convert("RGB"), dtype=np.uint8)


def evaluate_fast(ctx: Context, name: str, size: int) -> ModelResult:
    from museforge.evaluate.report_plots import compare_bars, sample_sheet
    from museforge.style import io as sio
    from museforge.style import johnson
    from museforge.style.johnson_train import TrainOptions, evaluate
    from museforge.style.transfer import resolve_style

    folder = ctx.models_root / name
    style_name = name[len(FAST_PREFIX) :]
    result = ModelResult(name, "style")
    training = read_json(folder / "training.json") or {}
    held = training.get("held_out") or {}
    for k in LOSSES:
        if isinstance(held.get(k), int | float):
            result.add(
                f"held_out.{k}",
                f"{k} loss on the held-out photo",
                held[k],
                CARD,
                better="lower",
                note="training.json, 512 px",
            )
    photo = held_out_photo()
    options = dict(training.get("options") or {})
    if photo is None:
        result.notes.append(
            "scikit-image is not installed (pip install 'museforge[sculpt]'): the held-out photo "
            "is missing, so the figures are the card's"
        )
        return result
    if not options:
        result.notes.append("no training options in training.json: the losses cannot be recomputed")
        return result
    ctx.progress(f"{name}: painting the held-out photo at {size} px")
    config = (
        johnson.FastConfig.from_json(options.pop("config")) if "config" in options else johnson.FastConfig()
    )
    fields = set(TrainOptions.__dataclass_fields__)
    opts = TrainOptions(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in options.items() if k in fields},
        config=config,
    )
    model = johnson.load(folder)
    style_image = sio.open_rgb(resolve_style(style_name))
    losses = evaluate(model.net, _vgg(ctx), style_image, photo, opts, size=size)
    for k in LOSSES:
        if k in losses:
            result.add(
                f"held_out.{k}",
                f"{k} loss on the held-out photo",
                losses[k],
                better="lower",
                note=f"{size} px" + ("" if size == 512 else "; the card's are at 512 px"),
            )
    result.settings = {
        "size": size,
        "photo": "scikit-image astronaut (held out)",
        "style": style_name,
        "weights": {"content": opts.content_weight, "style": opts.style_weight, "tv": opts.tv_weight},
    }
    result.method = (
        f"The held-out photo painted by the network at {size} px; content ({opts.content_layer}), "
        "style (Gram "
        f"matrices on {', '.join(opts.style_layers)}) and total-variation losses as in training (float32), "
        "the style's Gram matrices taken from its style image as in training."
    )
    compare_bars(
        ctx,
        result,
        "losses",
        "Losses on the held-out photo (lower is closer)",
        list(LOSSES),
        [f"held_out.{k}" for k in LOSSES],
        ylabel="loss",
    )
    content = sio.to_tensor(sio.fit(photo, size))
    out = model(content)
    sample_sheet(
        ctx,
        result,
        "sample",
        {
            "held-out photo, the style image, the network's painting": [
                _pixels(content),
                _pixels(sio.to_tensor(sio.fit(style_image, size))),
                _pixels(out),
            ]
        },
        caption="The held-out photo, the style image and the network's painting.",
        size=192,
    )
    return result


_NUM = r"(\d+(?:\.\d+)?)"
_ADAIN_CARD = re.compile(rf"(Starry Night|The Scream)[^\d]*?{_NUM}\s*/\s*{_NUM}\s*->\s*{_NUM}\s*/\s*{_NUM}")


def _adain_card(result: ModelResult, folder: Path) -> None:
    """The card's latest held-out losses (``phase 4 -> phase 5, Starry Night content / style loss
    0.855 / 0.258 -> 0.840 / 0.207, The Scream ...``)."""
    try:
        text = (folder / "README.md").read_text(encoding="utf-8")
    except OSError:
        return
    for m in _ADAIN_CARD.finditer(" ".join(text.split())):
        style = "starry-night" if m.group(1) == "Starry Night" else "scream"
        result.add(
            f"{style}.content",
            f"{style}: content loss",
            float(m.group(4)),
            CARD,
            better="lower",
            note="card, 512 px",
        )
        result.add(
            f"{style}.style",
            f"{style}: style loss",
            float(m.group(5)),
            CARD,
            better="lower",
            note="card, 512 px",
        )


def evaluate_adain(ctx: Context, name: str, size: int) -> ModelResult:
    import torch

    from museforge.evaluate.report_plots import compare_bars, sample_sheet
    from museforge.style import io as sio
    from museforge.style.adain import load_adain
    from museforge.style.gatys import GatysLoss, GatysParams
    from museforge.style.transfer import BUILTIN_STYLES

    folder = ctx.models_root / name
    result = ModelResult(name, "style")
    _adain_card(result, folder)
    photo = held_out_photo()
    if photo is None:
        result.notes.append(
            "scikit-image is not installed (pip install 'museforge[sculpt]'): the held-out photo "
            "is missing, so the figures are the card's"
        )
        return result
    net = _vgg(ctx)
    adain = load_adain(net, folder / "model.safetensors")
    content = sio.to_tensor(sio.fit(photo, size))
    tiles = [_pixels(content)]
    styles = [s for s in ("starry-night", "scream") if s in adain.builtin and s in BUILTIN_STYLES]
    for style in styles:
        ctx.progress(f"{name}: painting the held-out photo in {style} at {size} px")
        out = adain.stylize(content, [adain.builtin[style]], [1.0])
        target = sio.to_tensor(sio.fit(sio.open_rgb(BUILTIN_STYLES[style]), size))
        loss = GatysLoss(net, content, [target], [1.0], GatysParams(precision="float32"))
        with torch.no_grad():
            _, parts = loss(out)
        result.add(
            f"{style}.content", f"{style}: content loss", parts["content"], better="lower", note=f"{size} px"
        )
        result.add(
            f"{style}.style", f"{style}: style loss", parts["style"], better="lower", note=f"{size} px"
        )
        tiles.append(_pixels(out))
    result.settings = {"size": size, "photo": "scikit-image astronaut (held out)", "styles": styles}
    result.method = (
        f"The held-out photo painted at {size} px with each built-in style's stored statistics; content and "
        "style (Gram) losses on the VGG-16 features of the style sheets (float32), against the style image "
        "fitted to the same size."
    )
    keys = [f"{s}.{k}" for s in styles for k in ("content", "style")]
    compare_bars(
        ctx,
        result,
        "losses",
        "Losses on the held-out photo (lower is closer)",
        [f"{s} {k}" for s in styles for k in ("content", "style")],
        keys,
        ylabel="loss",
    )
    sample_sheet(
        ctx,
        result,
        "sample",
        {"held-out photo, then painted in " + ", ".join(styles): tiles},
        caption="The held-out photo and the decoder's paintings of it.",
        size=192,
    )
    return result
