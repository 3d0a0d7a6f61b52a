"""Typed answer spans inside a sentence: figures, dates, people, places, names, the slot.

Each kind of question has its candidates; every candidate is verbatim text of the
sentence (start and end offsets into it).

>>> [s.text for s in typed_spans("2023年公司实现营业收入12.8亿元，净利润4200万元。", "number")]
['12.8亿元', '4200万元']
>>> [s.text for s in typed_spans("大桥于1999年10月建成通车。", "date")]
['1999年10月']
>>> slot_span("生命数耗完即算踢爆，游戏结束。", "生命数耗完即算", "").text
'踢爆'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag import zh

__all__ = ["Span", "slot_span", "typed_spans"]

_DATE_RE = re.compile(
    r"(?:公元前|公元)?(?:\d{1,4}|[〇零一二三四五六七八九]{2,4})年(?:\d{1,2}|[一二三四五六七八九十]{1,3})月"
    r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})[日号]"
    r"|(?:公元前|公元)?(?:\d{1,4}|[〇零一二三四五六七八九]{2,4})年(?:\d{1,2}|[一二三四五六七八九十]{1,3})月"
    r"|(?:\d{1,2}|[一二三四五六七八九十]{1,3})月(?:\d{1,2}|[一二三四五六七八九十]{1,3})[日号]"
    r"|(?:公元前|公元)?\d{1,4}年代?|(?:公元前|公元)?[〇零一二三四五六七八九]{4}年"
    r"|[一二三四五六七八九十]{1,3}世纪(?:[一二三四五六七八九十]+年代)?(?:初|中叶|末)?|\d{1,2}世纪"
)
_QUOTED_RE = re.compile(r"《[^》]{1,40}》|“[^”]{1,30}”|「[^」]{1,30}」")
_STOP_EDGE = "，,。；;：:、！？!?（）()"


@dataclass(frozen=True)
class Span:
    """A candidate answer: offsets into the sentence and the kind that produced it."""

    start: int
    end: int
    text: str
    kind: str  # figure | date | person | place | named | slot | enum


def _merge_words(words: list[tuple[str, str, int]], keep: tuple[str, ...]) -> list[tuple[int, int]]:
    """Runs of adjacent words whose tag starts with one of ``keep`` (连续 ns: 山东 青州 -> 山东青州)."""
    out: list[tuple[int, int]] = []
    for w, flag, a in words:
        if not flag.startswith(keep) or (len(w.strip()) < 2 and not out):
            continue
        b = a + len(w)
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        elif len(w.strip()) >= 2:
            out.append((a, b))
    return out


def typed_spans(sentence: str, kind: str, words: list[tuple[str, str, int]] | None = None) -> list[Span]:
    """The candidates of ``kind`` in ``sentence`` (``words``: its jieba tags, when already made)."""
    s = zh.fold(sentence)
    out: list[Span] = []
    if kind == "number":
        for m in zh.figures(s):
            out.append(Span(m.start(), m.end(), sentence[m.start() : m.end()], "figure"))
        return out
    if kind == "date":
        for m in _DATE_RE.finditer(s):
            out.append(Span(m.start(), m.end(), sentence[m.start() : m.end()], "date"))
        return out
    if kind in ("person", "place", "name", "list", "other"):
        tags = words if words is not None else zh.pos_words(s)
        keep = {"person": ("nr",), "place": ("ns",)}.get(kind, ("nr", "ns", "nt", "nz"))
        for a, b in _merge_words(tags, keep):
            out.append(
                Span(a, b, sentence[a:b], "person" if kind == "person" else "place" if kind == "place" else "named")
            )
        if kind not in ("person", "place"):
            for m in _QUOTED_RE.finditer(s):
                out.append(Span(m.start(), m.end(), sentence[m.start() : m.end()], "named"))
    return out


def _longest_suffix_in(needle: str, hay: str, least: int = 2) -> tuple[int, int]:
    """(end offset in ``hay``, length) of the longest piece of ``needle`` found in ``hay``,
    the one nearest the end of ``needle`` among equally long ones."""
    for n in range(len(needle), least - 1, -1):
        for e in range(len(needle), n - 1, -1):
            i = hay.find(needle[e - n : e])
            if i >= 0:
                return i + n, n
    return -1, 0


def _longest_prefix_in(needle: str, hay: str, start: int = 0, least: int = 2) -> tuple[int, int]:
    """(start offset in ``hay`` at or after ``start``, length) of the longest piece of
    ``needle`` found there, the one nearest the start of ``needle`` among equally long ones."""
    for n in range(len(needle), least - 1, -1):
        for a in range(0, len(needle) - n + 1):
            i = hay.find(needle[a : a + n], start)
            if i >= 0:
                return i, n
    return -1, 0


def slot_span(sentence: str, left: str, right: str, max_len: int = 40) -> Span | None:
    """The text where the question's slot falls: after its left context, before its right.

    >>> slot_span("玩家以水枪或水炸弹泡封敌人。", "玩家用", "泡封敌人").text
    '以水枪或水炸弹'
    """
    s = zh.fold(sentence)
    a = b = -1
    if left:
        a, _n_left = _longest_suffix_in(left, s)
    if right:
        b, _n_right = _longest_prefix_in(right, s, max(a, 0))
    if a < 0 and b < 0:
        return None
    if a < 0:  # only the right context: back to the clause start
        a = b
        while a > 0 and s[a - 1] not in _STOP_EDGE:
            a -= 1
    if b < 0 or b < a:  # only the left context: on to the clause end
        b = a
        while b < len(s) and s[b] not in _STOP_EDGE:
            b += 1
    while a < b and s[a] in _STOP_EDGE + "的是为了 ":
        a += 1
    while b > a and s[b - 1] in _STOP_EDGE + " ":
        b -= 1
    if not 0 < b - a <= max_len:
        return None
    return Span(a, b, sentence[a:b], "slot")
