"""A folk-melody model: a GRU over notes that predicts the next note's pitch (relative to the
tonic, so every key is one) and then its duration, knowing where in the bar it falls.

Each input step describes the previous note (pitch, duration), where the next note starts in
the bar, and the tune's meter and mode. ``generate`` continues a motif to a given length: every
duration fits the time left, and the last note is the tonic, held to the end of the last bar.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from museforge.checkpoints import MUSIC_KINDS, load_checkpoint, metadata_strings
from museforge.errors import MuseforgeError
from museforge.originality.melody import MelodyIndex

REL_LOW, REL_HIGH = -19, 30
"""Pitches relative to the tonic in the octave from middle C (C4 + tonic pitch class)."""
REST_TOK = 0
BOS_TOK = REL_HIGH - REL_LOW + 2
N_PITCH = BOS_TOK + 1
DURATIONS = (1 / 6, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 4.5, 6.0, 8.0)
N_DUR = len(DURATIONS) + 1  # last: BOS
METERS = ("2/4", "3/4", "4/4", "6/8", "9/8", "12/8", "2/2", "3/8", "other")
MODES = ("major", "minor", "dorian", "mixolydian")
POS_PER_QUARTER, MAX_POS = 12, 96


def pitch_token(pitch: int, tonic: int) -> int:
    """Token of a MIDI pitch (or -1 for a rest) relative to a tonic pitch class; -1 if the
    pitch lies outside the model's range.

    >>> pitch_token(62, 2), pitch_token(-1, 0), pitch_token(50, 2)
    (20, 0, 8)
    """
    if pitch < 0:
        return REST_TOK
    rel = pitch - (60 + tonic)
    return rel - REL_LOW + 1 if REL_LOW <= rel <= REL_HIGH else -1


def token_pitch(token: int, tonic: int) -> int:
    """The MIDI pitch of a pitch token (-1 for a rest); inverse of :func:`pitch_token`."""
    return -1 if token == REST_TOK else int(token) - 1 + REL_LOW + 60 + tonic


def duration_token(quarters: float) -> int:
    """The nearest duration class.

    >>> duration_token(0.5), duration_token(0.49), DURATIONS[duration_token(1.4)]
    (3, 3, 1.5)
    """
    return int(np.argmin([abs(quarters - d) for d in DURATIONS]))


def pos_token(offset_in_bar: float) -> int:
    return min(MAX_POS - 1, round(offset_in_bar * POS_PER_QUARTER))


def meter_token(meter: str) -> int:
    return METERS.index(meter) if meter in METERS else len(METERS) - 1


def mode_token(mode: str) -> int:
    return MODES.index(mode) if mode in MODES else 0


@dataclass(frozen=True)
class MelodyConfig:
    d_model: int = 192
    layers: int = 2
    dropout: float = 0.2


class MelodyModel(nn.Module):
    def __init__(self, config: MelodyConfig) -> None:
        super().__init__()
        self.config = c = config
        d = c.d_model
        self.p_emb = nn.Embedding(N_PITCH, d)
        self.d_emb = nn.Embedding(N_DUR, d)
        self.pos_emb = nn.Embedding(MAX_POS, d)
        self.meter_emb = nn.Embedding(len(METERS), d)
        self.mode_emb = nn.Embedding(len(MODES), d)
        self.gru = nn.GRU(d, d, num_layers=c.layers, batch_first=True, dropout=c.dropout)
        self.next_p_emb = nn.Embedding(N_PITCH, d)
        self.p_head = nn.Linear(d, N_PITCH)
        self.d_head = nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, N_DUR))
        self.drop = nn.Dropout(c.dropout)

    def inputs(self, prev_p: torch.Tensor, prev_d: torch.Tensor, pos: torch.Tensor,
               meter: torch.Tensor, mode: torch.Tensor) -> torch.Tensor:
        x = (self.p_emb(prev_p) + self.d_emb(prev_d) + self.pos_emb(pos)
             + self.meter_emb(meter)[:, None] + self.mode_emb(mode)[:, None])
        return self.drop(x)

    def forward(self, prev_p: torch.Tensor, prev_d: torch.Tensor, pos: torch.Tensor, meter: torch.Tensor,
                mode: torch.Tensor, next_p: torch.Tensor, hidden: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pitch logits, duration logits (given ``next_p``) and the GRU state."""
        h, hidden = self.gru(self.inputs(prev_p, prev_d, pos, meter, mode), hidden)
        h = self.drop(h)
        return self.p_head(h), self.d_head(h + self.next_p_emb(next_p)), hidden

    def loss(self, batch: dict[str, torch.Tensor], keep: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean NLL per note of the pitch and of the duration, over ``batch['mask']`` (and
        ``keep``, a loss mask such as ``museforge.originality.novelty.goldfish_keep``'s, when given)."""
        lp, ld, _ = self(batch["prev_p"], batch["prev_d"], batch["pos"], batch["meter"], batch["mode"],
                         batch["next_p"])
        m = batch["mask"].float() if keep is None else (batch["mask"] & keep.bool()).float()
        nll_p = F.cross_entropy(lp.transpose(1, 2), batch["next_p"], reduction="none")
        nll_d = F.cross_entropy(ld.transpose(1, 2), batch["next_d"], reduction="none")
        return (nll_p * m).sum() / m.sum(), (nll_d * m).sum() / m.sum()

    @torch.no_grad()
    def generate(self, motif: list[tuple[int, float, float]], tonic: int, mode: str, meter: str, bar: float,
                 end: float, generator: torch.Generator, temperature: float = 0.9,
                 top_k: int = 12, avoid: MelodyIndex | None = None) -> list[tuple[int, float, float]]:
        """Continue ``motif`` (``(pitch, duration, start)``, pitch -1 for rests, starts from a bar
        line) until ``end`` quarters; returns only the new notes.

        With ``avoid``, a corpus index, no pitch that would complete an interval run of the
        corpus (counting from the motif's pitches on) is ever sampled: the mask costs one binary
        search a step. Only the forced final tonic can still complete one, when all three
        octaves of it would; the caller's guard catches that."""
        self.eval()
        met = torch.tensor([meter_token(meter)])
        mod = torch.tensor([mode_token(mode)])
        prev_p, prev_d, t, hidden = BOS_TOK, N_DUR - 1, 0.0, None
        h = None
        history = [pitch for pitch, _, _ in motif if pitch >= 0]  # the line so far, rests left out
        for pitch, dur, start in motif:
            tok = pitch_token(pitch, tonic)
            tok = tok if tok >= 0 else REST_TOK
            h, hidden = self._step(prev_p, prev_d, start % bar, met, mod, hidden)
            prev_p, prev_d, t = tok, duration_token(dur), start + dur
        out: list[tuple[int, float, float]] = []
        tonic_toks = [pitch_token(60 + tonic + k, tonic) for k in (-12, 0, 12)]
        pitched = np.arange(REST_TOK + 1, BOS_TOK)
        pitched_midi = np.array([token_pitch(int(k), tonic) for k in pitched])
        while end - t > 1e-6 and len(out) < 4096:
            h, hidden = self._step(prev_p, prev_d, t % bar, met, mod, hidden)
            left = end - t
            # a note other than the last must leave half a bar for the final tonic, on the grid
            fits = [i for i, d in enumerate(DURATIONS) if d <= left - bar / 2 + 1e-9
                    and abs((t + d) * POS_PER_QUARTER - round((t + d) * POS_PER_QUARTER)) < 1e-6]
            final = not fits
            logits = self.p_head(h)[0] / temperature
            logits[BOS_TOK] = -np.inf
            allowed = (avoid.allowed_next(history, pitched_midi) if avoid is not None
                       else np.ones(pitched.size, dtype=bool))
            if final:  # the last note: the tonic nearest the previous pitch, held to the end
                ref = prev_p if prev_p not in (REST_TOK, BOS_TOK) else pitch_token(60 + tonic, tonic)
                ok = {int(k) for k in pitched[allowed]}
                logits = torch.full_like(logits, -np.inf)
                logits[min(tonic_toks, key=lambda k: (k not in ok, abs(k - ref), k))] = 0.0
            elif not allowed.all():
                logits[torch.from_numpy(pitched[~allowed])] = -np.inf  # a rest is always allowed
            p_tok = _sample(logits, top_k, generator)
            if final:
                d_val = left
            else:
                ld = self.d_head(h + self.next_p_emb(torch.tensor([p_tok])))[0] / temperature
                keep = torch.full_like(ld, -np.inf)
                keep[fits] = 0.0
                d_val = DURATIONS[_sample(ld + keep, top_k, generator)]
            out.append((token_pitch(p_tok, tonic), float(d_val), t))
            if p_tok != REST_TOK:
                history.append(token_pitch(p_tok, tonic))
            prev_p, prev_d, t = p_tok, duration_token(d_val), t + d_val
        return out

    def _step(self, prev_p: int, prev_d: int, pos: float, met: torch.Tensor, mod: torch.Tensor,
              hidden: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.inputs(torch.tensor([[prev_p]]), torch.tensor([[prev_d]]),
                        torch.tensor([[pos_token(pos)]]), met, mod)
        h, hidden = self.gru(x, hidden)
        return h[:, 0], hidden


def _sample(logits: torch.Tensor, top_k: int, generator: torch.Generator) -> int:
    k = min(top_k, int(torch.isfinite(logits).sum()))
    vals, idx = torch.topk(logits, k)
    probs = torch.softmax(vals, -1)
    return int(idx[torch.multinomial(probs, 1, generator=generator)])


def config_json(config: MelodyConfig) -> str:
    return json.dumps(asdict(config))


def load_melody_model(path: Path) -> tuple[MelodyModel, dict[str, str]]:
    """The melody model in a checkpoint (:mod:`museforge.checkpoints`, saved with
    ``harmonizer.save_checkpoint``), in eval mode, and its metadata as strings."""
    if not Path(path).is_file():
        raise MuseforgeError(f"model file {path} not found; train it with 'python recipes/music_melody.py'")
    tensors, meta = load_checkpoint(path, kind=MUSIC_KINDS["MelodyModel"])
    model = MelodyModel(MelodyConfig(**meta["config"]))
    model.load_state_dict(tensors)
    return model.eval(), metadata_strings(meta)
