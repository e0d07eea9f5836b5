"""The GPT decoder: KV cache, checkpoints, char tokenizer, and the transformers GPT-2 export."""

import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.text.model import GPT, GPTConfig
from museforge.text.tokenizer import CharTokenizer


def _tiny(vocab: int = 40, block: int = 32) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=vocab, block_size=block, n_layer=2, n_head=2, n_embd=16)).eval()


def test_kv_cache_matches_full_forward():
    m = _tiny()
    x = torch.randint(40, (2, 12), generator=torch.Generator().manual_seed(1))
    full, _, _ = m(x)
    _, _, cache = m(x[:, :5])
    step, _, cache = m(x[:, 5:9], past=cache)
    assert torch.allclose(step, full[:, 5:9], atol=1e-5)
    for t in range(9, 12):
        one, _, cache = m(x[:, t : t + 1], past=cache)
        assert torch.allclose(one[:, 0], full[:, t], atol=1e-5)


def test_context_overflow_is_an_error():
    with pytest.raises(MuseforgeError, match="exceeds the model's context"):
        _tiny(block=8)(torch.zeros(1, 9, dtype=torch.long))


def test_generate_past_the_context_window():
    tok = CharTokenizer.build(["abcdef"])
    m = _tiny(vocab=tok.vocab_size, block=8)
    from museforge.text.sampling import SamplingConfig

    out = m.generate(
        torch.tensor([tok.encode("ab")]),
        SamplingConfig(max_new_tokens=30, loop_guard=0),
        generator=torch.Generator().manual_seed(0),
    )
    assert len(out[0]) <= 30


def test_checkpoint_describes_itself(tmp_path):
    tok = CharTokenizer.build(["白日依山尽 hello"])
    m = _tiny(vocab=tok.vocab_size)
    m.save(tmp_path / "m.safetensors", tok, data_sha256="abc", recipe="r@1", dtype=torch.float32)
    m2, tok2, meta = GPT.load(tmp_path / "m.safetensors")
    assert tok2.itos == tok.itos and meta["data_sha256"] == "abc" and meta["recipe"] == "r@1"
    x = torch.tensor([tok.encode("白日h")])
    assert torch.equal(m(x)[0], m2(x)[0])


def test_bad_checkpoints_give_one_line_errors(tmp_path):
    with pytest.raises(MuseforgeError, match="no model file"):
        GPT.load(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    with pytest.raises(MuseforgeError, match="not a readable safetensors"):
        GPT.load(bad)


def test_tokenizer_reports_unknown_characters():
    tok = CharTokenizer.build(["山水"])
    assert tok.unknown("山水森林") == ["森", "林"]
    assert tok.decode(tok.encode("山森水")) == "山水"
    with pytest.raises(MuseforgeError, match="lacks these characters: 森"):
        tok.encode("森", strict=True)
    assert CharTokenizer.from_json(tok.to_json()).itos == tok.itos


def test_exported_gpt2_logits_match(tmp_path):
    pytest.importorskip("transformers")
    from transformers import GPT2LMHeadModel

    from museforge.text.hf import export_gpt2

    tok = CharTokenizer.build(["abcdefghij 山水"])
    m = _tiny(vocab=tok.vocab_size)
    with torch.no_grad():  # non-trivial norms and biases, so a transposition error shows
        for p in m.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())) * 0.05)
    export_gpt2(m, tok, tmp_path / "gpt2")
    hf = GPT2LMHeadModel.from_pretrained(tmp_path / "gpt2").eval()
    x = torch.randint(tok.vocab_size, (2, 20), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours = m(x)[0]
        theirs = hf(x).logits
    assert torch.allclose(ours, theirs, atol=1e-4), (ours - theirs).abs().max()


def test_fast_decode_path_matches_forward():
    m = _tiny(block=16)
    x = torch.randint(40, (3, 20), generator=torch.Generator().manual_seed(2))
    step = m.step_fn()
    logits, cache = step(x[:, :4], None)
    for t in range(4, 20):
        logits, cache = step(x[:, : t + 1], cache)
        window = x[:, max(0, t + 1 - cache["len"]) : t + 1]
        ref = m(window)[0][:, -1]
        assert torch.allclose(logits, ref, atol=1e-5), t
