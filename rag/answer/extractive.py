"""Offline extractive answers: the asked span and the sentence it stands in, cited.

No generative model is needed. The question is read (:mod:`rag.answer.question`); every
sentence of the retrieved passages is a candidate with features
(:mod:`rag.answer.candidates`); three small learned models (:mod:`rag.answer.scoring`)
pick the sentence, the span inside it, and whether the passages answer at all
(:mod:`rag.answer.refusal`); :mod:`rag.answer.compose` writes the answer.

>>> from rag.records import Passage
>>> p = Passage("p1", "公司2023年实现营业收入12.8亿元。净利润4200万元，同比增长8%。", "a.txt",
...             "华信科技2023年年度报告", (), 1.0)
>>> a = ExtractiveAnswerer().answer("华信科技2023年的净利润是多少万元？", [p])
>>> a.short_answer, a.text
('4200万元', '4200万元[1]。净利润4200万元，同比增长8%[1]。')
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rag import zh
from rag.answer.candidates import Candidate, sentence_candidates, span_features, term_weights
from rag.answer.question import Question, analyze_question, comparison_queries
from rag.answer.scoring import Models, load_models
from rag.answer.spans import Span, typed_spans
from rag.records import Answer, Passage
from rag.settings import Settings

__all__ = ["SHORT_KINDS", "Analysis", "ExtractiveAnswerer", "analyze", "answerable_features", "constraint_features"]

# Kinds of question whose answer opens with the asked span alone.
SHORT_KINDS = frozenset({"number", "date", "place", "person", "name", "list", "other"})
# Sentences whose spans are scored (the best by the sentence model).
_SPAN_SENTENCES = 3


@dataclass
class Analysis:
    """The reading of one question against its passages; nothing here is changed later."""

    question: Question
    passages: tuple[Passage, ...]
    ranked: list[Candidate]  # best first, ``score`` = P(holds the answer)
    span: Span | None = None  # the best span, offsets into ``span_of.text``
    span_of: Candidate | None = None
    span_probability: float = 0.0
    features: dict[str, float] = field(default_factory=dict)  # what the answerable model reads
    p_answerable: float = 0.0
    weights: dict[str, float] = field(default_factory=dict)  # question term -> rarity

    @property
    def best(self) -> Candidate | None:
        return self.ranked[0] if self.ranked else None


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _place_forms(place: str) -> tuple[str, ...]:
    from rag.answer.question import place_stem

    stem = place_stem(place)
    return (place, stem) if len(stem) >= 2 else (place,)


def answerable_features(a: Analysis) -> dict[str, float]:
    """The features of the refusal decision, from an analysis' best candidates."""
    q = a.question
    f: dict[str, float] = {
        f"kind_{k}": float(q.kind == k)
        for k in ("number", "date", "person", "place", "name", "list", "description", "yesno", "other")
    }
    best = a.best
    if best is None:
        return f | {"no_passages": 1.0}
    second = a.ranked[1].score if len(a.ranked) > 1 else 0.0
    bf = best.features
    f |= {
        "top_probability": best.score,
        "top_logit": _logit(best.score) / 10,
        "margin": (_logit(best.score) - _logit(second)) / 10 if len(a.ranked) > 1 else 1.0,
        "cov": bf["cov"],
        "cov_ctx": bf["cov_ctx"],
        "cov_passage_max": max(c.features["cov_passage"] for c in a.ranked),
        "bigram": bf["bigram"],
        "year_missing": bf["year_missing"],
        "year_sentence": bf["year_sentence"],
        "has_year": float(bool(q.years)),
        "place_missing": bf["place_missing"],
        "has_place": float(bool(q.places)),
        "unit_exact": bf["unit_exact"],
        "measure_match": bf["measure_match"],
        "measure_conflict": bf["measure_conflict"],
        "typed": bf["typed"],
        "span_probability": a.span_probability,
        "has_span": float(a.span is not None),
        "rank_inv": bf["rank_inv"],
        "n_terms_inv": 1.0 / (1 + len(q.terms)),
    }
    # the share of the question's weight written nowhere in the passages
    texts = [" ".join((p.title, *p.heading_path, p.text)) for p in a.passages]
    w = a.weights or term_weights(q, None, [c.text for c in a.ranked])
    total = sum(w.values()) or 1.0
    f["unseen"] = sum(v for t, v in w.items() if not any(t in x for x in texts)) / total
    own = " ".join((best.passage.title, *best.passage.heading_path, best.passage.text))
    missing = [v for t, v in w.items() if t not in own]
    f["missing_in_passage"] = sum(missing) / total
    f["max_missing"] = max(missing, default=0.0) / (max(w.values(), default=1.0) or 1.0)
    near = " ".join((best.passage.title, *best.passage.heading_path)) + best.text
    f["missing_near"] = sum(v for t, v in w.items() if t not in near) / total
    nouns = [t for t in q.nouns if t in w]
    top_w = max(w.values(), default=1.0) or 1.0
    f["missing_noun"] = max((w[t] for t in nouns if t not in own), default=0.0) / top_w
    f["missing_noun_near"] = sum(w[t] for t in nouns if t not in near) / (sum(w[t] for t in nouns) or 1.0)
    # checks a veto may use (rag.answer.refusal): the asked thing is nowhere in the passages
    everything = (
        " ".join(zh.fold(x) for x in texts)
        + " "
        + " ".join(str(v) for p in a.passages for v in (p.meta or {}).values())
    )
    f["veto_year"] = float(bool(q.single_years) and not any(y in everything for y in q.single_years))
    f["veto_place"] = float(
        bool(q.named_places) and not any(any(form in everything for form in _place_forms(pl)) for pl in q.named_places)
    )
    own_folded = zh.fold(own) + " " + " ".join(str(v) for v in (best.passage.meta or {}).values())
    f["veto_year_best"] = float(bool(q.single_years) and not any(y in own_folded for y in q.single_years))
    f["veto_place_best"] = float(
        bool(q.named_places) and not any(any(form in own_folded for form in _place_forms(pl)) for pl in q.named_places)
    )
    rarest = max(nouns, key=lambda t: w[t], default="")
    f["veto_noun"] = float(bool(rarest) and w[rarest] >= 0.5 * top_w and rarest not in everything)
    f["cov_rest"] = bf["cov_rest"]
    f["chars"] = bf["chars"]
    return f | constraint_features(a)


def _context(p: Passage) -> str:
    """A passage's title, headings and metadata: what its document is about."""
    return zh.fold(" ".join((p.title, *p.heading_path, *(str(v) for v in (p.meta or {}).values()))))


def constraint_features(a: Analysis) -> dict[str, float]:
    """Does the chosen answer meet every constraint of the question?

    Each check reads the chosen sentence (or the sentence of the chosen span), its clause and
    its document (the retrieved passages of the same source, with title and metadata):

    * the clause holding the span covers the question as well as the sentence's best clause
      (``clause_gap``; a figure of the neighbouring clause answers another question), and that
      best clause holds a figure or date of the asked kind (``best_clause_typed``);
    * the span is of the asked kind (``span_fit``: a figure for 多少, a date for 何时);
    * an asked single year: another year in the sentence and not the asked one
      (``year_other_sentence``), a document of another year that never writes it
      (``year_doc_conflict``);
    * places and the question's rare nouns written in the document (``place_missing_doc``,
      ``missing_doc``, ``missing_doc_max``) and anywhere retrieved (``unseen_nouns``);
    * the noun the slot asks for (``什么奖项`` -> 奖项) in the sentence (``head_missing``).

    >>> from rag.records import Passage
    >>> p = Passage("p", "共建设户外驿站个，母婴室24个。", "a.txt", "大庆市工会工作综述", (), 1.0)
    >>> f = analyze("大庆市建设了多少个户外驿站？", [p]).features
    >>> f["best_clause_typed"], f["span_fit"]  # a figure, but not in the clause that asks
    (0.0, 1.0)
    """
    from rag.answer.candidates import _coverage

    q, best = a.question, a.best
    f: dict[str, float] = {}
    if best is None:
        return f
    top_w = max(a.weights.values(), default=1.0) or 1.0
    chosen = a.span_of or best
    sentence = zh.fold(chosen.text)
    head = _context(chosen.passage)
    rest = {t: v for t, v in a.weights.items() if t not in head} or dict(a.weights)
    clauses = zh.clause_spans(sentence) or [(0, len(sentence))]
    covs = [(_coverage(rest, sentence[x:y]), x, y) for x, y in clauses]
    top_cov, bx, by = max(covs)
    f["best_clause_typed"] = float(bool(typed_spans(sentence[bx:by], q.kind))) if q.kind in ("number", "date") else 1.0
    if a.span is not None and a.span_of is not None:
        i = next((k for k, (_, x, y) in enumerate(covs) if x <= a.span.start < y), 0)
        own = covs[i][0]
        if i > 0 and not typed_spans(sentence[covs[i - 1][1] : covs[i - 1][2]], q.kind):
            # "他于2006年去世，享年85岁": the clause before names the thing, this one gives it
            own = max(own, _coverage(rest, sentence[covs[i - 1][1] : covs[i][2]]))
        f["span_clause_cov"] = own
        f["clause_gap"] = top_cov - own
        kind = {"number": "figure", "date": "date"}.get(q.kind, "")
        f["span_fit"] = float(a.span.kind == kind) if kind else 1.0
    # years
    # the chosen sentence's document: its retrieved passages, titles and metadata (a question
    # naming two places or years compares them: one document holds one side, so any will do)
    doc = " ".join(_context(p) + " " + zh.fold(p.text) for p in a.passages if p.source == chosen.passage.source)
    everything = " ".join(_context(p) + " " + zh.fold(p.text) for p in a.passages)
    if q.single_years:
        in_sentence = [y for y, _, _, _ in zh.years(sentence)]
        f["year_other_sentence"] = float(bool(in_sentence) and not any(y in q.single_years for y in in_sentence))
        doc_year = str((chosen.passage.meta or {}).get("year", ""))
        f["year_doc_conflict"] = float(
            bool(doc_year) and doc_year not in q.single_years and not any(y in doc for y in q.single_years)
        )
    if q.named_places:
        f["place_missing_doc"] = float(not any(any(x in doc for x in _place_forms(pl)) for pl in q.named_places))
    missing = {t: v for t, v in a.weights.items() if t not in doc}
    f["missing_doc"] = sum(missing.values()) / (sum(a.weights.values()) or 1.0)
    f["missing_doc_max"] = max(missing.values(), default=0.0) / top_w
    rare = [t for t in q.nouns if a.weights.get(t, 0.0) >= 0.5 * top_w]
    f["unseen_nouns"] = min(3, sum(t not in everything for t in rare)) / 3
    f["head_missing"] = float(bool(q.head) and q.head not in sentence)
    return f


def analyze(
    question: str,
    passages: Sequence[Passage],
    known_places: Iterable[str] = (),
    *,
    idf: Callable[[str], float] | None = None,
    models: Models | None = None,
    tokenizer: Any = None,
) -> Analysis:
    """Read ``question`` against ``passages`` (best first): ranked sentences, best span, P(answerable).

    ``idf`` and ``tokenizer`` (a ``jieba.Tokenizer`` with the corpus' words) come from the index."""
    m = models or load_models()
    q = analyze_question(question, known_places, tokenizer)
    cands = sentence_candidates(q, passages, idf)
    weights = term_weights(q, idf, [c.text for c in cands])
    for c in cands:
        c.score = m.sentence.probability(c.features)
    cands.sort(key=lambda c: (-c.score, c.rank, c.start))
    a = Analysis(q, tuple(passages), cands, weights=weights)
    if q.kind in SHORT_KINDS:
        best_p = -1.0
        for c in cands[:_SPAN_SENTENCES]:
            for sp, feats in span_features(q, c.text):
                # a span of a weaker sentence must beat the sentence odds too
                p = m.span.probability(feats) * (c.score / (cands[0].score or 1.0)) ** 0.5
                if p > best_p:
                    best_p, a.span, a.span_of, a.span_probability = p, sp, c, p
    a.features = answerable_features(a)
    a.p_answerable = m.answerable.probability(a.features)
    return a


class ExtractiveAnswerer:
    """Answers from the passages' own words, offline: the asked span first, then its sentence, cited.

    ``idf`` gives a term's rarity in the whole corpus (``rag.assistant`` passes the index's
    BM25 statistics); without it, rarity among the retrieved sentences is used.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        known_places: Iterable[str] = (),
        *,
        idf: Callable[[str], float] | None = None,
        models: Models | None = None,
        tokenizer: Any = None,
    ):
        self.settings = settings or Settings()
        self.known_places = tuple(known_places)
        self.idf = idf
        self.models = models
        self.tokenizer = tokenizer

    @property
    def threshold(self) -> float:
        """Refuse below this P(answerable) (fitted with the models)."""
        return (self.models or load_models()).threshold

    def verdict(self, analysis: Analysis) -> Any:
        """Whether to refuse (``rag.answer.refusal.judge`` with this model's threshold for the
        question's kind, else its one threshold, and its vetoes)."""
        from rag.answer.refusal import judge

        m = self.models or load_models()
        return judge(analysis, m.threshold_for(analysis.question.kind), tuple(m.info.get("vetoes", ())))

    def _places(self, passages: Sequence[Passage]) -> tuple[str, ...]:
        """The corpus' places plus those the passages' documents are about (their metadata)."""
        extra = [str(p.meta.get("place", "")) for p in passages if p.meta and p.meta.get("place")]
        return tuple(dict.fromkeys([*self.known_places, *extra]))

    def analyze(self, question: str, passages: Sequence[Passage]) -> Analysis:
        return analyze(
            question, passages, self._places(passages), idf=self.idf, models=self.models, tokenizer=self.tokenizer
        )

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[tuple[str, str]] = (),
        *,
        analysis: Analysis | None = None,
        runner_up: bool = True,
    ) -> Answer:
        """The answer to ``question`` from ``passages`` (best first), or a refusal when they lack it.

        ``runner_up=False`` quotes the best sentence alone (each side of a comparison does)."""
        from rag.answer.compose import compose
        from rag.answer.refusal import refusal_answer

        t0 = time.perf_counter()
        passages = tuple(passages)
        sides = [] if analysis is not None else comparison_queries(question, self._places(passages))
        if len(sides) > 1:  # "A和B分别…": each side answered from the passages, joined in the order asked
            from rag.answer.pipeline import merge_answers

            parts = [self.answer(side, passages, runner_up=False) for side in sides]
            merged = merge_answers(question, parts)
            shorts = "；".join(p.short_answer for p in parts if p.short_answer)
            return replace(merged, short_answer=shorts, latency_ms=(time.perf_counter() - t0) * 1000)
        a = analysis or self.analyze(question, tuple(passages))
        verdict = self.verdict(a)
        ans = (
            refusal_answer(question, a.passages, verdict)
            if verdict.refuse
            else compose(a, question, runner_up=runner_up)
        )
        ms = (time.perf_counter() - t0) * 1000
        return Answer(
            ans.question,
            ans.text,
            ans.citations,
            ans.refused,
            ans.passages,
            latency_ms=ms,
            short_answer=ans.short_answer,
        )

    def stream(
        self, question: str, passages: Sequence[Passage], history: Sequence[tuple[str, str]] = ()
    ) -> Iterator[str | Answer]:
        """Yield the answer text as one piece, then the ``Answer``."""
        ans = self.answer(question, passages, history)
        yield ans.text
        yield ans
