"""Decide when the retrieved passages do not answer the question, and say so.

A raw retrieval score cannot tell "貴阳市 2023" from "铜仁市 2025": both questions find
passages about 金秋助学. So the question's own constraints are checked against the
passages (``rag.answer.extractive.analyze`` does the reading):

- every place it names must be what a passage is about (title, heading, meta) or be named
  in the sentence used, and every year must fit the passage (an annual report of 2025 does
  not answer for 2024);
- the asked thing must be there at all (some content word share), and a name the
  question quotes (“五个一”) must be found as written;
- a 多少 question needs a figure where the asked metric is: when the best-matching clause
  names the metric but gives no number ("评选推荐省级以上劳动模范和先进工作者名、…53个"),
  or the clauses with numbers match the question much worse than the best clause, the
  figure is not in the passages;
- and the figure must measure what is asked: no window about the asked place holds a
  figure bound to the asked thing with a fitting counter ("西藏…表彰了多少名劳模" is not
  answered by "劳模工匠巡回宣讲等活动覆盖职工1000万人次"; "甘肃…发放了多少帮扶资金" not by a
  clause without a figure, nor by "拨付专项资金4700余万元"). The refusal names the missing
  part and the closest figure that does not fit.

Each part of a question and each side of a comparison is judged apart: an answer is given
for the parts the passages answer, with a note for the others ("湖北：资料中没有相关信息").

>>> from rag.records import Passage
>>> p = Passage("p", "发放职工医疗互助金3234万元。", "a.txt", "铜仁市总工会2025年工作综述", (), 1.0,
...             meta={"place": "铜仁市", "year": "2025"})
>>> check_refusal("2025年贵阳市发放了多少医疗互助金？", [p]).refuse
True
>>> check_refusal("2025年铜仁市发放了多少医疗互助金？", [p]).refuse
False
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rag.answer.extractive import (
    Analysis,
    NeedResult,
    Window,
    _figure_phrases,
    _measure,
    _unit_match,
    analyze,
    asked_measure,
)
from rag.answer.prompt import REFUSAL
from rag.records import Answer, Passage

__all__ = ["REFUSAL", "Verdict", "check_refusal", "judge", "refusal_answer"]

# Below this share of the question's content words, the passages do not discuss the topic.
MIN_TOPIC = 0.08
# A 多少 question is refused when its best clause with a figure matches less than this
# share of what the best clause overall matches (and that one matches at least MIN_METRIC).
FIGURE_RATIO = 0.6
MIN_METRIC = 0.5
# Refused when text about other places/years holds at least METRIC_OTHER of the words for
# the asked thing and the text meeting the constraints less than METRIC_RATIO times that.
# METRIC_RATIO_ALL applies when the asked thing is not named after 多少 and all the
# question's words stand for it (framing words like 层面/举办 make that share noisier).
METRIC_OTHER = 0.74
METRIC_RATIO = 0.5
METRIC_RATIO_ALL = 0.35
# ... unless a window meeting the constraints matches at least ADDRESSED_REL of the
# question's words, and at least ADDRESSED_RATIO of what the other text matches.
ADDRESSED_REL = 0.3
ADDRESSED_RATIO = 0.4


@dataclass(frozen=True)
class Verdict:
    """Whether to refuse, why (shown after the refusal sentence), and which needs fail.

    ``failed`` holds the indices of the question's needs (parts, comparison sides) that
    the passages do not answer; ``refuse`` is true when none is answered.
    """

    refuse: bool
    reason: str = ""
    code: str = ""  # no_passages | place | year | topic | name | metric | no_figure | figure_missing | figure_unfit
    failed: tuple[int, ...] = ()
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _need_verdict(r: NeedResult, kind: str) -> tuple[str, str]:
    """(code, reason) when this need is not answered, ("", "") otherwise."""
    for m in r.unmet:
        if m.kind == "place":
            return "place", f"检索到的资料没有关于{m.text}的内容"
        if m.kind == "year":
            return "year", f"检索到的资料没有{m.text}的相关内容"
    if r.best is None or r.best_rel_fit < MIN_TOPIC:
        return "topic", "检索到的资料没有涉及所问的事项"
    if r.quoted_missing:
        return "name", f"检索到的资料没有提到“{r.quoted_missing[0].text}”"
    ratio = METRIC_RATIO if r.need.metric_explicit else METRIC_RATIO_ALL
    if r.metric_other >= METRIC_OTHER and r.metric_fit < ratio * r.metric_other and not _addressed(r, kind):
        where = "、".join(m.text for m in r.need.mentions) or "所问对象"
        return "metric", f"资料中有其他地区或年份的相关内容，但没有{where}的"
    if kind == "number":
        if r.quoted_unfigured:
            name = r.quoted_unfigured[0].text
            return "name", f"资料提到了“{name}”，但提到它的句子没有给出所问的数字"
        if r.figure_missing:
            return "figure_missing", "资料提到了所问的事项，但没有给出具体数字"
        if r.best_rel_fit >= MIN_METRIC and r.best_rel_typed_fit < FIGURE_RATIO * r.best_rel_fit:
            return "no_figure", "资料中没有所问事项的具体数字"
        if r.window_metric_fit >= MIN_METRIC and r.window_metric_typed < FIGURE_RATIO * r.window_metric_fit:
            return "no_figure", "资料中没有所问事项的具体数字"
        if r.figure_fit == "none":
            return "figure_unfit", _unfit_reason(r)
    return "", ""


def _addressed(r: NeedResult, kind: str) -> bool:
    """The text meeting the constraints answers the question in other words (a paraphrase).

    Few of the asked words in the passages about the asked place is no evidence of absence
    when one of their windows still matches a fair share of the question, holds the asked
    kind of answer (a figure with a fitting counter, for 多少) and the text about other
    places matches the whole question not much better.
    """
    if r.best_rel_typed_fit < ADDRESSED_REL or r.best_rel_typed_fit < ADDRESSED_RATIO * r.rel_other:
        return False
    return kind != "number" or r.figure_fit in ("strong", "weak")


def _continues_sibling(analysis: Analysis, i: int, failed: Sequence[int], code: str) -> Window | None:
    """A follow-on part answered by the sentence that answers an earlier part: the window, or None.

    "有多少职工参加了互助保障？赔付了多少人、多少钱？": the second part leaves its topic to the
    first, so its own words are few and paraphrased (赔付 / 理赔). When its best window is in
    the sentence answering an earlier part, after that part's window, and holds a figure
    with the asked counter, the sentence goes on to answer it. Failing that, the clauses of
    that sentence and of the sentences next to it are read for a figure of the asked
    measure ("一共给多少生病的职工发了钱" / "共为684名患病职工兑付636万元互助金").
    """
    if code not in ("metric", "no_figure", "figure_unfit", "topic"):
        return None
    r = analysis.needs[i]
    if r.need.mentions and any(m.kind == "place" for m in r.unmet):
        return None
    if (r.need.kind or analysis.info.kind) != "number":
        return None
    for j, o in enumerate(analysis.needs[:i]):
        if j in failed or o.best is None:
            continue
        for w in r.ranked[:5]:
            if (
                w.view is o.best.view
                and w.sent == o.best.sent
                and w.typed
                and w.last > o.best.last
                and _counter_fits(r, w)
            ):
                return r.best or w  # its best window stays the answer
        near = _nearby_figure(r, o.best, analysis.needs)
        if near is not None:
            return near
    return None


def _nearby_figure(r: NeedResult, anchor: Window, results: Sequence[NeedResult]) -> Window | None:
    """A clause next to ``anchor`` (its sentence, then the next and the previous one) whose
    figure has the measure ``r`` asks for, and which no other part's answer holds."""
    v = anchor.view
    measure = asked_measure(r.need)
    if not r.need.unit and not measure:
        return None
    used = [(o.best.start, o.best.end) for o in results if o.best is not None and o.best.view is v]
    sents = [anchor.sent, anchor.sent + 1, anchor.sent - 1]
    for si in sents:
        if not 0 <= si < len(v.sentences):
            continue
        s = v.sentences[si]
        order = list(range(len(s.clauses)))
        if si == anchor.sent:  # after the earlier part's window first
            order = [k for k in order if k > anchor.last] + [k for k in order if k < anchor.first]
        for k in order:
            a, b = s.clauses[k]
            if any(ua <= a and b <= ub for ua, ub in used):
                continue
            clause = v.passage.text[a:b]
            if r.need.unit:
                ok = _unit_match(r.need.unit, clause)
            else:
                ok = any(_measure(f.unit) == measure for f in _figure_phrases(clause))
            if ok:
                return Window(v, si, k, k, a, b, 0.0, anchor.fit, True, 0.0)
    return None


def _counter_fits(r: NeedResult, w: Window) -> bool:
    """A figure after the start of ``w`` has a counter the part asks for (人, 元 for 多少钱 ...)."""
    unit = r.need.unit
    return bool(unit) and _unit_match(unit, w.text)


def _asked_text(r: NeedResult) -> str:
    """The asked part of a need, without its places and years: "五年表彰了多少名劳模"."""
    text = r.need.text
    for m in r.need.mentions:
        text = text.replace(m.text, "", 1)
    text = re.sub(r"^(?:的|和|与|、|，|,|\s)*(?:市|省|区|县)?(?:总工会|工会)?(?:的)?", "", text)
    return text.strip("，,；;：:？?。！! ") or r.need.text.strip("？? ")


def _unfit_reason(r: NeedResult) -> str:
    """Why a 多少 need is refused although the passages have figures: which figure, and what is missing."""
    places = [m.text for m in r.need.mentions if m.kind == "place"]
    where = f"关于{'、'.join(places)}的内容" if places else ""
    reason = f"资料中{where}没有给出“{_asked_text(r)}”的具体数字"
    f = r.unfit
    if f is not None and f.figure:
        what = {"measure": "计量的不是所问的数量", "plan": "是计划目标，不是已完成的数字"}.get(
            f.why, "说的不是所问的事项"
        )
        reason += f"；最接近的“{f.figure}”{what}"
    return reason


def judge(analysis: Analysis) -> Verdict:
    """The verdict for an analysed question.

    >>> from rag.answer.extractive import analyze
    >>> judge(analyze("2024年铜仁市开展了多少场宣讲？", [])).code
    'no_passages'
    """
    if not analysis.passages:
        return Verdict(True, "没有检索到任何资料", "no_passages")
    failed: list[int] = []
    reasons: list[str] = []
    codes: list[str] = []
    for i, r in enumerate(analysis.needs):
        code, reason = _need_verdict(r, r.need.kind or analysis.info.kind)
        if code:
            failed.append(i)
            reasons.append(reason)
            codes.append(code)
    if not analysis.needs:
        return Verdict(True, "检索到的资料没有涉及所问的事项", "topic")
    if failed and len(failed) < len(analysis.needs):
        keep = []
        for k, i in enumerate(failed):
            w = _continues_sibling(analysis, i, failed, codes[k])
            if w is None:
                keep.append(k)
            else:  # answered from that window
                r = analysis.needs[i]
                r.best = w
                r.ranked = [w, *(x for x in r.ranked if x is not w)]
        failed, reasons, codes = [failed[k] for k in keep], [reasons[k] for k in keep], [codes[k] for k in keep]
    refuse = len(failed) == len(analysis.needs)
    return Verdict(
        refuse,
        reasons[0] if reasons else "",
        codes[0] if codes else "",
        tuple(failed),
        tuple(reasons),
    )


def check_refusal(question: str, passages: Sequence[Passage], known_places: Iterable[str] = ()) -> Verdict:
    """Read ``question`` against ``passages`` and decide whether to refuse."""
    return judge(analyze(question, passages, known_places))


def refusal_answer(
    question: str, passages: Sequence[Passage], verdict: Verdict | None = None, *, max_titles: int = 3
) -> Answer:
    """The refusal: "资料中没有相关信息", the reason, and the titles of the closest passages.

    >>> refusal_answer("广州市建了多少驿站？", []).text
    '资料中没有相关信息。'
    """
    text = REFUSAL
    if verdict is not None and verdict.reason and verdict.code != "no_passages":
        text += f"（{verdict.reason}）"
    text += "。"
    titles = list(dict.fromkeys(p.title for p in passages if p.title))[:max_titles]
    if titles:
        text += "最接近的资料：" + "、".join(f"《{t}》" for t in titles) + "。"
    return Answer(question, text, (), True, tuple(passages))
