"""Stable Diffusion checkpoints that artists own, run offline through diffusers.

:func:`load_user_model` takes a diffusers pipeline folder (``model_index.json``) or a single
``.safetensors`` / ``.ckpt`` checkpoint of Stable Diffusion 1.x, 2.x or XL and returns a
:class:`UserModel` that paints with txt2img, img2img and inpainting, and takes LoRA files.

Nothing is ever downloaded. A single file carries weights but no configs and no tokenizer, so
museforge ships both in ``sd_configs/``: the component configs of SD 1.5, SD 2.x and SDXL base,
and the CLIP BPE merges (MIT, see ``sd_configs/README.md``) from which the tokenizers are built.
A checkpoint of another layout is loaded with ``config=`` (``--model-config DIR``): a diffusers
pipeline folder whose configs (and tokenizers, when it has them) fit the file.

diffusers and transformers are optional (``pip install 'museforge[sd]'``) and load on first use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import struct
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from museforge.errors import MuseforgeError
from museforge.hashing import sha256_file
from museforge.runtime import Progress, check_seed, choose_device, make_generator, no_progress

if TYPE_CHECKING:
    import torch
    from PIL import Image

CONFIGS = Path(__file__).with_name("sd_configs")
"""Component configs of SD 1.5, SD 2.x and SDXL base, and the CLIP BPE merges."""

KINDS = {"sd1": "Stable Diffusion 1.x", "sd2": "Stable Diffusion 2.x", "sdxl": "Stable Diffusion XL"}
SAMPLERS = {
    "ddpm": ("DDPMScheduler", {"clip_sample": False}),
    "ddim": ("DDIMScheduler", {"clip_sample": False}),
    "euler-a": ("EulerAncestralDiscreteScheduler", {}),
    "dpmpp-2m": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
}
"""museforge's sampler names and the diffusers scheduler (with overrides) each one builds."""

CHECKPOINT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth")
MAX_STEPS = 500
MAX_SIDE = 4096
MAX_CFG = 50.0
MAX_LORA_SCALE = 10.0
INSTALL = "pip install 'museforge[sd]'"
NEVER_DOWNLOADS = "museforge never downloads; download the model yourself and pass its folder or file"
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
URL = re.compile(r"(?i)(https?://|hf\.co/|huggingface\.co/)")

UNET = "model.diffusion_model."
VAE_PREFIXES = ("first_stage_model.", "vae.")
TEXT_PREFIX = {
    "sd1": "cond_stage_model.transformer.",
    "sd2": "cond_stage_model.model.",
    "sdxl": "conditioner.embedders.0.transformer.",
}
SDXL_TEXT_2 = "conditioner.embedders.1.model."
TOKEN_EMBEDDING = {
    "sd1": "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",
    "sd2": "cond_stage_model.model.token_embedding.weight",
    "sdxl": "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight",
}
"""Where each kind of single file keeps its (first) text encoder, and that encoder's token table."""


class LongPromptWarning(UserWarning):
    """A prompt longer than the text encoder reads; its tail has no effect on the image."""


def _shown(text: str, limit: int = 120) -> str:
    """``text`` on one line (control characters escaped), cut to ``limit`` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_line(err: BaseException) -> str:
    """An exception's message on one line: its first line, and the next when the first is a heading."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    return _shown(" ".join(lines[:2]) if lines[0].endswith(":") else lines[0], 200)


def _diffusers() -> Any:
    """The diffusers module, or a one-line error naming the extra to install."""
    try:
        import diffusers
        import transformers  # noqa: F401  (the text encoders and tokenizers)
    except ImportError as err:
        raise MuseforgeError(f"Stable Diffusion models need diffusers and transformers: {INSTALL}") from err
    return diffusers


@contextmanager
def _quiet() -> Iterator[None]:
    """diffusers and transformers print nothing (no log lines, no progress bars) inside."""
    from diffusers.utils import logging as d_log
    from transformers.utils import logging as t_log

    levels = d_log.get_verbosity(), t_log.get_verbosity()
    bars = d_log.is_progress_bar_enabled(), t_log.is_progress_bar_enabled()
    d_log.set_verbosity(d_log.CRITICAL)  # their errors come back as exceptions, told in one line
    t_log.set_verbosity(t_log.CRITICAL)
    d_log.disable_progress_bar()
    t_log.disable_progress_bar()
    try:
        with warnings.catch_warnings():  # renamed arguments (torch_dtype) and the like
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        d_log.set_verbosity(levels[0])
        t_log.set_verbosity(levels[1])
        if bars[0]:
            d_log.enable_progress_bar()
        if bars[1]:
            t_log.enable_progress_bar()


def _existing(path: str | os.PathLike[str], role: str) -> Path:
    """``path`` when a file or folder is there; a Hub id or URL gets the never-downloads line."""
    text = os.fspath(path)
    p = Path(text).expanduser()
    try:
        if p.is_file() or p.is_dir():
            return p
        there = p.exists()
    except (OSError, ValueError):
        there = False
    if there:
        raise MuseforgeError(f"{role} {_shown(text)}: not a regular file or folder")
    if HUB_ID.fullmatch(text) or URL.match(text):
        raise MuseforgeError(f"{role} {_shown(text)} is not a file or folder here: {NEVER_DOWNLOADS}")
    raise MuseforgeError(f"{role} {_shown(text)}: no such file or folder")


def _torch_dtype(dtype: Any, device: torch.device) -> torch.dtype:
    import torch

    if dtype is None:
        return torch.float32 if device.type == "cpu" else torch.float16
    names = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16,
             "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
    if isinstance(dtype, torch.dtype) and dtype in names.values():
        return dtype
    if isinstance(dtype, str) and dtype in names:
        return names[dtype]
    raise MuseforgeError(f"unknown dtype {_shown(str(dtype), 40)!r}; use float32, float16 or bfloat16")


# --- reading checkpoints -------------------------------------------------------------------------

Shapes = dict[str, tuple[int, ...]]


def _safetensors_shapes(path: Path) -> Shapes:
    """Tensor names and shapes from a .safetensors header, checked against the file's size."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError("shorter than a header")
        (n,) = struct.unpack("<Q", head)
        if n > min(size - 8, 100 << 20):
            raise ValueError("header larger than the file")
        header = json.loads(f.read(n))
    if not isinstance(header, dict):
        raise ValueError("header is not a table")
    shapes: Shapes = {}
    data = size - 8 - n
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        if not 0 <= begin <= end <= data:
            raise ValueError("tensor data lies past the end of the file (truncated?)")
        shapes[key] = tuple(int(d) for d in entry["shape"])
    return shapes


def _pickle_shapes(path: Path) -> Shapes:
    """Tensor names and shapes of a .ckpt (weights-only unpickling: no code runs)."""
    import pickle

    import torch

    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as err:
            if "mmap" not in str(err):
                raise
            obj = torch.load(path, map_location="cpu", weights_only=True)  # the pre-zip format
    except pickle.UnpicklingError as err:
        if "weights_only" in str(err) or "global" in str(err).lower():
            raise MuseforgeError(f"{_shown(path.name)} holds Python objects besides weights; museforge reads "
                                 ".ckpt files weights-only: convert it to .safetensors") from None
        raise ValueError(_first_line(err)) from None
    while isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ValueError("it holds no table of weights")
    return {k: tuple(v.shape) for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}


def read_shapes(path: Path) -> Shapes:
    """Names and shapes of the tensors in a checkpoint file; a one-line error for a damaged one."""
    suffix = path.suffix.lower()
    if suffix not in CHECKPOINT_SUFFIXES:
        raise MuseforgeError(f"{_shown(path.name)} is not a .safetensors or .ckpt checkpoint")
    try:
        return _safetensors_shapes(path) if suffix == ".safetensors" else _pickle_shapes(path)
    except MuseforgeError:
        raise
    except OSError as err:
        raise MuseforgeError(f"cannot read {_shown(path.name)}: {err.strerror or err}") from None
    except Exception as err:  # any parse failure of a damaged file
        raise MuseforgeError(f"{_shown(path.name)} is damaged or not a checkpoint "
                             f"({_first_line(err)})") from None


def checkpoint_kind(shapes: Mapping[str, tuple[int, ...]], name: str) -> str:
    """``"sd1"``, ``"sd2"`` or ``"sdxl"`` from a single file's tensor names; a one-line error for
    any other file (a LoRA, a VAE, an inpainting or refiner model, another architecture)."""
    keys = shapes.keys()
    if not any(k.startswith(UNET + "input_blocks.") for k in keys):
        if any("lora_" in k or ".lora." in k for k in keys):
            raise MuseforgeError(f"{name} is a LoRA, not a model: load a model, then add the LoRA to it")
        raise MuseforgeError(f"{name} is not a Stable Diffusion 1.x, 2.x or XL checkpoint "
                             "(no SD U-Net in it)")
    channels = shapes.get(UNET + "input_blocks.0.0.weight", (0, 4))[1]
    if channels != 4:
        raise MuseforgeError(f"{name} is an inpainting or instruct model ({channels}-channel U-Net); "
                             "museforge runs standard text-to-image checkpoints (they inpaint too)")
    if not any(k.startswith(VAE_PREFIXES) for k in keys):
        raise MuseforgeError(f"{name} has no VAE weights (first_stage_model.*); use a full checkpoint")
    if any(k.startswith(SDXL_TEXT_2) for k in keys):
        return "sdxl"
    if any(k.startswith("conditioner.embedders.0.model.") for k in keys):
        raise MuseforgeError(f"{name} is an SDXL refiner; museforge runs SDXL base checkpoints")
    if "cond_stage_model.model.token_embedding.weight" in keys:
        return "sd2"
    if "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight" in keys:
        return "sd1"
    raise MuseforgeError(f"{name} holds a U-Net but no text encoder of SD 1.x, 2.x or XL")


def _check_complete(shapes: Shapes, folder: Path, kind: str, name: str) -> None:
    """Refuse a checkpoint that lacks weights of a component, before loading: diffusers would leave
    them random (or unloaded). The components are built without memory (meta device) to count."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    vae_prefix = next(p for p in VAE_PREFIXES if any(k.startswith(p) for k in shapes))
    parts = [("U-Net", UNET, "unet", UNet2DConditionModel), ("VAE", vae_prefix, "vae", AutoencoderKL),
             ("text encoder", TEXT_PREFIX[kind], "text_encoder", CLIPTextModel)]
    if kind == "sdxl":
        parts.append(("second text encoder", SDXL_TEXT_2, "text_encoder_2", CLIPTextModelWithProjection))
    for label, prefix, sub, cls in parts:
        try:
            with _quiet(), torch.device("meta"):
                if sub.startswith("text_encoder"):
                    config = CLIPTextConfig.from_pretrained(str(folder / sub), local_files_only=True)
                    module = cls(config)
                else:
                    module = cls.from_config(cls.load_config(str(folder / sub), local_files_only=True))
        except Exception:  # a config diffusers cannot read: from_single_file will say what is wrong
            continue
        need = len(module.state_dict())
        if prefix.endswith(".model."):  # OpenCLIP keeps q, k, v (weight, bias) in one in_proj pair
            need -= 4 * module.config.num_hidden_layers
        have = sum(k.startswith(prefix) for k in shapes)
        if have < need:
            raise MuseforgeError(f"{name} is incomplete: its {label} has {have} of the {need} weights "
                                 "it needs")


def _component_config(folder: Path, sub: str) -> dict[str, Any]:
    try:
        data = json.loads((folder / sub / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _check_fits(shapes: Shapes, folder: Path, kind: str, name: str, shipped: bool) -> None:
    """Compare a checkpoint's widths with a config folder's before anything is built, so a file of
    another size is refused at once instead of after building full-size models."""
    unet, vae = _component_config(folder, "unet"), _component_config(folder, "vae")
    vae_prefix = next(p for p in VAE_PREFIXES if any(k.startswith(p) for k in shapes))
    to_k = next((shape for k, shape in shapes.items()
                 if k.startswith(UNET) and k.endswith("attn2.to_k.weight")), None)
    checks = [
        ("U-Net width", shapes.get(UNET + "input_blocks.0.0.weight", (None,))[0],
         (unet.get("block_out_channels") or [None])[0]),
        ("U-Net text width", to_k[1] if to_k else None, unet.get("cross_attention_dim")),
        ("VAE width", shapes.get(vae_prefix + "encoder.conv_in.weight", (None,))[0],
         (vae.get("block_out_channels") or [None])[0]),
        ("text encoder width", shapes.get(TOKEN_EMBEDDING[kind], (0, None))[1],
         _component_config(folder, "text_encoder").get("hidden_size")),
    ]
    if kind == "sdxl":
        checks.append(("second text encoder width",
                       shapes.get(SDXL_TEXT_2 + "token_embedding.weight", (0, None))[1],
                       _component_config(folder, "text_encoder_2").get("hidden_size")))
    for label, have, want in checks:
        if have is not None and want is not None and have != want:
            where = (f"the shipped {KINDS[kind]} configs" if shipped
                     else f"the configs in {_shown(str(folder))}")
            hint = "; pass a pipeline folder that fits it with --model-config DIR" if shipped else ""
            raise MuseforgeError(f"{name} does not fit {where}: its {label} is {have}, the configs say "
                                 f"{want}{hint}")


# --- tokenizers ----------------------------------------------------------------------------------

def _byte_symbols() -> list[str]:
    """GPT-2/CLIP's printable stand-ins for the 256 byte values, in vocabulary order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return [chr(c) for c in (*printable, *(256 + i for i in range(len(others))))]


@cache
def clip_tokenizer(pad_token: str = "<|endoftext|>") -> Any:
    """The CLIP tokenizer of SD (pad ``<|endoftext|>``) or of OpenCLIP in SD 2.x and SDXL's second
    encoder (pad ``!``), built from the shipped merges: 49,408 tokens, 77 positions."""
    _diffusers()
    from transformers import CLIPTokenizer

    merges_text = (CONFIGS / "clip_merges.txt").read_text(encoding="utf-8")
    merges = merges_text.splitlines()[1:]
    symbols = _byte_symbols()
    vocab = [*symbols, *(s + "</w>" for s in symbols), *("".join(m.split()) for m in merges),
             "<|startoftext|>", "<|endoftext|>"]
    with tempfile.TemporaryDirectory(prefix="museforge-clip-") as folder:
        ids = {token: i for i, token in enumerate(vocab)}
        Path(folder, "vocab.json").write_text(json.dumps(ids), encoding="utf-8")
        Path(folder, "merges.txt").write_text(merges_text, encoding="utf-8")
        with _quiet():
            return CLIPTokenizer.from_pretrained(folder, model_max_length=77, pad_token=pad_token)


def _has_tokenizer(folder: Path, sub: str) -> bool:
    return (folder / sub / "vocab.json").is_file() or (folder / sub / "tokenizer.json").is_file()


# --- loading -------------------------------------------------------------------------------------

def _read_index(folder: Path, role: str) -> dict[str, Any]:
    index = folder / "model_index.json"
    if not index.is_file():
        raise MuseforgeError(f"{role} {_shown(str(folder))} is not a diffusers pipeline folder (no "
                             "model_index.json); pass a pipeline folder or a .safetensors/.ckpt file")
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise MuseforgeError(f"cannot read {_shown(str(index))}: {_first_line(err)}") from None
    if not isinstance(data, dict):
        raise MuseforgeError(f"{_shown(str(index))} is not a pipeline index")
    return data


PIPELINES = {"StableDiffusionPipeline": False, "StableDiffusionImg2ImgPipeline": False,
             "StableDiffusionInpaintPipeline": False, "StableDiffusionXLPipeline": True,
             "StableDiffusionXLImg2ImgPipeline": True, "StableDiffusionXLInpaintPipeline": True}
"""Pipeline classes (``_class_name`` of model_index.json) whose folders load, and whether each is XL."""


def _is_xl(index: Mapping[str, Any], folder: Path) -> bool:
    """Whether a pipeline index is SDXL base; a one-line error for one that is not SD 1.x/2.x/XL."""
    cls = str(index.get("_class_name", ""))
    if cls not in PIPELINES:
        raise MuseforgeError(f"{_shown(folder.name)} holds a {_shown(cls, 60) or 'pipeline of no class'}, "
                             "not a Stable Diffusion 1.x, 2.x or XL pipeline")
    text_encoder = index.get("text_encoder")
    if PIPELINES[cls] and not (isinstance(text_encoder, list) and text_encoder and text_encoder[0]):
        raise MuseforgeError(f"{_shown(folder.name)} is an SDXL refiner; museforge runs SDXL base models")
    return PIPELINES[cls]


def _load_folder(folder: Path, dtype: torch.dtype) -> tuple[Any, str]:
    index = _read_index(folder, "model")
    xl = _is_xl(index, folder)
    try:
        channels = json.loads((folder / "unet" / "config.json").read_text(encoding="utf-8"))["in_channels"]
    except (OSError, ValueError, KeyError, TypeError):
        channels = 4
    if channels != 4:
        raise MuseforgeError(f"{_shown(folder.name)} is an inpainting or instruct model ({channels}-channel "
                             "U-Net); museforge runs standard text-to-image models (they inpaint too)")
    d = _diffusers()
    cls = d.StableDiffusionXLPipeline if xl else d.StableDiffusionPipeline
    extra: dict[str, Any] = {"feature_extractor": None, "image_encoder": None}
    if not xl:
        extra.update(safety_checker=None, requires_safety_checker=False)
    unet = folder / "unet"
    plain = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
    if unet.is_dir() and not any((unet / n).is_file() for n in plain) and any(unet.glob("*.fp16.*")):
        extra["variant"] = "fp16"  # a folder holding only the half-precision copies
    try:
        with _quiet():
            pipe = cls.from_pretrained(str(folder), torch_dtype=dtype, local_files_only=True, **extra)
    except Exception as err:  # diffusers raises many kinds for a broken folder
        raise MuseforgeError(f"cannot load the pipeline in {_shown(folder.name)}: "
                             f"{_first_line(err)}") from None
    kind = "sdxl" if xl else ("sd2" if pipe.unet.config.cross_attention_dim == 1024 else "sd1")
    return pipe, kind


def _predicts_v(unet: Any) -> bool:
    """Whether an SD 2.x U-Net predicts v rather than noise: on a flat grey latent at the last
    timestep a v-model's output falls well below the input (the test AUTOMATIC1111 uses)."""
    import torch

    p = next(unet.parameters())
    x = torch.full((1, 4, 8, 8), 0.5, dtype=p.dtype, device=p.device)
    cond = torch.full((1, 2, unet.config.cross_attention_dim), 0.5, dtype=p.dtype, device=p.device)
    with torch.no_grad():
        out = unet(x, torch.tensor([999], device=p.device), encoder_hidden_states=cond).sample
    return float((out.float() - x.float()).mean()) < -1


def _set_prediction(pipe: Any, shapes: Shapes, kind: str) -> None:
    """Noise or v prediction for a file loaded with the shipped configs (which cannot know)."""
    settings: dict[str, Any] = {}
    if "v_pred" in shapes or (kind == "sd2" and _predicts_v(pipe.unet)):
        settings["prediction_type"] = "v_prediction"
    elif kind == "sd2":
        settings["prediction_type"] = "epsilon"
    if "ztsnr" in shapes:
        settings["rescale_betas_zero_snr"] = True
    if settings:
        pipe.scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config, **settings)
        pipe.scheduler.register_to_config(**settings)  # kept for the samplers even where this one lacks it


def _load_file(path: Path, shapes: Shapes, kind: str, dtype: torch.dtype,
               config: str | os.PathLike[str] | None) -> tuple[Any, str]:
    name = _shown(path.name)
    if config is None:
        folder = CONFIGS / kind
    else:
        folder = _existing(config, "model config")
        if not folder.is_dir():
            raise MuseforgeError(f"model config {_shown(str(config))} must be a diffusers pipeline folder")
        if _is_xl(_read_index(folder, "model config"), folder) != (kind == "sdxl"):
            raise MuseforgeError(f"model config {_shown(folder.name)} does not fit {name}, a "
                                 f"{KINDS[kind]} checkpoint")
    _check_fits(shapes, folder, kind, name, shipped=config is None)
    _check_complete(shapes, folder, kind, name)
    d = _diffusers()
    cls = d.StableDiffusionXLPipeline if kind == "sdxl" else d.StableDiffusionPipeline
    extra: dict[str, Any] = {"feature_extractor": None, "image_encoder": None}
    if not _has_tokenizer(folder, "tokenizer"):
        extra["tokenizer"] = clip_tokenizer("!" if kind == "sd2" else "<|endoftext|>")
    if kind == "sdxl" and not _has_tokenizer(folder, "tokenizer_2"):
        extra["tokenizer_2"] = clip_tokenizer("!")
    if kind != "sdxl":
        extra.update(safety_checker=None, requires_safety_checker=False)
    try:
        with _quiet():
            pipe = cls.from_single_file(str(path), config=str(folder), local_files_only=True,
                                        torch_dtype=dtype, **extra)
    except Exception as err:  # shape mismatches, missing configs, damaged data
        raise MuseforgeError(f"{name} does not load as a {KINDS[kind]} model with the configs in "
                             f"{_shown(str(folder))}: {_first_line(err)}") from None
    if config is None:
        _set_prediction(pipe, shapes, kind)
    return pipe, kind


def folder_hash(folder: Path) -> str:
    """SHA-256 (hex) of a folder's manifest: one line ``<relative path>\\0<file's SHA-256>`` for
    every file in it (hidden ones skipped), in sorted path order. It changes when any file's
    bytes, name or presence change, and not with dates or where the folder lies."""
    h = hashlib.sha256()
    files = sorted((f.relative_to(folder).as_posix(), f) for f in folder.rglob("*")
                   if f.is_file() and not any(part.startswith(".") for part in f.relative_to(folder).parts))
    for rel, f in files:
        h.update(f"{rel}\0{sha256_file(f)}\n".encode())
    return h.hexdigest()


def load_user_model(path: str | os.PathLike[str], *, device: str = "cpu", dtype: Any = None,
                    config: str | os.PathLike[str] | None = None) -> UserModel:
    """A Stable Diffusion 1.x / 2.x / XL model from a pipeline folder or a single checkpoint file.

    ``dtype`` is float32 on the CPU and float16 elsewhere unless given (a ``torch.dtype`` or
    ``"float32"``, ``"float16"``, ``"bfloat16"``). ``config`` (``--model-config DIR``) names a
    pipeline folder whose configs and tokenizers fit a single file; without it museforge's
    shipped SD 1.5 / 2.x / XL configs are used. Every failure is one line.
    """
    p = _existing(path, "model")
    shapes: Shapes = {}
    if p.is_dir():
        if config is not None:
            raise MuseforgeError("a pipeline folder carries its own configs; --model-config is for "
                                 "single files")
        _is_xl(_read_index(p, "model"), p)
    else:  # a damaged or foreign file is refused before the libraries load
        shapes = read_shapes(p)
        checkpoint_kind(shapes, _shown(p.name))
    dev = choose_device(device)
    dt = _torch_dtype(dtype, dev)
    _diffusers()
    if p.is_dir():
        pipe, kind = _load_folder(p, dt)
    else:
        pipe, kind = _load_file(p, shapes, checkpoint_kind(shapes, _shown(p.name)), dt, config)
    pipe.set_progress_bar_config(disable=True)
    try:
        pipe.to(dev)
    except RuntimeError as err:
        raise MuseforgeError(f"cannot move {_shown(p.name)} to {dev}: {_first_line(err)}") from None
    return UserModel(pipe, path=p, kind=kind, device=dev)


# --- the model -----------------------------------------------------------------------------------

def _check_number(value: Any, name: str, low: float, high: float, *, whole: bool = False) -> float:
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) \
            or not low <= value <= high:
        what = "a whole number" if whole else "a number"
        raise MuseforgeError(f"{name} {_shown(str(value), 40)} is out of range: use {what} "
                             f"from {low:g} to {high:g}")
    return value


def _rgb(image: Any, role: str) -> Image.Image:
    from PIL import Image

    if not isinstance(image, Image.Image):
        raise MuseforgeError(f"the {role} must be a picture (PIL image)")
    w, h = image.size
    if w % 8 or h % 8 or not 8 <= w <= MAX_SIDE or not 8 <= h <= MAX_SIDE:
        raise MuseforgeError(f"the {role} is {w}x{h}; both sides must be multiples of 8 from 8 to {MAX_SIDE}")
    return image.convert("RGB")


class UserModel:
    """A loaded Stable Diffusion model: ``name`` (file or folder name), ``kind`` (``"sd1"``,
    ``"sd2"``, ``"sdxl"``), ``model_hash`` (AUTOMATIC1111's "Model hash": the first 10 hex digits
    of the file's SHA-256; for a folder, of :func:`folder_hash`), ``prediction_type``, ``loras``
    (name, hash, scale of each LoRA fused in) and ``last_warnings`` (of the last painting)."""

    def __init__(self, pipe: Any, *, path: Path, kind: str, device: torch.device) -> None:
        self.path = path
        self.name = path.name
        self.kind = kind
        self.device = device
        self.loras: list[tuple[str, str, float]] = []
        self.last_warnings: list[str] = []
        self._pipes: dict[str, Any] = {"txt2img": pipe}
        self._scheduler_config = dict(pipe.scheduler.config)
        self.prediction_type = str(self._scheduler_config.get("prediction_type", "epsilon"))

    def __repr__(self) -> str:
        return f"UserModel({self.name!r}, kind={self.kind!r})"

    @cached_property
    def model_hash(self) -> str:
        """First 10 hex digits of the checkpoint's SHA-256 (of :func:`folder_hash` for a folder)."""
        digest = folder_hash(self.path) if self.path.is_dir() else sha256_file(self.path)
        return digest[:10]

    @property
    def pipeline(self) -> Any:
        """The diffusers text-to-image pipeline (img2img and inpainting share its components)."""
        return self._pipes["txt2img"]

    def _pipe(self, mode: str) -> Any:
        if mode not in self._pipes:
            d = _diffusers()
            xl = self.kind == "sdxl"
            classes = {"img2img": (d.StableDiffusionImg2ImgPipeline, d.StableDiffusionXLImg2ImgPipeline),
                       "inpaint": (d.StableDiffusionInpaintPipeline, d.StableDiffusionXLInpaintPipeline)}
            cls = classes[mode][xl]
            with _quiet():
                pipe = cls.from_pipe(self._pipes["txt2img"])
            pipe.set_progress_bar_config(disable=True)
            self._pipes[mode] = pipe
        return self._pipes[mode]

    def _scheduler(self, sampler: str) -> Any:
        if sampler not in SAMPLERS:
            raise MuseforgeError(f"unknown sampler {_shown(str(sampler), 40)!r}; use {', '.join(SAMPLERS)}")
        name, overrides = SAMPLERS[sampler]
        with _quiet():
            return getattr(_diffusers(), name).from_config(self._scheduler_config, **overrides)

    def _tokenizers(self) -> list[Any]:
        pipe = self.pipeline
        return [t for t in (pipe.tokenizer, getattr(pipe, "tokenizer_2", None)) if t is not None]

    def prompt_warnings(self, prompt: str, negative_prompt: str = "") -> list[str]:
        """One line for each prompt longer than the text encoder reads (77 tokens with its start
        and end marks); the words past that have no effect. Empty when both fit."""
        found = []
        for label, text in (("prompt", prompt), ("negative prompt", negative_prompt)):
            if not text:
                continue
            for tok in self._tokenizers()[:1]:  # SDXL's two tokenizers share one vocabulary
                ids = tok(text, add_special_tokens=False, truncation=False, verbose=False).input_ids
                room = tok.model_max_length - 2
                if len(ids) > room:
                    lost = re.sub(r" ([,.;:!?])", r"\1", tok.decode(ids[room:]).strip())
                    found.append(f"the {label} is {len(ids) + 2} tokens but the text encoder reads "
                                 f"{room + 2}; ignored: {_shown(lost, 60)!r}")
        return found

    def _paint(self, mode: str, prompt: str, negative_prompt: str, *, seed: int, steps: int, sampler: str,
               cfg: float, progress: Progress | None, **inputs: Any) -> Image.Image:
        import torch

        if not isinstance(prompt, str) or not isinstance(negative_prompt, str):
            raise MuseforgeError("the prompt and the negative prompt must be text")
        check_seed(seed)
        _check_number(steps, "steps", 1, MAX_STEPS, whole=True)
        _check_number(cfg, "cfg", 0, MAX_CFG)
        strength = inputs.get("strength")
        if strength is not None:
            _check_number(strength, "strength", 0, 1)
            if int(steps * strength) < 1:
                raise MuseforgeError(f"strength {strength:g} of {steps} steps runs no step; raise the "
                                     "strength or the steps")
        pipe = self._pipe(mode)
        scheduler = self._scheduler(sampler)
        self.last_warnings = self.prompt_warnings(prompt, negative_prompt)
        for line in self.last_warnings:
            warnings.warn(line, LongPromptWarning, stacklevel=3)
        pipe.scheduler = scheduler
        report = progress or no_progress

        def on_step(p: Any, i: int, t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            report("denoising", min(1.0, (i + 1) / max(1, getattr(p, "_num_timesteps", steps) or steps)))
            return kwargs

        report("denoising", 0.0)
        try:
            with _quiet(), torch.inference_mode():
                out = pipe(prompt=prompt, negative_prompt=negative_prompt or None, num_inference_steps=steps,
                           guidance_scale=float(cfg), generator=make_generator(seed), output_type="pil",
                           callback_on_step_end=on_step, **inputs)
        except (ValueError, RuntimeError) as err:
            raise MuseforgeError(f"{self.name} could not paint: {_first_line(err)}") from None
        return out.images[0]

    def txt2img(self, prompt: str, negative_prompt: str = "", *, seed: int, steps: int, sampler: str,
                cfg: float, width: int, height: int, progress: Progress | None = None) -> Image.Image:
        """A picture of ``width`` x ``height`` (multiples of 8) from the prompt; the same seed
        and settings give the same bytes on the same machine and libraries."""
        for side, value in (("width", width), ("height", height)):
            _check_number(value, side, 8, MAX_SIDE, whole=True)
            if value % 8:
                raise MuseforgeError(f"{side} {value} is not a multiple of 8")
        return self._paint("txt2img", prompt, negative_prompt, seed=seed, steps=steps, sampler=sampler,
                           cfg=cfg, progress=progress, width=width, height=height)

    def img2img(self, image: Image.Image, prompt: str, negative_prompt: str = "", *, strength: float,
                seed: int, steps: int, sampler: str, cfg: float,
                progress: Progress | None = None) -> Image.Image:
        """``image`` repainted from the prompt; ``strength`` 0..1 is how far it may move (it runs
        about ``steps * strength`` steps). The result has the input's size."""
        picture = _rgb(image, "image")
        return self._paint("img2img", prompt, negative_prompt, seed=seed, steps=steps, sampler=sampler,
                           cfg=cfg, progress=progress, image=picture, strength=strength)

    def inpaint(self, image: Image.Image, mask: Image.Image, prompt: str, negative_prompt: str = "", *,
                seed: int, steps: int, sampler: str, cfg: float, strength: float = 1.0,
                progress: Progress | None = None) -> Image.Image:
        """``image`` with the white part of ``mask`` repainted from the prompt. The black part
        keeps the input's pixels exactly (grey blends), as AUTOMATIC1111 pastes them back."""
        from PIL import Image

        picture = _rgb(image, "image")
        if not isinstance(mask, Image.Image):
            raise MuseforgeError("the mask must be a picture (PIL image)")
        if mask.size != picture.size:
            raise MuseforgeError(f"the mask is {mask.size[0]}x{mask.size[1]} but the image is "
                                 f"{picture.size[0]}x{picture.size[1]}; they must be the same size")
        gray = mask.convert("L")
        w, h = picture.size
        painted = self._paint("inpaint", prompt, negative_prompt, seed=seed, steps=steps, sampler=sampler,
                              cfg=cfg, progress=progress, image=picture, mask_image=gray, strength=strength,
                              width=w, height=h)
        return Image.composite(painted.convert("RGB"), picture, gray)

    def load_lora(self, path: str | os.PathLike[str], scale: float = 1.0) -> None:
        """Fuse a LoRA ``.safetensors`` file (kohya/AUTOMATIC1111 or diffusers layout) into the
        model at ``scale``; img2img and inpainting use it too. Needs the peft package."""
        p = _existing(path, "LoRA")
        if not p.is_file() or p.suffix.lower() != ".safetensors":
            raise MuseforgeError(f"LoRA {_shown(str(path))}: not a .safetensors file")
        shapes = read_shapes(p)
        if not shapes or not any("lora" in k for k in shapes):
            raise MuseforgeError(f"{_shown(p.name)} is not a LoRA file (no LoRA weights in it)")
        _check_number(scale, "LoRA scale", -MAX_LORA_SCALE, MAX_LORA_SCALE)
        try:
            import peft  # noqa: F401
        except ImportError:
            raise MuseforgeError("LoRA files need peft: pip install peft") from None
        pipe = self.pipeline
        adapter = f"museforge_{len(self.loras)}"
        try:
            with _quiet():
                pipe.load_lora_weights(str(p), adapter_name=adapter)
                pipe.fuse_lora(lora_scale=float(scale), adapter_names=[adapter])
                pipe.unload_lora_weights()
        except Exception as err:  # a LoRA for another architecture, or a format diffusers lacks
            with contextlib.suppress(Exception):  # nothing may have been loaded
                pipe.unload_lora_weights()
            raise MuseforgeError(f"{_shown(p.name)} does not fit {self.name}: {_first_line(err)}") from None
        self.loras.append((p.name, sha256_file(p)[:10], float(scale)))

