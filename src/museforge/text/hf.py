"""transformers interop: export our GPT to a GPT-2 folder, load a user's causal LM folder.

GPT-2 stores its projections as ``Conv1D`` (weight ``[in, out]``, the transpose of
``nn.Linear``); positions are learned, the head is tied to the token embedding, the activation is
``gelu_new`` (tanh GELU) and layer norm eps 1e-5, as in ``model.GPT``. The exported folder also
holds ``museforge_tokenizer.json`` (our char vocabulary), which ``load_causal_lm`` uses when the
folder has no transformers tokenizer.
"""

from __future__ import annotations

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
    """Write ``model`` as a transformers ``GPT2LMHeadModel`` folder (safetensors)."""
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
    folder = Path(folder)
    hf.save_pretrained(folder, safe_serialization=True)
    (folder / TOKENIZER_FILE).write_text(tokenizer.to_json(), encoding="utf-8")
    return folder


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
        raise MuseforgeError(f"no model folder at {path}; pass a folder with config.json and weights"
                             " (museforge never downloads: fetch a hub model first and pass its folder)")
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
    ``LogitsProcessorList``; stop strings and the loop guard are a ``StoppingCriteria`` on text."""
    from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

    from museforge.text.sampling import loop_length

    procs = LogitsProcessorList(
        [type("FormProcessor", (_Wrapped, LogitsProcessor), {})(p) for p in processors]
    )
    n0 = len(prompt_ids)

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
            return torch.tensor(flags, dtype=torch.bool, device=input_ids.device)

    dev = next(model.parameters()).device
    ids = torch.tensor([prompt_ids], dtype=torch.long, device=dev)
    kwargs: dict[str, Any] = dict(
        max_new_tokens=config.max_new_tokens,
        min_new_tokens=config.min_new_tokens,
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
        new = new[: new.index(codec.eos_id)]
    return new
