"""Compare two evaluation runs: figure deltas and the questions that flipped.

>>> print(compare_runs("eval/runs/baseline", "eval/runs/new"))      # doctest: +SKIP
metric                A      B     B−A
--------------------  -----  -----  ------
answer accuracy       0.800  0.850  +0.050  better
...
answer: pass→fail (1): d017
answer: fail→pass (3): d004, d020, d031

A question *passes* on the answer side when every ``must_contain`` string is in the
answer (or, for an unanswerable question, when it was refused), and on the retrieval
side when every evidence string is in the top k (``recall@k == 1``); those are the
``pass`` flags of ``results.jsonl``. Questions are matched by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.evaluation.harness import ANSWER_METRICS
from rag.evaluation.report import format_table, load_run

# Figures where a smaller number is the better one.
LOWER_IS_BETTER = ("false_refusal_rate", "latency", "errors", "failed")
_ANSWER = ANSWER_METRICS


def _metric_rows(summary: dict[str, Any]) -> dict[str, float | None]:
    """Flat ``{"answer accuracy": 0.8, "accuracy [numeric]": 0.9, ...}`` of one summary.

    Every answer figure of :data:`~rag.evaluation.harness.ANSWER_METRICS` (``char_f1``
    and ``exact_match`` included), then accuracy and recall@k per question type, then --
    when the run covers more than one corpus -- accuracy, character F1, EM and recall@k
    per corpus.

    >>> s = {"answer": {"char_f1": 0.5, "per_corpus": {"qa": {"char_f1": 0.4}, "dev": {"char_f1": 0.6}}},
    ...      "retrieval": {"recall@5": 1.0, "per_corpus": {"qa": {"recall@5": 1.0}, "dev": {"recall@5": 1.0}}}}
    >>> rows = _metric_rows(s)
    >>> rows["answer char_f1"], rows["char_f1 [corpus qa]"], rows["recall@5 [corpus dev]"]
    (0.5, 0.4, 1.0)
    """
    out: dict[str, float | None] = {}
    retrieval, answer = summary.get("retrieval", {}), summary.get("answer", {})
    rkeys = [key for key in retrieval if key.startswith("recall@")]
    for key in [*rkeys, "recall_2000", "mrr"]:
        out[f"retrieval {key}"] = retrieval.get(key)
    for key in _ANSWER:
        out[f"answer {key}"] = answer.get(key)
    for key in ("p50", "p95", "mean"):
        out[f"latency {key} (ms)"] = summary.get("latency_ms", {}).get(key)
    out["n"] = summary.get("n")
    out["failed"] = summary.get("failed")
    out["errors"] = summary.get("errors")
    for t, block in sorted(answer.get("per_type", {}).items()):
        out[f"accuracy [{t}]"] = block.get("accuracy")
    for t, block in sorted(retrieval.get("per_type", {}).items()):
        for key in rkeys:
            out[f"{key} [{t}]"] = block.get(key)
    per_corpus = answer.get("per_corpus", {})
    if len(set(per_corpus) | set(retrieval.get("per_corpus", {}))) > 1:
        for c, block in sorted(per_corpus.items()):
            for key in ("accuracy", "char_f1", "exact_match"):
                out[f"{key} [corpus {c}]"] = block.get(key)
        for c, block in sorted(retrieval.get("per_corpus", {}).items()):
            for key in rkeys:
                out[f"{key} [corpus {c}]"] = block.get(key)
    return out


def _flips(rows_a: Sequence[dict[str, Any]], rows_b: Sequence[dict[str, Any]], side: str) -> dict[str, list[str]]:
    a = {r["id"]: r.get("pass", {}).get(side) for r in rows_a}
    b = {r["id"]: r.get("pass", {}).get(side) for r in rows_b}
    common = [i for i in a if i in b]
    return {
        "pass_to_fail": [i for i in common if a[i] is True and b[i] is False],
        "fail_to_pass": [i for i in common if a[i] is False and b[i] is True],
    }


def compare_data(dir_a: str | Path, dir_b: str | Path) -> dict[str, Any]:
    """The comparison as a dict: ``metrics`` rows (name, A, B, B−A), ``flips`` per side, unmatched ids."""
    sum_a, rows_a = load_run(dir_a)
    sum_b, rows_b = load_run(dir_b)
    ma, mb = _metric_rows(sum_a), _metric_rows(sum_b)
    metrics = []
    for name in [*ma, *(n for n in mb if n not in ma)]:
        va, vb = ma.get(name), mb.get(name)
        delta = vb - va if isinstance(va, int | float) and isinstance(vb, int | float) else None
        metrics.append({"metric": name, "a": va, "b": vb, "delta": delta})
    ids_a, ids_b = {r["id"] for r in rows_a}, {r["id"] for r in rows_b}
    return {
        "a": str(dir_a),
        "b": str(dir_b),
        "metrics": metrics,
        "flips": {"answer": _flips(rows_a, rows_b, "answer"), "retrieval": _flips(rows_a, rows_b, "retrieval")},
        "only_a": sorted(ids_a - ids_b),
        "only_b": sorted(ids_b - ids_a),
    }


def _verdict(name: str, delta: float | None) -> str:
    if delta is None or abs(delta) < 1e-9:
        return ""
    worse = delta > 0 if any(w in name for w in LOWER_IS_BETTER) else delta < 0
    return "worse" if worse else "better"


def _signed(delta: float | None) -> str:
    if delta is None:
        return "–"
    if isinstance(delta, int):
        return f"{delta:+d}"
    return f"{delta:+.3f}"


def compare_runs(dir_a: str | Path, dir_b: str | Path) -> str:
    """A printable table of figure deltas between run A and run B, then the flipped questions.

    ``dir_a`` / ``dir_b`` are folders written by :func:`rag.evaluation.harness.run_eval`.
    """
    data = compare_data(dir_a, dir_b)
    rows = [
        [m["metric"], m["a"], m["b"], _signed(m["delta"]), _verdict(m["metric"], m["delta"])] for m in data["metrics"]
    ]
    out = [
        f"A = {data['a']}",
        f"B = {data['b']}",
        "",
        format_table(["metric", "A", "B", "B−A", ""], rows, right=[False, True, True, True, False]),
        "",
    ]
    for side in ("answer", "retrieval"):
        for key, label in (("pass_to_fail", "pass→fail"), ("fail_to_pass", "fail→pass")):
            ids = data["flips"][side][key]
            out.append(f"{side}: {label} ({len(ids)}): {', '.join(ids) if ids else '–'}")
    if data["only_a"] or data["only_b"]:
        out.append(f"only in A: {', '.join(data['only_a']) or '–'}; only in B: {', '.join(data['only_b']) or '–'}")
    return "\n".join(out)
