"""The originality service's nearest-neighbour index (museforge.originality.ann): exact when
small, the large-index type past EXACT_UP_TO, kept as bytes."""

from __future__ import annotations

import numpy as np
import pytest

faiss = pytest.importorskip("faiss")

from museforge.originality import ann  # noqa: E402


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors around 200 random centres (closer to real embeddings than uniform noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, dim)).astype(np.float32)
    x = centres[rng.integers(0, 200, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return ann.unit(x)


def test_unit_keeps_zero_rows_zero() -> None:
    v = ann.unit(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert v.dtype == np.float32 and v.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(v, [[0.6, 0.8], [0.0, 0.0]], atol=1e-7)


def test_exact_limit_scales_with_width() -> None:
    assert ann.exact(ann.EXACT_DIM, ann.EXACT_UP_TO)
    assert not ann.exact(ann.EXACT_DIM, ann.EXACT_UP_TO + 1)
    assert ann.exact(ann.EXACT_DIM // 4, 4 * ann.EXACT_UP_TO)
    assert not ann.exact(ann.EXACT_DIM // 4, 4 * ann.EXACT_UP_TO + 1)


def test_exact_index_finds_each_item_itself() -> None:
    x = clustered(2_000, 48, seed=1)
    index = ann.build(x * 3.0)  # any length: build makes rows unit length
    assert isinstance(index, faiss.IndexFlatIP)
    sims, ids = ann.search(index, x[:50], 5)
    assert sims.shape == ids.shape == (50, 5)
    assert (ids[:, 0] == np.arange(50)).all()
    np.testing.assert_allclose(sims[:, 0], 1.0, atol=1e-5)


def test_large_index_recall_at_10(monkeypatch: pytest.MonkeyPatch) -> None:
    n, dim = 60_000, 16
    monkeypatch.setattr(ann, "EXACT_DIM", dim)
    monkeypatch.setattr(ann, "EXACT_UP_TO", min(ann.EXACT_UP_TO, n // 2))
    x = clustered(n, dim, seed=2)
    index = ann.build(x)
    assert not isinstance(index, faiss.IndexFlat) and index.ntotal == n
    rng = np.random.default_rng(3)
    queries = np.concatenate([x[rng.integers(0, n, 100)] + 0.05 * rng.standard_normal((100, dim)),
                              clustered(100, dim, seed=4)]).astype(np.float32)
    exact = faiss.IndexFlatIP(dim)
    exact.add(x)
    truth, _ = exact.search(ann.unit(queries), 10)
    _, ids = ann.search(index, queries, 10)
    found = np.einsum("qkd,qd->qk", x[ids], ann.unit(queries)) >= truth[:, -1:] - 1e-5
    assert found.mean() >= 0.95


@pytest.mark.parametrize("n", [500, 3_000])
def test_bytes_round_trip(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ann, "EXACT_DIM", 24)
    monkeypatch.setattr(ann, "EXACT_UP_TO", 1_000)  # 500: exact; 3,000: the large-index type
    x = clustered(n, 24, seed=5)
    index = ann.build(x)
    data = ann.to_bytes(index)
    assert isinstance(data, np.ndarray) and data.dtype == np.uint8
    back = ann.from_bytes(bytes(data))
    assert type(back) is type(index) and back.ntotal == n
    q = x[:20] + 0.01
    s1, i1 = ann.search(index, q, 7)
    s2, i2 = ann.search(back, q, 7)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(s1, s2)


@pytest.mark.parametrize("expected", [0, 10_000_000])
def test_empty_index_answers_minus_one(expected: int) -> None:
    index = ann.make_index(8, expected)
    sims, ids = ann.search(index, np.ones((3, 8), np.float32), 4)
    assert ids.shape == (3, 4) and (ids == -1).all() and np.isneginf(sims).all()
    empty = ann.build(np.zeros((0, 8), np.float32))
    assert empty.ntotal == 0
    assert (ann.search(empty, np.ones((2, 8), np.float32), 3)[1] == -1).all()


def test_fewer_items_than_k_pads_with_minus_one() -> None:
    index = ann.build(clustered(3, 8, seed=6))
    sims, ids = ann.search(index, clustered(2, 8, seed=7), 5)
    assert (ids[:, 3:] == -1).all() and np.isneginf(sims[:, 3:]).all()
    assert (ids[:, :3] >= 0).all()
