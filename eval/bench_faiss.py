"""When does approximate search (HNSW) pay off over exact search? Prints a table.

    python eval/bench_faiss.py --sizes 10000 50000 100000 --dim 256

For each index size: build time, query latency p50 (single query, the assistant's access
pattern) for exact inner product (IndexFlatIP) and HNSW (M=32, efSearch=256), and HNSW's
recall@10 against the exact result. Vectors are random unit vectors with some clustered
structure; the corpus embedder's vectors are 256-d. The crossover sets
``Settings.exact_search_max``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _data(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    centers = rng.normal(size=(max(8, n // 500), dim)).astype(np.float32)
    x = centers[rng.integers(0, len(centers), n)] + 0.6 * rng.normal(size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def main() -> None:

    from rag.retrieval.dense import DenseIndex

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print("| vectors | exact build s | exact p50 ms | HNSW build s | HNSW p50 ms | HNSW recall@10 |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        x = _data(n, args.dim, rng)
        q = _data(args.queries, args.dim, rng)
        row = [f"{n:,}"]
        results = {}
        for name, exact_max in (("exact", n), ("hnsw", 0)):
            t0 = time.perf_counter()
            idx = DenseIndex.build(x, exact_max=exact_max)
            build = time.perf_counter() - t0
            lat, ids = [], []
            for v in q:
                t0 = time.perf_counter()
                hits = idx.search(v, 10)
                lat.append((time.perf_counter() - t0) * 1000)
                ids.append({h[0] for h in hits})
            results[name] = ids
            row += [f"{build:.2f}", f"{statistics.median(lat):.2f}"]
        recall = statistics.fmean(len(a & b) / 10 for a, b in zip(results["exact"], results["hnsw"], strict=True))
        row.append(f"{recall:.3f}")
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
