"""Judge answers from any system, and meta-evaluate the judge itself.

``judge_file`` reads JSON Lines ``{"id", "question", "contexts": [...], "answer"}`` -- the
output of this assistant or of any other RAG system -- and writes the same rows with the
judge's ``faithfulness`` (in [0, 1]) and per-claim ``claims`` verdicts added. The score is
RAGAS-style faithfulness (Es et al. 2023, https://arxiv.org/abs/2309.15217): the claims of
the answer checked against the contexts.

``meta_file`` asks how far the judge can be trusted: on rows labelled ``faithful``
true/false (with a ``flaw`` for the false ones) it reports ROC-AUC overall and per flaw,
the meta-evaluation of TRUE (Honovich et al. 2022, https://arxiv.org/abs/2204.04991).

>>> from rag.judge import OfflineJudge                                               # doctest: +SKIP
>>> judge_file("answers.jsonl", "judged.jsonl", OfflineJudge())                      # doctest: +SKIP
{'n': 40, 'faithfulness': 0.81, 'claims': 152, 'unsupported': 19, 'output': 'judged.jsonl'}
>>> print(format_meta(meta_file("eval/datasets/dev_faithfulness.jsonl", OfflineJudge())))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.evaluation.dataset import DatasetError, json_lines
from rag.evaluation.metrics import mean
from rag.evaluation.report import format_table


def _judge_or_default(judge: Any) -> Any:
    if judge is not None:
        return judge
    from rag.judge import OfflineJudge

    return OfflineJudge()


def _rows(path: str | Path, *, need_label: bool = False) -> Iterator[dict[str, Any]]:
    """Validated rows of a judge input file; errors name the line."""
    p = Path(path)
    with p.open(encoding="utf-8-sig") as f:
        for n, where, row in json_lines(f, str(p)):
            if not isinstance(row, dict):
                raise DatasetError(f"{where}: expected a JSON object")
            if not isinstance(row.get("answer"), str):
                raise DatasetError(f"{where}: missing 'answer' (a string)")
            contexts = row.get("contexts")
            if isinstance(contexts, str):
                contexts = [contexts]
            if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
                raise DatasetError(f"{where}: 'contexts' must be a list of strings")
            if need_label and not isinstance(row.get("faithful"), bool):
                raise DatasetError(f"{where}: 'faithful' must be true or false for meta-evaluation")
            row["contexts"] = contexts
            row.setdefault("id", f"line{n}")
            row["question"] = str(row.get("question") or "")
            yield row


def _verdict(v: Any) -> dict[str, Any]:
    return {
        "claim": str(v.claim),
        "supported": bool(v.supported),
        "score": float(getattr(v, "score", float(bool(v.supported)))),
        "span": str(getattr(v, "span", "")),
        "reason": str(getattr(v, "reason", "")),
        "context_index": int(getattr(v, "context_index", -1)),
    }


def judge_row(row: dict[str, Any], judge: Any) -> dict[str, Any]:
    """``row`` with ``faithfulness`` (clamped to [0, 1]) and ``claims`` (per-claim verdicts) added."""
    result = judge.judge(row.get("question", ""), list(row["contexts"]), row["answer"])
    score = float(getattr(result, "faithfulness", 0.0))
    score = 0.0 if math.isnan(score) else min(1.0, max(0.0, score))
    return row | {"faithfulness": score, "claims": [_verdict(v) for v in getattr(result, "claims", ())]}


def judge_file(input_path: str | Path, output_path: str | Path, judge: Any = None) -> dict[str, Any]:
    """Judge every line of ``input_path`` and write the judged lines to ``output_path``.

    Returns ``{"n", "faithfulness" (mean), "claims", "unsupported", "output"}``.
    ``judge`` defaults to ``rag.judge.OfflineJudge()``.
    """
    judge = _judge_or_default(judge)
    out = Path(output_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    scores: list[float] = []
    n_claims = n_unsupported = 0
    tmp = out.with_name(out.name + ".part")  # a failed run leaves the old output untouched
    with tmp.open("w", encoding="utf-8") as f:
        for row in _rows(input_path):
            judged = judge_row(row, judge)
            scores.append(judged["faithfulness"])
            n_claims += len(judged["claims"])
            n_unsupported += sum(not c["supported"] for c in judged["claims"])
            f.write(json.dumps(judged, ensure_ascii=False) + "\n")
    tmp.replace(out)
    return {
        "n": len(scores),
        "faithfulness": mean(scores),
        "claims": n_claims,
        "unsupported": n_unsupported,
        "output": str(out),
    }


def format_judged(result: dict[str, Any]) -> str:
    """The dict of :func:`judge_file` as a small table."""
    rows = [[key, result.get(key)] for key in ("n", "faithfulness", "claims", "unsupported", "output")]
    return format_table(["", "value"], rows, right=[False, False])


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    return value


def meta_file(path: str | Path, judge: Any = None) -> dict[str, Any]:
    """ROC-AUC of ``judge`` on a labelled file (rows with ``faithful`` and ``flaw``).

    Returns ``rag.judge.meta_evaluate``'s dict -- ``{"overall": {"roc_auc", "n", ...},
    "per_flaw": {flaw: {"roc_auc", "n"}}, "scores", "ms_per_answer"}`` -- with undefined
    AUCs (one class empty) as None instead of NaN, so it serialises as JSON.
    """
    from rag.judge import meta_evaluate

    judge = _judge_or_default(judge)
    rows = list(_rows(path, need_label=True))
    if not rows:
        raise DatasetError(f"{path}: no rows")
    result: dict[str, Any] = _nan_to_none(meta_evaluate(rows, judge))
    result["path"] = str(path)
    return result


def format_meta(result: dict[str, Any]) -> str:
    """ROC-AUC overall and per flaw, with the number of answers behind each.

    >>> print(format_meta({"overall": {"roc_auc": 0.9, "n": 40},
    ...                    "per_flaw": {"changed_number": {"roc_auc": 1.0, "n": 4}}}))
    flaw            ROC-AUC  n
    --------------  -------  --
    overall           0.900  40
    changed_number    1.000   4
    """
    overall = result.get("overall", {})
    rows: list[list[Any]] = [["overall", overall.get("roc_auc"), overall.get("n")]]
    rows += [[flaw, v.get("roc_auc"), v.get("n")] for flaw, v in sorted(result.get("per_flaw", {}).items())]
    table = format_table(["flaw", "ROC-AUC", "n"], rows, right=[False, True, True])
    if result.get("ms_per_answer") is not None:
        table += f"\n\n{result['ms_per_answer']:.1f} ms per answer"
    return table
