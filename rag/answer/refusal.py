"""Decide when the retrieved passages do not answer the question, and say so.

The decision is the learned ``answerable`` model of :mod:`rag.answer.scoring` applied to
the features of the best candidate (word coverage, the question's years and places in the
passage, a figure of the asked measure, the span's score, words of the question written
nowhere in the passages...); its threshold was fitted with ``eval/train_answerer.py``.
:func:`judge` only reads the analysis; it changes nothing.

>>> refusal_answer("临江市建了多少座水库？", []).text
'资料中没有相关信息。'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.extractive import Analysis
from rag.answer.prompt import REFUSAL
from rag.records import Answer, Passage

__all__ = ["REFUSAL", "Verdict", "judge", "refusal_answer"]


@dataclass(frozen=True)
class Verdict:
    """Whether to refuse, the chance the passages answer, and why (shown after the refusal)."""

    refuse: bool
    p_answerable: float = 0.0
    reason: str = ""
    code: str = ""  # no_passages | year | place | unit | topic | low_score


def _reason(a: Analysis) -> tuple[str, str]:
    """The most telling missing piece, in words."""
    q, f = a.question, a.features
    if f.get("no_passages"):
        return "no_passages", ""
    if f.get("year_missing") and q.years:
        return "year", f"没有{'、'.join(q.years)}年的相关内容"
    if f.get("place_missing") and q.named_places:
        return "place", f"没有关于{'、'.join(q.named_places)}的相关内容"
    if q.kind == "number" and q.measure and not f.get("measure_match"):
        return "unit", "找到的内容里没有所问的数字"
    if f.get("unseen", 0.0) > 0.3:
        return "topic", "资料没有提到问题中的关键词"
    return "low_score", ""


# What each veto says when it refuses.
_VETO_REASONS = {
    "veto_year": ("year", "没有{years}年的相关内容"),
    "veto_place": ("place", "没有关于{places}的相关内容"),
    "veto_noun": ("topic", "资料没有提到“{noun}”"),
    "veto_year_best": ("year", "找到的内容不是{years}年的"),
    "veto_place_best": ("place", "找到的内容不是关于{places}的"),
    "year_doc_conflict": ("year", "找到的内容不是{years}年的"),
    "year_other_sentence": ("year", "找到的数字不是{years}年的"),
    "place_missing_doc": ("place", "找到的文档没有写到{places}"),
}


def judge(analysis: Analysis, threshold: float, vetoes: Sequence[str] = ()) -> Verdict:
    """Refuse when P(answerable) is below ``threshold``, when an enabled veto fires (the
    asked year, place or rarest noun is written in none of the passages; the training
    script enables a veto only where it was right on the training questions), or when
    nothing was retrieved."""
    if analysis.best is None:
        return Verdict(True, 0.0, "", "no_passages")
    q, f = analysis.question, analysis.features
    for name in vetoes:
        if f.get(name):
            code, template = _VETO_REASONS[name]
            noun = max(q.nouns, key=lambda t: analysis.weights.get(t, 0.0), default="")
            places = "、".join(q.named_places)
            reason = template.format(years="、".join(q.single_years), places=places, noun=noun)
            return Verdict(True, analysis.p_answerable, reason, code)
    if analysis.p_answerable >= threshold:
        return Verdict(False, analysis.p_answerable)
    code, reason = _reason(analysis)
    return Verdict(True, analysis.p_answerable, reason, code)


def refusal_answer(
    question: str, passages: Sequence[Passage], verdict: Verdict | None = None, *, max_titles: int = 3
) -> Answer:
    """The refusal: "资料中没有相关信息", the reason, and the titles of the closest passages."""
    text = REFUSAL
    if verdict is not None and verdict.reason:
        text += f"（{verdict.reason}）"
    text += "。"
    titles = list(dict.fromkeys(p.title for p in passages if p.title))[:max_titles]
    if titles:
        text += "最接近的资料：" + "、".join(f"《{t}》" for t in titles) + "。"
    return Answer(question, text, (), True, tuple(passages))
