"""Offline faithfulness judge: split an answer into claims and verify each against the contexts.

>>> from rag.judge import OfflineJudge
>>> r = OfflineJudge().judge("", ["2024年公司实现营业收入75亿元。"], "2024年公司实现营业收入57亿元[1]。")
>>> r.claims[0].supported, r.claims[0].reason
(False, '数字 57亿 不在资料中')

See :mod:`rag.judge.offline` for the method, :mod:`rag.judge.meta` for ROC-AUC meta-evaluation.
"""

from rag.judge.claims import split_claims
from rag.judge.meta import meta_evaluate, roc_auc
from rag.judge.offline import ClaimVerdict, JudgeResult, OfflineJudge

__all__ = ["ClaimVerdict", "JudgeResult", "OfflineJudge", "meta_evaluate", "roc_auc", "split_claims"]
