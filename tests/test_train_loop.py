"""The shared training loop: resume to the same curve, early stopping, refused states and
licences, the text and music families, and two CPU processes under accelerate."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from museforge.cli import main
from museforge.errors import MuseforgeError
from museforge.train import loop
from museforge.train.text import TextFamily

POEMS = [
    "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。",
    "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
    "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。",
    "千山鸟飞绝，万径人踪灭。\n孤舟蓑笠翁，独钓寒江雪。",
    "The moon is up above the hill,\nthe river sleeps, the wind is still.",
    "Red leaves fall on the old stone wall,\nand one by one the swallows call.",
]
TINY = {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 32}


def make_dataset(
    root: Path,
    items: list[tuple[str, bytes, str]],
    licence: str = "CC-BY-4.0",
    captions: list[str] | None = None,
) -> Path:
    """A data set in the ingest format: ``(kind, bytes, suffix)`` items, every fourth held out."""
    from museforge.data.manifest import CARD, FORMAT, MANIFEST, VERSION, manifest_bytes

    rows = []
    (root / "items").mkdir(parents=True)
    for i, (kind, data, suffix) in enumerate(items):
        sha = hashlib.sha256(data).hexdigest()
        path = f"items/{sha[:16]}{suffix}"
        (root / path).write_bytes(data)
        rows.append(
            {
                "id": sha[:16],
                "kind": kind,
                "path": path,
                "sha256": sha,
                "source_sha256": sha,
                "source": f"src/{i}{suffix}",
                "bytes": len(data),
                "licence": licence,
                "licence_source": "option",
                "split": "val" if i % 4 == 3 else "train",
                "tags": [],
                "file": f"{i}{suffix}",
                "caption": captions[i] if captions else None,
            }
        )
    manifest = manifest_bytes(rows)
    (root / MANIFEST).write_bytes(manifest)
    card = {"format": FORMAT, "version": VERSION, "manifest_sha256": hashlib.sha256(manifest).hexdigest()}
    (root / CARD).write_text(json.dumps(card))
    return root


def text_dataset(root: Path, licence: str = "CC-BY-4.0") -> Path:
    return make_dataset(root, [("text", p.encode(), ".txt") for p in POEMS], licence)


def tiny_text(seed: int = 0) -> TextFamily:
    from museforge.train.text import as_document

    docs = [as_document(p) for p in POEMS]
    return TextFamily(docs[:4], docs[4:], shape=TINY, data_sha256="d" * 64)


def config(steps: int, **kw: object) -> loop.LoopConfig:
    return loop.LoopConfig(steps=steps, batch=4, lr=3e-3, warmup=2, eval_every=3, checkpoint_every=2, **kw)


def test_an_interrupted_run_resumes_onto_the_same_curve(tmp_path: Path) -> None:
    whole = loop.run(tiny_text(), config(6), tmp_path / "a")
    loop.run(tiny_text(), config(3), tmp_path / "b")
    resumed = loop.run(tiny_text(), config(6), tmp_path / "b")
    assert resumed.resumed_from == 3 and resumed.steps == 6
    assert resumed.train_loss == whole.train_loss
    assert [e["loss"] for e in resumed.evals] == [e["loss"] for e in whole.evals]
    assert (tmp_path / "b" / loop.MODEL).is_file()
    assert whole.train_loss[-1][1] < whole.train_loss[0][1]


def test_a_state_of_another_model_is_refused(tmp_path: Path) -> None:
    loop.run(tiny_text(), config(2), tmp_path)
    other = tiny_text()
    other.data_sha256 = "e" * 64
    with pytest.raises(MuseforgeError, match="another model or data set"):
        loop.run(other, config(4), tmp_path)


class Worsening(loop.Family):
    """A family whose held-out loss only grows: patience must stop it."""

    def __init__(self) -> None:
        super().__init__(name="worse", model=torch.nn.Linear(2, 1))
        self.calls = 0
        self.saved = 0

    def batch(self, generator: torch.Generator, size: int) -> torch.Tensor:
        return torch.randn(size, 2, generator=generator)

    def loss(self, model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        return model(batch).pow(2).mean()

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        self.calls += 1
        return {"loss": float(self.calls)}

    def save(self, model: torch.nn.Module, path: Path, metrics: dict[str, float]) -> None:
        self.saved += 1
        path.write_bytes(b"m")


def test_early_stopping_keeps_the_best_and_stops_after_patience(tmp_path: Path) -> None:
    family = Worsening()
    summary = loop.run(family, loop.LoopConfig(steps=100, batch=2, eval_every=2, patience=2), tmp_path)
    assert summary.stopped == "early stop" and summary.steps == 6
    assert summary.best == 1.0 and summary.best_step == 2 and family.saved == 1


def test_batches_split_over_processes_cover_the_global_batch() -> None:
    family = tiny_text()
    whole = family.batch(torch.Generator().manual_seed(5), 4)
    parts = [family.shard(whole, r, 2) for r in range(2)]
    assert torch.equal(torch.cat([parts[0][0], parts[1][0]]).sort(0)[0], whole[0].sort(0)[0])
    with pytest.raises(MuseforgeError, match="does not split"):
        loop.LoopConfig(batch=3).check(world=2)


def test_train_text_on_a_data_set_writes_model_card_and_comparison(tmp_path: Path, capsys) -> None:
    data = text_dataset(tmp_path / "poems")
    out = tmp_path / "model"
    base = ["train", "text", "--data", str(data), "--steps", "4", "--batch", "2", "--eval-every", "2", "-q"]
    assert main([*base, "--out", str(out)]) == 0
    assert main([*base, "--out", str(tmp_path / "second"), "--from", str(out), "--compare", str(out)]) == 0
    card = (tmp_path / "second" / "README.md").read_text()
    manifest = json.loads((data / "card.json").read_text())["manifest_sha256"]
    assert manifest in card and "`CC-BY-4.0`: 6 items" in card and "research" in card
    compared = json.loads((tmp_path / "second" / "compare.json").read_text())
    assert set(compared) >= {"new", "previous"} and "copied_line_share" in compared["new"]
    assert (tmp_path / "second" / "compare.html").read_text().count("<tr>") >= 3
    from museforge.text.model import GPT

    model, tok, meta = GPT.load(tmp_path / "second" / "model.safetensors")
    assert meta["data_sha256"] == manifest and tok.vocab_size == model.config.vocab_size


def test_a_licence_that_excludes_the_use_is_refused(tmp_path: Path, capsys) -> None:
    data = text_dataset(tmp_path / "nc", licence="CC-BY-NC-4.0")
    argv = ["train", "text", "--data", str(data), "--steps", "2", "--out", str(tmp_path / "m"), "-q"]
    assert main([*argv, "--use", "commercial"]) != 0
    err = capsys.readouterr().err
    assert "do not permit commercial use: CC-BY-NC-4.0 (6 items)" in err
    assert not (tmp_path / "m").exists()


def _midi(pitches: list[int]) -> bytes:
    import io

    import mido

    track = mido.MidiTrack(
        [
            mido.MetaMessage("time_signature", numerator=4, denominator=4),
            mido.MetaMessage("key_signature", key="C"),
        ]
    )
    for p in pitches:
        track += [
            mido.Message("note_on", note=p, velocity=80, time=0),
            mido.Message("note_off", note=p, velocity=0, time=480),
        ]
    buf = io.BytesIO()
    mido.MidiFile(tracks=[track], ticks_per_beat=480).save(file=buf)
    return buf.getvalue()


def test_train_music_on_midi_items(tmp_path: Path) -> None:
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    tunes = [
        [*scale, *reversed(scale)],
        [*scale[::2], *scale, 60, 64],
        [67, 65, 64, 62, 60, 62, 64, 65, 67, 72],
        [60, 60, 67, 67, 69, 69, 67, 65, 65, 64, 64, 62, 62, 60],
    ]
    data = make_dataset(tmp_path / "tunes", [("music", _midi(t), ".mid") for t in tunes])
    out = tmp_path / "melody"
    assert (
        main(
            [
                "train",
                "music",
                "--data",
                str(data),
                "--out",
                str(out),
                "--steps",
                "3",
                "--batch",
                "2",
                "--eval-every",
                "3",
                "--goldfish-k",
                "2",
                "-q",
            ]
        )
        == 0
    )
    from museforge.music.melody_model import load_melody_model

    _, meta = load_melody_model(out / "model.safetensors")
    assert json.loads(meta["data_sha256"]) if meta["data_sha256"].startswith('"') else meta["data_sha256"]
    assert "3 training and 1 held-out music items" in (out / "README.md").read_text()


@pytest.mark.skipif(
    shutil.which("accelerate", path=str(Path(sys.executable).parent)) is None,
    reason="accelerate not installed",
)
def test_two_cpu_processes_follow_the_curve_of_one(tmp_path: Path) -> None:
    data = text_dataset(tmp_path / "poems")
    args = ["train", "text", "--data", str(data), "--steps", "4", "--batch", "4", "--eval-every", "4", "-q"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = Path(sys.executable).parent / "accelerate"
    run = subprocess.run(
        [
            str(launcher),
            "launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "-m",
            "museforge",
            *args,
            "--out",
            str(tmp_path / "two"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    one = torch.load(tmp_path / "one" / loop.STATE, weights_only=False)["summary"]
    two = torch.load(tmp_path / "two" / loop.STATE, weights_only=False)["summary"]
    assert two["world"] == 2 and one["world"] == 1
    a = torch.tensor([v for _, v in one["train_loss"]])
    b = torch.tensor([v for _, v in two["train_loss"]])
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-4), (a, b)


def test_train_image_fine_tunes_on_a_data_set_and_names_its_licences(
    tmp_path: Path, tiny_diffusion_path
) -> None:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    items, captions = [], []
    for i in range(8):
        pixels = rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "PNG")
        items.append(("image", buf.getvalue(), ".png"))
        captions.append(f"a {('red', 'blue')[i % 2]} harbour")
    data = make_dataset(tmp_path / "harbours", items, "CC0-1.0", captions)
    out = tmp_path / "model"
    argv = ["train", "image", "--data", str(data), "--from", str(tiny_diffusion_path), "--out", str(out)]
    assert main([*argv, "--steps", "2", "--batch", "2", "--sample-every", "0", "-q"]) == 0
    card = (out / "README.md").read_text()
    assert "`CC0-1.0` (8)" in card and json.loads((data / "card.json").read_text())["manifest_sha256"] in card
    state = torch.load(out / loop.STATE, weights_only=False)
    assert state["summary"]["evals"] and state["summary"]["steps"] == 2
    again = tmp_path / "again"
    argv = [
        "train",
        "image",
        "--data",
        str(data),
        "--from",
        str(out),
        "--out",
        str(again),
        "--compare",
        str(out),
    ]
    assert main([*argv, "--steps", "1", "--batch", "2", "--sample-every", "0", "-q"]) == 0
    compared = json.loads((again / "compare.json").read_text())
    assert compared["new"]["loss"] > 0 and compared["previous"]["loss"] > 0


def test_a_folder_ingested_then_trained_names_its_data_in_the_card(tmp_path: Path) -> None:
    folder = tmp_path / "my poems"
    folder.mkdir()
    for i, poem in enumerate(POEMS):
        (folder / f"{i}.txt").write_text(poem, encoding="utf-8")
    (folder / "LICENSE").write_text("CC0 1.0 Universal\n\nNo Copyright\n")
    (folder / "unlicensed").mkdir()
    (folder / "unlicensed" / "x.txt").write_text("不明之诗，来历不清。")
    (folder / "unlicensed" / "LICENSE").write_text("ask me first\n")
    data = tmp_path / "poems"
    assert main(["data", "ingest", str(folder), "--out", str(data), "-q"]) == 0
    card = json.loads((data / "card.json").read_text())
    assert [r["reason"] for r in card["refused"]] == ["no licence"]
    out = tmp_path / "poet"
    assert (
        main(["train", "text", "--data", str(data), "--out", str(out), "--steps", "2", "--batch", "2", "-q"])
        == 0
    )
    readme = (out / "README.md").read_text()
    assert card["manifest_sha256"] in readme and "`CC0-1.0`: 6 items" in readme


def test_the_goldfish_mask_drops_loss_only_where_asked(tmp_path: Path) -> None:
    from museforge.train.text import as_document

    docs = [as_document(p) for p in POEMS]
    plain = TextFamily(docs[:4], docs[4:], shape=TINY)
    masked = TextFamily(docs[:4], docs[4:], shape=TINY, goldfish_k=4)
    x, y, keep = masked.batch(torch.Generator().manual_seed(1), 4)
    assert 0.6 < keep.float().mean() < 0.9 and plain.batch(torch.Generator().manual_seed(1), 4)[2].all()
    masked.model.load_state_dict(plain.model.state_dict())
    logits = plain.model(x)[0]
    per_token = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none")
    assert torch.allclose(masked.loss(masked.model, (x, y, keep)), per_token[keep].mean(), atol=1e-5)
    assert torch.allclose(plain.loss(plain.model, (x, y, keep)), per_token.mean(), atol=1e-5)
    summary = loop.run(masked, config(2), tmp_path)
    assert summary.steps == 2
