"""Find, check and renumber ``[n]`` citation markers in an answer.

An answer cites passage ``n`` of its prompt with a marker after the claim, as in ALCE
(Gao et al. 2023, "Enabling Large Language Models to Generate Text with Citations",
https://arxiv.org/abs/2305.14627):

>>> parse_citations("互助金3234万元[1][3]，覆盖2.4万人次【2】。")
[1, 3, 2]

``repair_citations`` makes an LLM's markers trustworthy: markers that point at no passage
are dropped, a sentence without a marker gets the passage that supports it best (or is
flagged when none does), and the markers are renumbered ``1..m`` in order of first
appearance. Support is measured by ``support``: character-bigram recall plus exact
matches of the numbers in the sentence, which is simple, fast and deterministic.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag import zh
from rag.records import Citation, Passage

__all__ = [
    "SUPPORT_THRESHOLD",
    "Marker",
    "find_markers",
    "parse_citations",
    "repair_citations",
    "sentence_spans",
    "split_sentences",
    "strip_markers",
    "support",
]

# A sentence whose best support is below this gets no marker and is flagged.
SUPPORT_THRESHOLD = 0.4
# Ranges like [1-3] are expanded only when they are this short (guards "[1-100000]").
_MAX_RANGE = 20
# Sentences with fewer content characters than this are neither cited nor flagged.
_MIN_CONTENT_CHARS = 4

_OPEN = r"\[［【"
_CLOSE = r"\]］】"
_DIGITS = "0-9０-９"
_SEP = r",，、;；\s"
_DASH = r"\-–—~～－"
# One marker: [1] [1,2] [1-3] ［1］ 【1】 【1†source】. No letters allowed inside, so
# "[注]" or "【2024年】" are left alone.
_MARKER_RE = re.compile(
    rf"[{_OPEN}]\s*"
    rf"(?P<body>[{_DIGITS}]+(?:\s*(?:[{_SEP}]+|[{_DASH}])\s*[{_DIGITS}]+)*)"
    rf"\s*(?:†[^{_CLOSE}\n]{{0,40}})?[{_CLOSE}]"
)
_RANGE_RE = re.compile(rf"([{_DIGITS}]+)\s*[{_DASH}]\s*([{_DIGITS}]+)")
_NUM_IN_BODY_RE = re.compile(rf"[{_DIGITS}]+")

# Sentence ends: Chinese and ASCII terminators (not "." — it is a decimal point in 2.4万).
_TERMINATORS = "。！？；!?;…"
_CLOSERS = "”’」』）)》〉\"'"
# Characters too common to be evidence: a bigram containing one is not counted.
_STOP_CHARS = set("的了是在和与及也都这那其之而并对为将把被等")
_NUMBER_RE = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_YEAR_RE = re.compile(r"(?:19|20)\d\d")
_ABSENCE_RE = re.compile(r"资料中没有|没有相关信息|未提及|没有提到|未涉及|无法确定|未找到")


@dataclass(frozen=True)
class Marker:
    """One citation marker found in a text: its character span and the numbers it holds."""

    start: int
    end: int
    numbers: tuple[int, ...]


def _to_int(s: str) -> int:
    return int(zh.fold(s))


def _marker_numbers(body: str) -> tuple[int, ...]:
    out: list[int] = []
    pos = 0
    for m in _RANGE_RE.finditer(body):
        out.extend(_to_int(x) for x in _NUM_IN_BODY_RE.findall(body[pos : m.start()]))
        a, b = _to_int(m.group(1)), _to_int(m.group(2))
        if a <= b and b - a < _MAX_RANGE:
            out.extend(range(a, b + 1))
        else:
            out.extend((a, b))
        pos = m.end()
    out.extend(_to_int(x) for x in _NUM_IN_BODY_RE.findall(body[pos:]))
    return tuple(dict.fromkeys(out))


def find_markers(text: str) -> list[Marker]:
    """All citation markers in ``text``, left to right.

    >>> [m.numbers for m in find_markers("甲[1-3]乙［4］丙[5，6]")]
    [(1, 2, 3), (4,), (5, 6)]
    """
    return [Marker(m.start(), m.end(), _marker_numbers(m.group("body"))) for m in _MARKER_RE.finditer(text)]


def parse_citations(text: str) -> list[int]:
    """The distinct passage numbers cited in ``text``, in order of first appearance.

    >>> parse_citations("见[2]与[1,2]。")
    [2, 1]
    """
    seen: dict[int, None] = {}
    for m in find_markers(text):
        for n in m.numbers:
            seen.setdefault(n, None)
    return list(seen)


def strip_markers(text: str) -> str:
    """``text`` without citation markers.

    >>> strip_markers("互助金3234万元[1]。")
    '互助金3234万元。'
    """
    return _MARKER_RE.sub("", text)


def sentence_spans(text: str, *, markers_follow: bool = True) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (split at 。！？；, their ASCII forms and newlines).

    A sentence keeps its terminator, closing quotes and, when ``markers_follow``, the
    citation markers right after it ("…万元。[1]" is one sentence). Spans cover ``text``
    except newlines; blank spans are skipped.
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = i = 0
    while i < n:
        c = text[i]
        if c == "\n":
            if text[start:i].strip():
                spans.append((start, i))
            i += 1
            start = i
            continue
        if c in _TERMINATORS:
            j = i + 1
            while j < n and (text[j] in _TERMINATORS or text[j] in _CLOSERS):
                j += 1
            if markers_follow:
                while True:
                    k = j
                    while k < n and text[k] in " \t":
                        k += 1
                    m = _MARKER_RE.match(text, k)
                    if not m:
                        break
                    j = m.end()
            if text[start:j].strip():
                spans.append((start, j))
            i = start = j
            continue
        i += 1
    if text[start:].strip():
        spans.append((start, n))
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped.

    >>> split_sentences("一。二！三\\n四")
    ['一。', '二！', '三', '四']
    """
    return [text[a:b].strip() for a, b in sentence_spans(text)]


def _fold(text: str) -> str:
    """Full-width ASCII to half-width and lower case; keeps the length."""
    return zh.fold(text).lower()


def _content(text: str) -> str:
    """The characters that carry meaning: CJK, letters and digits."""
    return "".join(c for c in _fold(text) if c.isalnum())


def _bigrams(content: str) -> set[str]:
    grams = {content[i : i + 2] for i in range(len(content) - 1)}
    kept = {g for g in grams if not (_STOP_CHARS & set(g))}
    return kept or grams


def _numbers(text: str) -> list[str]:
    return list(dict.fromkeys(x.replace(",", "") for x in _NUMBER_RE.findall(_fold(text))))


def _has_number(num: str, folded_text: str) -> bool:
    pattern = rf"(?<![\d.]){re.escape(num)}(?!\d)(?!\.\d)"
    return re.search(pattern, folded_text) is not None


class _Sentence:
    """A claim's bigrams and numbers, computed once and scored against many spans."""

    def __init__(self, sentence: str) -> None:
        plain = strip_markers(sentence)
        self.content = _content(plain)
        self.grams = _bigrams(self.content)
        self.numbers = _numbers(plain)

    def score(self, span: str) -> float:
        if not self.content:
            return 0.0
        span_content = _content(span)
        if len(self.content) >= 2 and self.content in span_content:
            return 1.0
        b = len(self.grams & _bigrams(span_content)) / len(self.grams) if self.grams else 0.0
        if not self.numbers:
            return b
        folded = _fold(span).replace(",", "")
        found = denom = 0
        for num in self.numbers:
            if _has_number(num, folded):
                found += 1
                denom += 1
            elif not _YEAR_RE.fullmatch(num):  # a year may live in the title, not the text
                denom += 1
        if denom == 0:
            return b
        if found == 0:  # the sentence states figures the span does not have
            return 0.3 * b
        return 0.5 * b + 0.5 * found / denom


def _passage_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a passage, trimmed of surrounding whitespace."""
    out = []
    for a, b in sentence_spans(text, markers_follow=False):
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        if b - trail > a + lead:
            out.append((a + lead, b - trail))
    return out


def _best_span(claim: _Sentence, passage_text: str) -> tuple[float, str]:
    spans = _passage_spans(passage_text)
    if not spans:
        return 0.0, passage_text
    best_score, best = -1.0, spans[0]
    for span in spans:
        s = claim.score(passage_text[span[0] : span[1]])
        if s > best_score:
            best_score, best = s, span
    # Two adjacent sentences win only when together they clearly support more.
    for (a, _), (_, b) in itertools.pairwise(spans):
        s = claim.score(passage_text[a:b])
        if s > best_score + 0.15:
            best_score, best = s, (a, b)
    return max(best_score, 0.0), passage_text[best[0] : best[1]]


def support(sentence: str, passage_text: str) -> tuple[float, str]:
    """How well ``passage_text`` supports ``sentence`` (0..1), and the span that does it best.

    The score is the share of the sentence's character bigrams found in one sentence
    (or two adjacent ones) of the passage; numbers in the sentence count for half and a
    sentence whose numbers are all missing scores low. The span is an exact substring
    of ``passage_text``.

    >>> score, span = support("医疗互助金发放3234万元", "开展宣讲280余场。发放职工医疗互助金3234万元。")
    >>> round(score, 2), span
    (0.92, '发放职工医疗互助金3234万元。')
    """
    return _best_span(_Sentence(sentence), passage_text)


@dataclass
class _Unit:
    """A sentence of the answer being repaired."""

    start: int
    end: int
    markers: list[Marker]
    cited: list[int]  # 1-based indices into passages, valid only
    assigned: bool = False  # the marker was chosen by support, not written by the model


def repair_citations(text: str, passages: Sequence[Passage]) -> tuple[str, list[Citation], list[str]]:
    """Check and renumber the ``[n]`` markers of ``text`` against ``passages`` (``[1]`` = ``passages[0]``).

    Returns the cleaned text (markers written ``[n]``, numbered ``1..m`` by first
    appearance), one ``Citation`` per marker number with the best supporting span of its
    passage as ``quote``, and the sentences no passage supports (left in the text,
    unmarked).

    >>> p = Passage("a", "发放职工医疗互助金3234万元。", "s", "t", (), 1.0)
    >>> text, cites, bad = repair_citations("发放互助金3234万元[9]。", [p])
    >>> text, cites[0].quote, bad
    ('发放互助金3234万元[1]。', '发放职工医疗互助金3234万元。', [])
    """
    k = len(passages)
    markers = find_markers(text)
    units: list[_Unit] = []
    mi = 0
    for a, b in sentence_spans(text):
        own: list[Marker] = []
        while mi < len(markers) and markers[mi].start < b:
            if markers[mi].start >= a:
                own.append(markers[mi])
            mi += 1
        cited = [n for m in own for n in m.numbers if 1 <= n <= k]
        units.append(_Unit(a, b, own, list(dict.fromkeys(cited))))

    unsupported: list[str] = []
    claims: list[_Sentence] = []
    for u in units:
        body = strip_markers(text[u.start : u.end]).strip()
        claim = _Sentence(body)
        claims.append(claim)
        if u.cited or len(claim.content) < _MIN_CONTENT_CHARS or _ABSENCE_RE.search(body):
            continue
        scores = [_best_span(claim, p.text)[0] for p in passages]
        best = max(range(k), key=lambda i: (scores[i], -i)) if k else -1
        if best >= 0 and scores[best] >= SUPPORT_THRESHOLD:
            u.cited, u.assigned = [best + 1], True
        else:
            unsupported.append(body)

    # Renumber by first appearance.
    order: dict[int, int] = {}
    for u in units:
        for n in u.cited:
            order.setdefault(n, len(order) + 1)

    pieces: list[str] = []
    pos = 0
    for u in units:
        pieces.append(_remove_markers(text, pos, u.start, markers))
        pieces.append(_rewrite_unit(text, u, order))
        pos = u.end
    pieces.append(_remove_markers(text, pos, len(text), markers))
    cleaned = "".join(pieces)

    citations: list[Citation] = []
    for old, new in sorted(order.items(), key=lambda kv: kv[1]):
        passage = passages[old - 1]
        best_score, quote = -1.0, ""
        for u, claim in zip(units, claims, strict=True):
            if old in u.cited:
                s, span = _best_span(claim, passage.text)
                if s > best_score:
                    best_score, quote = s, span
        citations.append(Citation(n=new, passage=passage, quote=quote))
    return cleaned, citations, unsupported


def _remove_markers(text: str, a: int, b: int, markers: Sequence[Marker]) -> str:
    """``text[a:b]`` with the markers inside it removed."""
    out, pos = [], a
    for m in markers:
        if m.start >= a and m.end <= b:
            out.append(text[pos : m.start])
            pos = m.end
    out.append(text[pos:b])
    return "".join(out)


def _rewrite_unit(text: str, u: _Unit, order: dict[int, int]) -> str:
    """One sentence with its markers renumbered, or a new marker put before its terminator."""
    if not u.markers or u.assigned:
        seg = _remove_markers(text, u.start, u.end, u.markers)
        if not u.cited:
            return seg
        mark = "".join(f"[{order[n]}]" for n in u.cited)
        core = seg.rstrip()
        tail = seg[len(core) :]
        j = len(core)
        while j > 0 and (core[j - 1] in _TERMINATORS or core[j - 1] in _CLOSERS or core[j - 1] in "，,：:"):
            j -= 1
        return core[:j] + mark + core[j:] + tail
    out, pos = [], u.start
    emitted: set[int] = set()
    for m in u.markers:
        out.append(text[pos : m.start])
        new = [order[n] for n in m.numbers if n in order and n in u.cited and order[n] not in emitted]
        emitted.update(new)
        out.append("".join(f"[{x}]" for x in sorted(new)))
        pos = m.end
    out.append(text[pos : u.end])
    return "".join(out)
