"""Exporting the text model to a transformers folder others can load, and prompts longer than the
context window (our sampler, its KV cache and the transformers path)."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.text.model import GPT, GPTConfig
from museforge.text.sampling import SamplingConfig
from museforge.text.tokenizer import CharTokenizer

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

ZH = "在一片神秘的森林中白日依山尽黄河入海流欲穷千里目更上一层楼秋风明月"
TEXTS = [
    "<qijue>《秋》\n白日依山尽，黄河入海流。<eos>",
    "<sonnet>\nShall I compare thee to a summer's day?\n",
    "two  spaces,\ttab and unknown ☃ characters <eos> and a broken <eos",
    "<verse><haiku>",
]
LONG_EN = "the quiet river runs beneath the silver moon and old trees whisper of forgotten days " * 4
LONG_ZH = "在一片神秘的森林中，" * 35


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Nothing may reach the network: the folder alone must do. One thread: tiny models only
    contend for more."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A tiny random museforge checkpoint (context 64) with Chinese, English and the specials."""
    tok = CharTokenizer.build([ZH, string.ascii_letters + string.punctuation + " \n，。《》"])
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=1, n_head=2, n_embd=16))
    path = tmp_path_factory.mktemp("poet") / "tiny.safetensors"
    m.save(path, tok, data_sha256="test", recipe="tests", dtype=torch.float32)
    return path


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory) -> Path:
    from museforge.text.hf import export_text_model

    return export_text_model(tmp_path_factory.mktemp("exp") / "tiny-gpt2", model=tiny)


def _check_folder(folder: Path, tok: CharTokenizer, texts: list[str]) -> None:
    from transformers import AutoTokenizer

    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json"):
        assert (folder / name).is_file(), name
    hf = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    assert hf.eos_token == "<eos>" and hf.eos_token_id == tok.eos_id
    assert set(hf.all_special_tokens) == set(tok.specials)
    for text in texts:
        ids = hf(text)["input_ids"]
        assert ids == tok.encode(text), text
        assert hf.decode(ids) == tok.decode(ids)
    assert hf.model_max_length == json.loads((folder / "config.json").read_text())["n_positions"]


def test_exported_tokenizer_encodes_our_ids(exported, tiny):
    _, tok, _ = GPT.load(tiny)
    _check_folder(exported, tok, [*TEXTS, LONG_ZH])
    specials = json.loads((exported / "special_tokens_map.json").read_text())
    assert specials["eos_token"] == "<eos>" and "<qijue>" in specials["additional_special_tokens"]


def test_exported_folder_runs_in_a_transformers_pipeline(exported):
    from transformers import pipeline

    pipe = pipeline("text-generation", model=str(exported), device="cpu")
    out = pipe("<verse>\nThe moon", max_new_tokens=12, do_sample=False)[0]["generated_text"]
    assert out.startswith("<verse>\nThe moon") and len(out) > len("<verse>\nThe moon")
    # a prompt past the context: the pipeline's "hole" mode crops it (model_max_length is the context)
    long = pipe(LONG_EN, max_new_tokens=8, do_sample=False, handle_long_generation="hole")
    assert long[0]["generated_text"]


def test_export_errors_are_one_line(tmp_path, tiny):
    from museforge.text.hf import export_text_model

    with pytest.raises(MuseforgeError, match="no text model") as err:
        export_text_model(tmp_path / "out", model=tmp_path / "absent.safetensors")
    assert "\n" not in str(err.value)
    (tmp_path / "taken").mkdir()
    with pytest.raises(MuseforgeError, match="already exists"):
        export_text_model(tmp_path / "taken", model=tiny)
    assert export_text_model(tmp_path / "taken", model=tiny, overwrite=True) == tmp_path / "taken"
    assert (tmp_path / "taken" / "tokenizer.json").is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(MuseforgeError, match="is a file"):
        export_text_model(tmp_path / "file", model=tiny, overwrite=True)


# ---------------------------------------------------------------- prompts past the context


def test_long_prompt_is_cropped_to_the_last_block_tokens(tiny):
    m, _, _ = GPT.load(tiny)
    x = torch.randint(m.config.vocab_size, (2, 150), generator=torch.Generator().manual_seed(1))
    logits, cache = m.step_fn()(x, None)
    assert cache["len"] == m.config.block_size
    assert torch.allclose(logits, m(x[:, -m.config.block_size :])[0][:, -1], atol=1e-5)
    out = m.generate(x, SamplingConfig(max_new_tokens=100, loop_guard=0), generator=torch.Generator())
    assert [len(r) for r in out] == [100, 100]


@pytest.mark.parametrize(("prompt", "form"), [(LONG_EN, "free"), (LONG_ZH, "free"), (LONG_ZH, "qijue")])
def test_write_poem_with_a_long_prompt(tiny, prompt, form):
    from museforge.text.poet import load_backend, write_poem

    assert len(prompt) > 300
    backend = load_backend(str(tiny))
    poem = write_poem(backend, prompt, form, seed=1, max_tries=1, guard=False)
    assert poem.text and poem == write_poem(backend, prompt, form, seed=1, max_tries=1, guard=False)


@pytest.mark.parametrize(("prompt", "form"), [(LONG_EN, "free"), (LONG_ZH, "qijue")])
def test_transformers_path_with_a_long_prompt(exported, prompt, form):
    from museforge.text.poet import load_backend, write_poem

    backend = load_backend(str(exported))
    assert backend.kind == "transformers"
    poem = write_poem(backend, prompt, form, seed=1, max_tries=1, guard=False)
    assert poem.text and poem == write_poem(backend, prompt, form, seed=1, max_tries=1, guard=False)


def test_transformers_path_generates_past_the_window(exported):
    """A short prompt and more new tokens than the context holds: generate() fills the window,
    then the cropped sampler goes on; seeded, so twice is the same."""
    from museforge.text.hf import hf_generate, load_causal_lm

    model, codec = load_causal_lm(str(exported))
    eos = codec.eos_id

    def no_eos(ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        scores = scores.clone()
        scores[:, eos] = float("-inf")
        return scores

    cfg = SamplingConfig(max_new_tokens=90, loop_guard=0, top_k=5)
    for prompt in ("The moon", LONG_EN):  # 8 tokens, then the window; past the window from the start
        new = hf_generate(model, codec, codec.encode(prompt), cfg, [no_eos], seed=3)
        assert len(new) == 90 and eos not in new
    assert new == hf_generate(model, codec, codec.encode(LONG_EN), cfg, [no_eos], seed=3)
    short = hf_generate(model, codec, codec.encode("The moon"), SamplingConfig(max_new_tokens=20), [], seed=3)
    assert len(short) <= 20


def test_transformers_window_step_matches_a_cropped_forward(exported):
    from museforge.text.hf import context_length, load_causal_lm, window_step

    model, _ = load_causal_lm(str(exported))
    block = context_length(model)
    x = torch.randint(20, (1, block + 40), generator=torch.Generator().manual_seed(2))
    step = window_step(model, block)
    with torch.no_grad():
        logits, cache = step(x[:, :5], None)
        for t in range(5, x.shape[1]):
            logits, cache = step(x[:, : t + 1], cache)
            ref = model(x[:, max(0, t + 1 - cache["len"]) : t + 1]).logits[:, -1]
            assert cache["len"] <= block and torch.allclose(logits, ref, atol=1e-5), t
        long, cache = step(x, None)  # a prompt past the window: its last block tokens
        assert cache["len"] == block
        assert torch.allclose(long, model(x[:, -block:]).logits[:, -1], atol=1e-5)


# ---------------------------------------------------------------- the shipped model


@pytest.mark.slow
def test_shipped_model_exports_and_loads_in_transformers(tmp_path):
    from transformers import pipeline

    from museforge.text.hf import export_text_model
    from museforge.text.poet import default_model_path

    if not default_model_path().is_file():
        pytest.skip("no shipped text model")
    folder = export_text_model(tmp_path / "poet-gpt2")
    _, tok, _ = GPT.load(default_model_path())
    poem = "<qijue>《登鹳雀楼》\n白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。<eos>"
    _check_folder(folder, tok, [*TEXTS, poem, LONG_EN])
    pipe = pipeline("text-generation", model=str(folder), device="cpu")
    out = pipe("<verse>\nThe moon", max_new_tokens=30, do_sample=False)[0]["generated_text"]
    assert out.startswith("<verse>\nThe moon") and len(out) > 20
    long = pipe(LONG_EN, max_new_tokens=10, do_sample=False, handle_long_generation="hole")
    assert long[0]["generated_text"]
