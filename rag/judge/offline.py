"""Offline faithfulness judge: is every claim of an answer backed by the retrieved contexts?

The scheme is RAGAS faithfulness (https://arxiv.org/abs/2309.15217) -- split the answer
into claims, verify each against the contexts, aggregate -- with the LLM verifier replaced
by a lexical aligner plus hard checks that suit a Chinese corpus full of figures:

1. align the claim to its best window in the contexts (character bigrams, :mod:`align`);
2. coverage: the IDF-weighted share of the claim's content words found in that window;
3. checks (:mod:`checks`): figures with units, quoted names, entity words, role/name
   pairing, negation polarity, antonyms and swapped order each multiply the score down.

>>> j = OfflineJudge()
>>> ctx = ["2025年组织干部培训18期，覆盖1500余人次。"]
>>> j.judge("", ctx, "2025年组织干部培训18期[1]。").faithfulness > 0.9
True
>>> j.judge("", ctx, "2025年组织干部培训81期。").claims[0].reason
'数字 81期 不在资料中'

``entails(claim, context)`` runs the same verification against one passage; it is the
per-citation check of ALCE (Gao et al., 2023, https://arxiv.org/abs/2305.14627), where
citation recall asks whether the cited passages entail the sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.judge.align import Passage, Window, best_window, clause_span, related_passages
from rag.judge.checks import (
    Issue,
    Region,
    check_antonyms,
    check_binding,
    check_direction,
    check_entity_roles,
    check_figures,
    check_junctions,
    check_negation,
    check_order,
    check_quoted,
)
from rag.judge.claims import normalise, split_claims
from rag.judge.coverage import lexical_support

SUPPORT_THRESHOLD = 0.5  # a claim scoring at least this is reported as supported

# "资料中没有相关信息" states no fact: nothing to verify, so it cannot be unfaithful.
_ABSTAIN = re.compile(
    r"^(?:(?:根据|从)?(?:所给|提供的|现有|上述)?(?:资料|材料|上下文|文档|参考资料)(?:中|里)?)?"
    r"(?:没有|未|并未|无|找不到|未能找到|未提及|没有提及|没有提到|未提供|无法)(?:找到|提及|提到|提供|涉及|给出|包含)?"
    r"(?:相关|有关|该|此|这方面的?)?(?:信息|内容|数据|说明|记载|答案|回答)?[，。！]*$"
)


@dataclass(frozen=True)
class ClaimVerdict:
    """The judgement of one claim.

    ``span`` is the supporting text cut from ``contexts[context_index]`` ("" and -1 when
    nothing aligned); ``reason`` says why support failed, e.g. "数字 3234万 不在资料中".
    """

    claim: str
    supported: bool
    score: float
    span: str
    reason: str
    context_index: int


@dataclass(frozen=True)
class JudgeResult:
    """Faithfulness of one answer: a graded score in [0, 1] and the per-claim verdicts."""

    faithfulness: float
    claims: tuple[ClaimVerdict, ...]

    @property
    def unsupported(self) -> tuple[ClaimVerdict, ...]:
        return tuple(c for c in self.claims if not c.supported)


@dataclass(frozen=True)
class _Scored:
    score: float
    coverage: float
    issues: tuple[Issue, ...]
    window: Window


class OfflineJudge:
    """Lexical-plus-rules faithfulness judge; no model, a few ms per answer.

    ``aggregate`` chooses how claim scores become the answer score: "min" (one bad claim
    sinks the answer), "mean", or "blend" (default: 0.75 min + 0.25 mean, which keeps the
    min's sensitivity while ranking answers with several weak claims below those with one).
    """

    def __init__(self, threshold: float = SUPPORT_THRESHOLD, aggregate: str = "blend") -> None:
        if aggregate not in ("min", "mean", "blend"):
            raise ValueError(f"aggregate must be min, mean or blend, not {aggregate!r}")
        self.threshold = threshold
        self.aggregate = aggregate

    # ------------------------------------------------------------------ public API

    def judge(self, question: str, contexts: list[str], answer: str) -> JudgeResult:
        """Verify every claim of ``answer`` against ``contexts``.

        An answer with no claim scores 0.0 (nothing verifiable); an abstention such as
        "资料中没有相关信息" is a supported non-claim and scores 1.0.
        """
        passages = [Passage.build(c) for c in contexts]
        q = normalise(question or "")
        verdicts = tuple(self._verdict(c, passages, q) for c in split_claims(answer))
        if not verdicts:
            return JudgeResult(0.0, ())
        scores = [v.score for v in verdicts]
        lo, mean = min(scores), sum(scores) / len(scores)
        agg = {"min": lo, "mean": mean, "blend": 0.75 * lo + 0.25 * mean}[self.aggregate]
        return JudgeResult(round(agg, 4), verdicts)

    def entails(self, claim: str, context: str) -> tuple[float, str]:
        """(score in [0, 1], supporting span) of one claim against one passage.

        A multi-clause sentence is split like an answer and scored by its weakest clause
        (ALCE citation recall needs the whole sentence supported); the span joins the
        clauses' supporting spans.

        >>> OfflineJudge().entails("覆盖1500余人次[2]", "组织干部培训18期，覆盖1500余人次。")
        (1.0, '组织干部培训18期，覆盖1500余人次。')
        """
        parts = split_claims(claim)
        if not parts or not context.strip():
            return 0.0, ""
        passages = [Passage.build(context)]
        scored = [self._score(part, passages, "") for part in parts]
        spans = list(dict.fromkeys(s for s in (self._span(x.window, passages) for x in scored) if s))
        return round(min(x.score for x in scored), 4), " … ".join(spans)

    # ------------------------------------------------------------------ internals

    def _verdict(self, claim: str, passages: list[Passage], question: str) -> ClaimVerdict:
        if _ABSTAIN.search(claim):
            return ClaimVerdict(claim, True, 1.0, "", "拒答：不陈述事实", -1)
        s = self._score(claim, passages, question)
        issues = sorted(s.issues, key=lambda i: i.penalty)
        reason = "；".join(i.reason for i in issues[:3])
        if not reason and s.score < self.threshold:
            reason = f"内容大多不在资料中（覆盖率 {s.coverage:.0%}）"
        return ClaimVerdict(
            claim=claim,
            supported=s.score >= self.threshold,
            score=round(s.score, 4),
            span=self._span(s.window, passages),
            reason=reason,
            context_index=s.window.passage,
        )

    @staticmethod
    def _span(w: Window, passages: list[Passage]) -> str:
        if w.passage < 0:
            return ""
        p = passages[w.passage]
        a, b = clause_span(p, w.start, w.end)
        return p.original[a:b].strip()

    def _score(self, claim: str, passages: list[Passage], question: str) -> _Scored:
        w = best_window(claim, passages)
        # Checks see only passages that could be the claim's source (the aligned one first).
        keep = related_passages(claim, passages, w.passage)
        passages = [passages[i] for i in keep]
        region: Region = (keep.index(w.passage), w.start, w.end) if w.passage >= 0 else (-1, 0, 0)
        coverage, issues = lexical_support(claim, passages, region, question)
        issues += check_figures(claim, passages, region, question)
        issues += check_quoted(claim, passages, question)
        issues += check_negation(claim, passages, region)
        issues += check_antonyms(claim, passages, region)
        issues += check_order(claim, passages, region)
        issues += check_binding(claim, passages, region)
        issues += check_entity_roles(claim, passages, region)
        issues += check_direction(claim, passages, region)
        issues += check_junctions(claim, passages, region, question)
        score = coverage
        seen: set[str] = set()
        kept: list[Issue] = []
        for i in issues:
            if i.reason in seen:
                continue
            seen.add(i.reason)
            kept.append(i)
            score *= i.penalty
        return _Scored(max(0.0, min(1.0, score)), coverage, tuple(kept), w)
