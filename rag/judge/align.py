"""Find where in the contexts a claim comes from: the best-aligned window.

Each passage is indexed by character bigrams once (cached); a claim's bigrams are looked
up and a sliding window of about 1.6x the claim's length keeps the most *distinct* claim
bigrams. This is the "evidence retrieval" step of claim verification (FEVER-style
pipelines, and the span lookup behind ALCE citation checks), done lexically:

>>> p = Passage.build("资料一。2025年组织干部培训18期，覆盖1500余人次。其他内容。")
>>> w = best_window("组织干部培训18期", [p])
>>> p.text[w.start:w.end]
'组织干部培训18期'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from rag.judge.claims import normalise
from rag.judge.numbers import Figure, extract_figures

_RUN = re.compile(r"[\u4e00-\u9fff0-9A-Za-z%.]{2,}")
_BOUNDARY = "。！？；\n"
_CLAUSE = "，、：,"


def content_bigrams(text: str) -> list[tuple[int, str]]:
    """(position, bigram) for every pair of adjacent content characters."""
    out: list[tuple[int, str]] = []
    for m in _RUN.finditer(text):
        run, base = m.group(0), m.start()
        out.extend((base + i, run[i : i + 2]) for i in range(len(run) - 1))
    return out


@dataclass(frozen=True)
class Passage:
    """A context passage prepared for matching: normalised text, bigram index, figures."""

    original: str
    text: str
    index: dict[str, list[int]] = field(hash=False, compare=False)
    figures: tuple[Figure, ...] = field(hash=False, compare=False)

    @staticmethod
    def build(original: str) -> Passage:
        return _build_passage(original)


@lru_cache(maxsize=512)
def _build_passage(original: str) -> Passage:
    text = normalise(original)
    index: dict[str, list[int]] = {}
    for pos, bg in content_bigrams(text):
        index.setdefault(bg, []).append(pos)
    return Passage(original, text, index, tuple(extract_figures(text)))


@dataclass(frozen=True)
class Window:
    """The aligned region of one passage: [start, end) in passage characters."""

    passage: int
    start: int
    end: int
    hits: int  # distinct claim bigrams found inside
    total: int  # distinct claim bigrams overall


def best_window(claim: str, passages: list[Passage]) -> Window:
    """The passage region sharing the most distinct character bigrams with ``claim``."""
    grams = {bg for _, bg in content_bigrams(claim)}
    total = max(1, len(grams))
    span = max(24, int(1.6 * len(claim)) + 6)
    best = Window(-1, 0, 0, 0, total)
    for pi, p in enumerate(passages):
        hits = sorted((pos, bg) for bg in grams for pos in p.index.get(bg, ()))
        if not hits:
            continue
        counts: dict[str, int] = {}
        lo = 0
        for hi, (pos, bg) in enumerate(hits):
            counts[bg] = counts.get(bg, 0) + 1
            while hits[lo][0] < pos + 2 - span:
                old = hits[lo][1]
                counts[old] -= 1
                if not counts[old]:
                    del counts[old]
                lo += 1
            n = len(counts)
            if n > best.hits:
                start, end = _trim(hits[lo : hi + 1])
                best = Window(pi, start, end, n, total)
    return best


def related_passages(claim: str, passages: list[Passage], aligned: int, min_share: float = 0.5) -> list[int]:
    """Indices of passages that could be this claim's source: the aligned one, plus any other
    holding at least ``min_share`` of the claim's distinct bigrams.

    Words or figures found only in unrelated passages (other retrieved chunks) do not
    support a claim: "全国" somewhere in a neighbouring report does not license 全国 here.
    """
    grams = {bg for _, bg in content_bigrams(claim)}
    out = []
    for i, p in enumerate(passages):
        share = sum(bg in p.index for bg in grams) / len(grams) if grams else 0.0
        if i == aligned or share >= min_share:
            out.append(i)
    return out


def _trim(hits: list[tuple[int, str]], gap: int = 10) -> tuple[int, int]:
    """Drop isolated hits at the edges (a stray 公司 ten characters away from the rest)."""
    positions = [p for p, _ in hits]
    a, b = 0, len(positions) - 1
    while b - a >= 2 and positions[a + 1] - positions[a] > gap:
        a += 1
    while b - a >= 2 and positions[b] - positions[b - 1] > gap:
        b -= 1
    return positions[a], positions[b] + 2


def clause_span(p: Passage, start: int, end: int, reach: int = 30) -> tuple[int, int]:
    """Extend [start, end) outwards to a sentence boundary, or failing that (beyond ``reach``
    characters) to the farthest clause boundary (，、：) within reach."""
    text = p.text
    s, best_s = start, start
    while s > 0 and start - s < reach:
        ch = text[s - 1]
        if ch in _BOUNDARY:
            best_s = s
            break
        if ch in _CLAUSE:
            best_s = s
        s -= 1
    else:
        if s == 0:
            best_s = 0
    e, best_e = end, end
    while e < len(text) and e - end < reach:
        ch = text[e]
        if ch in _BOUNDARY:
            best_e = e + 1
            break
        if ch in _CLAUSE:
            best_e = e
        e += 1
    else:
        if e == len(text):
            best_e = e
    return best_s, best_e
