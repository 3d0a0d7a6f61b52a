"""The retrieval comparison table: BM25 alone, dense alone and hybrid, per question type.

rag eval retrieval eval/datasets/dev_qa.jsonl --index index
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.evaluation.retrieval import evaluate_retrieval
from rag.records import Passage


def _searcher(fn: Any, n: int) -> Callable[[str], list[Passage]]:
    return lambda q: list(fn(q, n))


def retrieval_table(assistant: Any, dataset: str | Path, k: int = 5) -> str:
    """A Markdown table of recall@k, recall within 2,000 characters and MRR per type and mode."""
    from rag.retrieval.retrievers import DenseRetriever, LexicalRetriever

    rows = [json.loads(line) for line in Path(dataset).read_text(encoding="utf-8").splitlines() if line.strip()]
    modes: dict[str, Any] = {"bm25": LexicalRetriever(assistant.data).search}
    if assistant.data.dense is not None:
        modes["dense"] = DenseRetriever(assistant.data).search
    modes["hybrid"] = assistant.retriever.search
    results = {name: evaluate_retrieval(rows, _searcher(fn, k * 3), k) for name, fn in modes.items()}
    types = [t for t in next(iter(results.values())) if t not in ("latency_ms",)]
    types = ["overall", *sorted(t for t in types if t != "overall")]
    lines = [
        f"| mode | type | n | recall@{k} | recall@2000ch | MRR |",
        "|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        for t in types:
            r = res[t]
            lines.append(
                f"| {name} | {t} | {r['n']} | {r[f'recall@{k}']:.3f} | {r['recall_2000']:.3f} | {r['mrr']:.3f} |"
            )
    lines += ["", "| mode | latency p50 ms | p95 ms |", "|---|---|---|"]
    for name, res in results.items():
        lat = res["latency_ms"]
        lines.append(f"| {name} | {lat['p50']:.1f} | {lat['p95']:.1f} |")
    return "\n".join(lines)
