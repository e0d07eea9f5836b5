"""Nearest-neighbour search over unit vectors (cosine = inner product), with FAISS.

Small indexes are searched exactly (``IndexFlatIP``), larger ones through an HNSW graph
(``IndexHNSWFlat``, M 32, efSearch 512). Chosen with ``benchmarks/originality_scale.py`` at a
million items, one query at a time on one thread (BENCHMARKS.md, "Originality search at a million
items"):

* exact search reads every vector, about 0.5 ms per 1,000 vectors of 1,024 floats: it stays
  under 20 ms up to ``EXACT_UP_TO`` vectors of ``EXACT_DIM`` floats (about 100 MB; four times as
  many text-line vectors of 256) and takes 0.4-0.5 s at a million image vectors;
* the graph answers a million in 2-3 ms at a recall of 0.99 (0.987 of the 100 nearest
  image-like embeddings, 0.989 of the 10 nearest text lines), costs 6 % (1,024 floats) to 27 %
  (256) more memory than the vectors, and takes vectors with ``add``, untrained. An inverted file
  (``IndexIVFFlat``, 4,096 lists) builds 4-15x faster and did better on the clustered image-like
  vectors, but on text-line vectors it needs an eighth of its lists probed to reach 0.96.

Building a graph of a million vectors takes 10-13 minutes on two cores, so an index is kept as
bytes (``to_bytes``, ``faiss.serialize_index``) beside the vectors rather than rebuilt at load.
"""

from __future__ import annotations

import numpy as np

EXACT_UP_TO = 25_000
"""Exact search up to this many vectors of ``EXACT_DIM`` floats; the limit scales with the width
(exact search time is proportional to vectors x width): 100,000 vectors of 256 floats."""
EXACT_DIM = 1024
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 512


def _faiss():
    import faiss

    return faiss


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as contiguous float32."""
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", v, v))[:, None]  # no [N, dim] temporary, unlike linalg.norm
    return np.ascontiguousarray(v / np.maximum(norms, 1e-12), dtype=np.float32)


def exact(dim: int, expected: int) -> bool:
    """Whether an index of ``expected`` vectors of width ``dim`` is searched exactly."""
    return expected * dim <= EXACT_UP_TO * EXACT_DIM


def make_index(dim: int, expected: int):
    """An empty index for about ``expected`` vectors of width ``dim``: exact when small, HNSW
    (inner product) when large. Either takes vectors with ``add`` (no training)."""
    faiss = _faiss()
    if exact(dim, expected):
        return faiss.IndexFlatIP(dim)
    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def build(vectors: np.ndarray):
    """An index holding ``vectors`` (made unit length; rows that already are are not copied)."""
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"vectors must be [N, dim], not {v.shape}")
    sq = np.einsum("ij,ij->i", v, v)
    if not np.all((np.abs(sq - 1.0) < 1e-4) | (sq == 0.0)):
        v = unit(v)
    index = make_index(v.shape[1], len(v))
    if len(v):
        index.add(v)  # in one call: FAISS sizes its arrays once
    return index


def search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(similarities, ids)``, each ``[Q, k]``; ids of -1 (similarity -inf) where the index
    holds fewer than ``k`` items."""
    if index.ntotal == 0:
        q = len(queries)
        return np.full((q, k), -np.inf, np.float32), np.full((q, k), -1, np.int64)
    sims, ids = index.search(unit(queries), k)
    sims = np.where(ids < 0, -np.inf, sims)
    return sims, ids


def to_bytes(index) -> np.ndarray:
    """The index as a uint8 array (to store beside the vectors)."""
    return _faiss().serialize_index(index)


def from_bytes(data: np.ndarray | bytes):
    """An index stored by ``to_bytes``; an HNSW graph searches with today's ``HNSW_EF_SEARCH``."""
    if isinstance(data, bytes | bytearray | memoryview):
        data = np.frombuffer(data, dtype=np.uint8)
    index = _faiss().deserialize_index(np.ascontiguousarray(data, dtype=np.uint8))
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index
