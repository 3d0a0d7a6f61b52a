"""Turn raw text into paragraphs, repairing what PDF extraction breaks.

PDF text arrives as lines cut at the page width and at page ends: a paragraph's tail can
stand alone (``工需求69万余个。``), a heading can lose its last character to the next
line, image captions can sit in the middle of a sentence, and page numbers stand on
their own lines. This module joins such pieces back into paragraphs, drops page numbers,
and keeps, for every paragraph, where each of its characters came from in the source,
so a passage can be highlighted in the original file.

>>> paras = paragraphs("　　全省招聘平台在线发布岗位用\\n\\n工需求69万余个。\\n")
>>> [p.text for p in paras]
['全省招聘平台在线发布岗位用工需求69万余个。']
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property

# A line ending in one of these is complete; anything else may continue on the next line.
TERMINAL = set("。！？!?；;…：:”’」』）)】》〕>.") | {"——"}
LONG_LINE = 40  # a line this long that does not end a sentence was cut by the page width
ORPHAN = 2  # a line this short with no punctuation is the tail of the previous one
CAPTION_MAX = 25  # short unpunctuated lines inside a broken sentence are image captions

# Page-number lines that cannot be content. A bare number alone on a line can be a table
# cell, so it is only dropped by the PDF loader, at a page's edge.
_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-—－–]\s*\d{1,4}\s*[-—－–]|第\s*\d{1,4}\s*页(?:\s*[/／共]\s*\d{1,4}\s*页?)?|\d{1,4}\s*/\s*\d{1,4}|page\s*\d+)\s*$",
    re.IGNORECASE,
)
_HEADING_START = re.compile(
    r"^(?:#{1,6}\s|[一二三四五六七八九十百]+[、．.]|[（(][一二三四五六七八九十百]+[）)]|\d{1,2}[、．.](?!\d)|第[一二三四五六七八九十百\d]+[章节篇部分])"
)


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of the source: its text and the source offset of each piece of it.

    ``pieces`` holds ``(offset_in_text, offset_in_source, length)`` triples; a paragraph
    joined from several lines has several pieces.
    """

    text: str
    pieces: tuple[tuple[int, int, int], ...]
    caption: bool = False  # an image caption found inside a broken sentence

    @property
    def start(self) -> int:
        return self.pieces[0][1]

    @property
    def end(self) -> int:
        _, src, n = self.pieces[-1]
        return src + n

    @cached_property
    def _offsets(self) -> list[int]:
        return [off for off, _, _ in self.pieces]

    def source_offset(self, i: int) -> int:
        """Source offset of character ``i`` of ``text`` (``i == len(text)``, or a space put
        between two joined lines, gives the end); a binary search over the pieces.

        >>> Paragraph("ab cd", ((0, 10, 2), (3, 20, 2))).source_offset(4)
        21
        """
        k = bisect_right(self._offsets, i) - 1
        if k >= 0:
            off, src, n = self.pieces[k]
            if i < off + n:
                return src + (i - off)
        return self.end


@dataclass(frozen=True)
class _Line:
    text: str  # stripped
    start: int  # source offset of text[0]
    indented: bool


def normalize_for_match(text: str) -> str:
    """NFKC (full-width to half-width, full-width spaces to spaces) with all whitespace removed.

    Used to compare text, never to store it.

    >>> normalize_for_match("３２３４万元，　共 計")
    '3234万元,共計'
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _lines(text: str) -> list[_Line | None]:
    """Non-blank lines with offsets; ``None`` marks a run of blank lines."""
    out: list[_Line | None] = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped and not _PAGE_NUMBER.match(stripped):
            lead = len(raw) - len(raw.lstrip())
            out.append(_Line(stripped, pos + lead, lead > 0))
        elif out and out[-1] is not None:
            out.append(None)
        pos += len(raw) + 1
    return out


def unbalanced(text: str) -> bool:
    """Quotes or brackets that do not pair up: the line starts or stops inside a phrase.

    >>> unbalanced("开展“当好主人翁•建功新时代”“建功"), unbalanced("举旗定向，昂扬向上")
    (True, False)
    """
    return any(text.count(a) != text.count(b) for a, b in ("“”", "《》", "（）", "「」"))


def is_terminated(line: str) -> bool:
    return any(line.endswith(t) for t in TERMINAL)


_PAIRS: tuple[tuple[str, str], ...] = (("“", "”"), ("《", "》"), ("（", "）"), ("「", "」"))
_STOPS = "。！？"


@dataclass
class _Run:
    """The paragraph being joined, reduced to what :func:`_continues` asks of its text and
    kept up to date as lines are added: asking the joined text itself would cost its
    length at every line, quadratic in a paragraph of many lines."""

    head: str  # the first characters
    tail: str  # the last characters
    length: int
    indented: bool  # the paragraph began indented
    stops: int = 0  # 。！？ in the text
    commas: int = 0
    pairs: list[int] = field(default_factory=lambda: [0] * len(_PAIRS))  # opened - closed, per pair

    @classmethod
    def of(cls, text: str, indented: bool) -> _Run:
        run = cls("", "", 0, indented)
        run.add(text)
        return run

    def add(self, more: str) -> None:
        if len(self.head) < 32:
            self.head = (self.head + more)[:32]
        self.tail = (self.tail + more[-8:])[-8:]
        self.length += len(more)
        self.stops += sum(more.count(c) for c in _STOPS)
        self.commas += more.count("，")
        for k, (a, b) in enumerate(_PAIRS):
            self.pairs[k] += more.count(a) - more.count(b)

    @property
    def stop_inside(self) -> bool:
        """A sentence ends before the last character."""
        return self.stops - (self.tail[-1] in _STOPS) > 0


def _continues(prev: _Run, nxt: _Line, indented_doc: bool = False) -> bool:
    """Whether ``nxt`` is the rest of a sentence that ``prev`` started."""
    if is_terminated(prev.tail) or nxt.indented or _HEADING_START.match(nxt.text):
        return False
    if prev.head.startswith("#"):
        return False
    if len(nxt.text) <= ORPHAN and not is_terminated(nxt.text) and prev.length >= 4:
        return True
    if prev.length >= LONG_LINE or (prev.length >= 8 and prev.tail[-1] in "，,、"):
        return True  # cut by the page width, or stopped at a comma
    if indented_doc and prev.indented and prev.length >= 8:
        return True  # paragraphs start indented here and never end without punctuation
    if prev.stop_inside or prev.head[0] in "”’」』）)" or any(prev.pairs):
        return True  # a sentence ended inside the line, or it began mid-quote: body text
    if prev.length >= 6 and _word_crosses(prev.tail, nxt.text):
        return True  # "…户外劳动" + "者驿站…": a word runs over the line end
    # paragraphs here start indented: an unindented clause-bearing fragment followed by
    # an unindented long line is a paragraph cut at a page end, not a heading
    return (
        indented_doc
        and not prev.indented
        and prev.length >= 8
        and len(nxt.text) >= LONG_LINE
        and prev.commas > 0
        and not _HEADING_START.match(prev.head)
    )


def _word_crosses(a: str, b: str) -> bool:
    """Whether jieba reads a word across the end of ``a`` into ``b`` (a line cut mid-word).

    >>> _word_crosses("全区已有户外劳动", "者驿站100个。")
    True
    >>> _word_crosses("工作综述", "劳动创造幸福")
    False
    """
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tail, head = a[-6:], b[:6]
    if not (_is_cjk(tail[-1]) and _is_cjk(head[0])):
        return False
    pos = 0
    for w in jieba.cut(tail + head, HMM=False):
        end = pos + len(w)
        if pos < len(tail) < end and len(w) >= 2:
            return True
        pos = end
    return False


def _is_cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


def _gap(a: str, b: str) -> str:
    """What goes between two joined lines: a space between two ASCII words, else nothing."""
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return " "
    return ""


def paragraphs(text: str) -> list[Paragraph]:
    """Split ``text`` into paragraphs, joining lines broken mid-sentence.

    A line continues on the next non-blank line when it does not end a sentence and is
    long (cut by the page width), ends in ``，``/``、``, or the next line is a one- or
    two-character orphan; short unpunctuated lines between the two halves are captions.
    """
    lines = [ln for ln in _lines(text) if ln is not None]
    long_lines = [ln for ln in lines if len(ln.text) >= LONG_LINE]
    indented_doc = len(long_lines) >= 10 and sum(ln.indented for ln in long_lines) > 0.5 * len(long_lines)
    out: list[Paragraph] = []
    i = 0
    while i < len(lines):
        cur = lines[i]
        parts = [cur.text]
        pieces = [(0, cur.start, len(cur.text))]
        captions: list[_Line] = []
        probe = _Run.of(cur.text, cur.indented)
        j = i + 1
        while j < len(lines):
            nxt = lines[j]
            if _continues(probe, nxt, indented_doc):
                if _is_caption_run(lines, j, probe):
                    k = j
                    while k < len(lines) and k - j <= 3 and _caption_like(lines[k]):
                        k += 1
                    if k < len(lines) and _continues(probe, lines[k]) and k - j <= 3:
                        captions.extend(lines[j:k])
                        j = k
                        nxt = lines[j]
                gap = _gap(probe.tail, nxt.text)
                pieces.append((probe.length + len(gap), nxt.start, len(nxt.text)))
                parts += [gap, nxt.text]
                probe.add(gap + nxt.text)
                j += 1
            else:
                break
        out.append(Paragraph("".join(parts), tuple(pieces)))
        out.extend(Paragraph(c.text, ((0, c.start, len(c.text)),), caption=True) for c in captions)
        i = j
    return out


def _caption_like(line: _Line) -> bool:
    return len(line.text) <= CAPTION_MAX and not is_terminated(line.text) and not line.indented


def _is_caption_run(lines: list[_Line], j: int, prev: _Run) -> bool:
    """A broken sentence followed by short unpunctuated lines, then the sentence's rest."""
    return (
        prev.length >= LONG_LINE
        and _caption_like(lines[j])
        and len(lines[j].text) > ORPHAN
        and not _HEADING_START.match(lines[j].text)
    )
