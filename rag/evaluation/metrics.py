"""Answer figures: accuracy, token F1, CMRC character F1 / exact match, faithfulness, ALCE citations, refusals.

Every function here is pure: it takes an answer text (with ``[n]`` markers), the
:class:`~rag.records.Citation` objects those markers point at, and, for the figures that
need a verifier, a *judge* -- any object with the two methods of
:class:`rag.judge.OfflineJudge`::

    judge(question, contexts: list[str], answer: str) -> JudgeResult(faithfulness, claims)
    entails(claim, context) -> (score in [0, 1], supporting span)

so tests can pass a fake judge whose verdicts they control. Retrieval figures live in
:mod:`rag.evaluation.retrieval`.

>>> accuracy("共举办９７场[1]，服务 2.59 万人次。", ["97", "2.59万"])
1.0
>>> round(token_f1("职工书屋75个", "新建职工书屋75个"), 2)
0.89
>>> round(char_f1("1999年", ["1999年10月"]), 3), exact_match("《1999年》", ["1999年"])
(0.667, 1.0)
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from rag.answer.citations import find_markers, sentence_spans, strip_markers
from rag.ingest.clean import normalize_for_match
from rag.records import Citation, Passage

# Entailment cut-off used when the judge does not say its own (``judge.threshold``).
DEFAULT_ENTAIL_THRESHOLD = 0.5


class Judge(Protocol):
    """What the answer figures need from a judge (``rag.judge.OfflineJudge`` has both)."""

    def judge(self, question: str, contexts: list[str], answer: str) -> Any: ...

    def entails(self, claim: str, context: str) -> tuple[float, str]: ...


# ---------------------------------------------------------------------------- helpers


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none.

    >>> mean([1.0, None, 0.0]), mean([None])
    (0.5, None)
    """
    kept = [float(v) for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


def _has_content(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def passage_context(passage: Passage) -> str:
    """The text a judge sees for one cited passage: its title line, then its text.

    ALCE formats each document as "Title: ...\\n<text>" for the NLI model in the same way;
    the title often carries the place or organisation a sentence names.

    >>> passage_context(Passage("p", "发放互助金3234万元。", "a.txt", "铜仁市总工会", (), 1.0))
    '铜仁市总工会\\n发放互助金3234万元。'
    """
    return f"{passage.title}\n{passage.text}" if passage.title else passage.text


def _threshold(judge: Judge, threshold: float | None) -> float:
    if threshold is not None:
        return threshold
    return float(getattr(judge, "threshold", DEFAULT_ENTAIL_THRESHOLD))


# ---------------------------------------------------------------------------- accuracy


def missing_strings(answer: str, must_contain: Sequence[str]) -> list[str]:
    """The ``must_contain`` strings not found in ``answer`` (NFKC, whitespace and ``[n]`` removed).

    >>> missing_strings("拉萨建立基层工会组织２１２３个[1]。", ["2123", "12.2万"])
    ['12.2万']
    """
    text = normalize_for_match(strip_markers(answer))
    return [s for s in must_contain if normalize_for_match(s) not in text]


def accuracy(answer: str, must_contain: Sequence[str]) -> float:
    """1.0 when every ``must_contain`` string appears in ``answer``, else 0.0.

    Both sides are compared after Unicode NFKC (full-width ``９７`` equals ``97``) and with
    all whitespace and citation markers removed. This is the "string exact match"
    correctness of ALCE for ASQA (Gao et al. 2023, https://arxiv.org/abs/2305.14627,
    section 2.2: does the output contain each short answer?).

    >>> accuracy("共举办９７场。", ["97"]), accuracy("共举办79场。", ["97"])
    (1.0, 0.0)
    """
    return 0.0 if missing_strings(answer, must_contain) else 1.0


def matched_answer(answer: str, answers: Sequence[str]) -> str | None:
    """The first of several acceptable gold ``answers`` that ``answer`` contains, else None.

    Containment as in :func:`missing_strings` (NFKC, whitespace and ``[n]`` removed).

    >>> matched_answer("于１９９９年10月成立[2]。", ["1999年10月1日", "1999 年"])
    '1999 年'
    >>> matched_answer("2000年成立。", ["1999年"]) is None
    True
    """
    text = normalize_for_match(strip_markers(answer))
    return next((a for a in answers if normalize_for_match(a) in text), None)


def extra_required(must_contain: Sequence[str] | None, answers: Sequence[str] | None) -> tuple[str, ...]:
    """The ``must_contain`` strings still required when there are gold ``answers``.

    With gold answers, ``must_contain`` is not required in addition when it merely repeats
    gold answers (datasets built from CMRC-style data copy ``answers[0]`` into it);
    otherwise every ``must_contain`` string stays required, as without ``answers``.

    >>> extra_required(["踢爆"], ["踢爆", "被踢爆"]), extra_required(["97"], ["97场"])
    ((), ('97',))
    >>> extra_required(["97", "2.59万"], None)
    ('97', '2.59万')
    """
    required = tuple(must_contain or ())
    if not answers:
        return required
    gold = {normalize_for_match(a) for a in answers}
    return () if all(normalize_for_match(s) in gold for s in required) else required


def answers_accuracy(answer: str, answers: Sequence[str], must_contain: Sequence[str] | None = None) -> float:
    """1.0 when ``answer`` holds ANY one of the gold ``answers`` (and the :func:`extra_required`
    ``must_contain`` strings), else 0.0; with no gold answers it is :func:`accuracy`.

    >>> answers_accuracy("成立于1999年。", ["1999年10月", "1999年"]), answers_accuracy("成立于2000年。", ["1999年"])
    (1.0, 0.0)
    >>> answers_accuracy("共举办97场。", [], ["97"])
    1.0
    """
    if answers and matched_answer(answer, answers) is None:
        return 0.0
    return accuracy(answer, extra_required(must_contain, answers))


# ---------------------------------------------------------------------------- token F1


def _is_punctuation_or_space(token: str) -> bool:
    return all(ch.isspace() or unicodedata.category(ch)[0] in "PSZ" for ch in token)


def tokens(text: str) -> list[str]:
    """jieba tokens of ``text`` after NFKC and lower-casing, citation markers and punctuation dropped.

    >>> tokens("“春送岗位”举办97场[1]。")
    ['春送', '岗位', '举办', '97', '场']
    """
    import jieba

    jieba.setLogLevel(60)  # silence "Building prefix dict ..." on first use
    clean = unicodedata.normalize("NFKC", strip_markers(text)).lower()
    return [t for t in jieba.lcut(clean) if t.strip() and not _is_punctuation_or_space(t)]


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 between an answer and the reference answer, over jieba tokens.

    precision = shared tokens / answer tokens, recall = shared tokens / reference tokens
    (shared counted with multiplicity), F1 their harmonic mean; 1.0 when both are empty,
    0.0 when only one is. Definition: the official SQuAD v1.1 evaluation script
    (Rajpurkar et al. 2016, https://arxiv.org/abs/1606.05250,
    https://rajpurkar.github.io/SQuAD-explorer/), with jieba words instead of
    whitespace-separated words and punctuation tokens removed.

    >>> token_f1("举办97场", "举办97场"), token_f1("举办97场", "服务劳动者")
    (1.0, 0.0)
    """
    pred, ref = tokens(prediction), tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------- CMRC 2018 F1 / EM

# The punctuation list of the official CMRC 2018 evaluation script (``sp_char``); every
# other Unicode punctuation character and all whitespace are dropped as well.
CMRC_PUNCTUATION = frozenset("-:_*^/\\~`+=，。：？！“”；’《》·、「」（）－～『』…")
_CJK = re.compile(r"[\u4e00-\u9fa5]")
# a word of a non-Chinese run: letters/digits/symbols, with inner "." or "," kept (3.5, 1,000)
_WORD = re.compile(r"[^\W_]+(?:[.,][^\W_]+)*|[^\w\s]+")


def _is_punctuation(ch: str) -> bool:
    return ch in CMRC_PUNCTUATION or unicodedata.category(ch).startswith("P")


def cmrc_segments(text: str) -> list[str]:
    """The units CMRC 2018 scores: each Chinese character alone, other text split into words.

    As ``mixed_segmentation(text, rm_punc=True)`` of the official CMRC 2018 evaluation
    script (github.com/ymcui/cmrc2018, ``squad-style-data/cmrc2018_evaluate.py``):
    lower-cased, the script's punctuation characters deleted, every character in
    U+4E00..U+9FA5 one unit, and each run of other characters split into words (the
    script uses ``nltk.word_tokenize``; here a run is cut at whitespace and punctuation,
    keeping ``3.5`` / ``1,000`` whole). Unlike the script, every Unicode punctuation mark
    and all whitespace are dropped, not only its list.

    >>> cmrc_segments("于1999年10月， 由The Beatles 发行。")
    ['于', '1999', '年', '10', '月', '由', 'the', 'beatles', '发', '行']
    >>> cmrc_segments("2.59万人次（e-mail）")
    ['2.59', '万', '人', '次', 'email']
    """
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        for w in _WORD.findall("".join(run)):
            if not w[0].isalnum():  # a run of symbols and punctuation: keep the symbols (℃, $)
                w = "".join(c for c in w if not _is_punctuation(c))
            if w:
                out.append(w)
        run.clear()

    for ch in text.lower().strip():
        if ch in CMRC_PUNCTUATION:  # deleted before segmenting, as in the script ("e-mail" -> "email")
            continue
        if _CJK.match(ch):
            flush()
            out.append(ch)
        else:
            run.append(ch)
    flush()
    return out


def longest_common_substring(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest run of units that ``a`` and ``b`` share contiguously (``find_lcs``).

    >>> longest_common_substring(list("甲乙丙丁"), list("甲丙丁"))
    2
    """
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                cur[j + 1] = prev[j] + 1
                best = max(best, cur[j + 1])
        prev = cur
    return best


def char_f1(prediction: str, answers: Sequence[str]) -> float:
    """CMRC 2018 F1: the best over the gold ``answers`` of the longest-common-substring F1.

    For one gold answer, with both sides cut by :func:`cmrc_segments`:
    precision = LCS / units of the prediction, recall = LCS / units of the gold answer,
    F1 their harmonic mean (0 when nothing is shared), LCS being the longest common
    *contiguous* run (``find_lcs`` / ``calc_f1_score`` of the official script,
    Cui et al. 2019, https://aclanthology.org/D19-1600/). 0.0 when there is no gold answer.

    >>> round(char_f1("1999年", ["1999年10月"]), 4)   # units 1999|年 vs 1999|年|10|月: P 1, R 1/2
    0.6667
    >>> round(char_f1("甲乙丙丁", ["甲丙丁"]), 4)       # LCS 丙丁 = 2: P 2/4, R 2/3
    0.5714
    >>> char_f1("北京", ["上海", "北京。"])
    1.0
    """
    pred = cmrc_segments(prediction)
    best = 0.0
    for gold in answers:
        ref = cmrc_segments(gold)
        lcs = longest_common_substring(ref, pred)
        if lcs:
            precision, recall = lcs / len(pred), lcs / len(ref)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """CMRC 2018 EM: 1.0 when the prediction equals one gold answer after normalisation.

    Normalisation as in :func:`cmrc_segments` (lower case, punctuation and whitespace
    removed), so ``exact_match == 1`` implies ``char_f1 == 1``.

    >>> exact_match("《The Beatles》", ["the beatles"]), exact_match("1999年", ["1999年10月"])
    (1.0, 0.0)
    """
    pred = cmrc_segments(prediction)
    return float(any(cmrc_segments(gold) == pred for gold in answers))


def scored_prediction(text: str, short_answer: str = "") -> str:
    """The span character F1 / EM score: ``short_answer`` when it has content, else the
    answer text without its ``[n]`` markers.

    >>> scored_prediction("成立于1999年[1]。", "1999年"), scored_prediction("成立于1999年[1]。")
    ('1999年', '成立于1999年。')
    """
    return short_answer if short_answer.strip() else strip_markers(text)


# ---------------------------------------------------------------------------- sentences


@dataclass(frozen=True)
class CitedSentence:
    """One sentence of an answer, markers removed, and the citation numbers it carries."""

    index: int
    text: str
    cited: tuple[int, ...]  # distinct marker numbers, in order of appearance


def cited_sentences(answer: str) -> list[CitedSentence]:
    """Split an answer into sentences with their ``[n]`` numbers (markers after 。 belong to it).

    Sentences without any letter, digit or CJK character are dropped.

    >>> [(s.text, s.cited) for s in cited_sentences("甲有5个[1][2]。乙有3个。[3]")]
    [('甲有5个。', (1, 2)), ('乙有3个。', (3,))]
    """
    out: list[CitedSentence] = []
    for a, b in sentence_spans(answer):
        raw = answer[a:b]
        text = strip_markers(raw).strip()
        if not _has_content(text):
            continue
        nums = tuple(dict.fromkeys(n for m in find_markers(raw) for n in m.numbers))
        out.append(CitedSentence(len(out), text, nums))
    return out


def _by_number(citations: Sequence[Citation]) -> dict[int, Citation]:
    return {c.n: c for c in citations}


# ---------------------------------------------------------------------------- faithfulness


@dataclass(frozen=True)
class ClaimCheck:
    """The judge's verdict on one claim, and which sentence and citations it was checked against."""

    claim: str
    supported: bool
    score: float
    span: str
    reason: str
    sentence: int  # index into cited_sentences(answer)
    checked_against: tuple[int, ...]  # citation numbers whose passages were the contexts
    supporting_citation: int | None  # the citation number the span was cut from

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FaithfulnessResult:
    score: float | None  # share of supported claims; None when the answer has no claims
    claims: tuple[ClaimCheck, ...]


def faithfulness(answer: str, citations: Sequence[Citation], judge: Judge, question: str = "") -> FaithfulnessResult:
    """Share of the answer's claims that the judge finds supported by the cited passages.

    The answer is cut into sentences; each sentence (markers stripped) goes to
    ``judge.judge`` with, as contexts, the passages its own markers cite -- or every
    passage the answer cites when the sentence has no marker. The judge splits it into
    claims (``rag.judge.split_claims``) and verifies each. faithfulness = supported claims
    / all claims. This is RAGAS faithfulness (Es et al. 2023,
    https://arxiv.org/abs/2309.15217) with the contexts narrowed to what is cited.

    >>> class Substring:                     # a toy judge: a claim is supported if quoted verbatim
    ...     def judge(self, q, contexts, answer):
    ...         from types import SimpleNamespace as NS
    ...         claim = answer.rstrip("。")
    ...         ok = any(claim in c for c in contexts)
    ...         return NS(claims=[NS(claim=claim, supported=ok, score=float(ok), span="", reason="", context_index=0)])
    >>> p = Passage("p1", "共举办97场。", "a.txt", "", (), 1.0)
    >>> faithfulness("共举办97场[1]。共举办98场[1]。", [Citation(1, p, "")], Substring()).score
    0.5
    """
    by_n = _by_number(citations)
    all_cited = tuple(c.n for c in citations)
    checks: list[ClaimCheck] = []
    for s in cited_sentences(answer):
        ns = tuple(n for n in s.cited if n in by_n) or all_cited
        contexts = [passage_context(by_n[n].passage) for n in ns]
        result = judge.judge(question, contexts, s.text)
        for v in getattr(result, "claims", ()):
            ci = int(getattr(v, "context_index", -1))
            checks.append(
                ClaimCheck(
                    claim=str(v.claim),
                    supported=bool(v.supported),
                    score=float(getattr(v, "score", float(bool(v.supported)))),
                    span=str(getattr(v, "span", "")),
                    reason=str(getattr(v, "reason", "")),
                    sentence=s.index,
                    checked_against=ns,
                    supporting_citation=ns[ci] if 0 <= ci < len(ns) else None,
                )
            )
    score = sum(c.supported for c in checks) / len(checks) if checks else None
    return FaithfulnessResult(score, tuple(checks))


# ---------------------------------------------------------------------------- ALCE citations


@dataclass(frozen=True)
class SentenceCitations:
    """ALCE verdicts for one sentence: recall (0/1) and one precision (0/1) per cited number."""

    index: int
    sentence: str
    cited: tuple[int, ...]
    recall: int
    joint_score: float  # entailment score of the concatenated cited passages
    precision: dict[int, int]  # citation number -> 1 relevant / 0 irrelevant
    span: str  # the supporting span the judge found in the joint passages

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["precision"] = {str(k): v for k, v in self.precision.items()}
        return d


@dataclass(frozen=True)
class CitationResult:
    """ALCE citation recall and precision of one answer (None when it has no sentence)."""

    recall: float | None
    precision: float | None
    sentences: tuple[SentenceCitations, ...]


def citation_scores(
    answer: str, citations: Sequence[Citation], judge: Judge, *, threshold: float | None = None
) -> CitationResult:
    """ALCE citation recall and precision (Gao et al. 2023, https://arxiv.org/abs/2305.14627, section 2.3).

    "Entails" means ``judge.entails(sentence, passages)[0] >= threshold`` (default: the
    judge's own ``threshold``, else 0.5); several passages are joined with newlines.

    * recall, per sentence: 1 if the concatenation of its cited passages entails it, else
      0; a sentence without citations scores 0. Answer recall = mean over sentences.
    * precision, per citation: 0 when the sentence's citations together do not entail it;
      otherwise 0 when the citation is *irrelevant* -- it alone does not entail the
      sentence AND the remaining citations still do -- else 1. Answer precision = relevant
      citations / all citations (0 when there are none), as in ALCE's ``eval.py``.

    A marker that points at no citation (``[7]`` with 5 passages) makes its sentence's
    recall 0 and counts as an irrelevant citation.

    >>> class Key:   # toy judge: entailed when the sentence's first two characters are in the passage
    ...     def entails(self, claim, context):
    ...         return (1.0, claim[:2]) if claim[:2] in context else (0.0, "")
    >>> ps = [Passage(f"p{i}", t, "a.txt", "", (), 1.0) for i, t in [(1, "甲乙"), (2, "丙丁")]]
    >>> cs = [Citation(i + 1, p, "") for i, p in enumerate(ps)]
    >>> r = citation_scores("甲乙[1][2]。丙丁[2]。", cs, Key())
    >>> r.recall, round(r.precision, 3)
    (1.0, 0.667)
    """
    cut = _threshold(judge, threshold)
    by_n = _by_number(citations)

    def check(ns: Sequence[int], sentence: str) -> tuple[bool, float, str]:
        if not ns or any(n not in by_n for n in ns):
            return False, 0.0, ""
        score, span = judge.entails(sentence, "\n".join(passage_context(by_n[n].passage) for n in ns))
        return float(score) >= cut, float(score), span

    out: list[SentenceCitations] = []
    for s in cited_sentences(answer):
        joint, joint_score, span = check(s.cited, s.text)
        precision: dict[int, int] = {}
        for n in s.cited:
            if not joint:
                precision[n] = 0
            elif len(s.cited) == 1 or check([n], s.text)[0]:
                precision[n] = 1
            else:
                rest = [m for m in s.cited if m != n]
                precision[n] = 0 if check(rest, s.text)[0] else 1
        out.append(SentenceCitations(s.index, s.text, s.cited, int(joint), joint_score, precision, span))
    if not out:
        return CitationResult(None, None, ())
    n_citations = sum(len(s.precision) for s in out)
    recall = sum(s.recall for s in out) / len(out)
    precision_score = sum(sum(s.precision.values()) for s in out) / n_citations if n_citations else 0.0
    return CitationResult(recall, precision_score, tuple(out))


def citation_recall(
    answer: str, citations: Sequence[Citation], judge: Judge, *, threshold: float | None = None
) -> float | None:
    """ALCE citation recall of one answer; see :func:`citation_scores`."""
    return citation_scores(answer, citations, judge, threshold=threshold).recall


def citation_precision(
    answer: str, citations: Sequence[Citation], judge: Judge, *, threshold: float | None = None
) -> float | None:
    """ALCE citation precision of one answer; see :func:`citation_scores`."""
    return citation_scores(answer, citations, judge, threshold=threshold).precision


# ---------------------------------------------------------------------------- refusals


def refusal_accuracy(expected: Sequence[bool], refused: Sequence[bool]) -> float | None:
    """Share of the questions that should be refused which the assistant did refuse.

    ``expected[i]`` says question i is unanswerable from the documents; ``refused[i]``
    whether the assistant refused it. None when no question should be refused. This is
    the "no-answer" accuracy of SQuAD 2.0 (Rajpurkar et al. 2018,
    https://arxiv.org/abs/1806.03822): abstaining is right exactly when there is no answer.

    >>> refusal_accuracy([True, True, False], [True, False, True])
    0.5
    """
    pairs = [r for e, r in zip(expected, refused, strict=True) if e]
    return sum(map(bool, pairs)) / len(pairs) if pairs else None


def false_refusal_rate(expected: Sequence[bool], refused: Sequence[bool]) -> float | None:
    """Share of the answerable questions that the assistant refused (lower is better).

    The counterpart of :func:`refusal_accuracy` (SQuAD 2.0, https://arxiv.org/abs/1806.03822):
    a refusal of a question the documents do answer. None when every question should be refused.

    >>> false_refusal_rate([True, False, False], [True, True, False])
    0.5
    """
    pairs = [r for e, r in zip(expected, refused, strict=True) if not e]
    return sum(map(bool, pairs)) / len(pairs) if pairs else None
