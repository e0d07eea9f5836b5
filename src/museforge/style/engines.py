"""Style transfer as engines: Gatys optimisation, AdaIN, per-style fast networks and colour
transfer. Each takes a content image and style images (fast styles: trained models) as input
files, so a stylised image's record names and hashes everything that made it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from museforge.engines import Artifact, Engine, InputFile, InputSpec, OutputFile, Request, param
from museforge.errors import MuseforgeError
from museforge.style import io as sio
from museforge.style import transfer
from museforge.style.gatys import GatysParams as G

CONTENT = InputSpec("content", "image", "the photo whose figure is kept")
STYLES = InputSpec("styles", "image", "one or more style images (or built-in names)", multiple=True)
PRESERVE = ("off", *transfer.PRESERVE)


def _weights_help() -> str:
    return "one weight per style, e.g. 0.7,0.3 (empty: equal)"


@dataclass(frozen=True)
class StyleParams:
    size: int = param(512, "longest side of the result in pixels", range=(16, transfer.MAX_SIZE))
    strength: float = param(1.0, "how strongly the style is applied; 0 keeps the content",
                            range=(0.0, 100.0))
    weights: str = param("", _weights_help())

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", transfer.canonical_weights(self.weights))


@dataclass(frozen=True)
class GatysStyleParams(StyleParams):
    preserve_color: str = param("off", "keep the content's colours: luminance-only transfer, or the "
                                "style's colours histogram-matched to the content first", choices=PRESERVE)
    steps: int = param(G.steps, "optimiser iterations at full size; each coarser scale runs twice as many",
                       range=(1, 10_000))
    optimizer: str = param(G.optimizer, "pixel optimiser", choices=("lbfgs", "adam"))
    scales: int = param(G.scales, "coarse-to-fine levels, each half the size of the next", range=(1, 8))
    content_weight: float = param(G.content_weight, "weight of the content loss", range=(0.0, 1e6))
    style_weight: float = param(G.style_weight, "weight of the style loss", range=(0.0, 1e6))
    tv_weight: float = param(G.tv_weight, "total-variation smoothing; higher is smoother", range=(0.0, 1e6))
    target_loss: float = param(0.0, "stop early once the full-size loss falls below this (0: off)",
                               range=(0.0, 1e12))
    vgg: str = param("", "a torchvision VGG-16/19 .pth state dict instead of the built-in VGG-16")
    sampler: str = field(default="gatys-lbfgs", init=False, metadata={"help": "recorded, not set"})

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "sampler", f"gatys-{self.optimizer}")


@dataclass(frozen=True)
class OnePassParams(StyleParams):
    strength: float = param(1.0, "how strongly the style is applied, 0 (the content) to 1", range=(0.0, 1.0))
    preserve_color: str = param("off", "keep the content's colours: luminance-only transfer, or "
                                "histogram-matched colours", choices=PRESERVE)


@dataclass(frozen=True)
class AdainParams(OnePassParams):
    sampler: str = field(default="adain", init=False, metadata={"help": "recorded, not set"})


@dataclass(frozen=True)
class FastParams(OnePassParams):
    sampler: str = field(default="johnson", init=False, metadata={"help": "recorded, not set"})


@dataclass(frozen=True)
class ReinhardParams(StyleParams):
    sampler: str = field(default="reinhard", init=False, metadata={"help": "recorded, not set"})


@dataclass(frozen=True)
class HistogramParams(StyleParams):
    sampler: str = field(default="histogram", init=False, metadata={"help": "recorded, not set"})


def _image(file: InputFile, size: int, what: str) -> torch.Tensor:
    return sio.to_tensor(sio.fit(sio.open_rgb(file.name, what, file.data), size))


class StyleEngine(Engine):
    """What every style engine shares: content and style inputs, weights, a PNG out."""

    modality = "image"
    version = "2"
    priority = -10  # needs a photo: never the default for 'create'
    uses_mood = False
    inputs: ClassVar[tuple[InputSpec, ...]] = (CONTENT, STYLES)

    def __init__(self) -> None:
        self._model_sha: str | None = None

    @classmethod
    def builtin_input(cls, role: str, name: str) -> Path | None:
        return transfer.builtin_style_image(name) if role == "styles" else None

    @classmethod
    def builtin_names(cls, role: str) -> list[str]:
        """The built-in inputs of a role (the paintings and the shipped fast styles' images)."""
        from museforge.style import johnson

        return [*transfer.BUILTIN_STYLES, *johnson.builtin_names()] if role == "styles" else []

    @classmethod
    def check_inputs(cls, params: Any, inputs: Mapping[str, tuple[InputFile, ...]]) -> None:
        """Every image readable and within size (headers only), one weight per style."""
        for spec in cls.inputs:
            if spec.kind == "image":
                for f in inputs.get(spec.role, ()):
                    sio.check_image(f.name, spec.role.removesuffix("s"), f.data)
        transfer.parse_weights(params.weights, len(inputs.get("styles", ())))

    def model_sha256(self, params: Any) -> str | None:
        return self._model_sha

    def run(self, request: Request, generator: torch.Generator) -> Artifact:
        p = request.params
        content = _image(request.inputs_of("content")[0], p.size, "content")
        weights = transfer.parse_weights(p.weights, len(request.inputs_of("styles")))
        request.progress("stylising", 0.0)
        result, summary = self.paint(request, content, weights, generator)
        request.progress("stylising", 1.0)
        image = sio.to_image(result)
        summary.update(width=image.width, height=image.height, method=p.sampler.split("-")[0])
        return Artifact("image", [OutputFile("styled.png", sio.png_bytes(image), "image/png")], summary)

    def styles(self, request: Request) -> list[torch.Tensor]:
        size = request.params.size
        return [_image(f, size, "style") for f in request.inputs_of("styles")]

    def paint(self, request: Request, content: torch.Tensor, weights: tuple[float, ...],
              generator: torch.Generator) -> tuple[torch.Tensor, dict[str, Any]]:
        raise NotImplementedError


def _preserve(value: str) -> str | None:
    return None if value == "off" else value


class GatysStyle(StyleEngine):
    name = "museforge-style-gatys"
    description = "neural style by optimisation on VGG features (Gatys et al.), coarse to fine"
    Params = GatysStyleParams
    inputs = (CONTENT, STYLES, InputSpec("masks", "image", "one gray mask per style; white marks where "
                                         "that style paints", required=False, multiple=True))

    @classmethod
    def check_inputs(cls, params: Any, inputs: Mapping[str, tuple[InputFile, ...]]) -> None:
        super().check_inputs(params, inputs)
        masks, styles = len(inputs.get("masks", ())), len(inputs.get("styles", ()))
        if masks and masks != styles:
            raise MuseforgeError(f"{masks} mask(s) for {styles} style(s); give one mask per style")

    def paint(self, request: Request, content: torch.Tensor, weights: tuple[float, ...],
              generator: torch.Generator) -> tuple[torch.Tensor, dict[str, Any]]:
        p: GatysStyleParams = request.params
        gp = G(steps=p.steps, optimizer=p.optimizer, content_weight=p.content_weight,
               style_weight=p.style_weight, tv_weight=p.tv_weight, strength=p.strength, scales=p.scales,
               target_loss=p.target_loss or None)
        masks = [sio.open_rgb(f.name, "mask", f.data) for f in request.inputs_of("masks")] or None
        result, summary, sha = transfer.gatys(content, self.styles(request), weights, gp,
                                              _preserve(p.preserve_color), generator, masks, p.vgg or None,
                                              request.device, request.progress)
        self._model_sha = sha
        return result, summary


class AdainStyle(StyleEngine):
    name = "museforge-style-adain"
    description = "any painting's style in one feed-forward pass (AdaIN; the shipped decoder is a preview)"
    Params = AdainParams

    def paint(self, request: Request, content: torch.Tensor, weights: tuple[float, ...],
              generator: torch.Generator) -> tuple[torch.Tensor, dict[str, Any]]:
        p: AdainParams = request.params
        names = [transfer.builtin_key(f.name) if f.builtin else None for f in request.inputs_of("styles")]
        result, summary, sha = transfer.adain(content, self.styles(request), names, weights, p.strength,
                                              _preserve(p.preserve_color))
        self._model_sha = sha
        return result, summary


class JohnsonStyle(StyleEngine):
    name = "museforge-style-johnson"
    description = "a trained fast-style network per style (Johnson et al.): a few hundredths of a second"
    Params = FastParams
    inputs = (CONTENT, InputSpec("styles", "model", "fast styles: shipped names or folders/.safetensors "
                                 "made by 'museforge train style'", multiple=True))

    @classmethod
    def builtin_names(cls, role: str) -> list[str]:
        """The shipped fast styles."""
        from museforge.style import johnson

        return johnson.builtin_names() if role == "styles" else []

    @classmethod
    def builtin_input(cls, role: str, name: str) -> Path | None:
        from museforge.style import johnson

        if role != "styles" or "/" in name:
            return None
        path = johnson.find(name.removeprefix(johnson.PREFIX)) or johnson.find(name)
        return path if path is not None and not Path(name).exists() else None

    @classmethod
    def locate_input(cls, role: str, source: str) -> tuple[Path, str, bool] | None:
        """A fast style named, or a trained folder: its model file, the name to record, built in?"""
        from museforge.style import johnson

        if role != "styles":
            return None
        path = johnson.find(source)
        if path is None:
            shipped = ", ".join(johnson.builtin_names()) or "none installed"
            raise MuseforgeError(
                f"{source}: not a fast style (shipped: {shipped}); give a folder or .safetensors made by "
                "'museforge train style', or use --method adain for a painting image"
            )
        builtin = not Path(source).exists()
        label = path.parent.name if path.name == johnson.FILE else path.name
        return path, label, builtin

    def paint(self, request: Request, content: torch.Tensor, weights: tuple[float, ...],
              generator: torch.Generator) -> tuple[torch.Tensor, dict[str, Any]]:
        from museforge.hashing import sha256_bytes

        p: FastParams = request.params
        files = request.inputs_of("styles")
        models = [_fast_style(f.data, f.name) for f in files]
        self._model_sha = ";".join(sha256_bytes(f.data) for f in files)
        return transfer.fast(content, models, weights, p.strength, _preserve(p.preserve_color))


_FAST_CACHE: dict[str, Any] = {}


def _fast_style(data: bytes, name: str) -> Any:
    """A fast style from its safetensors bytes (the bytes the record hashed), cached by hash."""
    import json
    import struct

    from safetensors.torch import load

    from museforge.checkpoints import decode_metadata
    from museforge.hashing import sha256_bytes
    from museforge.style import johnson

    digest = sha256_bytes(data)
    if digest not in _FAST_CACHE:
        try:
            (n,) = struct.unpack("<Q", data[:8])
            header = json.loads(data[8 : 8 + n])
            meta = decode_metadata(header.get("__metadata__") or {}, list(header), name)
            if meta.get("kind") != johnson.KIND:
                raise MuseforgeError(f"{name}: not a museforge fast style; make one with "
                                     "'museforge train style'")
            net = johnson.TransformNet(johnson.FastConfig.from_json(meta["config"]))
            net.load_state_dict({k: v.float() for k, v in load(data).items()})
        except (ValueError, KeyError, TypeError, RuntimeError, struct.error) as err:
            raise MuseforgeError(f"{name}: fast-style weights do not load ({str(err).splitlines()[0]})") \
                from None
        if len(_FAST_CACHE) > 8:
            _FAST_CACHE.clear()
        _FAST_CACHE[digest] = johnson.FastStyle(net, meta)
    return _FAST_CACHE[digest]


class _ColourStyle(StyleEngine):
    method: ClassVar[str]

    def paint(self, request: Request, content: torch.Tensor, weights: tuple[float, ...],
              generator: torch.Generator) -> tuple[torch.Tensor, dict[str, Any]]:
        styles = self.styles(request)
        return transfer.colour(self.method, content, styles, weights, request.params.strength), {}


class ReinhardStyle(_ColourStyle):
    name = "museforge-style-reinhard"
    description = "instant colour transfer: the style's colour statistics in Lab (Reinhard et al.)"
    Params = ReinhardParams
    method = "reinhard"


class HistogramStyle(_ColourStyle):
    name = "museforge-style-histogram"
    description = "instant colour transfer: each channel's histogram matched to the style's"
    Params = HistogramParams
    method = "histogram"


ENGINES: dict[str, type[StyleEngine]] = {
    "gatys": GatysStyle, "adain": AdainStyle, "johnson": JohnsonStyle,
    "reinhard": ReinhardStyle, "histogram": HistogramStyle,
}
"""The engine of each ``--method``."""
