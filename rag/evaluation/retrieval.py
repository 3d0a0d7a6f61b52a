"""Retrieval figures: recall@k, recall within the first 2,000 characters, MRR, per type.

An evidence string counts as found when it lies whole inside a returned passage, both
compared with all whitespace removed (and NFKC, so full-width and half-width forms of
the same character match). A question's recall is the share of its evidence strings
found; MRR uses the rank of the first passage holding any of them.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.ingest.clean import normalize_for_match
from rag.records import Passage


def evidence_found(evidence: str, passages: Sequence[Passage] | Sequence[str]) -> int | None:
    """1-based rank of the first passage containing ``evidence`` whole, else None.

    >>> evidence_found("发放 3234万元", ["无关", "共发放3234万元。"])
    2
    """
    ev = normalize_for_match(evidence)
    for i, p in enumerate(passages):
        text = p if isinstance(p, str) else str(getattr(p, "text", ""))
        if ev and ev in normalize_for_match(text):
            return i + 1
    return None


def first_chars(passages: Sequence[Passage], budget: int = 2000) -> list[str]:
    """The passages' texts cut so that together they hold at most ``budget`` characters."""
    out, used = [], 0
    for p in passages:
        if used >= budget:
            break
        out.append(p.text[: budget - used])
        used += len(p.text)
    return out


@dataclass(frozen=True)
class RetrievalScore:
    recall_at_k: float
    recall_2000: float
    reciprocal_rank: float


def score_retrieval(evidence: Sequence[str], passages: Sequence[Passage], k: int = 5) -> RetrievalScore | None:
    """Scores of one question; None when it has no evidence (unanswerable questions)."""
    if not evidence:
        return None
    top = list(passages[:k])
    ranks = [evidence_found(e, top) for e in evidence]
    within = first_chars(list(passages))
    found_2000 = [evidence_found(e, within) is not None for e in evidence]
    first = min((r for r in ranks if r is not None), default=None)
    return RetrievalScore(
        recall_at_k=sum(r is not None for r in ranks) / len(evidence),
        recall_2000=sum(found_2000) / len(evidence),
        reciprocal_rank=1.0 / first if first else 0.0,
    )


def evaluate_retrieval(
    rows: Sequence[dict[str, Any]], search: Callable[[str], list[Passage]], k: int = 5
) -> dict[str, Any]:
    """Run ``search`` on every row with evidence; figures overall and per ``type``."""
    per_type: dict[str, list[RetrievalScore]] = defaultdict(list)
    latencies = []
    for row in rows:
        if not row.get("evidence"):
            continue
        t0 = time.perf_counter()
        passages = search(row["question"])
        latencies.append((time.perf_counter() - t0) * 1000)
        s = score_retrieval(row["evidence"], passages, k)
        assert s is not None
        per_type[row.get("type") or "all"].append(s)
        per_type["overall"].append(s)
    return {
        name: {
            "n": len(scores),
            f"recall@{k}": statistics.fmean(s.recall_at_k for s in scores),
            "recall_2000": statistics.fmean(s.recall_2000 for s in scores),
            "mrr": statistics.fmean(s.reciprocal_rank for s in scores),
        }
        for name, scores in per_type.items()
    } | {"latency_ms": latency_summary(latencies)}


def latency_summary(ms: Sequence[float]) -> dict[str, float]:
    if not ms:
        return {"p50": 0.0, "p95": 0.0, "mean": 0.0}
    s = sorted(ms)
    return {
        "p50": s[len(s) // 2],
        "p95": s[min(len(s) - 1, round(0.95 * (len(s) - 1)))],
        "mean": statistics.fmean(s),
    }
