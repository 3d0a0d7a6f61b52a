"""Meta-evaluation of a faithfulness judge: how well do its scores rank faithful answers first?

ROC-AUC is the probability that a randomly chosen faithful answer scores higher than a
randomly chosen unfaithful one (ties count one half): the Mann-Whitney U statistic
divided by n_pos * n_neg. It needs no threshold, which suits a graded judge. This is the
meta-evaluation used for factual-consistency metrics in TRUE (Honovich et al., 2022,
https://arxiv.org/abs/2204.04991).

>>> roc_auc([1, 1, 0, 0], [0.9, 0.8, 0.3, 0.1])
1.0
>>> roc_auc([True, False], [0.5, 0.5])
0.5
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol


class _Judge(Protocol):
    def judge(self, question: str, contexts: list[str], answer: str) -> Any: ...


def roc_auc(labels: Sequence[bool | int], scores: Sequence[float]) -> float:
    """Area under the ROC curve, positive class = truthy label; ties handled by mid-ranks.

    Returns NaN when one class is empty (AUC is undefined then).

    >>> roc_auc([0, 1], [0.9, 0.1])
    0.0
    """
    if len(labels) != len(scores):
        raise ValueError(f"labels and scores differ in length: {len(labels)} != {len(scores)}")
    pairs = sorted(zip(scores, (bool(x) for x in labels), strict=True), key=lambda p: p[0])
    n_pos = sum(1 for _, y in pairs if y)
    n_neg = len(pairs) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    rank_sum = 0.0  # sum of the positives' (1-based, mid-) ranks
    i = 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        mid = (i + j) / 2 + 1
        rank_sum += mid * sum(1 for k in range(i, j + 1) if pairs[k][1])
        i = j + 1
    u = rank_sum - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


_NO_FLAW = ("", "none", "null", "faithful")


def _flaw_of(row: dict[str, Any]) -> str | None:
    """The row's flaw name; null, missing, "" and "none" all mean no flaw.

    >>> _flaw_of({"flaw": None}), _flaw_of({"flaw": "none"}), _flaw_of({}), _flaw_of({"flaw": "wrong_entity"})
    (None, None, None, 'wrong_entity')
    """
    flaw = row.get("flaw")
    if flaw is None or str(flaw).strip().lower() in _NO_FLAW:
        return None
    return str(flaw)


def _is_faithful(row: dict[str, Any]) -> bool:
    """The ``faithful`` label; without one, a row is faithful when it names no flaw."""
    if row.get("faithful") is None:
        return _flaw_of(row) is None
    return bool(row["faithful"])


def meta_evaluate(rows: Sequence[dict[str, Any]], judge: _Judge) -> dict[str, Any]:
    """Score every row with ``judge`` and report ROC-AUC overall and per flaw.

    Rows carry ``question``, ``contexts``, ``answer``, ``faithful`` (bool) and ``flaw``
    (str; null, missing or "none" for faithful rows -- all three are treated alike, and a
    row without ``faithful`` is labelled by its flaw). Per-flaw AUC compares the faithful rows with the rows of that flaw only.
    The result also holds ``scores`` (id or index -> score) and ``ms_per_answer``.
    """
    labels: list[bool] = []
    scores: list[float] = []
    flaws: list[str | None] = []
    ids: list[str] = []
    t0 = time.perf_counter()
    for k, row in enumerate(rows):
        res = judge.judge(row.get("question", ""), list(row["contexts"]), row["answer"])
        score = float(getattr(res, "faithfulness", res))
        faithful = _is_faithful(row)
        labels.append(faithful)
        scores.append(score)
        flaws.append(None if faithful else (_flaw_of(row) or "unknown"))
        ids.append(str(row.get("id", k)))
    elapsed = time.perf_counter() - t0
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    per_flaw: dict[str, dict[str, float | int]] = {}
    for flaw in sorted({f for f in flaws if f is not None}):
        neg = [s for s, f in zip(scores, flaws, strict=True) if f == flaw]
        per_flaw[flaw] = {
            "roc_auc": roc_auc([1] * len(pos) + [0] * len(neg), pos + neg),
            "n": len(neg),
        }
    return {
        "overall": {"roc_auc": roc_auc(labels, scores), "n": len(rows), "n_faithful": len(pos)},
        "per_flaw": per_flaw,
        "scores": dict(zip(ids, scores, strict=True)),
        "ms_per_answer": 1000 * elapsed / max(1, len(rows)),
    }
