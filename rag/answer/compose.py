"""Write the answer: the asked span first, then the sentence it stands in, each cited.

>>> from rag.answer.extractive import analyze
>>> from rag.records import Passage
>>> p = Passage("p", "珠穆朗玛峰海拔8848.86米，是世界最高峰。", "a.txt", "珠穆朗玛峰", (), 1.0)
>>> compose(analyze("珠穆朗玛峰海拔多少米？", [p]), "珠穆朗玛峰海拔多少米？").text
'8848.86米[1]。珠穆朗玛峰海拔8848.86米，是世界最高峰[1]。'
"""

from __future__ import annotations

import re
from typing import Any

from rag import zh
from rag.answer.extractive import Analysis
from rag.answer.prompt import REFUSAL
from rag.records import Answer, Citation

__all__ = ["SHORT_MIN_PROBABILITY", "compose"]

# Below this span probability the answer is the sentence alone (no short answer); fitted
# with the models in eval/train_answerer.py when the model file says so.
SHORT_MIN_PROBABILITY = 0.2
_END = "。！？!?；;，,：: "
_MARK = re.compile(r"[\[［【]\d{1,3}[\]］】]")


def _model_info() -> dict[str, Any]:
    from rag.answer.scoring import load_models

    return dict(load_models().info)


def compose(analysis: Analysis, question: str, *, runner_up: bool = True) -> Answer:
    """The answer of an analysis that was not refused: ``short[1]。sentence[1]。``, and the
    runner-up sentence too when the sentence model is unsure between them (its probability
    at least ``second_ratio`` of the best's; the ratio is chosen in eval/train_answerer.py)."""
    best = analysis.best
    if best is None:
        return Answer(question, REFUSAL + "。", (), True, analysis.passages)
    info = _model_info()
    chosen, short = best, ""
    if analysis.span is not None and analysis.span_of is not None:
        by_kind = dict(info.get("short_threshold_by_kind", {}))
        least = float(by_kind.get(analysis.question.kind, info.get("short_threshold", SHORT_MIN_PROBABILITY)))
        if analysis.span_probability >= least:
            chosen = analysis.span_of
            # verbatim from the passage: the span was found in the folded sentence (same offsets)
            original = chosen.text[analysis.span.start : analysis.span.end]
            short = _MARK.sub("", original if zh.fold(original) == analysis.span.text else analysis.span.text).strip()
    sentences = [chosen]
    ratio = float(info.get("second_ratio", 2.0))
    runner = next((c for c in analysis.ranked[:2] if c is not chosen), None)
    if not short:  # without a short answer the quote is the answer: a second sentence must be closer
        ratio = max(ratio, float(info.get("second_ratio_alone", ratio)))
    if runner_up and runner is not None and runner.score >= ratio * (best.score or 1.0):
        sentences.append(runner)
    numbers: dict[str, int] = {}
    for c in sentences:
        numbers.setdefault(c.passage.id, len(numbers) + 1)
    # sentences of one passage in reading order
    sentences.sort(key=lambda c: (numbers[c.passage.id], c.start))
    parts = []
    for c in sentences:  # a marker the document itself carries ("…8848.86米[3]") is not ours
        parts.append(f"{_MARK.sub('', c.text).strip().rstrip(_END)}[{numbers[c.passage.id]}]")
    citations = []
    for pid, n in numbers.items():
        mine = [c for c in sentences if c.passage.id == pid]
        a, b = min(c.start for c in mine), max(c.end for c in mine)
        quote = mine[0].passage.text[a:b].strip().rstrip(_END)
        citations.append(Citation(n, mine[0].passage, quote))
    body = "。".join(parts) + "。"
    sentence = chosen.text.strip()
    lead = f"{short}[{numbers[chosen.passage.id]}]。" if short and short.strip(_END) != sentence.strip(_END) else ""
    return Answer(question, lead + body, tuple(citations), False, analysis.passages, short_answer=short)
