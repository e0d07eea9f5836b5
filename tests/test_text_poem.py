"""museforge poem: forms, co-writing, --check, --model (ours and a transformers folder), errors."""

import argparse
import json
import re
import string
from pathlib import Path

import pytest
import torch

from museforge.cli.poem import add_poem_parser
from museforge.errors import MuseforgeError
from museforge.text.forms import check_poem
from museforge.text.model import GPT, GPTConfig
from museforge.text.tokenizer import CharTokenizer

BANK = (Path(__file__).parents[1] / "src/museforge/text/bank_zh.py").read_text(encoding="utf-8")
ZH = "".join(sorted(set(re.findall(r"[\u4e00-\u9fff]", BANK)) | set("在一片神秘的森林中白日依山尽")))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A tiny random museforge checkpoint with a vocabulary wide enough for the forms."""
    tok = CharTokenizer.build([ZH, string.ascii_letters + string.punctuation + " \n，。《》"])
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=1, n_head=2, n_embd=16))
    path = tmp_path_factory.mktemp("poet") / "tiny.safetensors"
    m.save(path, tok, data_sha256="test", recipe="tests", dtype=torch.float32)
    return path


def _main(argv):
    ap = argparse.ArgumentParser(prog="museforge")
    sub = ap.add_subparsers()
    add_poem_parser(sub)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except MuseforgeError as err:
        print(f"museforge: error: {err}", file=__import__("sys").stderr)
        return 1


def _poem(capsys, argv):
    code = _main([*argv, "--no-stream", "--json", "--no-guard"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


@pytest.mark.parametrize("form", ["wujue", "qijue"])
def test_theme_prompt_gives_a_valid_poem(capsys, tiny, form):
    rec = _poem(capsys, ["poem", "在一片神秘的森林中，", "--form", form, "--model", str(tiny)])
    assert any("theme" in n for n in rec["notes"])
    assert rec["title"] == "神秘森林"
    assert not [v for v in rec["violations"] if v["kind"] != "tone"]
    assert check_poem(rec["text"], form) == [] or all(v["kind"] == "tone" for v in rec["violations"])


def test_fitting_prompt_opens_the_poem(capsys, tiny):
    rec = _poem(capsys, ["poem", "白日依山尽", "--form", "wujue", "--model", str(tiny)])
    assert rec["lines"][0] == "白日依山尽" and any("opens" in n for n in rec["notes"])


def test_free_form_continues_the_opening(capsys, tiny):
    rec = _poem(capsys, ["poem", "在一片神秘的森林中，", "--model", str(tiny), "--max-new-tokens", "20"])
    assert rec["text"].startswith("在一片神秘的森林中，")


def test_keep_lines_from_a_file(capsys, tiny, tmp_path):
    first = _poem(capsys, ["poem", "森林", "--form", "wujue", "--model", str(tiny)])
    f = tmp_path / "p.txt"
    f.write_text(first["text"], encoding="utf-8")
    again = _poem(
        capsys,
        [
            "poem",
            "森林",
            "--form",
            "wujue",
            "--model",
            str(tiny),
            "--seed",
            "5",
            "--keep",
            "1,3",
            "--from",
            str(f),
        ],
    )
    assert again["lines"][0] == first["lines"][0] and again["lines"][2] == first["lines"][2]


def test_haiku(capsys, tiny):
    rec = _poem(capsys, ["poem", "autumn moon", "--form", "haiku", "--model", str(tiny)])
    assert rec["violations"] == [], rec["text"]


def test_unknown_characters_are_reported(capsys, tiny):
    rec = _poem(capsys, ["poem", "龘龘山", "--form", "wujue", "--model", str(tiny)])
    assert any("龘" in n for n in rec["notes"])


def test_check(capsys, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。\n", encoding="utf-8")
    assert _main(["poem", "--check", str(good), "--form", "wujue"]) == 0
    assert "valid wujue" in capsys.readouterr().out
    bad = tmp_path / "bad.txt"
    bad.write_text("白日依山尽，黄河入海流水。\n欲穷千里目，更上一层天。\n", encoding="utf-8")
    assert _main(["poem", "--check", str(bad), "--form", "wujue"]) == 1
    out = capsys.readouterr().out
    assert "line 2 has 6 characters" in out and "rhyme" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["poem", ""], "the prompt is empty"),
        (["poem", "x" * 3000], "the limit is 2,000"),
        (["poem", "sea", "--model", "gpt2-org/gpt2"], "hub id"),
        (["poem", "sea", "--model", "/nonexistent/folder"], "no model folder"),
        (["poem", "sea", "--max-new-tokens", "99999"], "max_new_tokens"),
        (["poem", "sea", "--keep", "1"], "--keep and --from go together"),
        (["poem", "--check", "/nonexistent.txt", "--form", "wujue"], "not found"),
    ],
)
def test_bad_input_one_line(capsys, tiny, argv, needle):
    if "--model" not in argv and argv[1:2] != ["--check"]:
        argv = [*argv, "--model", str(tiny)]
    assert _main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_malformed_model_folder(capsys, tmp_path):
    (tmp_path / "m").mkdir()
    assert _main(["poem", "sea", "--model", str(tmp_path / "m")]) == 1
    assert "no config.json" in capsys.readouterr().err


def test_every_option_has_help():
    ap = argparse.ArgumentParser()
    p = add_poem_parser(ap.add_subparsers())
    for action in p._actions:
        assert action.help, action.dest
    assert p.description


def _hf_folder(tmp_path: Path) -> Path:
    """A tiny random transformers GPT-2 with a char-level fast tokenizer, saved to a folder."""
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    chars = ["<eos>", *sorted(set(ZH + string.ascii_letters + " ,.;:!?'\n，。"))]
    tk = Tokenizer(models.WordLevel({c: i for i, c in enumerate(chars)}, unk_token="<eos>"))
    tk.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    fast = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<eos>")
    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=len(chars), n_positions=256, n_embd=16, n_layer=1, n_head=2, eos_token_id=0, bos_token_id=0
    )
    folder = tmp_path / "tiny-gpt2"
    GPT2LMHeadModel(cfg).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def test_transformers_folder_with_form_constraints(capsys, tmp_path):
    folder = _hf_folder(tmp_path)
    rec = _poem(capsys, ["poem", "森林", "--form", "wujue", "--model", str(folder), "--seed", "0"])
    assert not [v for v in rec["violations"] if v["kind"] != "tone"], rec["text"]
    rec2 = _poem(capsys, ["poem", "森林", "--form", "wujue", "--model", str(folder), "--seed", "0"])
    assert rec2["text"] == rec["text"]  # seeded


def test_exported_model_loads_as_transformers_folder(capsys, tiny, tmp_path):
    pytest.importorskip("transformers")
    from museforge.text.hf import export_gpt2

    m, tok, _ = GPT.load(tiny)
    export_gpt2(m, tok, tmp_path / "exp")
    rec = _poem(capsys, ["poem", "森林", "--form", "qijue", "--model", str(tmp_path / "exp")])
    assert not [v for v in rec["violations"] if v["kind"] != "tone"], rec["text"]
