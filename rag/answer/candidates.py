"""Candidate sentences of the retrieved passages and the features the scorer reads.

Every sentence of every passage is a candidate; its features say how much of the question
it holds (content words weighted by rarity, character bigrams, the question's context
around its slot), whether it holds the kind of answer asked (a figure of the asked
measure, a date), how the passage fits the question's years and places, and how retrieval
ranked the passage. Spans inside the best sentences get features of their own
(``span_features``). The names of both feature lists are stored with the model weights.

>>> from rag.records import Passage
>>> from rag.answer.question import analyze_question
>>> q = analyze_question("2023年净利润是多少万元？")
>>> p = Passage("p", "公司2023年实现营业收入12.8亿元。净利润4200万元，同比增长8%。", "a.txt", "年度报告", (), 1.0)
>>> best = max(sentence_candidates(q, [p]), key=lambda c: c.features["cov"])
>>> best.text, best.features["unit_exact"]
('净利润4200万元，同比增长8%。', 1.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag import zh
from rag.answer.question import KINDS, Question
from rag.answer.spans import Span, slot_span, typed_spans
from rag.records import Passage

__all__ = ["SENTENCE_FEATURES", "SPAN_FEATURES", "Candidate", "sentence_candidates", "span_features", "term_weights"]

SENTENCE_FEATURES = (
    "cov", "cov_ctx", "cov_passage", "cov_rest", "chars", "head_noun", "sentence_index", "doc_start", "bigram", "cov_rel", "bigram_rel", "cov_rest_rel", "chars_rel", "left_len", "right_len", "best_in_passage", "rank_inv", "score_rel",
    "year_sentence", "year_passage", "year_missing", "place_found", "place_missing",
    "left_match", "right_match", "typed", "measure_match", "unit_exact", "measure_conflict", "log_len",
    "heading_like", *(f"kind_{k}" for k in KINDS),
)  # fmt: skip
SPAN_FEATURES = (
    "kind_fit", "slot", "slot_overlap", "unit_exact", "measure_match", "measure_conflict", "near_term",
    "after_term", "in_question", "log_len", "position", "first_of_kind", "is_figure", "is_date", "is_named",
    "is_clause", "clause_terms", "clause_left", "clause_right", "clause_share", "is_quoted",
)  # fmt: skip


@dataclass
class Candidate:
    """One sentence of one passage, with its features (names from :data:`SENTENCE_FEATURES`)."""

    rank: int  # the passage's rank in the retrieved list, 0 = best
    passage: Passage
    start: int  # offsets of the sentence in the passage text
    end: int
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]


def term_weights(q: Question, idf: Callable[[str], float] | None, texts: Sequence[str]) -> dict[str, float]:
    """A weight per question term: its inverse document frequency in the corpus (``idf``),
    else among the sentences ``texts``."""
    if idf is not None:
        return {t: max(0.1, idf(t)) for t in q.terms}
    n = len(texts) or 1
    out = {}
    for t in q.terms:
        df = sum(t in s for s in texts)
        out[t] = math.log(1 + n / (1 + df))
    return out


def _found(term: str, text: str) -> float:
    """1 when ``term`` is in ``text``; partial credit when most of its character bigrams are."""
    if term in text:
        return 1.0
    if len(term) >= 3:
        grams = [term[i : i + 2] for i in range(len(term) - 1)]
        share = sum(g in text for g in grams) / len(grams)
        return 0.5 * share if share >= 0.5 else 0.0
    return 0.0


def _coverage(weights: dict[str, float], text: str) -> float:
    total = sum(weights.values())
    return sum(w * _found(t, text) for t, w in weights.items()) / total if total else 0.0


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1) if zh.is_cjk(text[i]) and zh.is_cjk(text[i + 1])}


def _match_share(context: str, sentence: str) -> float:
    """The longest piece of ``context`` (≥ 2 characters) found in ``sentence``, as a share of it."""
    if len(context) < 2:
        return 0.0
    for n in range(min(len(context), 12), 1, -1):
        if any(context[a : a + n] in sentence for a in range(len(context) - n + 1)):
            return n / min(len(context), 12)
    return 0.0


def _figure_fit(q: Question, text: str) -> tuple[float, float, float]:
    """(a figure of the asked measure, one with the asked unit, only figures of another measure)."""
    if q.kind != "number":
        return 0.0, 0.0, 0.0
    units = [zh.unit_of(m.group(0)) for m in zh.figures(text)]
    if not units:
        return 0.0, 0.0, 0.0
    measures = {zh.measure_of(u) for u in units}
    match = float(bool(q.measure) and q.measure in measures)
    exact = float(bool(q.unit) and any(u == q.unit or u.endswith(q.unit) for u in units))
    conflict = float(bool(q.measure) and not match and "count" not in measures)
    return match, exact, conflict


def sentence_candidates(
    q: Question, passages: Sequence[Passage], idf: Callable[[str], float] | None = None
) -> list[Candidate]:
    """Every sentence of ``passages`` (best first) with its features."""
    cands: list[Candidate] = []
    views = []
    for rank, p in enumerate(passages):
        text = zh.fold(p.text)
        spans = zh.sentence_spans(text)
        views.append((rank, p, text, spans))
    weights = term_weights(q, idf, [t[a:b] for _, _, t, sp in views for a, b in sp])
    top_score = max((abs(float(p.score)) for p in passages), default=1.0) or 1.0
    q_bigrams = _bigrams(q.left + " " + q.right) or _bigrams(q.text)
    char_w: dict[str, float] = {}
    for t, w in weights.items():
        for ch in t:
            if zh.is_cjk(ch):
                char_w[ch] = max(char_w.get(ch, 0.0), w)
    char_total = sum(char_w.values())
    for rank, p, text, spans in views:
        head = zh.fold(" ".join((p.title, *p.heading_path, *(str(v) for v in (p.meta or {}).values()))))
        whole = head + " " + text
        rest = {t: w for t, w in weights.items() if _found(t, head) < 1.0} or weights
        cov_passage = _coverage(weights, whole)
        year_passage = float(any(y in whole for y in q.years))
        place_found = (
            sum(any(f in whole for f in (pl, pl[:-1] if len(pl) > 2 else pl)) for pl in q.places) / len(q.places)
            if q.places
            else 0.0
        )
        prev = ""
        for index, (a, b) in enumerate(spans):
            s = text[a:b]
            match, exact, conflict = _figure_fit(q, s)
            typed = float(bool(typed_spans(s, q.kind))) if q.kind in ("number", "date") else 0.0
            f = {
                "cov": _coverage(weights, s),
                "cov_ctx": _coverage(weights, head + prev + s),
                "cov_passage": cov_passage,
                "cov_rest": _coverage(rest, s),
                "chars": sum(w for ch, w in char_w.items() if ch in s) / char_total if char_total else 0.0,
                "head_noun": float(bool(q.head) and q.head in s),
                "sentence_index": 1.0 / (1 + index),
                "doc_start": float(p.start < 5 and index == 0),
                "bigram": len(q_bigrams & _bigrams(s)) / len(q_bigrams) if q_bigrams else 0.0,
                "rank_inv": 1.0 / (1 + rank),
                "score_rel": abs(float(p.score)) / top_score,
                "year_sentence": float(any(y in s for y in q.years)),
                "year_passage": year_passage,
                "year_missing": float(bool(q.years) and not year_passage),
                "place_found": place_found,
                "place_missing": float(bool(q.places) and place_found == 0.0),
                "left_match": _match_share(q.left, s),
                "right_match": _match_share(q.right, s),
                "left_len": _match_share(q.left, s) * min(len(q.left), 12) / 12,
                "right_len": _match_share(q.right, s) * min(len(q.right), 12) / 12,
                "typed": typed,
                "measure_match": match,
                "unit_exact": exact,
                "measure_conflict": conflict,
                "log_len": math.log(1 + len(s)) / 5,
                "heading_like": float(len(s) < 30 and s[-1:] not in zh.TERMINATORS),
            }
            for k in KINDS:
                f[f"kind_{k}"] = float(q.kind == k)
            cands.append(Candidate(rank, p, a, b, f))
            prev = s
    for name in ("cov", "bigram", "cov_rest", "chars"):
        best = max((c.features[name] for c in cands), default=0.0) or 1.0
        for c in cands:
            c.features[name + "_rel"] = c.features[name] / best
    best_of: dict[int, float] = {}
    for c in cands:
        best_of[c.rank] = max(best_of.get(c.rank, 0.0), c.features["cov_rest"] + c.features["chars"])
    for c in cands:
        c.features["best_in_passage"] = float(c.features["cov_rest"] + c.features["chars"] >= best_of[c.rank])
    return cands


_KIND_OF_SPAN = {"number": "figure", "date": "date", "person": "person", "place": "place"}


def span_features(q: Question, sentence: str) -> list[tuple[Span, dict[str, float]]]:
    """The candidate answer spans of one sentence with their features."""
    s = zh.fold(sentence)
    spans = typed_spans(s, q.kind)
    slot = slot_span(s, q.left, q.right)
    if slot is not None and all((x.start, x.end) != (slot.start, slot.end) for x in spans):
        spans.append(slot)
    clauses = zh.clause_spans(s)
    if len(clauses) > 1:  # a clause as the answer: CMRC-style answers are often one
        for a, b in clauses:
            text = sentence[a:b].strip().rstrip("，,；;：:。！？!?")
            if len(text) >= 2 and all((x.start, x.end) != (a, a + len(text)) for x in spans):
                spans.append(Span(a, a + len(text), text, "clause"))
    if not spans:
        return []
    found = [m.span() for t in q.terms for m in re.finditer(re.escape(t), s)]
    n_found = max(1, len(found))
    out = []
    seen_kinds: set[str] = set()
    for sp in spans:
        unit = zh.unit_of(sp.text) if sp.kind == "figure" else ""
        measure = zh.measure_of(unit) if unit else ""
        dist = min((max(a - sp.end, sp.start - b, 0) for a, b in found), default=40)
        before = any(b <= sp.start and sp.start - b <= 12 for _, b in found)
        overlap = 0.0
        if slot is not None:
            inter = max(0, min(sp.end, slot.end) - max(sp.start, slot.start))
            overlap = inter / max(1, sp.end - sp.start)
        f = {
            "kind_fit": float(_KIND_OF_SPAN.get(q.kind, "named") == sp.kind),
            "slot": float(sp.kind == "slot"),
            "slot_overlap": overlap,
            "unit_exact": float(bool(q.unit) and (unit == q.unit or unit.endswith(q.unit))),
            "measure_match": float(bool(q.measure) and measure == q.measure),
            "measure_conflict": float(bool(q.measure) and bool(measure) and measure not in (q.measure, "count")),
            "near_term": 1.0 / (1 + dist / 4),
            "after_term": float(before),
            "in_question": float(sp.text in q.text),
            "log_len": math.log(1 + len(sp.text)) / 4,
            "position": sp.start / max(1, len(s)),
            "first_of_kind": float(sp.kind not in seen_kinds),
            "is_figure": float(sp.kind == "figure"),
            "is_date": float(sp.kind == "date"),
            "is_named": float(sp.kind in ("named", "person", "place")),
            "is_clause": float(sp.kind == "clause"),
            "clause_terms": sum(sp.start <= a and b <= sp.end for a, b in found) / n_found,
            "clause_left": _match_share(q.left, s[sp.start : sp.end]),
            "clause_right": _match_share(q.right, s[sp.start : sp.end]),
            "clause_share": (sp.end - sp.start) / max(1, len(s)),
            "is_quoted": float(s[sp.start : sp.start + 1] in "《“「『" and s[sp.end - 1 : sp.end] in "》”」』"),
        }
        seen_kinds.add(sp.kind)
        out.append((sp, f))
    return out
