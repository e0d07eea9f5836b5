"""The music family: the folk-melody GRU (``museforge.music.melody_model``) on MIDI or MusicXML.

Each file's first part is read as a tune (``music.data.extract_tune``): its notes, key, meter and
bar; a file without a written key gets the key music21 finds, one without a meter 4/4. Pitches are
taken relative to the tonic, so every key is one; a batch is crops of ``length`` notes. With
``goldfish_k`` > 0 the goldfish mask (:mod:`museforge.originality.novelty`) drops some notes' loss.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from museforge.errors import MuseforgeError
from museforge.music.data import extract_tune
from museforge.music.melody_model import (
    BOS_TOK,
    N_DUR,
    MelodyConfig,
    MelodyModel,
    duration_token,
    load_melody_model,
    meter_token,
    mode_token,
    pitch_token,
    pos_token,
)
from museforge.train.loop import Family

CROP = 96


def read_tune(path: Path) -> dict | None:
    """The tune in a MIDI or MusicXML file (None when it has fewer than eight notes)."""
    import music21

    try:
        score = music21.converter.parse(str(path))
    except Exception as err:
        raise MuseforgeError(f"cannot read {path.name} as music ({type(err).__name__})") from None
    part = score.parts[0] if score.parts else score
    flat = part.flatten()
    if not flat.getElementsByClass(("Key", "KeySignature")):
        part.insert(0, score.analyze("key"))
    if not part.recurse().getElementsByClass("TimeSignature"):
        part.insert(0, music21.meter.TimeSignature("4/4"))
        if not part.getElementsByClass("Measure"):
            part.makeMeasures(inPlace=True)
    return extract_tune(part)


def encode(tune: dict) -> dict[str, Any] | None:
    """Token arrays of a tune (None when a pitch falls outside the model's range)."""
    notes = np.asarray(tune["notes"], dtype=float)
    p = np.array([pitch_token(int(x), tune["tonic"]) for x in notes[:, 0]])
    if (p < 0).any():
        return None
    d = np.array([duration_token(float(x)) for x in notes[:, 1]])
    pos = np.array([pos_token(float(o) % tune["bar"]) for o in notes[:, 2]])
    return {"p": p, "d": d, "pos": pos, "meter": meter_token(tune["meter"]), "mode": mode_token(tune["mode"])}


def collate(rows: list[tuple[dict, int, int]]) -> dict[str, torch.Tensor]:
    """Padded tensors of crops ``(sequence, start, end)``; ``mask`` marks real notes."""
    n = max(b - a for _, a, b in rows)
    out = {
        k: torch.zeros(len(rows), n, dtype=torch.long)
        for k in ("prev_p", "prev_d", "pos", "next_p", "next_d")
    }
    out["mask"] = torch.zeros(len(rows), n, dtype=torch.bool)
    if "keep" in rows[0][0]:
        out["keep"] = torch.zeros(len(rows), n, dtype=torch.bool)
    out["meter"] = torch.tensor([s["meter"] for s, _, _ in rows])
    out["mode"] = torch.tensor([s["mode"] for s, _, _ in rows])
    for i, (s, a, b) in enumerate(rows):
        m = b - a
        prev_p = np.concatenate([[BOS_TOK], s["p"][a : b - 1]]) if a == 0 else s["p"][a - 1 : b - 1]
        prev_d = np.concatenate([[N_DUR - 1], s["d"][a : b - 1]]) if a == 0 else s["d"][a - 1 : b - 1]
        out["prev_p"][i, :m] = torch.as_tensor(prev_p)
        out["prev_d"][i, :m] = torch.as_tensor(prev_d)
        out["pos"][i, :m] = torch.as_tensor(s["pos"][a:b])
        out["next_p"][i, :m] = torch.as_tensor(s["p"][a:b])
        out["next_d"][i, :m] = torch.as_tensor(s["d"][a:b])
        out["mask"][i, :m] = True
        if "keep" in out:
            out["keep"][i, :m] = torch.as_tensor(s["keep"][a:b])
    return out


class MusicFamily(Family):
    """The melody model on encoded tunes ``train`` (held out: ``val``)."""

    def __init__(
        self,
        train: list[dict],
        val: list[dict],
        *,
        base: Path | None = None,
        config: MelodyConfig | None = None,
        data_sha256: str = "",
        recipe: str = "museforge train music",
        length: int = CROP,
        goldfish_k: int = 0,
    ) -> None:
        if not train:
            raise MuseforgeError("no usable tunes to train on (each needs eight notes or more)")
        if base is not None:
            model, meta = load_melody_model(base)
            self.base_meta: dict[str, Any] = {
                "from": str(base),
                "from_data_sha256": meta.get("data_sha256", ""),
            }
        else:
            torch.manual_seed(0)
            model = MelodyModel(config or MelodyConfig())
            self.base_meta = {}
        super().__init__(name="music", model=model.train())
        self.goldfish_k = goldfish_k
        self.train_seqs = [_with_keep(s, goldfish_k) for s in train] if goldfish_k else train
        self.val_seqs = val or train
        self.data_sha256, self.recipe, self.length = data_sha256, recipe, length

    def fingerprint(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "family": "music",
            "config": asdict(self.model.config),
            "data": self.data_sha256,
            "length": self.length,
            "goldfish_k": self.goldfish_k,
            **self.base_meta,
        }

    def batch(self, generator: torch.Generator, size: int) -> dict[str, torch.Tensor]:
        rows = []
        for _ in range(size):
            s = self.train_seqs[int(torch.randint(len(self.train_seqs), (1,), generator=generator))]
            n = len(s["p"])
            a = int(torch.randint(n - self.length + 1, (1,), generator=generator)) if n > self.length else 0
            rows.append((s, a, min(n, a + self.length)))
        return collate(rows)

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        inner = getattr(model, "module", model)
        keep = batch.get("keep")
        lp, ld = inner.loss(batch, keep) if model is inner else _ddp_loss(model, batch, keep)
        return lp + ld

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        tp = td = count = 0.0
        for i in range(0, len(self.val_seqs), 32):
            batch = collate([(s, 0, len(s["p"])) for s in self.val_seqs[i : i + 32]])
            lp, ld = model.loss(batch)
            n = float(batch["mask"].sum())
            tp, td, count = tp + float(lp) * n, td + float(ld) * n, count + n
        return {"loss": (tp + td) / count, "nll_pitch": tp / count, "nll_duration": td / count}

    def save(self, model: torch.nn.Module, path: Path, metrics: dict[str, float]) -> None:
        from museforge.music.harmonizer import save_checkpoint

        save_checkpoint(
            model,
            path,
            model.config,
            {"data_sha256": self.data_sha256, "recipe": self.recipe, "metrics": metrics, **self.base_meta},
        )


def _with_keep(seq: dict, k: int) -> dict:
    """A tune with its goldfish mask, computed on the whole tune so crops agree."""
    from museforge.originality.novelty import goldfish_keep, note_tokens

    notes = note_tokens(torch.as_tensor(seq["p"]), torch.as_tensor(seq["d"]), N_DUR)
    return {**seq, "keep": goldfish_keep(notes, k).numpy()}


def _ddp_loss(
    model: torch.nn.Module, batch: dict[str, torch.Tensor], keep: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's loss through its distributed wrapper's ``forward`` (so gradients are reduced)."""
    from torch.nn import functional as F

    lp, ld, _ = model(
        batch["prev_p"], batch["prev_d"], batch["pos"], batch["meter"], batch["mode"], batch["next_p"]
    )
    m = (batch["mask"] if keep is None else batch["mask"] & keep).float()
    nll_p = F.cross_entropy(lp.transpose(1, 2), batch["next_p"], reduction="none")
    nll_d = F.cross_entropy(ld.transpose(1, 2), batch["next_d"], reduction="none")
    return (nll_p * m).sum() / m.sum(), (nll_d * m).sum() / m.sum()
