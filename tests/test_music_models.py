"""The harmoniser and melody models on tiny random weights: shapes, checkpoints, the hard rules
of constrained decoding, and continuations that end on the tonic at a bar line. Shipped-model
checks are marked slow."""

import json

import numpy as np
import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.evaluate.music import voice_leading_violations
from museforge.music.data import HOLD, REST, grid_to_notes, notes_to_grid, token_of
from museforge.music.harmonize import check_range, harmonize, melody_to_string, model_file
from museforge.music.harmonizer import (
    VOICE_RANGES,
    Harmonizer,
    HarmonizerConfig,
    load_harmonizer,
    save_checkpoint,
)
from museforge.music.melody_model import MelodyConfig, MelodyModel
from museforge.music.score import Note
from museforge.music.theory import Meter

MELODY = [Note(i * 1.0, 1.0, p, 80) for i, p in enumerate([67, 67, 69, 71, 72, 71, 69, 67,
                                                           64, 65, 67, 69, 67, 65, 64, 62])]


def tiny_harmonizer(seed=0):
    torch.manual_seed(seed)
    return Harmonizer(HarmonizerConfig(d_model=16)).eval()


def test_grid_round_trip():
    notes = [(0.0, 1.5, 60), (1.5, 0.25, 62), (2.0, 2.0, 64)]
    grid = notes_to_grid(notes, 16)
    assert grid[0] == token_of(60) and grid[1] == HOLD and grid[-1] == HOLD
    assert grid_to_notes(grid) == notes
    assert grid_to_notes(np.array([REST, token_of(60), token_of(60)])) == [(0.25, 0.25, 60), (0.5, 0.25, 60)]


def test_training_loss_and_shapes():
    model = tiny_harmonizer()
    sop = torch.randint(2, 60, (2, 12))
    atb = torch.randint(0, 60, (2, 12, 3))
    logits = model(sop, torch.zeros(2, 12, dtype=torch.long), torch.zeros(2, 12, dtype=torch.long), atb)
    assert logits.shape == (2, 12, 3, model.config.n_tokens)
    assert model.loss(sop, torch.zeros_like(sop), torch.zeros_like(sop), atb).item() > 0


def test_constrained_decoding_keeps_the_rules_even_with_random_weights():
    voices = harmonize(tiny_harmonizer(), MELODY, Meter(4, 4), beam=3)
    assert [(n.start, n.pitch) for n in voices[0]] == [(n.start, n.pitch) for n in MELODY]
    v = voice_leading_violations(voices)
    assert v == {"parallel_fifths": 0, "parallel_octaves": 0, "crossings": 0, "out_of_range": 0}
    for notes, (lo, hi) in zip(voices[1:], list(VOICE_RANGES.values())[1:], strict=True):
        assert notes and all(lo <= n.pitch <= hi for n in notes)
        assert notes[-1].start + notes[-1].duration <= 16.0


def test_checkpoint_carries_its_config_and_metadata(tmp_path):
    model = tiny_harmonizer()
    path = tmp_path / "m.safetensors"
    save_checkpoint(model, path, model.config, {"data_sha256": "ab" * 32, "recipe": "recipes/x.py",
                                                 "metrics": {"nll": 1.0}})
    loaded, meta = load_harmonizer(path)
    assert loaded.config == model.config and meta["recipe"] == "recipes/x.py"
    assert json.loads(meta["metrics"]) == {"nll": 1.0}
    for a, b in zip(model.parameters(), loaded.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(MuseforgeError, match="not found"):
        load_harmonizer(tmp_path / "missing.safetensors")


def test_range_errors_say_how_to_fix():
    with pytest.raises(MuseforgeError, match=r"--transpose 12") as err:
        check_range([Note(0, 1, 48, 80), Note(1, 1, 55, 80)])
    assert "\n" not in str(err.value)
    with pytest.raises(MuseforgeError, match="no voice can sing it"):
        check_range([Note(0, 1, 40, 80), Note(1, 1, 90, 80)])


def test_melody_string_round_trip():
    from museforge.music.io import parse_note_string

    text = melody_to_string([*MELODY[:3], Note(4.0, 0.5, 72, 80)])
    assert text == "G4:1 G4:1 A4:1 R:1 C5:0.5"
    back = parse_note_string(text).tracks[0].notes
    assert [(n.start, n.duration, n.pitch) for n in back] == [(0, 1, 67), (1, 1, 67), (2, 1, 69),
                                                              (4, 0.5, 72)]


@pytest.mark.parametrize("meter,bar", [("4/4", 4.0), ("3/4", 3.0), ("6/8", 3.0)])
def test_melody_model_continues_to_the_bar_line_and_ends_on_the_tonic(meter, bar):
    from museforge.music.continuation import continue_melody
    from museforge.music.theory import Key

    torch.manual_seed(0)
    model = MelodyModel(MelodyConfig(d_model=16, layers=1, dropout=0.0))
    motif = [Note(0, 1.0, 62, 80), Note(1, 0.5, 64, 80), Note(1.5, 0.5, 65, 80)]
    gen = torch.Generator().manual_seed(1)
    new = continue_melody(model, motif, Key("D", "minor"), meter, bar, 4, gen)
    end = new[-1].start + new[-1].duration
    assert end == pytest.approx(bar * 5)  # motif's bar plus four more
    assert new[-1].pitch % 12 == 2
    assert all(n.duration > 0 for n in new)
    again = continue_melody(model, motif, Key("D", "minor"), meter, bar, 4, torch.Generator().manual_seed(1))
    assert again == new


@pytest.mark.slow
@pytest.mark.skipif(not model_file("music-harmonizer").is_file(), reason="no shipped harmoniser")
def test_shipped_harmonizer_writes_clean_four_part_harmony():
    from museforge.music.harmonize import shipped_harmonizer

    model, meta = shipped_harmonizer()
    assert {"config", "data_sha256", "recipe", "metrics"} <= set(meta)
    voices = harmonize(model, MELODY, Meter(4, 4))
    v = voice_leading_violations(voices)
    assert v["parallel_fifths"] == v["parallel_octaves"] == v["crossings"] == 0
    assert json.loads(meta["metrics"])["test"]["nll"] < 1.0


@pytest.mark.slow
@pytest.mark.skipif(not model_file("music-melody").is_file(), reason="no shipped melody model")
def test_shipped_melody_model_continues_in_key_and_meter():
    from museforge.evaluate.music import scale_consistency
    from museforge.music.continuation import continue_melody, shipped_melody_model
    from museforge.music.theory import Key

    model, meta, index = shipped_melody_model()
    assert {"config", "data_sha256", "recipe"} <= set(meta) and index is not None and len(index) > 10_000
    motif = [Note(0, 0.5, 62, 80), Note(0.5, 0.5, 64, 80), Note(1, 1, 65, 80), Note(2, 1, 69, 80)]
    new = continue_melody(model, motif, Key("D", "minor"), "3/4", 3.0, 8, torch.Generator().manual_seed(0))
    assert new[-1].start + new[-1].duration == pytest.approx(27.0) and new[-1].pitch % 12 == 2
    assert scale_consistency(new) >= 0.8
