"""The goldfish loss mask: training that cannot learn to recite its data verbatim.

Hans et al. (2024), "Be like a Goldfish, Don't Memorize!": a token's loss is dropped when a hash of
the ``h`` tokens before it falls in one of ``k`` buckets (``k`` = 4 drops about a quarter). The hash
reads only the context, so every time a passage is seen the *same* tokens go unsupervised; the model
never learns what follows those contexts in the training data, and a verbatim recital of a long
passage breaks at the first of them. With random drops (dropout on the loss) every token would be
supervised on some epoch and the whole passage could still be learned.

Why a mask rather than a penalty: the GAN's novelty term (``museforge.image.gan``) pushes a
generated image away from its nearest training image through a differentiable distance. Text and
melodies are sampled token by token, so no gradient flows from "distance of the sampled poem to the
nearest training poem" back into the model; what can be withheld is the supervision that verbatim
recall needs. The mask costs nothing at run time and leaves the model and its checkpoints unchanged.

Positions near the start of a sequence (or of a document, given ``starts``) hash their context
padded with ``PAD``: a document always starts the same way, so its mask is fixed too.

>>> toks = torch.randint(0, 50, (4, 4000), generator=torch.Generator().manual_seed(0))
>>> keep = goldfish_keep(toks, k=4)
>>> round(1 - keep.float().mean().item(), 2)  # share dropped
0.25
>>> bool((goldfish_keep(toks, 0)).all())  # k = 0: off
True
"""

from __future__ import annotations

import torch

from museforge.errors import MuseforgeError

DEFAULT_H = 13
"""Context length hashed (the paper's default)."""
PAD = -1
"""What stands for the context before a sequence or document start."""
_P = 2_147_483_647  # 2**31 - 1, prime: every product below stays inside int64
_B = 1_000_003
_MIX = (1_664_525, 22_695_477)


def goldfish_keep(
    tokens: torch.Tensor, k: int, h: int = DEFAULT_H, starts: torch.Tensor | None = None, salt: int = 0
) -> torch.Tensor:
    """Boolean mask, ``tokens``' shape: False where the token's loss is dropped.

    ``tokens`` holds integer ids along its last dimension (a stream, or one sequence per row); a
    token is dropped when the hash of the ``h`` ids before it is 0 modulo ``k`` (``k`` = 0: nothing
    is dropped). ``starts``, for a 1-D stream, are the positions where documents begin: context
    does not reach across them. ``salt`` picks another, independent mask.

    The mask depends only on the context:

    >>> a = torch.tensor([7, 1, 2, 3, 4, 5, 6, 8, 9])
    >>> b = torch.tensor([0, 0, 1, 2, 3, 4, 5, 6, 8, 9])
    >>> goldfish_keep(a, 2, h=3)[4:].tolist() == goldfish_keep(b, 2, h=3)[5:].tolist()
    True
    """
    if k < 0 or h < 1:
        raise MuseforgeError(f"the goldfish mask needs k >= 0 and h >= 1 (got k={k}, h={h})")
    if k == 0:
        return torch.ones(tokens.shape, dtype=torch.bool, device=tokens.device)
    if tokens.dtype.is_floating_point or tokens.dim() == 0:
        raise MuseforgeError("the goldfish mask takes integer token ids with a length dimension")
    t = tokens.shape[-1]
    ids = tokens.long()
    pos = torch.arange(t, device=tokens.device)
    if starts is None:
        offset = pos.expand(tokens.shape)  # tokens seen since the sequence began
    else:
        if tokens.dim() != 1:
            raise MuseforgeError("document starts go with a 1-D token stream")
        first = torch.zeros(t, dtype=torch.long, device=tokens.device)
        first[starts.long()] = pos[starts.long()]
        offset = pos - torch.cummax(first, 0).values
    acc = torch.full(tokens.shape, salt % _P, dtype=torch.long, device=tokens.device)
    padded = torch.cat([ids.new_full((*tokens.shape[:-1], h), PAD), ids], dim=-1)
    for back in range(h, 0, -1):  # from the farthest context token to the nearest
        ctx = padded[..., h - back : h - back + t]
        ctx = torch.where(offset >= back, ctx, ids.new_tensor(PAD))
        acc = (acc * _B + (ctx + 2) % _P) % _P
    for m in _MIX:  # two multiplicative rounds spread the buckets
        acc = (acc * m + 12_345) % _P
    return (acc % k) != 0


def note_tokens(pitch: torch.Tensor, duration: torch.Tensor, n_duration: int) -> torch.Tensor:
    """One id per note from its pitch and duration tokens (what a melody's mask hashes).

    >>> note_tokens(torch.tensor([3, 3]), torch.tensor([0, 1]), 16).tolist()
    [48, 49]
    """
    return pitch.long() * n_duration + duration.long()
