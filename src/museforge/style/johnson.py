"""Fast styles: one small feed-forward network per style (Johnson, Alahi and Fei-Fei 2016).

The layout follows Johnson et al. with the later fixes (reflection padding, instance norm,
nearest upsampling + convolution instead of transposed convolution), sized for a CPU: the image
is brought down to 1/8 of its size by three strided convolutions, a few residual blocks work on
narrow channels there, and three upsample + convolution stages bring it back. As options
(``FastConfig.upsample="bilinear"``, ``head``), bilinear upsampling and a full-size convolution
stage before RGB, which leave much less of a grid at the stride (:func:`stride_artefact`). A trained network
(``museforge train style``, :mod:`museforge.style.johnson_train`) is one safetensors file whose
metadata holds its config, the style image's SHA-256, the training-data manifest hash, the recipe
line, steps and minutes. Shipped styles live in ``models/style-fast-NAME/model.safetensors``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from museforge import checkpoints
from museforge.checkpoints import load_checkpoint, save_checkpoint
from museforge.errors import MuseforgeError
from museforge.runtime import models_root
from museforge.style.features import cpu_bf16_ok

KIND = "museforge-fast-style"
"""The ``kind`` metadata of a fast-style model file: tells it apart from other safetensors."""
PREFIX = "style-fast-"
"""Shipped fast styles live in ``models/style-fast-NAME/``."""
FILE = "model.safetensors"


@dataclass(frozen=True)
class FastConfig:
    """The shape of a fast-style network.

    ``channels``: width after each stride-2 stage (the image shrinks by ``2 ** len(channels)``);
    ``blocks``: residual blocks at the smallest size; ``stem_kernel``: the first convolution's
    kernel (it sees full-size pixels).
    """

    channels: tuple[int, ...] = (16, 32, 64)
    blocks: int = 5
    stem_kernel: int = 5
    upsample: str = "bilinear"
    """``bilinear`` (no 2x2 blocks for the next convolution to turn into a grid; see
    :func:`stride_artefact`) or ``nearest`` (the first networks)."""
    head: int = 16
    """Channels of a last full-size convolution stage before RGB (0: the last upsampling gives RGB
    directly, as in the first networks)."""
    downsample: str = "blur"
    """``blur``: each stage convolves at full size, then blurs (binomial 3x3) before keeping every
    second pixel, so the small maps do not alias and the output depends less on where a pixel falls
    in the stride (Zhang 2019); or ``stride`` (strided convolutions, the first networks)."""
    skip: bool = True
    """Give the full-size stage (``head`` channels, needed) the input photo beside the upsampled
    features, as a U-Net's skip connection does: detail finer than the stride reaches the output
    (the first networks had none, and lost the figure on photos they had not seen)."""

    def __post_init__(self) -> None:
        if not self.channels or min(self.channels) < 1 or self.blocks < 0 or self.head < 0:
            raise MuseforgeError(f"bad fast-style config {self}: channels >= 1, blocks >= 0, head >= 0")
        if self.stem_kernel % 2 == 0:
            raise MuseforgeError(f"bad fast-style config {self}: stem_kernel must be odd")
        if self.upsample not in ("bilinear", "nearest"):
            raise MuseforgeError(f"bad fast-style config {self}: upsample is bilinear or nearest")
        if self.skip and not self.head:
            raise MuseforgeError(f"bad fast-style config {self}: skip needs a full-size stage (head > 0)")
        if self.downsample not in ("stride", "blur"):
            raise MuseforgeError(f"bad fast-style config {self}: downsample is stride or blur")

    @property
    def factor(self) -> int:
        """Inputs are padded to a multiple of this (the total downsampling)."""
        return 2 ** len(self.channels)

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_json(cls, data: dict) -> FastConfig:
        """A config from a file's header; files from before ``upsample`` and ``head`` existed get
        the network they were trained with (:data:`LEGACY`)."""
        return cls(**{**LEGACY, **data, "channels": tuple(data["channels"])})


LEGACY = {"upsample": "nearest", "head": 0, "downsample": "stride", "skip": False}
"""What a config written before ``upsample``, ``head``, ``downsample`` and ``skip`` existed means
(the first networks: strided, nearest upsampling, no full-size stage)."""


def _conv(i: int, o: int, k: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(i, o, k, stride=stride, padding=k // 2, padding_mode="reflect")


class InstanceNorm(nn.InstanceNorm2d):
    """Affine instance norm. At inference each image goes through ``batch_norm`` in training mode
    (for one image, the same statistics), whose CPU kernel handles channels-last tensors about 10x
    faster than ``instance_norm``'s."""

    def __init__(self, c: int) -> None:
        super().__init__(c, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        if self.training or x.requires_grad:
            return super().forward(x)
        out = [F.batch_norm(xi, None, None, self.weight, self.bias, True, 0.0, self.eps) for xi in x.split(1)]
        return out[0] if len(out) == 1 else torch.cat(out)


def _norm(c: int) -> InstanceNorm:
    return InstanceNorm(c)


class UpConv(nn.Module):
    """Nearest 2x upsampling, then a reflection-padded 3x3 convolution, computed without building
    the upsampled image: each of the four output phases is a 3x3 convolution of the small image
    (replicate-padded, which is what reflection padding of the upsampled image amounts to), and a
    pixel shuffle interleaves them. Exactly the same result, about 2x faster at 512 px on a CPU.

    >>> up = UpConv(2, 3)
    >>> x = torch.rand(1, 2, 5, 7)
    >>> ref = up.conv(F.pad(F.interpolate(x, scale_factor=2.0), (1, 1, 1, 1), mode="reflect"))
    >>> bool(torch.allclose(up(x), ref, atol=1e-6))
    True
    """

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(i, o, 3)  # the kernel of the upsample + conv it stands for
        # PHASE[a][d, e]: tap d (-1, 0, 1 of the upsampled image) of output phase a falls on
        # offset e (-1, 0, 1) of the small image
        phase = torch.zeros(2, 3, 3)
        phase[0, 0, 0] = phase[0, 1, 1] = phase[0, 2, 1] = 1
        phase[1, 0, 1] = phase[1, 1, 1] = phase[1, 2, 2] = 1
        self.register_buffer("phase", phase, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        w, b = self.conv.weight, self.conv.bias
        o = w.shape[0]
        k = torch.einsum("ayY,bxX,oiyx->oabiYX", self.phase, self.phase, w).reshape(4 * o, -1, 3, 3)
        x = F.pad(x, (1, 1, 1, 1), mode="replicate")
        y = F.conv2d(x, k.to(x.dtype), b.repeat_interleave(4).to(x.dtype))
        return F.pixel_shuffle(y, 2)


class BlurDown(nn.Module):
    """A full-size reflection-padded convolution, a binomial 3x3 blur, then every second pixel.

    >>> down = BlurDown(3, 4, 3)
    >>> torch.nn.init.zeros_(down.conv.weight) is not None and torch.nn.init.ones_(down.conv.bias) is not None
    True
    >>> y = down(torch.rand(1, 3, 10, 14))
    >>> y.shape, bool(torch.allclose(y, torch.ones_like(y)))
    (torch.Size([1, 4, 5, 7]), True)
    """

    def __init__(self, i: int, o: int, k: int) -> None:
        super().__init__()
        self.conv = _conv(i, o, k)
        row = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("blur", (row[:, None] * row / 16).expand(o, 1, 3, 3).clone(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        y = F.pad(self.conv(x), (1, 1, 1, 1), mode="reflect")
        return F.conv2d(y, self.blur.to(y.dtype), stride=2, groups=y.shape[1])


class SmoothUpConv(nn.Module):
    """Bilinear 2x upsampling, then a reflection-padded 3x3 convolution: unlike nearest
    upsampling it leaves no 2x2 blocks for the convolution to turn into a grid."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.conv = _conv(i, o, 3)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False))


class Residual(nn.Module):
    """conv-norm-relu-conv-norm, plus the input."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(c, c, 3), _norm(c), nn.ReLU(inplace=True), _conv(c, c, 3), _norm(c))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class TransformNet(nn.Module):
    """RGB in [0, 1] to RGB in [0, 1], same size (any size; padded internally by reflection).

    >>> net = TransformNet(FastConfig(channels=(4, 8), blocks=1))
    >>> net(torch.rand(1, 3, 37, 53)).shape, net(torch.rand(1, 3, 16, 3)).shape
    (torch.Size([1, 3, 37, 53]), torch.Size([1, 3, 16, 3]))
    """

    def __init__(self, config: FastConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or FastConfig()
        layers: list[nn.Module] = []
        prev = 3
        for i, c in enumerate(cfg.channels):
            k = cfg.stem_kernel if i == 0 else 3
            down = BlurDown(prev, c, k) if cfg.downsample == "blur" else _conv(prev, c, k, stride=2)
            layers += [down, _norm(c), nn.ReLU(inplace=True)]
            prev = c
        layers += [Residual(prev) for _ in range(cfg.blocks)]
        up = SmoothUpConv if cfg.upsample == "bilinear" else UpConv
        for c in [*reversed(cfg.channels[:-1]), *([cfg.head] if cfg.head else [])]:
            layers += [up(prev, c), _norm(c), nn.ReLU(inplace=True)]
            prev = c
        if cfg.skip:  # the full-size stage also sees the photo itself, so edges need not pass the stride
            self.head = nn.Sequential(
                _conv(prev + 3, prev, 3), _norm(prev), nn.ReLU(inplace=True), _conv(prev, 3, 3)
            )
        else:
            layers += [_conv(prev, 3, 3)] if cfg.head else [up(prev, 3)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        f = self.config.factor  # pad to a multiple of f, and to 2f at least: the smallest map is >= 2 px
        pad_h, pad_w = max(-h % f, 2 * f - h), max(-w % f, 2 * f - w)
        if pad_h or pad_w:
            mode = "reflect" if pad_h < h and pad_w < w else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        y = self.net(x)
        if self.config.skip:
            y = self.head(torch.cat([y, x.to(y.dtype)], 1))
        return torch.sigmoid(y)[..., :h, :w]


def periodic_component(x: Tensor) -> Tensor:
    """The periodic part of images ``x`` (..., H, W) in Moisan's periodic plus smooth
    decomposition: ``x`` less the smooth image whose Laplacian is the jump across the borders. The
    discrete Fourier transform treats an image as tiled, so the jump between its opposite borders
    puts a cross of power along both frequency axes; the periodic part has the same content
    without that cross (L. Moisan, "Periodic plus smooth image decomposition", 2011).

    >>> ramp = torch.linspace(0, 1, 32)[:, None].expand(32, 32)  # top and bottom rows differ
    >>> part = periodic_component(ramp)
    >>> bool((part[0] - part[-1]).abs().max() < (ramp[0] - ramp[-1]).abs().max() / 10)
    True
    """
    h, w = x.shape[-2:]
    x64 = x.double()
    across_rows = x64[..., -1, :] - x64[..., 0, :]  # bottom row less top row
    across_cols = x64[..., :, -1] - x64[..., :, 0]
    jump = torch.zeros_like(x64)
    jump[..., 0, :] += across_rows
    jump[..., -1, :] -= across_rows
    jump[..., :, 0] += across_cols
    jump[..., :, -1] -= across_cols
    fy = torch.cos(2 * torch.pi * torch.arange(h, dtype=torch.float64) / h)[:, None]
    fx = torch.cos(2 * torch.pi * torch.arange(w, dtype=torch.float64) / w)[None]
    laplacian = 2 * fy + 2 * fx - 4
    laplacian[0, 0] = 1.0
    smooth = torch.fft.fft2(jump) / laplacian
    smooth[..., 0, 0] = 0
    return (x64 - torch.fft.ifft2(smooth).real).to(x.dtype)


def _power(image: Tensor, stride: int) -> Tensor:
    """The power spectrum (channels summed, mean removed) of the periodic part
    (:func:`periodic_component`) of ``image`` cropped to a multiple of ``stride``."""
    x = image.detach().float().reshape(-1, *image.shape[-2:])
    h, w = (x.shape[-2] // stride) * stride, (x.shape[-1] // stride) * stride
    if h == 0 or w == 0:
        raise MuseforgeError(f"image {tuple(image.shape[-2:])} is smaller than the stride {stride}")
    x = periodic_component(x[..., :h, :w])
    return torch.fft.fft2(x - x.mean((-2, -1), keepdim=True)).abs().square().sum(0)


def stride_artefact(image: Tensor, stride: int = 8) -> float:
    """How strongly an image shows a grid at a network's stride: the mean power of its spectrum at
    the multiples of 1/``stride`` cycles per pixel in both axes (zero frequency excepted), over the
    median power of the whole spectrum, read on the image's periodic part so that the jump between
    opposite borders does not count as a grid. Photos score about 5-10; a visible stride grid,
    hundreds.
    ``image``: (3, H, W) or (1, 3, H, W) in [0, 1], cropped to a multiple of ``stride``.

    >>> i = torch.arange(64.0)
    >>> grid = 0.5 + 0.2 * torch.cos(2 * torch.pi * i / 8)[:, None] * torch.cos(2 * torch.pi * i / 8)
    >>> stride_artefact(grid.expand(3, 64, 64)) > 1000
    True
    """
    power = _power(image, stride)
    h, w = power.shape
    peaks = power[:: h // stride, :: w // stride].flatten()[1:]  # (k/stride, l/stride), DC dropped
    return float(peaks.mean() / power.median().clamp_min(1e-20))


def grid_peak(image: Tensor, stride: int = 8, radius: int = 2) -> float:
    """How sharply an image's spectrum peaks at the multiples of 1/``stride`` cycles per pixel: the
    mean, over those points (zero frequency excepted), of the power there over the median power of
    the bins around it (within ``radius``). A grid locked to the pixels scores far above 1; smooth
    bands or edges that merely have power near those frequencies, about 1 (where
    :func:`stride_artefact`, over the whole spectrum's median, can still be high). Read on the
    image's periodic part, as :func:`stride_artefact` is.

    >>> i = torch.arange(64.0)
    >>> grid = 0.5 + 0.2 * torch.cos(2 * torch.pi * i / 8)[:, None] * torch.cos(2 * torch.pi * i / 8)
    >>> noise = torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0))
    >>> grid_peak((grid + 0.05 * noise).clamp(0, 1)) > 100, 0.3 < grid_peak(noise) < 3
    (True, True)
    """
    power = _power(image, stride)
    h, w = power.shape
    offsets = [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1) if dy or dx]
    around = torch.stack([torch.roll(power, (dy, dx), (0, 1)) for dy, dx in offsets]).median(0).values
    ratio = (power / around.clamp_min(1e-20))[:: h // stride, :: w // stride].flatten()[1:]
    return float(ratio.mean())


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


class FastStyle:
    """A trained network and its metadata, ready to paint."""

    def __init__(self, net: TransformNet, metadata: dict | None = None, path: Path | None = None) -> None:
        self.net = net.eval().requires_grad_(False).to(memory_format=torch.channels_last)
        self.metadata = metadata or {}
        self.path = path

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or (self.path.parent.name if self.path else "fast-style"))

    def __call__(self, content: Tensor, bf16: bool = False) -> Tensor:
        """Paint ``content`` (B, 3, H, W in [0, 1]); float32 out."""
        x = content.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = self.net(x)
        return out.float().contiguous()


def stylize_fast(
    content: Tensor,
    models: Sequence[FastStyle],
    weights: Sequence[float],
    strength: float = 1.0,
    bf16: bool | None = None,
) -> Tensor:
    """Blend several fast styles' outputs by ``weights``; ``strength`` blends with the content
    (0 keeps it, 1 is the styles' result, above 1 exaggerates)."""
    if len(models) != len(weights):
        raise MuseforgeError(f"{len(models)} style(s) but {len(weights)} weight(s); give one per style")
    bf16 = cpu_bf16_ok() if bf16 is None else bf16
    total = float(sum(weights))
    out = sum(w / total * m(content, bf16) for m, w in zip(models, weights, strict=True) if w)
    return (content + strength * (out - content)).clamp(0, 1)  # type: ignore[operator]


def save_model(path: Path, net: TransformNet, meta: dict) -> None:
    """One checkpoint (:mod:`museforge.checkpoints`), fp16 weights; ``meta`` (JSON-able) and the
    config go in the header."""
    save_checkpoint(
        path, net.state_dict(), config=net.config.to_json(), kind=KIND, metadata=meta, dtype=torch.float16
    )


def read_metadata(path: Path) -> dict | None:
    """The decoded header metadata of a fast-style file, or None for any other file."""
    try:
        meta = checkpoints.read_metadata(path)
    except MuseforgeError:
        return None
    return meta if meta.get("kind") == KIND else None


@cache
def _load(path: str, mtime: float) -> FastStyle:
    try:
        tensors, meta = load_checkpoint(path, kind=KIND)
    except MuseforgeError as err:
        raise MuseforgeError(
            f"not a museforge fast style: {err}; make one with 'museforge train style'"
        ) from None
    try:
        net = TransformNet(FastConfig.from_json(meta["config"]))
        net.load_state_dict({k: v.float() for k, v in tensors.items()})
    except (KeyError, TypeError, RuntimeError) as err:
        raise MuseforgeError(f"{path}: fast-style weights do not fit ({str(err).splitlines()[0]})") from err
    return FastStyle(net, meta, Path(path))


def load(path: Path | str) -> FastStyle:
    """A fast style from its ``model.safetensors`` or the folder holding it."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE
    if not path.is_file():
        raise MuseforgeError(f"fast style {path}: no such file")
    return _load(str(path.resolve()), path.stat().st_mtime)


def builtin_path(name: str) -> Path:
    return models_root() / f"{PREFIX}{name}" / FILE


def builtin_names() -> list[str]:
    """Names of the shipped fast styles (folders ``models/style-fast-NAME/`` with a model)."""
    root = models_root()
    if not root.is_dir():
        return []
    return sorted(p.parent.name[len(PREFIX) :] for p in root.glob(f"{PREFIX}*/{FILE}"))


def find(style: str) -> Path | None:
    """The model file a STYLE argument names, or None when it is not a fast style: an existing
    file or folder wins (a fast-style ``.safetensors`` or a folder holding one), then a built-in
    name with a shipped model."""
    path = Path(style)
    if path.exists():
        if path.is_dir() and (path / FILE).is_file():
            path = path / FILE
        if path.is_file() and path.suffix == ".safetensors" and read_metadata(path) is not None:
            return path
        return None
    shipped = builtin_path(style)
    return shipped if "/" not in style and shipped.is_file() else None
