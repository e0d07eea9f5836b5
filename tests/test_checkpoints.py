"""One checkpoint format for every model, and one file hash: round trips, errors, the shipped files."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch

from museforge.checkpoints import load_checkpoint, metadata_strings, read_metadata, save_checkpoint
from museforge.errors import MuseforgeError
from museforge.hashing import sha256_bytes, sha256_file, sha256_files
from museforge.runtime import models_root

SHIPPED = {
    "text-poet": "museforge-gpt",
    "music-harmonizer": "museforge-harmonizer",
    "music-melody": "museforge-melody",
    "style-adain": "museforge-adain",
    "style-fast-ink-wash": "museforge-fast-style",
    "style-fast-scream": "museforge-fast-style",
    "style-fast-stained-glass": "museforge-fast-style",
    "style-fast-starry-night": "museforge-fast-style",
}


def _tensors() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"w": torch.randn(3, 4, generator=g), "b": torch.randn(4, generator=g), "n": torch.arange(5)}


def test_round_trip_keeps_tensors_and_typed_metadata(tmp_path):
    path = tmp_path / "sub" / "m.safetensors"
    save_checkpoint(path, _tensors(), config={"n_layer": 2, "dims": [4, 8]}, kind="museforge-test",
                    tokenizer={"chars": "山水"}, data_sha256="ab" * 32, recipe="recipes/x.py",
                    metadata={"metrics": {"nll": 1.5}, "steps": 3, "bf16": True, "name": "tiny"})
    tensors, meta = load_checkpoint(path, kind="museforge-test")
    assert all(torch.equal(tensors[k], v) for k, v in _tensors().items())
    assert meta == {"kind": "museforge-test", "config": {"n_layer": 2, "dims": [4, 8]},
                    "tokenizer": {"chars": "山水"}, "data_sha256": "ab" * 32, "recipe": "recipes/x.py",
                    "metrics": {"nll": 1.5}, "steps": 3, "bf16": True, "name": "tiny"}
    assert read_metadata(path) == meta
    assert path.stat().st_mode & 0o777 == 0o644
    assert not [p for p in path.parent.iterdir() if p.name != path.name]  # no temporary left behind


def test_fp16_storage_is_optional(tmp_path):
    save_checkpoint(tmp_path / "h.safetensors", _tensors(), config={}, kind="k", dtype=torch.float16)
    tensors, _ = load_checkpoint(tmp_path / "h.safetensors")
    assert tensors["w"].dtype == torch.float16 and tensors["n"].dtype == torch.int64  # ints untouched
    assert torch.equal(tensors["w"], _tensors()["w"].half())


def test_equal_models_give_equal_files(tmp_path):
    meta = {f"key{i}": i for i in range(30)}  # enough keys that hash order would show
    a = save_checkpoint(tmp_path / "a.safetensors", _tensors(), config={"x": 1}, kind="k", metadata=meta)
    b = save_checkpoint(tmp_path / "b.safetensors", _tensors(), config={"x": 1}, kind="k", metadata=meta)
    assert a.read_bytes() == b.read_bytes()
    from safetensors.torch import load_file  # still a plain safetensors file for anyone else

    assert torch.equal(load_file(str(a))["w"], _tensors()["w"])


def test_missing_truncated_foreign_and_wrong_kind_files_are_one_line_errors(tmp_path):
    from safetensors.torch import save_file

    good = save_checkpoint(tmp_path / "good.safetensors", _tensors(), config={}, kind="museforge-a")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good.read_bytes()[:-7])
    png = tmp_path / "picture.safetensors"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    foreign = tmp_path / "hf.safetensors"
    save_file(_tensors(), str(foreign), metadata={"format": "pt"})
    cases = [
        (tmp_path / "absent.safetensors", "no model file"),
        (cut, "truncated"),
        (png, "not a readable safetensors file"),
        (foreign, "not a museforge checkpoint"),
    ]
    for path, message in cases:
        for call in (load_checkpoint, read_metadata):
            with pytest.raises(MuseforgeError, match=message) as err:
                call(path)
            assert "\n" not in str(err.value)
    with pytest.raises(MuseforgeError, match="holds a museforge-a model, not a museforge-b"):
        load_checkpoint(good, kind="museforge-b")
    with pytest.raises(MuseforgeError, match="JSON-able"):
        save_checkpoint(tmp_path / "x.safetensors", _tensors(), config={"f": object()}, kind="k")


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_files_load_with_their_old_metadata(name):
    """The files in models/ predate checkpoints.py: every header key is still there, decoded."""
    from safetensors import safe_open

    path = models_root() / name / "model.safetensors"
    if not path.is_file():
        pytest.skip(f"no shipped {name}")
    with safe_open(str(path), framework="pt") as f:
        raw = dict(f.metadata() or {})
        names = set(f.keys())
    tensors, meta = load_checkpoint(path, kind=SHIPPED[name])
    assert set(tensors) == names and set(raw) <= set(meta)
    for key, text in raw.items():  # each value is the old string, or that string decoded as JSON
        assert meta[key] == text or meta[key] == json.loads(text), key
    if name.startswith("music-"):  # their callers read strings: exactly the old header
        assert {k: v for k, v in metadata_strings(meta).items() if k != "kind"} == raw


def test_model_modules_round_trip_through_checkpoints(tmp_path):
    """Each module's save writes a file that checkpoints reads, with the module's kind."""
    from museforge.music.harmonizer import Harmonizer, HarmonizerConfig, load_harmonizer
    from museforge.music.harmonizer import save_checkpoint as save_music
    from museforge.music.melody_model import MelodyConfig, MelodyModel, load_melody_model
    from museforge.style import adain, johnson
    from museforge.text.model import GPT, GPTConfig
    from museforge.text.tokenizer import CharTokenizer

    torch.manual_seed(0)
    tok = CharTokenizer.build(["ab 山"])
    GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=1, n_embd=8)).save(
        tmp_path / "gpt.safetensors", tok, data_sha256="d", recipe="r")
    h = Harmonizer(HarmonizerConfig(d_model=8))
    save_music(h, tmp_path / "h.safetensors", h.config, {"recipe": "r", "metrics": {"nll": 1.0}})
    m = MelodyModel(MelodyConfig(d_model=8, layers=1, dropout=0.0))
    save_music(m, tmp_path / "m.safetensors", m.config, {"recipe": "r"})
    johnson.save_model(tmp_path / "f.safetensors", johnson.TransformNet(johnson.FastConfig((4,), 1, 3)),
                       {"name": "tiny"})
    decoder = adain.Decoder(adain.DecoderConfig((4, 4, 4, 4)))
    adain.save_model(tmp_path / "a.safetensors", decoder, {}, {"name": "tiny"})
    kinds = {"gpt": "museforge-gpt", "h": "museforge-harmonizer", "m": "museforge-melody",
             "f": "museforge-fast-style", "a": "museforge-adain"}
    for stem, kind in kinds.items():
        assert read_metadata(tmp_path / f"{stem}.safetensors")["kind"] == kind
    assert GPT.load(tmp_path / "gpt.safetensors")[2]["recipe"] == "r"
    assert json.loads(load_harmonizer(tmp_path / "h.safetensors")[1]["metrics"]) == {"nll": 1.0}
    assert load_melody_model(tmp_path / "m.safetensors")[0].config == m.config
    with pytest.raises(MuseforgeError, match="not a museforge-harmonizer"):
        load_harmonizer(tmp_path / "m.safetensors")


# ---------------------------------------------------------------- hashing


def test_sha256_file_streams_and_matches_hashlib(tmp_path):
    path = tmp_path / "big.bin"
    data = os.urandom(3 * (1 << 20) + 123)  # several 1 MiB blocks and a tail
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest() == sha256_bytes(data)
    assert sha256_file(str(path)) == sha256_file(tmp_path / "." / "big.bin")  # one resolved key
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sha256_file(empty) == hashlib.sha256(b"").hexdigest()
    assert sha256_files([path, empty, path]) == hashlib.sha256(data + data).hexdigest()


def test_sha256_file_cache_sees_a_changed_file(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"one")
    first = sha256_file(path)
    path.write_bytes(b"two")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # same size: mtime tells
    assert sha256_file(path) == hashlib.sha256(b"two").hexdigest() != first


def test_hashing_imports_only_the_standard_library():
    import ast
    import sys

    import museforge.hashing as hashing

    tree = ast.parse(Path(hashing.__file__).read_text())
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert modules - {"__future__"} <= set(sys.stdlib_module_names)
