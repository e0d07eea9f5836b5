"""transformers interop: export our GPT to a GPT-2 folder, load a user's causal LM folder.

GPT-2 stores its projections as ``Conv1D`` (weight ``[in, out]``, the transpose of
``nn.Linear``); positions are learned, the head is tied to the token embedding, the activation is
``gelu_new`` (tanh GELU) and layer norm eps 1e-5, as in ``model.GPT``.

An exported folder is a plain transformers model: ``tokenizer.json`` (built with the
``tokenizers`` library: our character vocabulary with the same ids, a BPE model without merges so
every character is one token and a character outside the vocabulary is dropped, as ours does; the
special tokens matched whole), ``tokenizer_config.json`` and ``special_tokens_map.json``, so
``AutoTokenizer.from_pretrained(folder)`` encodes text to our ids and
``pipeline("text-generation", model=folder)`` writes text, offline. It also holds
``museforge_tokenizer.json`` (our vocabulary), which ``load_causal_lm`` prefers.

Learned positions end at ``block_size``: ``hf_generate`` crops the context to the last
``n_positions`` tokens once a generation outgrows it; in a transformers pipeline pass
``handle_long_generation="hole"`` (the tokenizer's ``model_max_length`` is the context).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from museforge.errors import MuseforgeError
from museforge.text.model import GPT
from museforge.text.tokenizer import CharTokenizer

TOKENIZER_FILE = "museforge_tokenizer.json"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def export_gpt2(model: GPT, tokenizer: CharTokenizer, folder: str | Path) -> Path:
    """Write ``model`` as a transformers ``GPT2LMHeadModel`` folder (safetensors) with its tokenizer."""
    from transformers import GPT2Config, GPT2LMHeadModel

    c = model.config
    cfg = GPT2Config(
        vocab_size=c.vocab_size,
        n_positions=c.block_size,
        n_embd=c.n_embd,
        n_layer=c.n_layer,
        n_head=c.n_head,
        n_inner=4 * c.n_embd,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        layer_norm_epsilon=c.layer_norm_eps,
        bos_token_id=tokenizer.eos_id,
        eos_token_id=tokenizer.eos_id,
        pad_token_id=tokenizer.eos_id,
        tie_word_embeddings=True,
    )
    hf = GPT2LMHeadModel(cfg)
    ours = model.state_dict()
    sd = {}
    for k, v in ours.items():
        if k == "lm_head.weight":
            continue
        name = "transformer." + k
        if re.search(r"\.(c_attn|c_proj|c_fc)\.weight$", k):
            v = v.t()
        sd[name] = v.float().contiguous()
    missing, unexpected = hf.load_state_dict(sd, strict=False)
    missing = [m for m in missing if not m.endswith(("attn.bias", "attn.masked_bias", "lm_head.weight"))]
    if missing or unexpected:
        raise MuseforgeError(f"export failed: missing {missing}, unexpected {unexpected}")
    hf.tie_weights()
    hf.generation_config.pad_token_id = tokenizer.eos_id
    folder = Path(folder)
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # library code does not print
    try:
        hf.save_pretrained(folder, safe_serialization=True)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    write_tokenizer(tokenizer, folder, c.block_size)
    (folder / TOKENIZER_FILE).write_text(tokenizer.to_json(), encoding="utf-8")
    return folder


def build_tokenizer(tokenizer: CharTokenizer) -> Any:
    """Our character vocabulary as a ``tokenizers.Tokenizer`` with the same ids.

    A BPE model with no merges splits text into characters and drops those it lacks (there is no
    unknown token), as ``CharTokenizer.encode`` does; special tokens are added tokens, matched
    whole; the ``Fuse`` decoder joins tokens without spaces.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models

    vocab = {s: i for i, s in enumerate(tokenizer.itos)}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=None))
    tk.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in tokenizer.specials])
    tk.decoder = decoders.Fuse()
    return tk


def write_tokenizer(tokenizer: CharTokenizer, folder: Path, max_length: int) -> None:
    """``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` in ``folder``
    (``PreTrainedTokenizerFast``; end of text ``<eos>`` doubles as bos and pad; ``max_length``
    is the model's context)."""
    eos = tokenizer.itos[tokenizer.eos_id]
    extra = [s for s in tokenizer.specials if s != eos]
    specials = {"bos_token": eos, "eos_token": eos, "pad_token": eos, "additional_special_tokens": extra}
    build_tokenizer(tokenizer).save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **specials,
        "model_max_length": max_length,
        "truncation_side": "left",  # keep the end of a long prompt: the text being continued
        "padding_side": "left",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }
    for name, doc in (("tokenizer_config.json", config), ("special_tokens_map.json", specials)):
        (folder / name).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def export_text_model(out: Path, model: Path | None = None, overwrite: bool = False) -> Path:
    """Export a museforge text model (default: the shipped poet) to a transformers GPT-2 folder
    ``out``; returns ``out``. An existing ``out`` is an error unless ``overwrite`` (then the
    export's files in it are replaced)."""
    from museforge.text.poet import default_model_path

    out = Path(out)
    src = Path(model) if model else default_model_path()
    if not src.is_file():
        raise MuseforgeError(f"no text model at {src}; pass a .safetensors file written by museforge")
    if out.exists() and not overwrite:
        raise MuseforgeError(f"{out} already exists; choose another folder or pass --overwrite")
    if out.exists() and not out.is_dir():
        raise MuseforgeError(f"{out} is a file, not a folder; choose a folder to export into")
    try:
        import tokenizers  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as err:
        raise MuseforgeError("export needs transformers and tokenizers: pip install 'museforge[hf]'") from err
    gpt, tok, _ = GPT.load(src)
    out.mkdir(parents=True, exist_ok=True)
    return export_gpt2(gpt, tok, out)


@dataclass
class TextCodec:
    """What the poet needs of any tokenizer: encode, decode, end-of-text id and token texts."""

    encode_fn: Any
    decode_fn: Any
    eos_id: int
    token_strings: list[str]
    unknown_fn: Any = None

    def encode(self, text: str) -> list[int]:
        return list(self.encode_fn(text))

    def decode(self, ids: Sequence[int]) -> str:
        return self.decode_fn(list(ids))

    def unknown(self, text: str) -> list[str]:
        return self.unknown_fn(text) if self.unknown_fn else []

    @classmethod
    def from_char(cls, tok: CharTokenizer) -> TextCodec:
        return cls(tok.encode, tok.decode, tok.eos_id, list(tok.itos), tok.unknown)

    @classmethod
    def from_hf(cls, tok: Any) -> TextCodec:
        strings = [tok.decode([i]) for i in range(len(tok))]
        eos = tok.eos_token_id if tok.eos_token_id is not None else 0
        return cls(
            lambda t: tok.encode(t, add_special_tokens=False),
            lambda ids: tok.decode(ids, skip_special_tokens=True),
            int(eos),
            strings,
        )


def load_causal_lm(path: str, device: str = "cpu") -> tuple[Any, TextCodec]:
    """A transformers causal LM and its codec from a local folder; a hub id is refused."""
    p = Path(path).expanduser()
    if not p.exists():
        if _HUB_ID.match(path):
            raise MuseforgeError(
                f"{path!r} looks like a Hugging Face hub id; museforge never downloads: download the "
                "model (e.g. `huggingface-cli download " + path + " --local-dir DIR`) and pass --model DIR"
            )
        raise MuseforgeError(
            f"no model folder at {path}; pass a folder with config.json and weights"
            " (museforge never downloads: fetch a hub model first and pass its folder)"
        )
    if not p.is_dir() or not (p / "config.json").is_file():
        raise MuseforgeError(f"{path} is not a transformers model folder (no config.json)")
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as err:  # pragma: no cover - optional dependency
        raise MuseforgeError("--model needs transformers: pip install 'museforge[hf]'") from err
    try:
        model = AutoModelForCausalLM.from_pretrained(str(p), local_files_only=True)
    except Exception as err:
        raise MuseforgeError(f"cannot load the model in {path}: {str(err).splitlines()[0]}") from err
    model.to(device).eval()
    if (p / TOKENIZER_FILE).is_file():
        codec = TextCodec.from_char(CharTokenizer.from_json((p / TOKENIZER_FILE).read_text(encoding="utf-8")))
    else:
        try:
            codec = TextCodec.from_hf(AutoTokenizer.from_pretrained(str(p), local_files_only=True))
        except Exception as err:
            raise MuseforgeError(f"cannot load the tokenizer in {path}: {str(err).splitlines()[0]}") from err
    return model, codec


class _Wrapped:
    """One of our processors seen through transformers' ``LogitsProcessor`` API."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return self.fn(input_ids, scores)


def context_length(model: Any) -> int | None:
    """The most positions ``model`` can attend to (``n_positions`` or ``max_position_embeddings``)."""
    cfg = getattr(model, "config", None)
    for name in ("n_positions", "max_position_embeddings"):
        value = getattr(cfg, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def window_step(model: Any, block: int) -> Any:
    """A ``sampling.sample`` step for a transformers causal LM whose context ends at ``block``:
    the context is cropped to its last ``block`` tokens (as nanoGPT does); the KV cache grows one
    token a step and, once full, is rebuilt from the last ``block // 2`` tokens."""
    import inspect

    # transformers 5 names the cache argument and output ``cache``; 4 named them ``past_key_values``
    arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

    def run(ids: torch.Tensor, past: Any) -> tuple[torch.Tensor, Any]:
        out = model(ids, use_cache=True, **({arg: past} if past is not None else {}))
        return out.logits[:, -1, :], out["cache"] if "cache" in out else out["past_key_values"]

    def step(seq: torch.Tensor, cache: dict | None) -> tuple[torch.Tensor, dict]:
        if cache is not None and cache["seen"] == seq.shape[1] - 1 and cache["len"] < block:
            logits, past = run(seq[:, -1:], cache["past"])
            cache.update(past=past, len=cache["len"] + 1, seen=seq.shape[1])
            return logits, cache
        keep = min(seq.shape[1], block) if cache is None else block // 2
        logits, past = run(seq[:, -keep:], None)
        return logits, {"past": past, "len": keep, "seen": seq.shape[1]}

    return step


def hf_generate(
    model: Any,
    codec: TextCodec,
    prompt_ids: list[int],
    config: Any,
    processors: Sequence[Any],
    seed: int,
    stream: Any = None,
) -> list[int]:
    """Sample with ``model.generate`` and the same controls; our processors join its
    ``LogitsProcessorList``; stop strings and the loop guard are a ``StoppingCriteria`` on text.

    A model with learned positions cannot look past its context: when the prompt and the new
    tokens would not fit, ``model.generate`` writes what fits and :func:`sampling.sample` goes on
    with the context cropped to the window (:func:`window_step`; the same controls, seeded).
    """
    import dataclasses

    from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

    from museforge.text.sampling import loop_length, sample

    procs = LogitsProcessorList(
        [type("FormProcessor", (_Wrapped, LogitsProcessor), {})(p) for p in processors]
    )
    n0 = len(prompt_ids)
    fired = [False]

    class TextStop(StoppingCriteria):
        def __call__(
            self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kw: Any
        ) -> torch.BoolTensor:
            flags = []
            for row in input_ids:
                text = codec.decode(row[n0:].tolist())
                stop = any(s in text for s in config.stop_strings)
                stop = stop or bool(config.loop_guard and loop_length(text[-400:], config.loop_guard))
                flags.append(stop)
            if stream is not None:
                stream(0, codec.decode(input_ids[0, -1:].tolist()))
            fired[0] = fired[0] or any(flags)
            return torch.tensor(flags, dtype=torch.bool, device=input_ids.device)

    dev = next(model.parameters()).device
    block = context_length(model)
    fits = block is None or n0 + config.max_new_tokens <= block
    room = config.max_new_tokens if fits else max(0, block - n0)  # type: ignore[operator]
    new: list[int] = []
    if room:
        ids = torch.tensor([prompt_ids], dtype=torch.long, device=dev)
        kwargs: dict[str, Any] = dict(
            max_new_tokens=room,
            min_new_tokens=min(config.min_new_tokens, room),
            repetition_penalty=config.repetition_penalty,
            no_repeat_ngram_size=config.no_repeat_ngram_size,
            logits_processor=procs,
            stopping_criteria=StoppingCriteriaList([TextStop()]),
            pad_token_id=codec.eos_id,
            eos_token_id=codec.eos_id,
            attention_mask=torch.ones_like(ids),
        )
        if config.temperature == 0:
            kwargs.update(do_sample=False)
        else:
            kwargs.update(
                do_sample=True, temperature=config.temperature, top_k=config.top_k or None, top_p=config.top_p
            )
        with torch.random.fork_rng(devices=[]):  # transformers draws from the global RNG; isolate it
            torch.manual_seed(seed)
            out = model.generate(ids, **kwargs)
        new = out[0, n0:].tolist()
        if codec.eos_id in new:
            return new[: new.index(codec.eos_id)]
        if fits or fired[0] or len(new) < room:
            return new
    rest = dataclasses.replace(
        config,
        max_new_tokens=config.max_new_tokens - len(new),
        min_new_tokens=max(0, config.min_new_tokens - len(new)),
    )
    more = sample(
        window_step(model, block),  # type: ignore[arg-type]
        torch.tensor([prompt_ids + new], dtype=torch.long, device=dev),
        rest,
        processors=processors,
        generator=torch.Generator(device=dev).manual_seed(seed),
        eos_id=codec.eos_id,
        decode=codec.decode,
        stream=stream,
    )
    return new + more[0]
