"""User Stable Diffusion models: tiny random SD-1-like and SDXL-like pipelines built here (no Hub),
loaded as folders and as single files in the original SD layout, then painted with."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from safetensors.torch import save_file
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
)

from museforge.errors import MuseforgeError
from museforge.image.diffusion import user_models as um
from museforge.image.diffusion.user_models import LongPromptWarning, load_user_model

# --- tiny models -------------------------------------------------------------------------------------

SYMBOLS = [chr(c) for c in range(33, 127)]  # printable ASCII: all the test prompts need


def write_tokenizer(folder: Path, pad: str = "<|endoftext|>") -> CLIPTokenizer:
    """A CLIP tokenizer of 200-odd tokens: ASCII symbols, a few merges, the two special tokens last
    (as in CLIP, so the end token has the highest id)."""
    merges = ["t h", "th e</w>", "c a", "ca t</w>", "r e", "re d</w>"]
    vocab = [
        *SYMBOLS,
        *(s + "</w>" for s in SYMBOLS),
        *("".join(m.split()) for m in merges),
        "<|startoftext|>",
        "<|endoftext|>",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return CLIPTokenizer.from_pretrained(folder, model_max_length=77, pad_token=pad)


def text_config(hidden: int, layers: int, vocab: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=1,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_attention_heads=4,
        num_hidden_layers=layers,
        vocab_size=vocab,
        projection_dim=hidden,
        max_position_embeddings=77,
        hidden_act="gelu",
    )


def tiny_vae() -> AutoencoderKL:
    """Four blocks, so the latent is 1/8 of the picture's side as in real SD."""
    return AutoencoderKL(
        block_out_channels=(8, 8, 8, 8),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=4,
        layers_per_block=1,
        sample_size=64,
    )


def make_sd1(folder: Path) -> Path:
    torch.manual_seed(0)
    tok = write_tokenizer(folder / "_tok")
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=2,
        norm_num_groups=4,
    )
    pipe = StableDiffusionPipeline(
        vae=tiny_vae(),
        text_encoder=CLIPTextModel(text_config(32, 2, len(tok))),
        tokenizer=tok,
        unet=unet,
        scheduler=PNDMScheduler(
            beta_schedule="scaled_linear",
            beta_start=0.00085,
            beta_end=0.012,
            skip_prk_steps=True,
            steps_offset=1,
        ),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder / "tiny-sd1")
    return folder / "tiny-sd1"


def make_sdxl(folder: Path) -> Path:
    torch.manual_seed(1)
    tok = write_tokenizer(folder / "_tok")
    tok2 = write_tokenizer(folder / "_tok2", pad="!")
    # the two encoders differ in width, as CLIP-L and OpenCLIP-bigG do, so the single-file loader
    # can tell them apart; the U-Net reads both side by side (32 + 48) and the pooled second (48)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=6 * 8 + 48,
        cross_attention_dim=32 + 48,
        norm_num_groups=4,
    )
    scheduler = EulerDiscreteScheduler(
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        steps_offset=1,
        timestep_spacing="leading",
    )
    pipe = StableDiffusionXLPipeline(
        vae=tiny_vae(),
        text_encoder=CLIPTextModel(text_config(32, 2, len(tok))),
        text_encoder_2=CLIPTextModelWithProjection(text_config(48, 2, len(tok))),
        tokenizer=tok,
        tokenizer_2=tok2,
        unet=unet,
        scheduler=scheduler,
    )
    pipe.save_pretrained(folder / "tiny-sdxl")
    return folder / "tiny-sdxl"


# --- the original (LDM / SGM) single-file layout ------------------------------------------------------

RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
}


def _ldm_unet(sd: dict[str, torch.Tensor], cfg) -> dict[str, torch.Tensor]:
    """diffusers U-Net names -> the original ``model.diffusion_model.*`` names."""
    lpb, blocks = cfg.layers_per_block, len(cfg.block_out_channels)
    rename = {
        "time_embedding.linear_1": "time_embed.0",
        "time_embedding.linear_2": "time_embed.2",
        "add_embedding.linear_1": "label_emb.0.0",
        "add_embedding.linear_2": "label_emb.0.2",
        "conv_in": "input_blocks.0.0",
        "conv_norm_out": "out.0",
        "conv_out": "out.2",
        "mid_block.resnets.0": "middle_block.0",
        "mid_block.attentions.0": "middle_block.1",
        "mid_block.resnets.1": "middle_block.2",
    }
    for b in range(blocks):
        for j in range(lpb):
            i = 1 + b * (lpb + 1) + j
            rename[f"down_blocks.{b}.resnets.{j}"] = f"input_blocks.{i}.0"
            rename[f"down_blocks.{b}.attentions.{j}"] = f"input_blocks.{i}.1"
        rename[f"down_blocks.{b}.downsamplers.0.conv"] = f"input_blocks.{1 + b * (lpb + 1) + lpb}.0.op"
        has_attention = f"up_blocks.{b}.attentions.0.proj_in.weight" in sd
        for j in range(lpb + 1):
            i = b * (lpb + 1) + j
            rename[f"up_blocks.{b}.resnets.{j}"] = f"output_blocks.{i}.0"
            rename[f"up_blocks.{b}.attentions.{j}"] = f"output_blocks.{i}.1"
        last = b * (lpb + 1) + lpb
        rename[f"up_blocks.{b}.upsamplers.0.conv"] = f"output_blocks.{last}.{2 if has_attention else 1}.conv"
    out = {}
    for key, value in sd.items():
        for old in sorted(rename, key=len, reverse=True):
            if key.startswith(old + "."):
                rest = key[len(old) + 1 :]
                if ".resnets." in old or old == "mid_block.resnets.0" or old == "mid_block.resnets.1":
                    head, _, tail = rest.partition(".")
                    rest = f"{RESNET.get(head, head)}.{tail}"
                key = f"{rename[old]}.{rest}"
                break
        out["model.diffusion_model." + key] = value
    return out


def _ldm_vae(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """diffusers VAE names -> ``first_stage_model.*`` (attention weights as 1x1 convolutions)."""
    n = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("decoder.up_blocks."))
    out = {}
    for key, value in sd.items():
        k = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
        k = k.replace("mid_block.resnets.0", "mid.block_1").replace("mid_block.resnets.1", "mid.block_2")
        if "mid_block.attentions.0" in k:
            k = k.replace("mid_block.attentions.0", "mid.attn_1").replace("group_norm", "norm")
            for new, old in (("q", "to_q"), ("k", "to_k"), ("v", "to_v"), ("proj_out", "to_out.0")):
                k = k.replace(old, new)
            if value.ndim == 2:
                value = value[:, :, None, None]
        parts = k.split(".")
        if parts[1] == "down_blocks":
            parts[1] = "down"
            if parts[3] == "resnets":
                parts[3] = "block"
            elif parts[3] == "downsamplers":
                parts[3:5] = ["downsample"]
        elif parts[1] == "up_blocks":
            parts[1], parts[2] = "up", str(n - 1 - int(parts[2]))
            if parts[3] == "resnets":
                parts[3] = "block"
            elif parts[3] == "upsamplers":
                parts[3:5] = ["upsample"]
        out["first_stage_model." + ".".join(parts)] = value
    return out


def _ldm_clip(sd: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """transformers CLIP text names under the original prefix (``text_model.`` kept or restored)."""
    return {prefix + (k if k.startswith("text_model.") else "text_model." + k): v for k, v in sd.items()}


def _open_clip(sd: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """transformers CLIP text names -> OpenCLIP's (q, k, v joined in one in_proj)."""
    sd = {k.removeprefix("text_model."): v for k, v in sd.items()}
    out = {
        prefix + "token_embedding.weight": sd["embeddings.token_embedding.weight"],
        prefix + "positional_embedding": sd["embeddings.position_embedding.weight"],
        prefix + "ln_final.weight": sd["final_layer_norm.weight"],
        prefix + "ln_final.bias": sd["final_layer_norm.bias"],
    }
    if "text_projection.weight" in sd:
        out[prefix + "text_projection"] = sd["text_projection.weight"].T.contiguous()
    layers = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("encoder.layers."))
    for i in range(layers):
        a, r = f"encoder.layers.{i}.", f"{prefix}transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            out[r + f"attn.in_proj_{kind}"] = torch.cat([sd[a + f"self_attn.{p}_proj.{kind}"] for p in "qkv"])
            out[r + f"attn.out_proj.{kind}"] = sd[a + f"self_attn.out_proj.{kind}"]
            out[r + f"ln_1.{kind}"] = sd[a + f"layer_norm1.{kind}"]
            out[r + f"ln_2.{kind}"] = sd[a + f"layer_norm2.{kind}"]
            out[r + f"mlp.c_fc.{kind}"] = sd[a + f"mlp.fc1.{kind}"]
            out[r + f"mlp.c_proj.{kind}"] = sd[a + f"mlp.fc2.{kind}"]
    return out


def single_file_state(pipe) -> dict[str, torch.Tensor]:
    """A diffusers pipeline's weights in the layout of an original SD / SDXL checkpoint."""
    state = {**_ldm_unet(pipe.unet.state_dict(), pipe.unet.config), **_ldm_vae(pipe.vae.state_dict())}
    if isinstance(pipe, StableDiffusionXLPipeline):
        state.update(_ldm_clip(pipe.text_encoder.state_dict(), "conditioner.embedders.0.transformer."))
        state.update(_open_clip(pipe.text_encoder_2.state_dict(), "conditioner.embedders.1.model."))
    else:
        state.update(_ldm_clip(pipe.text_encoder.state_dict(), "cond_stage_model.transformer."))
    return {k: v.detach().contiguous().clone() for k, v in state.items()}


def kohya_lora(pipe, rank: int = 2) -> dict[str, torch.Tensor]:
    """A LoRA in the kohya / AUTOMATIC1111 layout for every attention projection of the U-Net and
    the text encoder (``lora_unet_*`` / ``lora_te_*`` with down, up and alpha)."""
    gen = torch.Generator().manual_seed(7)
    state = {}
    targets = (
        ("lora_unet_", pipe.unet, ("to_q", "to_k", "to_v", "to_out.0")),
        ("lora_te_", pipe.text_encoder, ("q_proj", "k_proj", "v_proj", "out_proj")),
    )
    for prefix, module, names in targets:
        for name, layer in module.named_modules():
            if isinstance(layer, torch.nn.Linear) and name.endswith(names):
                if prefix == "lora_te_" and not name.startswith("text_model."):
                    name = "text_model." + name
                key = prefix + name.replace(".", "_")
                state[key + ".lora_down.weight"] = torch.randn(rank, layer.in_features, generator=gen)
                state[key + ".lora_up.weight"] = torch.randn(layer.out_features, rank, generator=gen)
                state[key + ".alpha"] = torch.tensor(float(rank))
    return state


# --- fixtures ------------------------------------------------------------------------------------------

SETTINGS = {"steps": 2, "cfg": 5.0}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models: one thread beats two contended ones many times over; restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """Tiny pipeline folders and the same weights as single files (safetensors, and a .ckpt)."""
    root = tmp_path_factory.mktemp("user-models")
    paths = {"sd1": make_sd1(root), "sdxl": make_sdxl(root)}
    for kind in ("sd1", "sdxl"):
        pipe = load_user_model(paths[kind]).pipeline
        state = single_file_state(pipe)
        paths[f"{kind}-file"] = root / f"tiny-{kind}-file.safetensors"
        save_file(state, str(paths[f"{kind}-file"]))
        if kind == "sd1":
            paths["sd1-ckpt"] = root / "tiny-sd1-file.ckpt"
            torch.save({"state_dict": state, "global_step": 1}, paths["sd1-ckpt"])
            partial = {k: v for k, v in state.items() if ".input_blocks.1." not in k}
            paths["partial"] = root / "partial.safetensors"
            save_file(partial, str(paths["partial"]))
            paths["lora"] = root / "tiny-lora.safetensors"
            save_file(kohya_lora(pipe), str(paths["lora"]))
            # the same weights with the text encoder in SD 2.x's OpenCLIP layout
            sd2 = {k: v for k, v in state.items() if not k.startswith("cond_stage_model.")}
            sd2.update(_open_clip(pipe.text_encoder.state_dict(), "cond_stage_model.model."))
            paths["sd2-file"] = root / "tiny-sd2-file.safetensors"
            save_file(sd2, str(paths["sd2-file"]))
    return paths


@pytest.fixture(scope="module")
def sd1(made):
    return load_user_model(made["sd1"])


@pytest.fixture(scope="module")
def sdxl(made):
    return load_user_model(made["sdxl"])


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def source_image(width: int = 48, height: int = 32) -> Image.Image:
    """A smooth colour ramp: the VAE and the painters have something to keep or change."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack(
        [x * 255 // (width - 1), y * 255 // (height - 1), (x + y) * 255 // (width + height - 2)], -1
    )
    return Image.fromarray(rgb.astype(np.uint8))


def left_half_mask(width: int = 48, height: int = 32) -> Image.Image:
    mask = Image.new("L", (width, height), 0)
    mask.paste(255, (0, 0, width // 2, height))
    return mask


# --- shipped configs and tokenizer ----------------------------------------------------------------------


def test_shipped_tokenizer_is_clips():
    tok = um.clip_tokenizer()
    assert len(tok) == 49408 and tok.model_max_length == 77
    assert tok("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert tok.pad_token_id == 49407 and um.clip_tokenizer("!").pad_token_id == 0  # OpenCLIP pads with "!"


def test_shipped_configs_build_the_real_models():
    """Built without memory (meta device), each config gives the published parameter counts."""
    counts = {
        "sd1": (859_520_964, 123_060_480),
        "sd2": (865_910_724, 340_387_840),
        "sdxl": (2_567_463_684, 123_060_480),
    }

    def size(module) -> int:
        return sum(p.numel() for p in module.parameters())

    for kind, (unet_size, text_size) in counts.items():
        folder = um.CONFIGS / kind
        with torch.device("meta"):
            unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
            vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
            text = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))
            assert (size(unet), size(vae), size(text)) == (unet_size, 83_653_863, text_size), kind
            if kind == "sdxl":
                config_2 = CLIPTextConfig.from_pretrained(folder / "text_encoder_2")
                assert size(CLIPTextModelWithProjection(config_2)) == 694_659_840


# --- folders ------------------------------------------------------------------------------------------


def test_sd1_folder_paints_reproducibly(sd1, made):
    assert (sd1.name, sd1.kind, sd1.prediction_type) == ("tiny-sd1", "sd1", "epsilon")
    assert sd1.model_hash == um.folder_hash(made["sd1"])[:10]
    assert len(sd1.model_hash) == 10 and int(sd1.model_hash, 16) >= 0
    for sampler in ("ddpm", "ddim"):
        seen: list[tuple[str, float]] = []
        first = sd1.txt2img(
            "a red cat",
            "blurry",
            seed=5,
            sampler=sampler,
            width=48,
            height=32,
            progress=lambda stage, fraction, seen=seen: seen.append((stage, fraction)),
            **SETTINGS,
        )
        again = sd1.txt2img("a red cat", "blurry", seed=5, sampler=sampler, width=48, height=32, **SETTINGS)
        other = sd1.txt2img("a red cat", "blurry", seed=6, sampler=sampler, width=48, height=32, **SETTINGS)
        assert first.size == (48, 32) and first.mode == "RGB"
        assert first.tobytes() == again.tobytes(), sampler
        assert first.tobytes() != other.tobytes(), sampler
        assert seen == [("denoising", 0.0), ("denoising", 0.5), ("denoising", 1.0)]


def test_sdxl_folder_paints_reproducibly(sdxl):
    assert (sdxl.name, sdxl.kind) == ("tiny-sdxl", "sdxl")
    for sampler in ("euler-a", "dpmpp-2m"):
        first = sdxl.txt2img("the cat", seed=3, sampler=sampler, width=32, height=40, **SETTINGS)
        again = sdxl.txt2img("the cat", seed=3, sampler=sampler, width=32, height=40, **SETTINGS)
        other = sdxl.txt2img("the cat", seed=4, sampler=sampler, width=32, height=40, **SETTINGS)
        assert first.size == (32, 40)
        assert first.tobytes() == again.tobytes() and first.tobytes() != other.tobytes(), sampler


@pytest.mark.parametrize("kind, sampler", [("sd1", "euler-a"), ("sdxl", "ddim")])
def test_img2img_keeps_size_and_seed(kind, sampler, request):
    model = request.getfixturevalue(kind)
    src = source_image()
    seen: list[float] = []
    first = model.img2img(
        src,
        "the red cat",
        strength=0.5,
        seed=9,
        steps=4,
        sampler=sampler,
        cfg=4.0,
        progress=lambda stage, fraction: seen.append(fraction),
    )
    again = model.img2img(src, "the red cat", strength=0.5, seed=9, steps=4, sampler=sampler, cfg=4.0)
    assert first.size == src.size and first.tobytes() == again.tobytes()
    assert seen == [0.0, 0.5, 1.0]  # strength 0.5 of 4 steps runs 2
    with pytest.raises(MuseforgeError, match="runs no step"):
        model.img2img(src, "x", strength=0.2, seed=1, steps=2, sampler=sampler, cfg=4.0)


@pytest.mark.parametrize("kind, sampler", [("sd1", "dpmpp-2m"), ("sdxl", "ddpm")])
def test_inpaint_repaints_only_the_white_part(kind, sampler, request):
    """The black (kept) half is the input's pixels exactly; the white half is painted anew."""
    model = request.getfixturevalue(kind)
    src, mask = source_image(), left_half_mask()
    out = model.inpaint(src, mask, "the cat", seed=2, sampler=sampler, **SETTINGS)
    again = model.inpaint(src, mask, "the cat", seed=2, sampler=sampler, **SETTINGS)
    assert out.size == src.size and out.tobytes() == again.tobytes()
    kept, painted = pixels(out) - pixels(src), pixels(out)[:, :24] - pixels(src)[:, :24]
    assert not kept[:, 24:].any()
    assert np.abs(painted).mean() > 10  # random weights paint noise, nothing like the ramp
    with pytest.raises(MuseforgeError, match="mask is 32x32 but the image is 48x32"):
        model.inpaint(src, Image.new("L", (32, 32), 255), "x", seed=1, sampler=sampler, **SETTINGS)


# --- single files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, file, found",
    [
        ("sd1", "sd1-file", "sd1"),
        ("sd1", "sd1-ckpt", "sd1"),
        ("sd1", "sd2-file", "sd2"),
        ("sdxl", "sdxl-file", "sdxl"),
    ],
)
def test_single_file_paints_as_its_folder(kind, file, found, made, request):
    """The weights in the original single-file layout (SD 1.x, SD 2.x's OpenCLIP text encoder, SDXL)
    load, configs from --model-config, into the same model: same seed, same bytes as the folder."""
    folder_model = request.getfixturevalue(kind)
    model = load_user_model(made[file], config=made[kind])
    assert (model.kind, model.name) == (found, made[file].name)
    assert model.model_hash == hashlib.sha256(made[file].read_bytes()).hexdigest()[:10]
    args = {"seed": 11, "sampler": "euler-a", "width": 32, "height": 32, **SETTINGS}
    assert model.txt2img("a cat", **args).tobytes() == folder_model.txt2img("a cat", **args).tobytes()


def test_single_file_refusals(made):
    with pytest.raises(
        MuseforgeError,
        match=r"does not fit the shipped Stable Diffusion 1\.x configs: "
        r"its U-Net width is 8, the configs say 320; .*--model-config",
    ):
        load_user_model(made["sd1-file"])
    with pytest.raises(MuseforgeError, match=r"incomplete: its U-Net has \d+ of the 208 weights"):
        load_user_model(made["partial"], config=made["sd1"])
    with pytest.raises(MuseforgeError, match=r"model config tiny-sdxl does not fit .* Stable Diffusion 1\.x"):
        load_user_model(made["sd1-file"], config=made["sdxl"])
    with pytest.raises(MuseforgeError, match="--model-config is for single files"):
        load_user_model(made["sd1"], config=made["sd1"])


def test_prediction_type_from_the_weights(made):
    """With the shipped configs a file's own marks decide v- or noise prediction (SD 2.x: a test
    run of the U-Net); here on a tiny model, whose answer to that run is only checked to be one."""
    model = load_user_model(made["sd1"])
    um._set_prediction(model.pipeline, {"v_pred": (), "ztsnr": ()}, "sd1")
    config = model.pipeline.scheduler.config
    assert config.prediction_type == "v_prediction" and config.rescale_betas_zero_snr
    assert isinstance(um._predicts_v(model.pipeline.unet), bool)


# --- refusals ---------------------------------------------------------------------------------------


def _refusal_cases(root: Path, made: dict[str, Path]) -> list[tuple[str, str]]:
    garbage = root / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!!" + bytes(64))
    truncated = root / "truncated.safetensors"
    truncated.write_bytes(made["sd1-file"].read_bytes()[:5000])
    bad_ckpt = root / "bad.ckpt"
    bad_ckpt.write_bytes(b"PK\x03\x04 this is no zip")
    other = root / "classifier.safetensors"
    save_file({"fc.weight": torch.zeros(2, 2)}, str(other))
    not_pipeline = root / "just-a-folder"
    not_pipeline.mkdir()
    (not_pipeline / "notes.txt").write_text("hello")
    sd3 = root / "sd3"
    sd3.mkdir()
    (sd3 / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusion3Pipeline"}))
    text = root / "model.txt"
    text.write_text("hi")
    return [
        (
            "runwayml/stable-diffusion-v1-5",
            "museforge never downloads; download the model yourself and pass its folder or file",
        ),
        ("https://huggingface.co/x/y/blob/main/m.safetensors", "museforge never downloads"),
        (str(root / "nowhere.safetensors"), "no such file or folder"),
        (str(garbage), "garbage.safetensors is damaged or not a checkpoint"),
        (str(truncated), "truncated.safetensors is damaged or not a checkpoint"),
        (str(bad_ckpt), "bad.ckpt is damaged or not a checkpoint"),
        (str(other), "classifier.safetensors is not a Stable Diffusion 1.x, 2.x or XL checkpoint"),
        (str(made["lora"]), "tiny-lora.safetensors is a LoRA, not a model"),
        (str(not_pipeline), "just-a-folder is not a diffusers pipeline folder"),
        (str(sd3), "holds a StableDiffusion3Pipeline, not a Stable Diffusion 1.x, 2.x or XL pipeline"),
        (str(text), "model.txt is not a .safetensors or .ckpt checkpoint"),
    ]


def test_refusals_are_one_line(tmp_path, made):
    for path, words in _refusal_cases(tmp_path, made):
        with pytest.raises(MuseforgeError) as err:
            load_user_model(path)
        assert words in str(err.value), (path, str(err.value))
        assert "\n" not in str(err.value)


def test_bad_settings_are_refused(sd1):
    args = {"seed": 1, "sampler": "ddim", "width": 32, "height": 32, **SETTINGS}
    unknown = "unknown sampler 'k_lms'; use ddpm, ddim, euler-a, dpmpp-2m"
    for change, words in [
        ({"sampler": "k_lms"}, unknown),
        ({"width": 36}, "width 36 is not a multiple of 8"),
        ({"steps": 0}, "steps 0 is out of range"),
        ({"cfg": float("nan")}, "cfg nan is out of range"),
        ({"seed": -1}, "seed -1 is out of range"),
    ]:
        with pytest.raises(MuseforgeError, match=words):
            sd1.txt2img("a cat", **{**args, **change})
    with pytest.raises(MuseforgeError, match="both sides must be multiples of 8"):
        sd1.img2img(source_image(44, 32), "a cat", strength=0.5, seed=1, steps=2, sampler="ddim", cfg=3.0)


def test_long_prompt_warns_and_still_paints(sd1):
    long = "xyz " * 40  # three tokens a word with the tiny tokenizer, 122 with the start and end marks
    with pytest.warns(LongPromptWarning, match="the prompt is 122 tokens but the text encoder reads 77"):
        image = sd1.txt2img(long, seed=1, sampler="ddim", width=32, height=32, **SETTINGS)
    assert image.size == (32, 32) and len(sd1.last_warnings) == 1
    assert sd1.prompt_warnings("the red cat", "the cat") == []


def test_missing_diffusers_names_the_extra(made, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "diffusers", None)
    with pytest.raises(MuseforgeError, match=r"pip install 'museforge\[sd\]'"):
        load_user_model(made["sd1"])


# --- LoRA -------------------------------------------------------------------------------------------


def test_lora_refusals(sd1, made, tmp_path):
    with pytest.raises(MuseforgeError, match="no such file or folder"):
        sd1.load_lora(tmp_path / "missing.safetensors", 1.0)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\xff" * 20)
    with pytest.raises(MuseforgeError, match=r"broken\.safetensors is damaged"):
        sd1.load_lora(broken, 1.0)
    with pytest.raises(MuseforgeError, match="is not a LoRA file"):
        sd1.load_lora(made["sd1-file"], 1.0)
    assert sd1.loras == []


def test_lora_without_peft_says_so(sd1, made, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "peft", None)
    with pytest.raises(MuseforgeError, match="LoRA files need peft: pip install peft"):
        sd1.load_lora(made["lora"], 1.0)


def test_lora_changes_the_picture(made, sdxl, tmp_path):
    pytest.importorskip("peft", reason="diffusers loads LoRA files through peft (pip install peft)")
    model = load_user_model(made["sd1"])  # its own copy: a LoRA is fused into the weights
    args = {"seed": 4, "sampler": "ddim", "width": 32, "height": 32, **SETTINGS}
    before = model.txt2img("a red cat", **args)
    foreign = tmp_path / "sdxl-lora.safetensors"
    save_file(kohya_lora(sdxl.pipeline), str(foreign))
    with pytest.raises(MuseforgeError, match=r"sdxl-lora\.safetensors does not fit tiny-sd1: .*mismatch"):
        model.load_lora(foreign, 1.0)
    assert model.txt2img("a red cat", **args).tobytes() == before.tobytes()
    model.load_lora(made["lora"], 0.8)
    after = model.txt2img("a red cat", **args)
    assert before.tobytes() != after.tobytes()
    assert model.img2img(
        source_image(), "a red cat", strength=1.0, seed=4, steps=2, sampler="ddim", cfg=5.0
    ).size == (48, 32)
    assert model.loras == [
        ("tiny-lora.safetensors", hashlib.sha256(made["lora"].read_bytes()).hexdigest()[:10], 0.8)
    ]


@pytest.mark.parametrize("which", ["sd1", "sd1-file", "sdxl"])
def test_the_command_line_runs_every_task_through_model(made, tmp_path, capsys, which):
    from museforge.cli import main

    source_image(64, 64).save(tmp_path / "in.png")
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))
    mask.save(tmp_path / "mask.png")
    common = ["--model", str(made[which]), "--steps", "2", "--seed", "4", "--size", "64", "-q"]
    if which.endswith("file"):  # a tiny file does not fit the shipped full-size configs
        common += ["--model-config", str(made["sd1"])]
    runs = {
        "t.png": ["imagine", "a red cat", *common],
        "i.png": ["edit", str(tmp_path / "in.png"), "a red cat", "--strength", "0.7", *common],
        "m.png": [
            "edit",
            str(tmp_path / "in.png"),
            "a red cat",
            "--mask",
            str(tmp_path / "mask.png"),
            *common,
        ],
    }
    for name, argv in runs.items():
        assert main([*argv, "--out", str(tmp_path / name)]) == 0, capsys.readouterr().err
        text = Image.open(tmp_path / name).text["parameters"]
        assert ", Sampler: DPM++ 2M, CFG scale: 5, Seed: 4, Size: 64x64, Model hash: " in text
        assert (
            f"Model: {Path(made[which]).stem if which.endswith('file') else Path(made[which]).name}" in text
        )
        assert main(["verify", str(tmp_path / name)]) == 0
    kept = pixels(Image.open(tmp_path / "m.png"))[:, 40:]
    assert np.array_equal(kept, pixels(source_image(64, 64))[:, 40:])
