"""The harmony family: the four-part chorale harmoniser (``museforge.music.harmonizer``).

Chorales are :func:`museforge.music.data.load_chorales` items (``tokens`` ``(4, steps)`` on the
sixteenth-note grid, ``pos``). A batch is crops of ``length`` steps, each transposed by a random
shift of -6..+5 semitones that keeps every voice in the token range, all drawn from the step's
generator; the loss is the model's NLL of the alto, tenor and bass tokens given the soprano, and
the held-out loss is :func:`museforge.evaluate.music.chorale_nll` over whole chorales.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from museforge.errors import MuseforgeError
from museforge.music.data import HIGH, LOW, PITCH0
from museforge.music.harmonizer import (
    MAX_POS,
    Harmonizer,
    HarmonizerConfig,
    end_bucket,
    load_harmonizer,
    save_checkpoint,
)
from museforge.train.loop import Family

CROP = 128
"""Crop length in sixteenths (8 bars of 4/4)."""


def transpose(tokens: np.ndarray, k: int) -> np.ndarray:
    """Tokens moved by ``k`` semitones (hold and rest stay).

    >>> transpose(np.array([0, 1, PITCH0]), 2).tolist()
    [0, 1, 4]
    """
    out = tokens.astype(np.int64).copy()
    out[out >= PITCH0] += k
    return out


def shift_range(tokens: np.ndarray) -> tuple[int, int]:
    """The transpositions (at most -6..+5) that keep every note in the token range."""
    pitched = tokens[tokens >= PITCH0] - PITCH0 + LOW
    return max(-6, LOW - int(pitched.min())), min(5, HIGH - int(pitched.max()))


def tensors(chorale: dict, start: int, length: int, k: int) -> tuple[torch.Tensor, ...]:
    """Soprano, bar position, distance to the end and ``(steps, 3)`` lower voices of one crop."""
    tok = transpose(chorale["tokens"], k)
    steps = tok.shape[1]
    end = end_bucket(steps - 1 - np.arange(steps))
    sl = slice(start, start + length)
    return (
        torch.as_tensor(tok[0, sl]),
        torch.as_tensor(np.minimum(chorale["pos"][sl], MAX_POS - 1)),
        torch.as_tensor(end[sl]),
        torch.as_tensor(tok[1:, sl].T),
    )


def draw_batch(
    chorales: list[dict], size: int, length: int, gen: torch.Generator
) -> tuple[torch.Tensor, ...]:
    """``(sop, pos, end, atb, mask)`` of ``size`` random transposed crops, padded to the longest."""
    rows = []
    for _ in range(size):
        c = chorales[int(torch.randint(len(chorales), (1,), generator=gen))]
        steps = c["tokens"].shape[1]
        start = int(torch.randint(max(1, steps - length + 1), (1,), generator=gen))
        lo, hi = shift_range(c["tokens"])
        k = int(torch.randint(lo, hi + 1, (1,), generator=gen))
        rows.append(tensors(c, start, length, k))
    n = max(r[0].shape[0] for r in rows)
    out = []
    for i in range(4):
        pad = [F.pad(r[i], (0, 0, 0, n - len(r[i])) if i == 3 else (0, n - len(r[i]))) for r in rows]
        out.append(torch.stack(pad).long())
    mask = torch.stack([torch.arange(n) < r[0].shape[0] for r in rows])
    return (*out, mask)


def accuracy(model: Harmonizer, chorales: list[dict]) -> float:
    """Share of alto, tenor and bass tokens of whole chorales that the model ranks first
    (teacher-forced, given the soprano)."""
    right = total = 0
    for c in chorales:
        sop, pos, end, atb = (t[None].long() for t in tensors(c, 0, c["tokens"].shape[1], 0))
        right += int((model(sop, pos, end, atb).argmax(-1) == atb).sum())
        total += atb.numel()
    return right / max(1, total)


class HarmonyFamily(Family):
    """The harmoniser on chorales ``train`` (held out for model selection: ``val``)."""

    def __init__(
        self,
        train: list[dict],
        val: list[dict],
        *,
        base: Path | None = None,
        config: HarmonizerConfig | None = None,
        data_sha256: str = "",
        recipe: str = "museforge train music --model harmonizer",
        length: int = CROP,
        seed: int = 0,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not train:
            raise MuseforgeError("no four-part chorales to train on (each item needs exactly four parts)")
        if any(not (c["tokens"] >= PITCH0).any() for c in [*train, *val]):
            raise MuseforgeError("a chorale holds no notes; leave it out of the data")
        if base is not None:
            model, meta = load_harmonizer(base)
            self.base_meta: dict[str, Any] = {
                "from": str(base),
                "from_data_sha256": meta.get("data_sha256", ""),
            }
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = Harmonizer(config or HarmonizerConfig())
            self.base_meta = {}
        super().__init__(name="harmony", model=model.train())
        self.train_set, self.val_set = train, val or train
        self.data_sha256, self.recipe, self.length = data_sha256, recipe, length
        self.metadata = metadata or {}

    def fingerprint(self) -> dict[str, Any]:
        return {
            "family": "harmony",
            "config": asdict(self.model.config),
            "data": self.data_sha256,
            "length": self.length,
            **self.base_meta,
        }

    def batch(self, generator: torch.Generator, size: int) -> tuple[torch.Tensor, ...]:
        return draw_batch(self.train_set, size, self.length, generator)

    def loss(self, model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        inner = getattr(model, "module", model)
        device = next(inner.parameters()).device
        batch = tuple(t.to(device) for t in batch)
        if model is inner:
            return inner.loss(*batch)
        sop, pos, end, atb, mask = batch  # through the distributed wrapper's forward
        logits = model(sop, pos, end, atb)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), atb.reshape(-1), reduction="none")
        m = mask.unsqueeze(-1).expand_as(atb).reshape(-1).float()
        return (nll * m).sum() / m.sum()

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        from museforge.evaluate.music import chorale_nll

        model = _on_cpu(model)
        metrics = chorale_nll(model, self.val_set)
        per_voice = {k: v for k, v in metrics.items() if k.startswith("nll_")}
        return {"loss": metrics["nll"], **per_voice, "accuracy": accuracy(model, self.val_set)}

    def save(self, model: torch.nn.Module, path: Path, metrics: dict[str, Any]) -> None:
        meta = {"data_sha256": self.data_sha256, "recipe": self.recipe, **self.metadata, **self.base_meta}
        save_checkpoint(_on_cpu(model), path, model.config, {**meta, "metrics": metrics})


def _on_cpu(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` itself on the CPU, else a CPU copy (evaluation and saving work on the CPU)."""
    import copy

    return model if next(model.parameters()).device.type == "cpu" else copy.deepcopy(model).cpu()
