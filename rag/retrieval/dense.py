"""Dense vectors in FAISS: exact inner product for small indexes, approximate above a size.

Vectors are L2-normalised, so inner product is cosine similarity. The raw vectors are
also kept (``vectors.npy``, loaded with ``allow_pickle=False`` and memory-mapped) so an
index can be rebuilt or extended without re-embedding unchanged chunks.

Up to ``exact_max`` vectors the index is exact (``IndexFlatIP``). Above it, an
approximate index is built and **measured on the corpus' own vectors**: queries are
vectors of the corpus (``probe`` rows, or real query vectors the caller passes),
the reference is exact search, and the search breadth (IVF's ``nprobe``, HNSW's
``efSearch``) is raised until recall@10 reaches ``target_recall``. The choice and its
measured recall and latency go into the manifest (:meth:`DenseIndex.describe`).

- IVF (inverted lists over k-means cells; Jégou, Douze & Schmid 2011) is the default
  approximate kind: it trains on a sample in seconds, adds vectors fast, which keeps an
  ingest of a million chunks linear;
- HNSW (Malkov & Yashunin 2016, https://arxiv.org/abs/1603.09320) searches faster at
  the same recall but costs minutes to build at a million vectors.

FAISS: https://github.com/facebookresearch/faiss

>>> rng = np.random.default_rng(0)
>>> v = rng.normal(size=(500, 16)).astype(np.float32); v /= np.linalg.norm(v, axis=1, keepdims=True)
>>> DenseIndex.build(v).describe()["kind"]
'flat'
>>> ix = DenseIndex.build(v, exact_max=100, kind="ivf")
>>> d = ix.describe(); d["kind"], d["recall@10"] >= 0.95
('ivf', True)
>>> ix.search(v[7], 1)[0][0]
7
"""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

KINDS = ("auto", "flat", "ivf", "hnsw")


class DenseIndex:
    """Nearest chunk rows to a query vector; ``search`` returns ``(row, score)`` best first."""

    def __init__(self, index: Any, vectors: np.ndarray, info: dict[str, Any] | None = None):
        import faiss

        self.index = index
        self.vectors = vectors
        self.info = dict(info or {})
        # one query is one vector: OpenMP threads only add overhead (measured 4.6 ms vs
        # 24 ms per query on 100k vectors, 2 cores); concurrency comes from requests
        faiss.omp_set_num_threads(1)

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        exact_max: int = 200_000,
        hnsw_m: int = 32,
        *,
        kind: str = "auto",
        target_recall: float = 0.95,
        queries: np.ndarray | None = None,
        seed: int = 0,
    ) -> DenseIndex:
        """An index over ``vectors``: exact up to ``exact_max`` rows, else ``kind``
        (``auto`` = IVF) tuned on ``queries`` (default: 200 of the vectors) to ``target_recall``."""
        import faiss

        if kind not in KINDS:
            raise ValueError(f"dense index kind must be one of {', '.join(KINDS)}, got {kind!r}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        if kind == "auto":
            kind = "flat" if n <= exact_max else "ivf"
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building is parallel
        t0 = time.perf_counter()
        index: Any
        if kind == "flat" or n < 64:
            index = faiss.IndexFlatIP(dim)
            index.add(vectors)
            return cls(index, vectors, {"kind": "flat", "rows": n, "build_seconds": round(time.perf_counter() - t0, 3)})
        if kind == "ivf":
            nlist = int(min(max(8, 2 * math.sqrt(n)), n // 32))
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.niter = 10  # k-means iterations: cells need not be optimal, only balanced enough
            index.cp.min_points_per_centroid = 16
            index.cp.seed = seed
            rng = np.random.default_rng(seed)
            sample = vectors[np.sort(rng.choice(n, size=min(n, 32 * nlist), replace=False))]
            index.train(sample)
            index.add(vectors)
            index.nprobe = 1
            params = {"nlist": nlist}
        else:
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.add(vectors)
            params = {"M": hnsw_m, "efConstruction": 80}
        build_s = time.perf_counter() - t0
        out = cls(index, vectors, {"kind": kind, "rows": n, **params, "build_seconds": round(build_s, 3)})
        out._tune(queries, target_recall, seed)
        return out

    # ------------------------------------------------------------------ tuning
    def _set_breadth(self, b: int) -> None:
        if self.info["kind"] == "ivf":
            self.index.nprobe = b
        else:
            self.index.hnsw.efSearch = b

    def _tune(self, queries: np.ndarray | None, target: float, seed: int, k: int = 10) -> None:
        """Raise the search breadth until recall@k against exact search reaches ``target``."""
        n = len(self.vectors)
        if queries is None:
            rows = np.random.default_rng(seed + 1).choice(n, size=min(n, 200), replace=False)
            queries = self.vectors[np.sort(rows)]
        q = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(k, n)
        t0 = time.perf_counter()
        exact = np.argsort(-(q @ self.vectors.T), axis=1)[:, :k]  # blocks of queries: numpy is fast here
        exact_ms = (time.perf_counter() - t0) * 1000 / len(q)
        kind = self.info["kind"]
        top = self.index.nlist if kind == "ivf" else 1024
        breadths = [b for b in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if b <= top and (kind == "ivf" or b >= k)]
        recall, breadth, ms = 0.0, breadths[-1], 0.0
        for b in breadths:
            self._set_breadth(b)
            found = np.zeros_like(exact)
            times = []
            for i in range(len(q)):
                t = time.perf_counter()
                _, ids = self.index.search(q[i : i + 1], k)
                times.append(time.perf_counter() - t)
                found[i] = ids[0]
            recall = float(np.mean([len(set(a) & set(b_)) / k for a, b_ in zip(exact, found, strict=True)]))
            breadth, ms = b, statistics.median(times) * 1000
            if recall >= target:
                break
        self._set_breadth(breadth)
        name = "nprobe" if kind == "ivf" else "efSearch"
        self.info.update(
            {name: breadth, "recall@10": round(recall, 4), "query_ms": round(ms, 3), "exact_query_ms": round(exact_ms, 3)}
        )

    def describe(self) -> dict[str, Any]:
        """What the manifest records: kind, parameters, measured recall@10 and latency."""
        return dict(self.info)

    @property
    def exact(self) -> bool:
        import faiss

        return isinstance(self.index, faiss.IndexFlat)

    def search(self, query_vec: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        n = self.index.ntotal
        if n == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query_vec.reshape(1, -1), dtype=np.float32)
        if mask is not None:
            allowed = np.flatnonzero(mask)
            if len(allowed) == 0:
                return []
            if len(allowed) <= 20_000:  # small filtered set: exact scores on just those rows
                s = self.vectors[allowed] @ q[0]
                kk = min(k, len(allowed))
                top = np.argpartition(-s, kk - 1)[:kk]
                top = top[np.argsort(-s[top], kind="stable")]
                return [(int(allowed[i]), float(s[i])) for i in top]
            fetch = min(n, k * 10)
            scores, ids = self.index.search(q, fetch)
            hits = [(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0 and mask[i]]
            return hits[:k]
        scores, ids = self.index.search(q, min(k, n))
        return [(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]

    def save(self, folder: Path) -> None:
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / "dense.faiss"))
        np.save(folder / "vectors.npy", np.ascontiguousarray(self.vectors), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, info: dict[str, Any] | None = None) -> DenseIndex:
        """Read ``folder``; the raw vectors are memory-mapped (read from disk as they are used)."""
        import faiss

        index: Any = faiss.read_index(str(folder / "dense.faiss"))
        vectors = np.load(folder / "vectors.npy", allow_pickle=False, mmap_mode="r")
        info = dict(info or {})
        if info.get("kind") == "ivf" and info.get("nprobe"):
            index.nprobe = int(info["nprobe"])
        elif info.get("kind") == "hnsw" and info.get("efSearch"):
            index.hnsw.efSearch = int(info["efSearch"])
        return cls(index, vectors, info)
