"""The chorale harmoniser on the shared loop: batches, learning, checkpoints, resuming, and
``museforge train music --model harmonizer`` on an ingested data set of MusicXML files."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from museforge.cli import main
from museforge.errors import MuseforgeError
from museforge.evaluate.music import chorale_nll
from museforge.music.data import HIGH, LOW, PITCH0, REST, notes_to_grid
from museforge.music.harmonizer import HarmonizerConfig, load_harmonizer
from museforge.train import loop
from museforge.train.harmony import HarmonyFamily

TINY = HarmonizerConfig(d_model=16, dropout=0.0)
RANGES = [(67, 79), (60, 72), (52, 64), (40, 52)]


def chorale(seed: int, bars: int = 4) -> dict:
    """A random four-voice texture in quarter notes, as ``load_chorales`` gives chorales."""
    rng = np.random.default_rng(seed)
    steps = bars * 16
    voices = [[(q, 1.0, int(rng.integers(lo, hi))) for q in range(bars * 4)] for lo, hi in RANGES]
    tokens = np.stack([notes_to_grid(v, steps) for v in voices])
    return {"tokens": tokens, "pos": (np.arange(steps) % 16).astype(np.int16), "name": f"c{seed}"}


def family(**kw: object) -> HarmonyFamily:
    return HarmonyFamily(
        [chorale(i) for i in range(4)], [chorale(9)], config=TINY, data_sha256="d" * 64, **kw
    )


def config(steps: int) -> loop.LoopConfig:
    return loop.LoopConfig(steps=steps, batch=4, lr=1e-2, warmup=2, eval_every=3, checkpoint_every=2)


def test_batches_are_seeded_crops_transposed_within_range() -> None:
    fam = family(length=24)
    sop, pos, end, atb, mask = fam.batch(torch.Generator().manual_seed(3), 6)
    again = fam.batch(torch.Generator().manual_seed(3), 6)
    assert all(torch.equal(a, b) for a, b in zip((sop, pos, end, atb, mask), again, strict=True))
    assert sop.shape == (6, 24) and atb.shape == (6, 24, 3) and mask.all()
    pitched = torch.cat([sop[sop >= PITCH0], atb[atb >= PITCH0]]) - PITCH0 + LOW
    assert int(pitched.min()) >= LOW and int(pitched.max()) <= HIGH
    other = fam.batch(torch.Generator().manual_seed(4), 6)
    assert not torch.equal(sop, other[0])
    # every crop is some chorale's soprano moved by one shift of -6..+5 semitones
    sources = [torch.as_tensor(c["tokens"][0].astype(np.int64)) for c in fam.train_set]
    for row in sop:
        onsets = row[row >= PITCH0]
        assert any(
            any(
                torch.equal(onsets, (s[a : a + 24][s[a : a + 24] >= PITCH0]) + k)
                for a in range(len(s) - 23)
                for k in range(-6, 6)
            )
            for s in sources
        )


def test_the_loss_falls_and_the_best_model_loads_back(tmp_path: Path) -> None:
    fam = family()
    before = chorale_nll(fam.model, fam.val_set)["nll"]
    summary = loop.run(fam, config(9), tmp_path)
    assert summary.best < before - 0.5
    assert summary.train_loss[-1][1] < summary.train_loss[0][1]
    assert 0 <= summary.evals[-1]["accuracy"] <= 1 and "nll_bass" in summary.evals[-1]
    model, meta = load_harmonizer(tmp_path / loop.MODEL)
    assert model.config == TINY and meta["data_sha256"] == "d" * 64
    assert json.loads(meta["metrics"])["step"] == summary.best_step
    assert chorale_nll(model, fam.val_set)["nll"] == pytest.approx(summary.best, abs=1e-5)


def test_an_interrupted_run_resumes_onto_the_same_curve(tmp_path: Path) -> None:
    whole = loop.run(family(), config(6), tmp_path / "a")
    loop.run(family(), config(3), tmp_path / "b")
    resumed = loop.run(family(), config(6), tmp_path / "b")
    assert resumed.resumed_from == 3 and resumed.train_loss == whole.train_loss
    assert [e["loss"] for e in resumed.evals] == [e["loss"] for e in whole.evals]


def test_a_chorale_without_notes_is_refused() -> None:
    empty = chorale(1)
    empty["tokens"] = np.full_like(empty["tokens"], REST)
    with pytest.raises(MuseforgeError, match="holds no notes"):
        HarmonyFamily([chorale(0), empty], [], config=TINY)


def _musicxml(path: Path, seed: int, parts: int = 4) -> None:
    import music21

    rng = np.random.default_rng(seed)
    score = music21.stream.Score()
    for v, (lo, hi) in enumerate(RANGES[:parts]):
        part = music21.stream.Part()
        part.partName = part.id = ("Soprano", "Alto", "Tenor", "Bass")[v]
        for b in range(4):
            bar = music21.stream.Measure(number=b + 1)
            if b == 0:
                bar.insert(0, music21.meter.TimeSignature("4/4"))
            for _ in range(4):
                bar.append(music21.note.Note(int(rng.integers(lo, hi)), quarterLength=1))
            part.append(bar)
        score.insert(0, part)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score.write("musicxml", fp=path)


@pytest.fixture(scope="module")
def chorale_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chorales")
    src = root / "mine"
    src.mkdir()
    for i in range(6):
        _musicxml(src / f"chorale{i}.musicxml", i)
    _musicxml(src / "solo.musicxml", 99, parts=1)
    (src / "LICENSE").write_text("CC0 1.0 Universal\n\nNo Copyright\n")
    assert main(["data", "ingest", str(src), "--out", str(root / "set"), "-q"]) == 0
    return root / "set"


def test_train_music_harmonizer_on_an_ingested_data_set(chorale_set: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "h"
    base = ["train", "music", "--model", "harmonizer", "--data", str(chorale_set), "--batch", "2"]
    assert main([*base, "--steps", "2", "--eval-every", "2", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "left out solo.musicxml: not four parts" in err
    _, meta = load_harmonizer(out / loop.MODEL)
    manifest = json.loads((chorale_set / "card.json").read_text())["manifest_sha256"]
    assert meta["data_sha256"] == manifest and "--model harmonizer" in meta["recipe"]
    card = (out / "README.md").read_text()
    assert manifest in card and "harmonizer" in card and "`CC0-1.0`: 7 items" in card
    again = tmp_path / "again"
    argv = [*base, "--steps", "1", "--out", str(again), "--from", str(out), "--compare", str(out), "-q"]
    assert main(argv) == 0
    compared = json.loads((again / "compare.json").read_text())
    for key in ("new", "previous"):
        figures = compared[key]
        assert figures["loss"] > 0 and figures["harmonised"] >= 1
        assert 0 <= figures["bass_run_share_mean"] <= figures["bass_run_share_max"] <= 1
    assert compared["previous"]["loss"] == pytest.approx(json.loads(meta["metrics"])["loss"], abs=1e-5)


def test_harmonizer_options_are_checked(chorale_set: Path, tmp_path: Path, capsys) -> None:
    argv = [
        "train",
        "music",
        "--model",
        "harmonizer",
        "--data",
        str(chorale_set),
        "--out",
        str(tmp_path / "m"),
    ]
    assert main([*argv, "--goldfish-k", "4", "-q"]) != 0
    assert "--goldfish-k applies to the melody and text models" in capsys.readouterr().err
    assert main([*argv, "--from", str(tmp_path / "none"), "-q"]) != 0
    assert "--from" in capsys.readouterr().err and not (tmp_path / "m").exists()


class Copier:
    """A stand-in harmoniser that writes the lower voices of a given chorale, moved by ``shift``."""

    def __init__(self, source: dict, shift: int = 0) -> None:
        self.source, self.shift = source, shift

    def generate(self, sop: np.ndarray, pos: np.ndarray) -> np.ndarray:
        tokens = self.source["tokens"][1:].astype(np.int64)
        return np.where(tokens >= PITCH0, tokens + self.shift, tokens)[:, : len(sop)]


def test_harmony_originality_finds_a_copied_bass_line() -> None:
    from museforge.train.compare import harmony_originality

    train, val = [chorale(i) for i in range(4)], [chorale(7), chorale(8)]
    copied = harmony_originality(Copier(train[2], shift=3), train, val)
    assert copied["harmonised"] == 2
    assert copied["bass_run_share_mean"] == 1.0 and copied["bass_nearest_max"] == 1.0
    fresh = harmony_originality(Copier(chorale(11)), train, val)
    assert fresh["bass_run_share_max"] < 0.2 and fresh["bass_nearest_max"] < 0.2
