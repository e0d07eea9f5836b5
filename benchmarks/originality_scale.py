"""Originality search at a million items: which FAISS index answers in time, and how well.

The originality service keeps, per modality, unit vectors searched by cosine (inner product,
``museforge.originality.ann``). This builds two synthetic collections of ``--n`` items and compares
index types on each, against exact search (``IndexFlatIP``) measured in the same run:

* images: ``--dim`` (1024) wide image-like embeddings: a mixture of ``--clusters`` (3,000)
  Gaussian clusters of Zipf-like sizes and log-uniform spreads (0.35-1.0 of the centres' scale),
  drawn in a space whose per-axis scale decays as (1 + j) ** -0.4 (a few dozen strong directions,
  as in CNN features), plus 5 % isotropic noise, turned by a random rotation and made unit length;
* text: 5- and 7-character Chinese lines strung from words of jieba's dictionary drawn by their
  corpus frequency (so characters and character pairs come at a realistic rate), vectorised with
  ``museforge.originality.text.line_vectors`` (timed; and the array vectoriser proposed below,
  checked to give the same vectors).

Queries: half near-duplicates of stored items (images: the item plus noise of the data's own
spectrum, cosine 0.88-0.995 to it; text: a stored line with one character replaced, two in
seven-character lines), half fresh items from the same distribution. Each index type is timed on
single queries with one thread (p50, p99); recall@k (``--k``, 10) counts the returned items
whose true similarity reaches the exact k-th (ties count); "source found" is the share of
near-duplicate queries whose stored original is among the k returned. Build time uses every thread.

    python benchmarks/originality_scale.py --quick               # 20,000 items, under a minute
    nice python benchmarks/originality_scale.py --json out.json   # 1,000,000 items: 75 minutes on
                                                                  # 2 cores, peak RSS 9.5 GB

Prints one JSON line per row as it goes, then a markdown table of all rows and one of exact
search's latency at growing sizes (``--exact-sizes``, to place ``ann.EXACT_UP_TO``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import platform
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import faiss
import numpy as np

from museforge.originality import ann
from museforge.originality.text import LINE_DIM, line_vectors, normalise_line

K = 10
GOAL_P50_MS = 20.0
GOAL_RECALL = 0.95


# -- machine and memory -------------------------------------------------------------------------


def _status(field: str) -> int:
    """A ``/proc/self/status`` memory field in bytes (0 where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss() -> int:
    return _status("VmRSS")


def reset_peak() -> None:
    """Start a new peak-RSS window (``VmHWM``), where the kernel allows it."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


_PEAKS: list[int] = []


def peak() -> int:
    """Peak RSS since the last ``reset_peak`` (remembered for the run's overall peak)."""
    _PEAKS.append(_status("VmHWM"))
    return _PEAKS[-1]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "?"
    return (f"{cpu}, {faiss.omp_get_max_threads()} threads, faiss {faiss.__version__}, "
            f"numpy {np.__version__}, load average {load}")


def index_bytes(index) -> int:
    """Serialised size of an index, counted while writing (no copy held in memory)."""
    total = [0]

    def count(chunk: bytes) -> int:
        total[0] += len(chunk)
        return len(chunk)

    writer = faiss.PyCallbackIOWriter(count)
    faiss.write_index(index, writer)
    del writer
    return total[0]


# -- synthetic image-like embeddings ------------------------------------------------------------


class ImageMixture:
    """Draws image-like unit vectors (see the module's docstring); one fixed mixture per seed."""

    def __init__(self, dim: int, clusters: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.scale = ((1.0 + np.arange(dim)) ** -0.4).astype(np.float32)
        self.centres = rng.standard_normal((clusters, dim), dtype=np.float32)
        sizes = rng.lognormal(0.0, 1.2, clusters)
        self.weights = sizes / sizes.sum()
        self.spread = np.exp(rng.uniform(np.log(0.35), np.log(1.0), clusters)).astype(np.float32)
        self.noise = 0.05 * float(np.sqrt((self.scale**2).mean()))
        q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
        self.rotation = (q * np.sign(np.diag(r))).astype(np.float32)

    def draw(self, n: int, rng: np.random.Generator, chunk: int = 50_000) -> np.ndarray:
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            label = rng.choice(len(self.weights), size=m, p=self.weights)
            z = rng.standard_normal((m, self.dim), dtype=np.float32)
            z *= self.spread[label, None]
            z += self.centres[label]
            z *= self.scale
            z += self.noise * rng.standard_normal((m, self.dim), dtype=np.float32)
            out[start : start + m] = unit_rows(z @ self.rotation)
        return out

    def perturb(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Near-duplicates: each row plus noise of the data's spectrum, cosine ~0.88-0.995."""
        noise = (rng.standard_normal(x.shape, dtype=np.float32) * self.scale) @ self.rotation
        noise = unit_rows(noise) * rng.uniform(0.1, 0.55, (len(x), 1)).astype(np.float32)
        return unit_rows(x + noise)


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


# -- synthetic Chinese lines --------------------------------------------------------------------


_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]{1,4}$")


class LineMaker:
    """Five- and seven-character lines strung from jieba's dictionary words, drawn by frequency."""

    def __init__(self) -> None:
        import jieba

        words, freqs = [], []
        dictionary = Path(jieba.__file__).with_name("dict.txt")
        for row in dictionary.read_text(encoding="utf-8").splitlines():
            parts = row.split()
            if len(parts) >= 2 and _HAN_WORD.match(parts[0]):
                words.append(parts[0])
                freqs.append(float(parts[1]))
        self.words = words
        p = np.array(freqs)
        self.p = p / p.sum()
        chars: dict[str, float] = {}
        for w, f in zip(words, p, strict=True):
            for c in w:
                chars[c] = chars.get(c, 0.0) + f
        self.chars = list(chars)
        cp = np.array([chars[c] for c in self.chars])
        self.char_p = cp / cp.sum()

    def lines(self, n: int, rng: np.random.Generator) -> list[str]:
        lengths = rng.choice([5, 7], size=n)
        draws = iter(rng.choice(len(self.words), size=4 * n + 64, p=self.p).tolist())
        out = []
        for length in lengths.tolist():
            text = ""
            while len(text) < length:
                try:
                    text += self.words[next(draws)]
                except StopIteration:
                    draws = iter(rng.choice(len(self.words), size=n + 64, p=self.p).tolist())
            out.append(text[:length])
        return out

    def perturb(self, lines: Sequence[str], rng: np.random.Generator) -> list[str]:
        """Near-duplicates: one character replaced (two in lines of seven or more)."""
        out = []
        for line in lines:
            chars = list(line)
            for pos in rng.choice(len(chars), size=1 if len(chars) < 7 else 2, replace=False):
                chars[pos] = self.chars[rng.choice(len(self.chars), p=self.char_p)]
            out.append("".join(chars))
        return out


def array_line_vectors(lines: Sequence[str]) -> np.ndarray:
    """The same vectors as ``line_vectors``, computed with numpy over a whole batch: each distinct
    character and character pair is hashed once, the signed counts summed with ``bincount``.
    (A proposal for ``text.py``, checked against it in this run.)"""
    import hashlib

    def bucket_sign(grams: list[str]) -> tuple[np.ndarray, np.ndarray]:
        h = [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") for g in grams]
        return (np.array([x % LINE_DIM for x in h], dtype=np.int64),
                np.array([1.0 if (x >> 32) & 1 else -1.0 for x in h]))

    n = len(lines)
    texts = [normalise_line(line) for line in lines]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    cps = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    row = np.repeat(np.arange(n, dtype=np.int64), lengths)
    chars, char_of = np.unique(cps, return_inverse=True)
    same = row[:-1] == row[1:]
    pairs, pair_of = np.unique(((cps[:-1] << np.uint64(32)) | cps[1:])[same], return_inverse=True)
    cb, cs = bucket_sign([chr(c) for c in chars.tolist()])
    pb, ps = bucket_sign([chr(p >> 32) + chr(p & 0xFFFFFFFF) for p in pairs.tolist()])
    slot = np.concatenate([row * LINE_DIM + cb[char_of], row[:-1][same] * LINE_DIM + pb[pair_of]])
    sign = np.concatenate([cs[char_of], ps[pair_of]])
    out = np.bincount(slot, weights=sign, minlength=n * LINE_DIM).astype(np.float32).reshape(n, LINE_DIM)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def vectorise(lines: Sequence[str], fn: Callable[[Sequence[str]], np.ndarray],
              batch: int = 50_000) -> tuple[np.ndarray, float]:
    out = np.empty((len(lines), LINE_DIM), dtype=np.float32)
    t0 = time.perf_counter()
    for start in range(0, len(lines), batch):
        out[start : start + batch] = fn(lines[start : start + batch])
    return out, time.perf_counter() - t0


# -- index types --------------------------------------------------------------------------------


def spec_list(args: argparse.Namespace, n: int) -> list[dict]:
    """The index types to compare, each with the search settings to sweep."""
    nlist = max(16, min(args.nlist, n // 39))
    specs: list[dict] = []
    for m in args.hnsw_m:
        specs.append({"kind": "hnsw", "name": f"HNSWFlat M={m}", "M": m, "sweep": args.ef_search})
    specs.append({"kind": "ivf", "name": f"IVFFlat nlist={nlist}", "nlist": nlist, "sweep": args.nprobe})
    if "hnsw-sq8" in args.extra:
        specs.append({"kind": "hnsw-sq8", "name": f"HNSW-SQ8 M={args.hnsw_m[-1]}", "M": args.hnsw_m[-1],
                      "sweep": args.ef_search})
    if "ivf-sq8" in args.extra:
        specs.append({"kind": "ivf-sq8", "name": f"IVF-SQ8 nlist={nlist}", "nlist": nlist,
                      "sweep": args.nprobe})
    if "ivf-pq" in args.extra:
        specs.append({"kind": "ivf-pq", "name": f"IVF-PQ nlist={nlist}", "nlist": nlist,
                      "sweep": args.nprobe})
    return specs


def make(spec: dict, dim: int, ef_construction: int):
    ip = faiss.METRIC_INNER_PRODUCT
    kind = spec["kind"]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, spec["M"], ip)
    elif kind == "hnsw-sq8":
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, spec["M"], ip)
    else:
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivf":
            index = faiss.IndexIVFFlat(quantizer, dim, spec["nlist"], ip)
        elif kind == "ivf-sq8":
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, spec["nlist"],
                                                  faiss.ScalarQuantizer.QT_8bit, ip)
        else:
            sub = max(m for m in (8, 16, 32, 64) if dim % m == 0 and m <= dim // 8)
            index = faiss.IndexIVFPQ(quantizer, dim, spec["nlist"], sub, 8, ip)
            spec["name"] += f" PQ{sub}x8"
        index.cp.niter = 10  # k-means rounds when training (faiss's default is 25)
    if kind.startswith("hnsw"):
        index.hnsw.efConstruction = ef_construction
        spec["name"] += f" efC={ef_construction}"
    return index


def set_knob(index, kind: str, value: int) -> str:
    if kind.startswith("hnsw"):
        index.hnsw.efSearch = value
        return f"efSearch={value}"
    index.nprobe = value
    return f"nprobe={value}"


def build(index, data: np.ndarray, train_max: int, rng: np.random.Generator) -> float:
    t0 = time.perf_counter()
    if not index.is_trained:
        sample = data[np.sort(rng.choice(len(data), size=min(train_max, len(data)), replace=False))]
        index.train(sample)
        del sample
    index.add(data)  # in one call: faiss sizes its arrays once (adding in parts doubles them as they grow)
    return time.perf_counter() - t0


# -- measuring ----------------------------------------------------------------------------------


def timed_search(index, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids ``[Q, K]`` and per-query wall seconds, one query at a time, one thread."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        ids = np.empty((len(queries), K), dtype=np.int64)
        secs = np.empty(len(queries))
        for i in range(len(queries)):
            q = queries[i : i + 1]
            t0 = time.perf_counter()
            _, found = index.search(q, K)
            secs[i] = time.perf_counter() - t0
            ids[i] = found[0]
    finally:
        faiss.omp_set_num_threads(threads)
    return ids, secs


def recall(ids: np.ndarray, queries: np.ndarray, data: np.ndarray, kth: np.ndarray) -> np.ndarray:
    """Per query: the share of the ``K`` returned items whose true similarity reaches the exact
    ``K``-th (so ties at the boundary count as found)."""
    safe = np.where(ids < 0, 0, ids)
    sims = np.einsum("qkd,qd->qk", data[safe], queries)
    hit = (sims >= kth[:, None] - 1e-5) & (ids >= 0)
    return np.minimum(hit.sum(1), K) / K


def row(collection: str, name: str, setting: str, build_s: float | None, size: int, rss_mb: float,
        peak_mb: float, secs: np.ndarray, rec: np.ndarray, ids: np.ndarray, source: np.ndarray,
        exact_p50: float) -> dict:
    ms = secs * 1e3
    dup = source >= 0
    return {
        "collection": collection, "index": name, "search": setting,
        "build_s": None if build_s is None else round(build_s, 1),
        "index_mb": round(size / 2**20, 1), "rss_growth_mb": round(rss_mb, 1),
        "build_peak_rss_mb": round(peak_mb, 1),
        "p50_ms": round(float(np.median(ms)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "p50_vs_exact": round(float(np.median(ms)) / exact_p50, 4),
        "recall": round(float(rec.mean()), 4), "recall_dup": round(float(rec[dup].mean()), 4),
        "recall_fresh": round(float(rec[~dup].mean()), 4),
        "source_found": round(float((ids[dup] == source[dup, None]).any(1).mean()), 4),
        "k": K, "queries": len(secs),
    }


def run_collection(name: str, data: np.ndarray, queries: np.ndarray, source: np.ndarray,
                   args: argparse.Namespace, emit: Callable[[dict], None], rng: np.random.Generator,
                   exact_sizes: dict) -> None:
    n, dim = data.shape
    # the anchor: exact search, batched with every thread for the ground truth, then timed
    before = rss()
    reset_peak()
    t0 = time.perf_counter()
    flat = faiss.IndexFlatIP(dim)
    flat.add(data)
    flat_build = time.perf_counter() - t0
    flat_rss = (rss() - before) / 2**20
    flat_peak = (peak() - before) / 2**20
    truth = np.empty((len(queries), K), dtype=np.float32)
    for start in range(0, len(queries), 256):
        truth[start : start + 256], _ = flat.search(queries[start : start + 256], K)
    kth = truth[:, -1]
    few = np.arange(len(queries))
    if args.flat_queries < len(queries):  # exact search is slow one query at a time: a spread subset
        few = np.linspace(0, len(queries) - 1, args.flat_queries).astype(int)
    ids, secs = timed_search(flat, queries[few])
    exact_p50 = float(np.median(secs)) * 1e3
    by_n = exact_sizes.setdefault(name, {})
    by_n[n] = [round(exact_p50, 3), round(float(np.percentile(secs, 99)) * 1e3, 3)]
    rec = recall(ids, queries[few], data, kth[few])
    emit(row(name, "FlatIP (exact)", "-", flat_build, index_bytes(flat), flat_rss, flat_peak, secs, rec,
             ids, source[few], exact_p50))
    del flat
    gc.collect()
    # where exact search stops meeting the goal: the same queries on the first m items
    for m in [m for m in args.exact_sizes if m < n]:
        part = faiss.IndexFlatIP(dim)
        part.add(data[:m])
        _, secs = timed_search(part, queries[few])
        by_n[m] = [round(float(np.median(secs)) * 1e3, 3), round(float(np.percentile(secs, 99)) * 1e3, 3)]
        del part
    print(json.dumps({"collection": name, "exact_p50_p99_ms_by_n": by_n}), flush=True)

    for spec in spec_list(args, n):
        before = rss()
        reset_peak()
        index = make(spec, dim, args.ef_construction)
        build_s = build(index, data, args.train, rng)
        grown = (rss() - before) / 2**20
        top = (peak() - before) / 2**20
        size = index_bytes(index)
        for value in spec["sweep"]:
            setting = set_knob(index, spec["kind"], value)
            ids, secs = timed_search(index, queries)
            emit(row(name, spec["name"], setting, build_s, size, grown, top, secs,
                     recall(ids, queries, data, kth), ids, source, exact_p50))
        del index
        gc.collect()


def table(rows: list[dict]) -> str:
    out = ["| collection | index | search | build s | index MB | RSS + MB | p50 ms | p99 ms "
           f"| p50 / exact | recall@{K} | dup | fresh | source found |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ok = r["p50_ms"] < GOAL_P50_MS and r["recall"] >= GOAL_RECALL
        mark = "**" if ok else ""
        out.append(
            f"| {r['collection']} | {r['index']} | {r['search']} | {r['build_s']} | {r['index_mb']:,.0f} "
            f"| {r['rss_growth_mb']:,.0f} | {mark}{r['p50_ms']:.2f}{mark} | {r['p99_ms']:.2f} "
            f"| {r['p50_vs_exact']:.4f} | {mark}{r['recall']:.3f}{mark} | {r['recall_dup']:.3f} "
            f"| {r['recall_fresh']:.3f} | {r['source_found']:.3f} |")
    return "\n".join(out)


def main() -> None:
    global K  # --k sets it for the whole run
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="items per collection (default 1,000,000)")
    parser.add_argument("--queries", type=int, default=1000, help="queries per collection (default 1,000)")
    parser.add_argument("--quick", action="store_true",
                        help="20,000 items, 200 queries, nlist <= 256, HNSW M=32 only: a smoke run")
    parser.add_argument("--k", type=int, default=K, help=f"neighbours per query (default {K})")
    parser.add_argument("--dim", type=int, default=1024, help="image embedding width (default 1024)")
    parser.add_argument("--clusters", type=int, default=3000, help="image mixture components (default 3000)")
    parser.add_argument("--only", choices=["image", "text"], help="one collection only")
    parser.add_argument("--hnsw-m", type=int, nargs="+", help="HNSW M values (default 16 32; --quick: 32)")
    parser.add_argument("--ef-construction", type=int, default=ann.HNSW_EF_CONSTRUCTION,
                        help=f"HNSW efConstruction (default {ann.HNSW_EF_CONSTRUCTION}, ann.py's)")
    parser.add_argument("--ef-search", type=int, nargs="+", default=[32, 64, 128, 256, 512],
                        help="HNSW efSearch values (32 64 128 256 512)")
    parser.add_argument("--nlist", type=int, default=4096, help="IVF lists (default 4096; at most n/39)")
    parser.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32, 64, 128],
                        help="IVF nprobe values (8 16 32 64 128)")
    parser.add_argument("--train", type=int, default=100_000, help="IVF training sample (default 100,000)")
    parser.add_argument("--extra", nargs="*", default=["ivf-sq8"], choices=["hnsw-sq8", "ivf-sq8", "ivf-pq"],
                        help="memory-saving index types also compared (default ivf-sq8)")
    parser.add_argument("--flat-queries", type=int, default=100,
                        help="queries timed one by one on exact search (default 100; all for recall)")
    parser.add_argument("--exact-sizes", type=int, nargs="*",
                        default=[10_000, 25_000, 50_000, 100_000, 200_000, 500_000],
                        help="also time exact search on the first N items, to place EXACT_UP_TO")
    parser.add_argument("--threads", type=int, default=0, help="threads for building (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="write the rows and settings as JSON")
    args = parser.parse_args()
    if args.quick:
        args.n, args.queries, args.train = 20_000, 200, 20_000
        args.nlist = min(args.nlist, 256)
        args.hnsw_m = args.hnsw_m or [32]
    args.hnsw_m = args.hnsw_m or [16, 32]
    K = args.k
    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    rows: list[dict] = []
    exact_sizes: dict[str, dict[int, list[float]]] = {}
    notes: dict[str, object] = {"machine": machine(), "n": args.n, "queries": args.queries}
    print(f"machine: {notes['machine']}", flush=True)

    def emit(r: dict) -> None:
        rows.append(r)
        print(json.dumps(r), flush=True)

    if args.only in (None, "image"):
        t0 = time.perf_counter()
        mixture = ImageMixture(args.dim, args.clusters, args.seed)
        data = mixture.draw(args.n, rng)
        half = args.queries // 2
        source = np.full(args.queries, -1, dtype=np.int64)
        source[:half] = rng.choice(args.n, size=half)
        queries = np.concatenate([mixture.perturb(data[source[:half]], rng),
                                  mixture.draw(args.queries - half, rng)])
        notes["image_generate_s"] = round(time.perf_counter() - t0, 1)
        print(f"images: {args.n:,} x {args.dim} in {notes['image_generate_s']} s", flush=True)
        run_collection(f"image {args.dim}-d", data, queries, source, args, emit, rng, exact_sizes)
        del data, queries, mixture
        gc.collect()

    if args.only in (None, "text"):
        maker = LineMaker()
        t0 = time.perf_counter()
        lines = maker.lines(args.n, rng)
        half = args.queries // 2
        source = np.full(args.queries, -1, dtype=np.int64)
        source[:half] = rng.choice(args.n, size=half)
        query_lines = maker.perturb([lines[i] for i in source[:half]], rng)
        query_lines += maker.lines(args.queries - half, rng)
        notes["text_lines_s"] = round(time.perf_counter() - t0, 1)
        notes["text_distinct_lines"] = len(set(lines))
        data, secs = vectorise(lines, line_vectors)
        notes["line_vectors_s"] = round(secs, 1)
        notes["line_vectors_us_per_line"] = round(secs / args.n * 1e6, 2)
        part = lines[: min(len(lines), 100_000)]
        fast, fast_secs = vectorise(part, array_line_vectors)
        notes["array_line_vectors_us_per_line"] = round(fast_secs / len(part) * 1e6, 2)
        notes["array_line_vectors_max_diff"] = float(np.abs(fast - data[: len(part)]).max())
        del fast
        queries, _ = vectorise(query_lines, line_vectors)
        print(f"text: {args.n:,} lines ({notes['text_distinct_lines']:,} distinct) vectorised in "
              f"{secs:.1f} s ({notes['line_vectors_us_per_line']} us/line; array vectoriser "
              f"{notes['array_line_vectors_us_per_line']} us/line, max difference "
              f"{notes['array_line_vectors_max_diff']:.2g})", flush=True)
        del lines, maker
        gc.collect()
        run_collection(f"text {LINE_DIM}-d", data, queries, source, args, emit, rng, exact_sizes)
        del data, queries
        gc.collect()

    notes["peak_rss_mb"] = round(max([*_PEAKS, _status("VmHWM")]) / 2**20, 1)
    print()
    print(f"{args.n:,} items per collection, {args.queries:,} queries (half near-duplicates), k={K}, "
          f"one thread per query; exact timed on {min(args.flat_queries, args.queries)} queries. "
          f"Goal: p50 < {GOAL_P50_MS:g} ms and recall@k >= {GOAL_RECALL} (in bold where both hold); "
          f"source found: near-duplicate queries whose stored original is among the k returned.")
    print(f"machine: {notes['machine']}")
    print()
    print(table(rows))
    print()
    print("| collection | exact search p50 / p99 ms at n = " + " / ".join(
        f"{m:,}" for m in sorted({m for v in exact_sizes.values() for m in v})) + " |")
    print("|---|---|")
    for name, by_n in exact_sizes.items():
        cells = " / ".join(f"{p50:.2f}/{p99:.2f}" for _, (p50, p99) in sorted(by_n.items()))
        print(f"| {name} | {cells} |")
    notes["exact_p50_p99_ms_by_n"] = exact_sizes
    if args.json:
        Path(args.json).write_text(json.dumps({"notes": notes, "args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
