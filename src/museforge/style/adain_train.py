"""Training the AdaIN decoder (:mod:`museforge.style.adain`) with the shared loop.

The frozen VGG-16 encodes a content crop to ``relu4_1`` and a style crop to ``relu1_1..relu4_1``;
AdaIN gives the content features the style's channel statistics and the decoder learns to paint
them: loss = ``relu4_1`` content loss + mean/std style loss (Huang and Belongie 2017), optionally
an L1 term for decoding the content's own features back to the photo. Each step's content and
style crops (:class:`museforge.style.train_data.Augment`) come only from the step's generator;
the held-out evaluation is the same loss on fixed content/style pairs; the best decoder is saved
with the built-in styles' statistics (:func:`museforge.style.adain.save_model`). Used by
``recipes/style_adain.py`` and ``museforge train style --method adain``.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from functools import cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from museforge.errors import MuseforgeError
from museforge.runtime import Progress, check_seed, no_progress
from museforge.style import io as sio
from museforge.style.adain import (
    DECODER_CHANNELS,
    LAYER,
    STYLE_LOSS_LAYERS,
    AdaIN,
    Decoder,
    DecoderConfig,
    adain,
    format_blocks,
    load_adain,
    mean_std,
    save_model,
    shrink,
)
from museforge.style.features import VGGFeatures, cpu_bf16_ok, prune_vgg
from museforge.style.johnson_train import grid_loss
from museforge.train.loop import MODEL, Family, LoopConfig, Summary, make_accelerator
from museforge.train.loop import run as run_loop

DECAY = 5e-3
"""The earlier recipe's learning rate fell as 1 / (1 + DECAY * step); the loop's cosine ends there."""


@dataclass(frozen=True)
class AdainOptions:
    """How to train the decoder; the defaults are the shipped model's first phase."""

    steps: int = 900
    size: int = 128
    batch: int = 6
    lr: float = 1e-3
    style_weight: float = 0.25
    recon_weight: float = 0.0
    """Weight of the L1 loss of decoding the content's own features (0: off)."""
    grid_weight: float = 0.0
    """Weight of the stride-grid loss (:func:`museforge.style.johnson_train.grid_loss` at the
    decoder's stride in output pixels): the output may repeat at the stride no more than the photo."""
    paintings: int = 4
    """Procedural paintings per procedural style among the default style images."""
    seed: int = 0
    threads: int = 1
    max_minutes: float | None = None
    channels: tuple[int, ...] = DECODER_CHANNELS
    upsample: str = DecoderConfig.upsample
    skip: bool = DecoderConfig.skip
    encode_scale: float = DecoderConfig.encode_scale
    content_jitter: float = 0.4
    style_jitter: float = 0.15
    student: tuple[tuple[int, ...], ...] = DecoderConfig.student
    """Block widths of a thin VGG that encodes the photo in the VGG-16's place (``()``: none);
    started from the VGG-16's strongest filters (:func:`museforge.style.features.prune_vgg`) unless
    ``--init`` has one, and trained by the distillation loss beside the decoder's."""
    distill_weight: float = 1.0
    """Weight of the distillation loss (the student's ``relu4_1`` against the VGG-16's, MSE)."""
    distill_only: bool = False
    """Train the student alone, by the distillation loss; the decoder's weights stay as they start."""
    student_styles: bool = DecoderConfig.student_styles
    """The student encodes the style images too (distilled on them beside the photos): the decoder
    learns from its style statistics, and painting runs no VGG-16."""
    device: str = "cpu"
    """Where to train: ``cpu`` or ``cuda`` (bfloat16 autocast on either where it is fast)."""

    def check(self) -> None:
        """One-line errors for any option out of its range (NaN included)."""
        if not 1 <= self.steps <= 100_000:
            raise MuseforgeError(f"--steps {self.steps}: use 1 to 100,000")
        if not 32 <= self.size <= 1024:
            raise MuseforgeError(f"--size {self.size}: use 32 to 1024 pixels")
        if not 1 <= self.batch <= 64:
            raise MuseforgeError(f"--batch {self.batch}: use 1 to 64")
        if not 1 <= self.threads <= 256:
            raise MuseforgeError(f"--threads {self.threads}: use 1 to 256")
        if self.distill_only and not self.student:
            raise MuseforgeError("--distill-only trains a student: give --student")
        if self.device not in ("cpu", "cuda"):
            raise MuseforgeError(f"--device {self.device}: use cpu or cuda")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise MuseforgeError("--device cuda: this machine's torch sees no CUDA GPU")
        for name in ("style_weight", "recon_weight", "grid_weight", "distill_weight"):
            value = getattr(self, name)
            if not 0 <= value <= 1e6:
                raise MuseforgeError(f"--{name.replace('_', '-')} {value:g}: use a number from 0 to 1e+06")
        if not 0 < self.lr <= 1:
            raise MuseforgeError(f"--lr {self.lr:g}: use a number above 0 and at most 1")
        if not 0 <= self.paintings <= 64:
            raise MuseforgeError(f"--paintings {self.paintings}: use 0 to 64")
        if self.max_minutes is not None and not 0 < self.max_minutes <= 7 * 24 * 60:
            raise MuseforgeError(f"max minutes {self.max_minutes:g}: use a number above 0, at most a week")
        check_seed(self.seed)
        self.decoder()

    def decoder(self) -> DecoderConfig:
        """The decoder these options train."""
        return DecoderConfig(
            self.channels, self.upsample, self.skip, self.encode_scale, self.student, self.student_styles
        )

    def like(self, config: DecoderConfig) -> AdainOptions:
        """These options training a decoder of ``config``'s shape (a fine-tune keeps its model's)."""
        return replace(self, **{f.name: getattr(config, f.name) for f in fields(config)})

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), **self.decoder().to_json()}


QUALITY = {"preview": {}, "standard": {"size": 160}, "high": {"steps": 3000, "size": 160}}
"""Presets of ``museforge train style --method adain --quality``: changes to the defaults."""
FINE_TUNE = {"lr": 1e-4, "grid_weight": 40_000.0}
"""Changes to the options when training starts from the shipped decoder: its last phase's."""
FINE_TUNE_QUALITY = {"preview": {"steps": 360}}
"""Changes to a ``--quality`` preset when it fine-tunes the shipped decoder: the preview takes
about 10 minutes on one thread (1.6 s a step on 128 px crops)."""


def fine_tune_options(quality: str, config: DecoderConfig) -> AdainOptions:
    """The options of a ``--quality`` fine-tune of a decoder of ``config``'s shape (its shape, its
    last phase's learning rate and grid loss, the fine-tune's step count).

    >>> from museforge.style.adain import DecoderConfig
    >>> [fine_tune_options(q, DecoderConfig()).steps for q in QUALITY]
    [360, 900, 3000]
    """
    preset = replace(AdainOptions(), **QUALITY[quality])
    return replace(preset.like(config), **FINE_TUNE, **FINE_TUNE_QUALITY.get(quality, {}))


def style_loss(fo: dict[str, Tensor], fs: dict[str, Tensor]) -> Tensor:
    """Mean/std style loss over :data:`museforge.style.adain.STYLE_LOSS_LAYERS`."""
    loss = fo[LAYER].new_zeros(())
    for k in STYLE_LOSS_LAYERS:
        mo, so = mean_std(fo[k].float())
        ms, ss = mean_std(fs[k].float())
        loss = loss + F.mse_loss(mo, ms) + F.mse_loss(so, ss)
    return loss


def distill_loss(
    net: VGGFeatures, decoder: Decoder, content: Tensor, bf16: bool, style: Tensor | None = None
) -> tuple[Tensor, dict[str, float]]:
    """(MSE of the decoder's student's ``relu4_1`` against the VGG-16's, its parts): the loss of
    ``--distill-only``, on the content crops and ``style`` crops (given when the student encodes
    styles too); ``distill`` is the error relative to the VGG-16 features' mean square."""
    if style is not None:
        content = torch.cat([content, style])
    dev = content.device.type
    with torch.no_grad(), torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
        target = net(content, [LAYER])[LAYER].float()
    with torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
        got = decoder.encode(content).float()
    loss = F.mse_loss(got, target)
    return loss, {"distill": float(loss.detach() / target.square().mean().clamp_min(1e-8))}


def adain_loss(
    net: VGGFeatures,
    decoder: Decoder,
    content: Tensor,
    style: Tensor,
    opts: AdainOptions,
    bf16: bool,
) -> tuple[Tensor, dict[str, float]]:
    """(loss, its parts) of ``decoder`` painting ``content`` crops with ``style`` crops' statistics.

    The decoder is given the features of the crop encoded at its ``encode_scale`` (and the crop
    itself when it has a skip); the content target is the full-size crop's features with the
    style's statistics, so the output is judged at full size. With ``student_styles`` the decoder
    is given the statistics of the student's encoding of the style (distilled on it too), while
    the target keeps the VGG-16's."""
    if opts.distill_only:
        return distill_loss(net, decoder, content, bf16, style if decoder.config.student_styles else None)
    layers = (*STYLE_LOSS_LAYERS,)
    scale, dev = decoder.config.encode_scale, content.device.type
    with torch.no_grad(), torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
        fc = net(content, [LAYER])[LAYER].float()
        fs = {k: v.float() for k, v in net(style, layers).items()}
        fin = fc if scale == 1 else net(shrink(content, scale), [LAYER])[LAYER].float()
    distill = fc.new_zeros(())
    stats = given = mean_std(fs[LAYER])
    if decoder.student is not None:  # the student's features go to the decoder, kept near the VGG's
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
            student = decoder.encode(shrink(content, scale)).float()
        distill, fin = F.mse_loss(student, fin), student
        if decoder.config.student_styles:
            with torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
                fss = decoder.encode(style).float()
            distill, given = (distill + F.mse_loss(fss, fs[LAYER])) / 2, mean_std(fss)
    t = adain(fc, *stats)
    photo = content if decoder.config.skip else None
    out = decoder(adain(fin, *given) if fin is not fc else t, photo)
    with torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
        fo = net(out, layers)
    lc = F.mse_loss(fo[LAYER].float(), t)
    ls = style_loss(fo, fs)
    recon = F.l1_loss(decoder(fin, photo), content) if opts.recon_weight else lc.new_zeros(())
    grid = grid_loss(out, content, round(8 / scale)) if opts.grid_weight else lc.new_zeros(())
    loss = lc + opts.style_weight * ls + opts.recon_weight * recon + opts.grid_weight * grid
    loss = loss + opts.distill_weight * distill
    parts = {"content": lc, "style": ls, "recon": recon, "grid": grid, "distill": distill}
    return loss, {k: float(v.detach()) for k, v in parts.items()}


class AdainFamily(Family):
    """The AdaIN decoder for :mod:`museforge.train.loop`."""

    def __init__(
        self,
        decoder: Decoder,
        net: VGGFeatures,
        content: Any,
        styles: Any,
        opts: AdainOptions,
        held_out: tuple[Tensor, Tensor],
        builtin: dict[str, tuple[Tensor, Tensor]],
        meta: dict[str, Any],
        recipe: Callable[[int], str],
        log: Callable[[dict[str, float]], None] | None = None,
        log_every: int = 10,
    ) -> None:
        super().__init__(name="adain", model=decoder)
        self.net, self.content, self.styles, self.opts = net, content, styles, opts
        self.held_out, self.builtin, self.meta, self.recipe = held_out, builtin, meta, recipe
        self.bf16 = bool(meta.get("bf16", False))
        self.log, self.log_every = log, log_every
        self.history: list[dict[str, float]] = []
        self.last: dict[str, float] = {}
        self.started = time.perf_counter()

    def fingerprint(self) -> dict[str, Any]:
        return {
            "family": self.name,
            "options": {
                k: v for k, v in self.opts.to_json().items() if k not in ("threads", "max_minutes", "device")
            },
            "data": self.meta.get("data_manifest_sha256"),
            "init": self.meta.get("previous_phase"),
        }

    def batch(self, generator: torch.Generator, size: int) -> tuple[Tensor, Tensor]:
        self.content.gen = self.styles.gen = generator
        return self.content.batch(size).to(self.opts.device), self.styles.batch(size).to(self.opts.device)

    def loss(self, model: torch.nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
        loss, self.last = adain_loss(self.net, model, *batch, self.opts, self.bf16)
        if not torch.isfinite(loss):
            raise MuseforgeError("the loss diverged; lower the learning rate or --style-weight")
        return loss

    def after_step(self, model: torch.nn.Module, step: int) -> None:
        if step == 1 or step % self.log_every == 0 or step == self.opts.steps:
            minutes = round((time.perf_counter() - self.started) / 60, 2)
            row = {"step": step, **{k: round(v, 4) for k, v in self.last.items()}, "minutes": minutes}
            self.history.append(row)
            if self.log:
                self.log(row)

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        loss, parts = adain_loss(self.net, model, *self.held_out, self.opts, self.bf16)
        return {"loss": float(loss), **parts}

    def save(self, model: torch.nn.Module, path: Path, metrics: dict[str, float]) -> None:
        step = int(metrics["step"])
        meta = {
            **self.meta,
            "recipe": self.recipe(step),
            "steps_done": step,
            "train_minutes": round((time.perf_counter() - self.started) / 60, 1),
            "held_out_loss": round(metrics["loss"], 4),
        }
        builtin = builtin_stats(self.net, model) if model.config.student_styles else self.builtin  # type: ignore[union-attr]
        save_model(path, model, builtin, meta)  # type: ignore[arg-type]


@cache
def _builtin_images() -> dict[str, Tensor]:
    """The built-in style images as tensors, read once (each save of a student-styles decoder
    encodes them again)."""
    from museforge.style.transfer import BUILTIN_STYLES

    return {k: sio.to_tensor(sio.open_rgb(v)) for k, v in BUILTIN_STYLES.items()}


def builtin_stats(net: VGGFeatures, decoder: Decoder | None = None) -> dict[str, tuple[Tensor, Tensor]]:
    """``relu4_1`` (mean, std) of the built-in style images, stored in every decoder file: by the
    VGG-16, or by ``decoder``'s student when it encodes styles."""
    # AdaIN freezes its decoder: a copy, so a model in training stays as it is
    own = copy.deepcopy(decoder) if decoder is not None else Decoder(DecoderConfig((1, 1, 1, 1), skip=False))
    model = AdaIN(net, own, fast=False)
    device = next(net.parameters()).device
    return {
        k: tuple(t.cpu() for t in model.style_stats(x.to(device)))  # type: ignore[misc]
        for k, x in _builtin_images().items()
    }


def start_from(decoder: Decoder, previous: Decoder) -> list[str]:
    """Copy into ``decoder`` every weight of ``previous`` with the same name and shape; the names
    left as they were. From a decoder without the skip, the new last stage starts as the old last
    convolution behind an identity on the decoded features (the photo's inputs at zero), so
    training starts from the old decoder's pictures rather than from noise."""
    own, theirs = decoder.state_dict(), previous.state_dict()
    same = {k: v for k, v in theirs.items() if k in own and own[k].shape == v.shape}
    if len(same) < len([k for k in theirs if k in own]) or not same:
        raise MuseforgeError(
            f"the --init decoder (channels {previous.config.channels}) does not fit this one "
            f"({decoder.config.channels})"
        )
    decoder.load_state_dict(same, strict=False)
    if decoder.config.skip and not previous.config.skip:
        first, last = decoder.head[0], decoder.head[-1]
        c = first.out_channels
        with torch.no_grad():
            first.weight.zero_()
            first.bias.zero_()
            first.weight[torch.arange(c), torch.arange(c), 1, 1] = 1.0  # features pass; ReLU keeps them
            last.weight.copy_(previous.net[-1].weight)
            last.bias.copy_(previous.net[-1].bias)
        same.update({f"head.{k}": v for k, v in decoder.head.state_dict().items()})
    decoder.requires_grad_(True).train()
    return sorted(set(own) - set(same))


def fixed_crops(images: list[Image.Image], size: int, seed: int, count: int = 4) -> Tensor:
    """``count`` crops (no colour jitter) drawn from ``seed``: a held-out batch that never changes."""
    from museforge.style.train_data import Augment

    return Augment(images, size, 0.0, torch.Generator().manual_seed(seed)).batch(count)


def loop_config(opts: AdainOptions) -> LoopConfig:
    """Adam without weight decay or clipping, no warm-up, cosine decay to the earlier recipe's last
    rate (1 / (1 + 5e-3 steps) of the peak), held-out evaluation about every 100 steps."""
    return LoopConfig(
        steps=opts.steps,
        minutes=opts.max_minutes or 0.0,
        batch=opts.batch,
        lr=opts.lr,
        min_lr_ratio=1.0 / (1.0 + DECAY * opts.steps),
        warmup=0,
        weight_decay=0.0,
        beta2=0.999,
        grad_clip=0.0,
        eval_every=max(1, min(100, opts.steps // 4)),
        checkpoint_every=50,
        seed=opts.seed,
    )


def train(
    net: VGGFeatures,
    content: dict[str, Image.Image],
    styles: dict[str, Image.Image],
    opts: AdainOptions,
    out: Path,
    *,
    meta: dict[str, Any],
    recipe: Callable[[int], str],
    held_out_content: dict[str, Image.Image] | None = None,
    init: Path | None = None,
    state_dir: Path | None = None,
    progress: Progress = no_progress,
    log: Callable[[dict[str, float]], None] | None = None,
    log_every: int = 10,
    builtin: dict[str, tuple[Tensor, Tensor]] | None = None,
) -> tuple[Summary, dict[str, Any]]:
    """Train a decoder on ``content`` and ``styles`` into ``out/model.safetensors`` (the best held-out
    loss; ``meta`` and ``recipe(step)`` in its header); (the loop's summary, a report). ``init``
    starts from an earlier decoder; ``state_dir`` keeps the training state so that an interrupted
    run resumes. Deterministic for a seed, step count and machine."""
    from museforge.style.train_data import Augment

    opts.check()
    if not content or not styles:
        raise MuseforgeError("no content or no style images to train on")
    torch.set_num_threads(opts.threads)
    bf16 = opts.device == "cuda" or cpu_bf16_ok()
    with torch.random.fork_rng():
        torch.manual_seed(opts.seed)
        decoder = Decoder(opts.decoder())
    left = start_from(decoder, load_adain(net, init, fast=False).decoder) if init is not None else []
    if decoder.student is not None and (init is None or any(k.startswith("student.") for k in left)):
        decoder.student.load_state_dict(prune_vgg(net, opts.student).state_dict())
    if opts.distill_only:  # only the student learns
        decoder.requires_grad_(False)
        decoder.student.requires_grad_(True)  # type: ignore[union-attr]
    held = list((held_out_content or content).values())
    if builtin is None:  # by the VGG-16, on the CPU; a student-styles decoder's come at each save
        builtin = {} if opts.student_styles else builtin_stats(net)
    net = net.to(opts.device)
    decoder = decoder.to(opts.device)
    held_out = (
        fixed_crops(held, opts.size, 10_000 + opts.seed).to(opts.device),
        fixed_crops(list(styles.values()), opts.size, 20_000 + opts.seed).to(opts.device),
    )
    meta = {
        **meta,
        "encoder": net.source,
        "encoder_sha256": net.sha256,
        "layer": LAYER,
        "threads": opts.threads,
        "bf16": bf16,
        "device": torch.cuda.get_device_name() if opts.device == "cuda" else "cpu",
    }
    family = AdainFamily(
        decoder,
        net,
        Augment(list(content.values()), opts.size, opts.content_jitter, torch.Generator()),
        Augment(list(styles.values()), opts.size, opts.style_jitter, torch.Generator()),
        opts,
        held_out,
        builtin,
        meta,
        recipe,
        log,
        log_every,
    )
    cfg = loop_config(opts)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        work = state_dir or Path(scratch)
        summary = run_loop(
            family,
            cfg,
            work,
            accelerator=make_accelerator(opts.device),
            progress=lambda step, total, _loss: progress(f"training ({total} steps)", step / total),
        )
        if work.resolve() != out.resolve():
            shutil.copyfile(work / MODEL, out / MODEL)
    net.to("cpu")  # the caller's network, back where it was
    report = {
        **meta,
        "options": opts.to_json(),
        "steps_done": summary.steps,
        "best_step": summary.best_step,
        "train_minutes": round(summary.seconds / 60, 2),
        "seconds_per_step": round(summary.seconds / max(1, summary.steps - summary.resumed_from), 3),
        "held_out": summary.evals,
        "history": family.history,
    }
    return summary, report


def model_card(doc: dict[str, Any], data_notes: str, hardware: str, compare: str = "") -> str:
    """A short card (Markdown) for a decoder trained by ``museforge train style --method adain``."""
    o, last = doc["options"], (doc["held_out"] or [{}])[-1]
    held = ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k != "step")
    curve = "\n".join(f"| {e['step']} | {e['loss']:.4f} |" for e in doc["held_out"][-12:])
    section = f"\n## Against the previous model\n\n{compare}\n" if compare else ""
    previous = doc.get("previous_phase")
    start = f"\n- Started from the decoder made by `{previous}`." if previous else ""
    blocks = format_blocks(o.get("student") or ())
    student = (
        f"\n- The photo is encoded by a thin VGG (blocks {blocks}) distilled from the VGG-16's `relu4_1`"
        f" (distillation loss weight {o['distill_weight']:g}); style images by "
        + ("the same thin VGG, so painting runs no VGG-16." if o.get("student_styles") else "the VGG-16.")
        if blocks
        else ""
    )
    return f"""# {doc["name"]}: AdaIN decoder

Paints any photo in any style in one pass (Huang and Belongie 2017). `museforge style PHOTO STYLE
--method adain` uses the decoder at `$MUSEFORGE_MODELS/style-adain/model.safetensors`: copy this
folder's `model.safetensors` there to use it; in Python, `museforge.style.adain.load_adain`.

## What it is

- Frozen VGG-16 ({doc["encoder"]}) to `relu4_1`; decoder channels {", ".join(map(str, o["channels"]))};
  fp16 safetensors with the built-in styles' `relu4_1` statistics.{student}
- Loss: `relu4_1` content + {o["style_weight"]:g} x mean/std style loss on `relu1_1..relu4_1`
  + {o["recon_weight"]:g} x L1 reconstruction + {o.get("grid_weight", 0):g} x stride-grid loss.

## Data

{data_notes}
- The per-image manifest is in `training.json`; its hash is `data_manifest_sha256` in the metadata.

## Training

- Recipe: `{doc["recipe"]}`{start}
- {doc["steps_done"]} steps at batch {o["batch"]}, {o["size"]} px crops, peak learning rate {o["lr"]:g}
  (cosine decay, the shared loop), in {doc["train_minutes"]} min on {hardware}; the saved decoder is
  that of step {doc["best_step"]}, the best held-out loss.

## Held-out metrics

Last evaluation (fixed content/style crop pairs): {held}.

| step | held-out loss |
|---:|---:|
{curve}
{section}"""
