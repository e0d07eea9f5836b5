"""A four-part chorale harmoniser: given a soprano on a sixteenth-note grid, write alto, tenor
and bass, one time step at a time.

The model: a bidirectional GRU reads the whole soprano (token, position in the bar, distance to
the end), so each step knows what the melody does next; a GRU decoder walks forward in time
over the lower voices it has already written, and at each step predicts alto, then tenor given
the alto, then bass given both (so the three are one joint choice per step). Tokens are
:mod:`museforge.music.data`'s hold / rest / pitch encoding.

Decoding is a small beam search under hard constraints: every voice in its range, no voice
crossing, spacing of at most an octave between upper voices, and no parallel fifths or
octaves between any two voices (a candidate that makes one is dropped; holding every lower
voice is always allowed, so a step never dead-ends).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from museforge.checkpoints import MUSIC_KINDS, load_checkpoint, metadata_strings
from museforge.checkpoints import save_checkpoint as save
from museforge.errors import MuseforgeError
from museforge.music.data import HIGH, HOLD, LOW, N_TOKENS, PITCH0, REST, pitch_of
from museforge.music.instruments import VOICE_RANGES as CHOIR_RANGES

VOICE_RANGES = {"soprano": (60, 81), "alto": (53, 74), "tenor": (48, 69), "bass": (40, 62)}
"""Where the decoder keeps each voice: Bach's usual ranges inside the choir's
(:data:`museforge.music.instruments.VOICE_RANGES`), MIDI pitches C4-A5, F3-D5, C3-A4, E2-D4."""
SOPRANO_INPUT_RANGE = CHOIR_RANGES["soprano"]
"""The melodies ``harmonize`` accepts: what a choir's sopranos sing (C4-C6)."""
MAX_POS, END_BUCKETS = 48, 16


@dataclass(frozen=True)
class HarmonizerConfig:
    n_tokens: int = N_TOKENS
    d_model: int = 160
    dropout: float = 0.25


def end_bucket(steps_left: np.ndarray) -> np.ndarray:
    """Distance to the end in quarters, capped: the model's sense of the final cadence.

    >>> end_bucket(np.array([0, 3, 4, 100])).tolist()
    [0, 0, 1, 15]
    """
    return np.minimum(steps_left // 4, END_BUCKETS - 1)


class Harmonizer(nn.Module):
    """Soprano tokens -> per-step distributions over alto, tenor and bass tokens."""

    def __init__(self, config: HarmonizerConfig) -> None:
        super().__init__()
        self.config = c = config
        d = c.d_model
        self.sop_emb = nn.Embedding(c.n_tokens, d)
        self.pos_emb = nn.Embedding(MAX_POS, d)
        self.end_emb = nn.Embedding(END_BUCKETS, d)
        self.encoder = nn.GRU(d, d // 2, batch_first=True, bidirectional=True)
        self.prev_emb = nn.ModuleList([nn.Embedding(c.n_tokens, d) for _ in range(3)])
        self.decoder = nn.GRU(2 * d, d, batch_first=True)
        self.cur_emb = nn.ModuleList([nn.Embedding(c.n_tokens, d) for _ in range(2)])
        self.heads = nn.ModuleList([nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, c.n_tokens))
                                    for _ in range(3)])
        self.drop = nn.Dropout(c.dropout)

    def encode(self, sop: torch.Tensor, pos: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
        """``(batch, steps, d)`` context of the soprano at each step."""
        x = self.sop_emb(sop) + self.pos_emb(pos) + self.end_emb(end)
        return self.drop(self.encoder(self.drop(x))[0])

    def step_input(self, ctx: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """Decoder input from the soprano context and the previous step's ``(A, T, B)`` tokens."""
        e = sum(emb(prev[..., i]) for i, emb in enumerate(self.prev_emb))
        return torch.cat([ctx, e], dim=-1)

    def head(self, voice: int, h: torch.Tensor, chosen: list[torch.Tensor]) -> torch.Tensor:
        """Logits of voice ``voice`` (0 alto, 1 tenor, 2 bass) given the decoder state and the
        tokens already chosen for the higher voices at this step."""
        z = h
        for i, tok in enumerate(chosen):
            z = z + self.cur_emb[i](tok)
        return self.heads[voice](z)

    def forward(self, sop: torch.Tensor, pos: torch.Tensor, end: torch.Tensor,
                atb: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(batch, steps, 3, n_tokens)`` for target ``atb`` ``(b, s, 3)``."""
        ctx = self.encode(sop, pos, end)
        prev = torch.cat([torch.full_like(atb[:, :1], REST), atb[:, :-1]], dim=1)
        h = self.drop(self.decoder(self.step_input(ctx, prev))[0])
        return torch.stack([self.head(0, h, []), self.head(1, h, [atb[..., 0]]),
                            self.head(2, h, [atb[..., 0], atb[..., 1]])], dim=2)

    def loss(self, sop: torch.Tensor, pos: torch.Tensor, end: torch.Tensor, atb: torch.Tensor,
             mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mean NLL (nats) per lower-voice token; ``mask`` ``(b, s)`` marks real steps."""
        logits = self(sop, pos, end, atb)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), atb.reshape(-1).long(),
                              reduction="none").view(atb.shape)
        if mask is None:
            return nll.mean()
        m = mask.unsqueeze(-1).expand_as(nll).float()
        return (nll * m).sum() / m.sum()

    @torch.no_grad()
    def generate(self, sop: np.ndarray, pos: np.ndarray, beam: int = 4, top_k: int = 5) -> np.ndarray:
        """Alto, tenor and bass tokens ``(3, steps)`` for a soprano token array, by constrained
        beam search (see the module docstring)."""
        return constrained_beam_search(self, sop, pos, beam, top_k)


# ------------------------------------------------------------------ constraints and decoding


def parallel_perfect(prev_hi: int, prev_lo: int, hi: int, lo: int) -> bool:
    """Whether two voices moving from ``(prev_hi, prev_lo)`` to ``(hi, lo)`` make parallel
    fifths or octaves (both move, same perfect interval class before and after).

    >>> parallel_perfect(67, 60, 69, 62), parallel_perfect(72, 60, 74, 62), parallel_perfect(67, 60, 67, 62)
    (True, True, False)
    >>> parallel_perfect(67, 60, 65, 58), parallel_perfect(67, 60, 69, 60)
    (True, False)
    """
    if prev_hi == hi or prev_lo == lo:
        return False
    before, after = (prev_hi - prev_lo) % 12, (hi - lo) % 12
    return before == after and after in (0, 7)


def _sounding(tok: int, prev_pitch: int) -> int:
    """The pitch sounding after a token (-1 for silence)."""
    if tok == HOLD:
        return prev_pitch
    if tok == REST:
        return -1
    return pitch_of(tok)


def _allowed(voice: int, upper: int, prev_pitch: int, rng: tuple[int, int], n_tokens: int,
             max_gap: int) -> np.ndarray:
    """Boolean mask of tokens voice ``voice`` may take under a voice sounding ``upper``."""
    mask = np.zeros(n_tokens, dtype=bool)
    lo, hi = max(rng[0], LOW), min(rng[1], HIGH)
    if upper >= 0:
        hi = min(hi, upper)
        lo = max(lo, upper - max_gap)
    if lo <= hi:
        mask[PITCH0 + lo - LOW : PITCH0 + hi - LOW + 1] = True
    if prev_pitch >= 0 and (upper < 0 or (upper - max_gap <= prev_pitch <= upper)):
        mask[HOLD] = True
    return mask


def constrained_beam_search(model: Harmonizer, sop: np.ndarray, pos: np.ndarray, beam: int = 4,
                            top_k: int = 5) -> np.ndarray:
    """Beam search over joint (A, T, B) steps with the hard rules of the module docstring.

    Each step expands every beam by the ``top_k`` allowed altos, then tenors, then basses (one
    batched head call per voice), drops candidates with parallels, and keeps the best ``beam``.
    """
    steps = len(sop)
    ranges = [VOICE_RANGES["alto"], VOICE_RANGES["tenor"], VOICE_RANGES["bass"]]
    gaps = [12, 12, 24]
    n_tok = model.config.n_tokens
    sop_t = torch.as_tensor(sop, dtype=torch.long)[None]
    pos_t = torch.as_tensor(np.minimum(pos, MAX_POS - 1), dtype=torch.long)[None]
    end_t = torch.as_tensor(end_bucket(steps - 1 - np.arange(steps)), dtype=torch.long)[None]
    ctx = model.encode(sop_t, pos_t, end_t)[0]  # (steps, d)
    hidden = torch.zeros(1, 1, model.config.d_model)
    prev_tok = torch.full((1, 3), REST, dtype=torch.long)
    pitches = np.full((1, 3), -1)  # sounding A, T, B per beam
    scores = np.zeros(1)
    back: list[tuple[np.ndarray, np.ndarray]] = []  # per step: parent beam, (A, T, B) tokens
    s_pitch, s_last = -1, -1  # the soprano now, and its last sounding pitch (across rests)
    for t in range(steps):
        s_pitch = _sounding(int(sop[t]), s_pitch)
        s_prev = s_last  # parallels are checked across a soprano rest too
        if s_pitch >= 0:
            s_last = s_pitch
        nb = len(scores)
        out, hidden = model.decoder(model.step_input(ctx[t].expand(nb, -1), prev_tok)[:, None], hidden)
        h = out[:, 0]
        # altos
        logp_a = F.log_softmax(model.head(0, h, []), -1).numpy()
        rows_a = [(b, ta) for b in range(nb) for ta in _top(
            logp_a[b], _allowed(0, s_pitch, int(pitches[b, 0]), ranges[0], n_tok, gaps[0]), top_k)]
        if rows_a:
            ib = torch.tensor([r[0] for r in rows_a])
            ta_t = torch.tensor([r[1] for r in rows_a])
            logp_t = F.log_softmax(model.head(1, h[ib], [ta_t]), -1).numpy()
            rows_t = []
            for i, (b, ta) in enumerate(rows_a):
                a = _sounding(ta, int(pitches[b, 0]))
                mask = _allowed(1, a, int(pitches[b, 1]), ranges[1], n_tok, gaps[1])
                rows_t += [(i, tt) for tt in _top(logp_t[i], mask, top_k)]
        if rows_a and rows_t:
            ia = torch.tensor([r[0] for r in rows_t])
            tt_t = torch.tensor([r[1] for r in rows_t])
            logp_b = F.log_softmax(model.head(2, h[ib[ia]], [ta_t[ia], tt_t]), -1).numpy()
            cand_b, cand_tok, cand_score = [], [], []
            for j, (i, tt) in enumerate(rows_t):
                b, ta = rows_a[i]
                tn = _sounding(tt, int(pitches[b, 1]))
                mask = _allowed(2, tn, int(pitches[b, 2]), ranges[2], n_tok, gaps[2])
                base = scores[b] + logp_a[b, ta] + logp_t[i, tt]
                for tb in _top(logp_b[j], mask, top_k):
                    cand_b.append(b)
                    cand_tok.append((ta, tt, tb))
                    cand_score.append(base + logp_b[j, tb])
            cb, ctok, csc = np.array(cand_b), np.array(cand_tok).reshape(-1, 3), np.array(cand_score)
            if len(cb):
                new = _sounding_array(ctok, pitches[cb])
                old = pitches[cb]
                keep = ~_parallels(s_prev, s_pitch, old, new)
                cb, ctok, csc = cb[keep], ctok[keep], csc[keep]
        else:
            cb = np.zeros(0, dtype=int)
        if not len(cb):  # hold every lower voice: oblique motion only, never a parallel
            ok = np.where((pitches >= 0).all(1))[0]
            cb = ok if len(ok) else np.zeros(1, dtype=int)
            ctok = np.full((len(cb), 3), HOLD if len(ok) else REST)
            csc = scores[cb]
        order = np.lexsort((np.arange(len(csc)), -csc))[:beam]
        cb, ctok, csc = cb[order], ctok[order], csc[order]
        hidden = hidden[:, torch.as_tensor(cb)]
        prev_tok = torch.as_tensor(ctok, dtype=torch.long)
        pitches = _sounding_array(ctok, pitches[cb])
        scores = csc
        back.append((cb, ctok))
    # follow the best beam back
    out_tok = np.zeros((3, steps), dtype=np.int64)
    b = 0
    for t in range(steps - 1, -1, -1):
        parents, toks = back[t]
        out_tok[:, t] = toks[b]
        b = int(parents[b])
    return out_tok


def _sounding_array(tokens: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """Sounding pitches after ``tokens`` (n, 3) given the previous ones (n, 3)."""
    return np.where(tokens == HOLD, prev, np.where(tokens == REST, -1, tokens - PITCH0 + LOW))


def _parallels(s_prev: int, s_now: int, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """For each candidate row, whether any two of the four voices move in parallel fifths or
    octaves (the soprano is the same for every row)."""
    n = len(old)
    o = np.concatenate([np.full((n, 1), s_prev), old], axis=1)
    w = np.concatenate([np.full((n, 1), s_now), new], axis=1)
    bad = np.zeros(n, dtype=bool)
    for i in range(4):
        for j in range(i + 1, 4):
            sounding = (o[:, i] >= 0) & (o[:, j] >= 0) & (w[:, i] >= 0) & (w[:, j] >= 0)
            moved = (o[:, i] != w[:, i]) & (o[:, j] != w[:, j])
            before, after = (o[:, i] - o[:, j]) % 12, (w[:, i] - w[:, j]) % 12
            bad |= sounding & moved & (before == after) & ((after == 0) | (after == 7))
    return bad


def _top(logp: np.ndarray, mask: np.ndarray, k: int) -> list[int]:
    if not mask.any():
        return []
    masked = np.where(mask, logp, -np.inf)
    order = np.argsort(-masked, kind="stable")[:k]
    return [int(i) for i in order if np.isfinite(masked[i])]


# ------------------------------------------------------------------ checkpoints


def save_checkpoint(model: nn.Module, path: Path, config: Any, metadata: dict[str, Any]) -> None:
    """Save weights with the config, the model's class and ``metadata`` in the header
    (:func:`museforge.checkpoints.save_checkpoint`; the kind follows the class)."""
    name = type(model).__name__
    kind = MUSIC_KINDS.get(name, f"museforge-{name.lower()}")
    save(path, model.state_dict(), config=asdict(config), kind=kind, metadata={"class": name, **metadata})


def load_harmonizer(path: Path) -> tuple[Harmonizer, dict[str, str]]:
    """The harmoniser in a checkpoint, in eval mode, and its metadata (values as strings: JSON for
    anything but a string, as the header was written before :mod:`museforge.checkpoints`)."""
    if not Path(path).is_file():
        raise MuseforgeError(f"model file {path} not found; train it with its recipe in recipes/")
    tensors, meta = load_checkpoint(path, kind=MUSIC_KINDS["Harmonizer"])
    model = Harmonizer(HarmonizerConfig(**meta["config"]))
    model.load_state_dict(tensors)
    return model.eval(), metadata_strings(meta)
