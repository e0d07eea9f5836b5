"""A text-conditional GAN on the same captioned paintings as the diffusion model, for comparison.

The game (Goodfellow et al. 2014) is ``min_G max_D V(D, G)`` with

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

The discriminator maximises V, that is it minimises

    L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))] = softplus(-d(x)) + softplus(d(G(z)))

with ``d`` its logit (D = sigmoid(d)). The generator is trained with the non-saturating loss

    L_G = -E_z[log D(G(z))] = softplus(-d(G(z)))

instead of minimising E_z[log(1 - D(G(z)))]: both have the same fixed point (D cannot tell, G makes
the data distribution), but early in training, when D rejects every fake with confidence,
log(1 - D(G(z))) is flat and gives the generator almost no gradient, while -log D(G(z)) is steepest
there. Stability: spectral normalisation on every discriminator layer (Miyato et al. 2018), a
projection discriminator for the text condition (Miyato & Koyama 2018) and R1 on real images
(Mescheder et al. 2018).

Generator and discriminator share the diffusion model's tokenizer and text encoder design; the
64 px output goes through the same learned x4 upscaler.

Optionally (``GANTrainConfig.novelty_weight`` > 0; off by default) the generator is also penalised
for coming close to its nearest training image:

    L_G + lambda * E_z[relu(max_j cos(phi(G(z)), phi(x_j)) - margin)]

over the training images x_j, with ``phi`` a fixed feature (``novelty_features``: the image
average-pooled to 16 px, minus its own mean, unit length, so the cosine is the correlation of the
two thumbnails) kept for all of them in a bank before training (``novelty_bank``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


@dataclass(frozen=True)
class GANConfig:
    size: int = 64
    z_dim: int = 128
    width: int = 64
    text_dim: int = 256

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pooled(text: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the real tokens' vectors: one vector per prompt."""
    weights = mask.to(text.dtype).unsqueeze(-1)
    return (text * weights).sum(1) / weights.sum(1).clamp(min=1)


class _Up(nn.Module):
    def __init__(self, c_in: int, c_out: int, cond: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(c_in, affine=False)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm2 = nn.BatchNorm2d(c_out, affine=False)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.film1 = nn.Linear(cond, 2 * c_in)
        self.film2 = nn.Linear(cond, 2 * c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    @staticmethod
    def _modulate(x: torch.Tensor, film: torch.Tensor) -> torch.Tensor:
        gain, bias = film[:, :, None, None].chunk(2, 1)
        return x * (1 + gain) + bias

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.conv1(F.relu(self._modulate(self.norm1(x), self.film1(cond))))
        h = self.conv2(F.relu(self._modulate(self.norm2(h), self.film2(cond))))
        return h + self.skip(x)


class Generator(nn.Module):
    """Noise and a prompt vector -> an image in [-1, 1], ``size`` px."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        levels = {32: 3, 64: 4, 128: 5}[cfg.size]
        widths = [cfg.width * 2 ** (levels - i) // 2 for i in range(levels + 1)]
        cond = cfg.z_dim + cfg.text_dim
        self.start = nn.Linear(cond, widths[0] * 16)
        self.blocks = nn.ModuleList(_Up(widths[i], widths[i + 1], cond) for i in range(levels))
        last = widths[-1]
        self.out = nn.Sequential(nn.BatchNorm2d(last), nn.ReLU(), nn.Conv2d(last, 3, 3, padding=1))
        self.width0 = widths[0]

    def forward(self, z: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        cond = torch.cat([z, text], 1)
        x = self.start(cond).view(-1, self.width0, 4, 4)
        for block in self.blocks:
            x = block(x, cond)
        return torch.tanh(self.out(x))


class _Down(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = spectral_norm(nn.Conv2d(c_in, c_out, 3, padding=1))
        self.conv2 = spectral_norm(nn.Conv2d(c_out, c_out, 3, padding=1))
        self.skip = spectral_norm(nn.Conv2d(c_in, c_out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.leaky_relu(self.conv1(F.leaky_relu(x, 0.2)), 0.2))
        return F.avg_pool2d(h + self.skip(x), 2)


class Discriminator(nn.Module):
    """An image and a prompt vector -> a logit (projection discriminator)."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        levels = {32: 3, 64: 4, 128: 5}[cfg.size]
        widths = [3] + [cfg.width * 2**i for i in range(levels)]
        self.blocks = nn.Sequential(*(_Down(widths[i], widths[i + 1]) for i in range(levels)))
        self.head = spectral_norm(nn.Linear(widths[-1], 1))
        self.project = spectral_norm(nn.Linear(cfg.text_dim, widths[-1]))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.blocks(x), 0.2).sum((2, 3))
        return self.head(h).squeeze(1) + (self.project(text) * h).sum(1)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """L_D = -E[log D(x)] - E[log(1 - D(G(z)))], in logits.

    >>> round(float(discriminator_loss(torch.tensor([0.0]), torch.tensor([0.0]))), 4)  # 2 log 2
    1.3863
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating L_G = -E[log D(G(z))], in logits.

    >>> round(float(generator_loss(torch.tensor([0.0]))), 4)  # log 2
    0.6931
    """
    return F.softplus(-fake_logits).mean()


def r1_penalty(real: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """E[|grad_x d(x)|^2] on real images (``real`` must require grad)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


NOVELTY_SIZE = 16
"""Edge in pixels of the thumbnails the novelty term compares (3 x 16 x 16 = 768 numbers)."""


def novelty_features(images: torch.Tensor, size: int = NOVELTY_SIZE) -> torch.Tensor:
    """``[N, 3 size^2]``: each image ``[N, 3, S, S]`` in [-1, 1] average-pooled to ``size`` px, minus
    its own mean and scaled to unit length; the dot product of two is the correlation of their
    thumbnails (1: the same picture up to brightness and contrast). Fixed: nothing in it is trained.

    >>> x = torch.rand(1, 3, 64, 64)
    >>> round(float(novelty_features(x) @ novelty_features(0.5 * x - 0.2).T), 4)
    1.0
    """
    f = F.adaptive_avg_pool2d(images, size).flatten(1)
    return F.normalize(f - f.mean(1, keepdim=True), dim=1, eps=1e-3)


@torch.no_grad()
def novelty_bank(images: Any, size: int = NOVELTY_SIZE, chunk: int = 256) -> torch.Tensor:
    """The features of training images given as uint8 ``[N, S, S, 3]`` (an ``ImageSet``'s ``images``)."""
    out = []
    for start in range(0, len(images), chunk):
        x = torch.from_numpy(images[start : start + chunk]).permute(0, 3, 1, 2).float().div(127.5).sub(1)
        out.append(novelty_features(x, size))
    return torch.cat(out)


def nearest_cosine(features: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    """``[N]``: each feature's cosine with its nearest bank row (both unit length)."""
    return (features @ bank.T).max(1).values


def novelty_loss(features: torch.Tensor, bank: torch.Tensor, weight: float, margin: float) -> torch.Tensor:
    """``weight * mean_i relu(max_j cos(f_i, b_j) - margin)``: zero for fakes no nearer than
    ``margin`` to every bank row, ``weight * (1 - margin)`` for copies of bank rows. Its gradient
    pushes a fake away from its nearest row only; it is zero at an exact copy (the cosine's maximum)
    and grows with the angle between them.

    >>> bank, apart = torch.eye(3), torch.ones(1, 3) / 3**0.5  # apart: cosine 0.577 with each row
    >>> float(novelty_loss(bank[:1], bank, 2.0, 0.5)), float(novelty_loss(apart, bank, 2.0, 0.6))
    (1.0, 0.0)
    """
    return weight * F.relu(nearest_cosine(features, bank) - margin).mean()


# ---------------------------------------------------------------- training


@dataclass
class GANTrainConfig:
    gan: GANConfig = GANConfig()
    batch: int = 32
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.0
    beta2: float = 0.99
    """Adam's betas for both players (0 and 0.99: the shipped model's, as in StyleGAN2)."""
    r1: float = 1.0
    """Weight of the R1 penalty (gamma / 2), applied every ``r1_every`` steps (lazy regularisation)."""
    r1_every: int = 4
    ema: float = 0.999
    minutes: float = 0.0
    """Wall-clock budget (0: none)."""
    cpu_minutes: float = 0.0
    """Budget in CPU time summed over threads (0: none). The shared loop stops on wall time, so it
    becomes ``cpu_minutes / torch.get_num_threads()`` wall minutes (what an idle machine spends);
    beside other jobs a run then gets less compute than the figure says. ``minutes`` wins."""
    steps: int = 100_000
    seed: int = 0
    eval_every: int = 500
    """Steps between held-out evaluations (``museforge.image.gan_train.held_out_figures``)."""
    checkpoint_every: int = 500
    novelty_weight: float = 0.0
    """Weight lambda of the novelty term ``lambda * E[relu(max_j cos(phi(G(z)), phi(x_j)) - margin)]``
    added to the generator's loss (``novelty_loss`` on ``novelty_features``; 0: off, and training is
    exactly what it was without the term)."""
    novelty_margin: float = 0.7
    """Nearest-training-image cosine (thumbnail correlation) above which a fake is penalised. In the
    procedural set, held-out paintings' nearest cosine to the training split has 5th, 20th and 50th
    percentiles 0.60, 0.71 and 0.90 (distinct paintings of one style can correlate above 0.99 as
    thumbnails), so 0.7 pushes fakes away from the training images well before they are copies.
    ``benchmarks/novelty_gan.py`` measures runs without and with the term."""


def train_gan(
    data: Any,
    cfg: GANTrainConfig,
    *,
    tokenizer: Any = None,
    log: Any = print,
    progress: Any = None,
    out: Any = None,
    held_out: Any = None,
) -> dict[str, Any]:
    """Train a generator, a discriminator and a text encoder on an ``ImageSet`` with the shared
    loop (``museforge.image.gan_train.GanFamily``) for ``cfg.minutes`` (or ``cfg.cpu_minutes``, or
    ``cfg.steps``); returns the EMA generator, the text encoder, the tokenizer and counts.
    ``progress(step, loss_d, loss_g)`` follows each step. The training state goes to ``out`` (and a
    later call with the same ``out`` resumes), or to a temporary folder that is removed."""
    import tempfile
    import time
    from pathlib import Path

    from museforge.image.diffusion.text import TextEncoder, TextEncoderConfig, Tokenizer, vocabulary_texts
    from museforge.image.gan_train import GanFamily
    from museforge.train import loop

    torch.manual_seed(cfg.seed)
    tokenizer = tokenizer or Tokenizer.build([*vocabulary_texts(), *data.captions])
    text = TextEncoder(TextEncoderConfig(len(tokenizer.vocab), cfg.gan.text_dim))
    family = GanFamily(data, Generator(cfg.gan), text, tokenizer, cfg, held_out=held_out, log=log)
    cpu_started = time.process_time()

    def step_done(step: int, _total: int, loss_g: float) -> None:
        if progress is not None:
            progress(step, family.last_d, loss_g)

    with tempfile.TemporaryDirectory() as tmp:
        summary = loop.run(
            family,
            family.loop_config(),
            Path(out or tmp),
            log=log,
            progress=step_done,
            resume=out is not None,
        )
    result = {
        "generator": family.ema,
        "text": family.model.text.eval(),
        "tokenizer": tokenizer,
        "steps": summary.steps,
        "minutes": round(summary.seconds / 60, 1),
        "cpu_minutes": round((time.process_time() - cpu_started) / 60, 1),
        "held_out": summary.evals[-1] if summary.evals else None,
    }
    if family.novel:
        result["novelty"] = family.novelty()
    log(f"trained the GAN {summary.steps} steps in {result['minutes']} min ({result['cpu_minutes']} CPU min)")
    return result


@torch.no_grad()
def sample(result: dict[str, Any], prompts: list[str], seed: int) -> torch.Tensor:
    """Images in [-1, 1] for ``prompts`` from a trained result, noise seeded by ``seed``."""
    g, text, tokenizer = result["generator"], result["text"], result["tokenizer"]
    generator = torch.Generator("cpu").manual_seed(seed)
    z = torch.randn(len(prompts), g.cfg.z_dim, generator=generator)
    ids, keep = tokenizer.batch(prompts)
    return g(z, pooled(text(ids, keep), keep))
