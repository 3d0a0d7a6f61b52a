"""Resolve a follow-up question against the conversation, without a model.

The last question of the history gives what a follow-up leaves out:

>>> h = [("2025年铜仁市总工会发放了多少职工医疗互助金？", "3234万元[1]。")]
>>> resolve_followup("那2024年呢？", h)
'2024年铜仁市总工会发放了多少职工医疗互助金？'
>>> resolve_followup("发展了多少新会员？", h)
'2025年铜仁市总工会发展了多少新会员？'
>>> resolve_followup("那南川区呢？", h, known_places=["南川区"])
'2025年南川区总工会发放了多少职工医疗互助金？'

Rules: an elliptical "那X呢" substitutes X's year or place into the previous question (a
topic X replaces the topic: "那金秋助学呢" asks the previous question's kind of thing about
金秋助学 with its place and year); a follow-up without a place gets the previous place and
organisation, and without a year too the previous year; a new year or place replaces
the old one. A question that names its own place is taken as standalone. Earlier
follow-ups in the history are resolved first, so chains work ("那2024年呢？" then "那青川县呢？").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from rag import zh
from rag.answer.question import Mention, analyze_question, find_places, find_years

__all__ = ["history_questions", "is_followup", "resolve_followup"]

_ELLIPSIS_RE = re.compile(
    r"^\s*(?:那么?|那|还有|另外|换成|如果是|再看看?|再说说)?\s*[，,]?\s*(?P<x>.{1,24}?)\s*"
    r"(?:的情况呢?|的呢|呢|怎么样|如何|又如何|又是多少|的数据呢?)\s*[？?。!！]*\s*$"
)
_ANAPHORA_RE = re.compile(r"^\s*(?:那么?|那|还有|另外|其中|他们|它们?|该|这个|这些|此外|同期|同年|当年|其|也|又|再)")
# An organisation named after the place ("临江市" + "人民政府", "南川区" + "总工会").
_ORG_AFTER_PLACE_RE = re.compile(r"^[\u4e00-\u9fff]{0,4}?(?:" + "|".join(zh.ORG_SUFFIXES[:-8]) + ")")
_TOPIC_TAIL = (
    (re.compile(r"多少|几"), "有多少？"),
    (re.compile(r"哪些|哪几"), "有哪些？"),
    (re.compile(r"谁|哪位"), "是谁？"),
    (re.compile(r"哪个|哪家"), "是哪个？"),
    (re.compile(r"什么"), "是什么？"),
)
_MAX_TURNS = 8


def history_questions(history: Iterable[Any]) -> list[str]:
    """The user questions of a history given as ``(question, answer)`` pairs or chat messages.

    >>> history_questions([("问一", "答一"), {"role": "user", "content": "问二"}, {"role": "assistant", "content": "答"}])
    ['问一', '问二']
    """
    out: list[str] = []
    for turn in history or ():
        if isinstance(turn, dict):
            if turn.get("role") == "user" and isinstance(turn.get("content"), str):
                out.append(turn["content"])
        elif isinstance(turn, (list, tuple)) and turn and isinstance(turn[0], str):
            out.append(turn[0])
        elif isinstance(turn, str):
            out.append(turn)
    return [q.strip() for q in out if q and q.strip()]


def _places(q: str, known: Sequence[str]) -> list[Mention]:
    """Places the corpus knows or the question writes with a suffix (not jieba's guesses)."""
    return [m for m in find_places(q, known) if m.kind == "place"]


def is_followup(question: str, known_places: Iterable[str] = ()) -> bool:
    """Whether ``question`` leans on the previous one (names no place, or opens with 那/还有…).

    >>> is_followup("那2024年呢？"), is_followup("南川区2025年新建了多少家基层工会？")
    (True, False)
    """
    known = list(known_places)
    if _ELLIPSIS_RE.match(question) and len(question) <= 26:
        return True
    if _ANAPHORA_RE.match(question):
        return True
    return not _places(question, known) and "《" not in question


def _subject(prev: str, known: Sequence[str]) -> tuple[str, str, str]:
    """(year text, place text with its organisation, the rest of the previous question)."""
    years = find_years(prev)
    places = _places(prev, known)
    year = "".join(m.text for m in years)
    place = ""
    if places:
        first, last = places[0], places[-1]
        place = prev[first.start : last.end]
        org = _ORG_AFTER_PLACE_RE.match(prev[last.end :])
        if org:
            place += org.group(0)
    return year, place, prev


def _substitute(prev: str, x: str, known: Sequence[str]) -> str | None:
    """``prev`` with the years and places named in ``x`` put in; None when ``x`` names neither."""
    x_years = find_years(x)
    x_places = _places(x, known)
    if not x_years and not x_places:
        return None
    out = prev
    p_places = _places(out, known)
    if x_places:
        new = x[x_places[0].start : x_places[-1].end]
        out = out[: p_places[0].start] + new + out[p_places[-1].end :] if p_places else new + out
    if x_years:
        new_year = "".join(m.text for m in x_years)
        p_years = find_years(out)
        out = out[: p_years[0].start] + new_year + out[p_years[-1].end :] if p_years else new_year + out
    return out


def _tail(prev: str) -> str:
    for pattern, tail in _TOPIC_TAIL:
        if pattern.search(prev):
            return tail
    return "？"


def _content_words(question: str, known: Sequence[str]) -> int:
    """How many content words ``question`` has besides its places and years."""
    q = analyze_question(question, known)
    return sum(t not in q.places and not any(t in p or p in t for p in q.places) for t in q.terms)


def _resolve_one(question: str, prev: str, known: Sequence[str]) -> str:
    q = question.strip()
    m = _ELLIPSIS_RE.match(q)
    if m and len(q) <= 26:
        x = m.group("x").strip("，, 的")
        sub = _substitute(prev, x, known)
        if sub is not None:
            rest = x
            for mm in sorted([*find_years(x), *_places(x, known)], key=lambda k: -k.start):
                rest = rest[: mm.start] + rest[mm.end :]
            rest = rest.strip("，,、和与的 ")
            if len(rest) < 2:
                return sub
            year, place, _ = _subject(sub, known)
            return f"{year}{place}{rest}{_tail(prev)}"
        if x:
            year, place, _ = _subject(prev, known)
            return f"{year}{place}{x}{_tail(prev)}"
    if not is_followup(q, known):
        # "济南市发放了多少？": a new place, but nothing of its own to ask about.
        if _content_words(q, known) < 2:
            sub = _substitute(prev, q, known)
            if sub is not None:
                return sub
        return q
    year, place, _ = _subject(prev, known)
    body = re.sub(r"^\s*(?:那么?|那|还有|另外|此外|其中|同期|同年|当年)\s*[，,]?\s*", "", q)
    has_place = bool(_places(body, known))
    has_year = bool(find_years(body))
    prefix = ""
    if not has_year and not has_place:
        prefix += year
    if not has_place:
        if has_year:
            ys = find_years(body)
            body = body[: ys[-1].end] + place + body[ys[-1].end :]
        else:
            prefix += place
    return prefix + body


def resolve_followup(question: str, history: Sequence[Any] = (), known_places: Iterable[str] = ()) -> str:
    """``question`` made standalone using the conversation so far (unchanged without history).

    >>> resolve_followup("2024年呢？", [("铜仁市2025年开展了多少场宣讲？", "280余场[1]。")])
    '铜仁市2024年开展了多少场宣讲？'
    """
    known = list(known_places)
    questions = history_questions(history)[-_MAX_TURNS:]
    if not questions:
        return question
    prev = questions[0]
    for q in questions[1:]:
        prev = _resolve_one(q, prev, known)
    return _resolve_one(question, prev, known)
