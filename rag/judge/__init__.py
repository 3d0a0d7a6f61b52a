"""Offline faithfulness judge: split an answer into claims and verify each against the contexts.

>>> from rag.judge import OfflineJudge
>>> r = OfflineJudge().judge("", ["全市新建职工书屋75个。"], "全市新建职工书屋57个[1]。")
>>> r.claims[0].supported, r.claims[0].reason
(False, '数字 57个 不在资料中')

See :mod:`rag.judge.offline` for the method, :mod:`rag.judge.meta` for ROC-AUC meta-evaluation.
"""

from rag.judge.claims import split_claims
from rag.judge.meta import meta_evaluate, roc_auc
from rag.judge.offline import ClaimVerdict, JudgeResult, OfflineJudge

__all__ = ["ClaimVerdict", "JudgeResult", "OfflineJudge", "meta_evaluate", "roc_auc", "split_claims"]
