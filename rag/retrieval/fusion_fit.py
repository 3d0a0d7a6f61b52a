"""Fusion chosen per corpus at ingest, from measurements on questions made from the corpus.

The hybrid retriever's weights and scoping rules were first set by hand on trade-union
reports, where questions name a place and a year and BM25 restricted to that report
helps; on a Wikipedia corpus the same rules made the hybrid worse than BM25 alone. So
each index measures them on itself:

1. :func:`pseudo_questions` makes a few hundred questions from the corpus, a
   deterministic seeded sample, from documents taken in turn (alternately the next file
   and the next document). Mostly a clause holding a figure, a year or a named thing (a
   quoted or 《》 name, a Latin name), that span asked for (``17场`` -> ``多少场``,
   ``2019年`` -> ``哪一年``, ``“春送岗位”`` -> ``什么``), some of its other words dropped
   (:data:`DROP_RATE`: users do not repeat a passage word for word), and usually preceded
   by what the document is about (the organisation or place its title names, with the
   year of a yearly report; a short title; now and then the 《title》), as users ask.
   Then headings, as topic questions, and, where documents are about different places,
   comparisons ("A和B分别…") of a clause and the most alike clause of another document.
   A question's answer is every passage holding its clause.
2. :func:`fit_fusion` ranks every question under every configuration of the grid:
   dense share ``w`` in :data:`SHARES` (lexical lists weigh ``1 - w``: 0 is BM25 alone,
   1 dense alone) x RRF ``k`` in :data:`RRF_KS` x each scoping rule on or off (place,
   year and title scope, comparison splitting, near-duplicate dropping): 864
   configurations. BM25 scores each question once (a scope only masks the score
   vector), the dense half is one matrix product of all question vectors with the chunk
   vectors, and the fusions for all weights are one array operation per question and
   ``k``; the ranking is the retriever's own (a test checks it against
   :class:`~rag.retrieval.retrievers.HybridRetriever`).
3. :func:`choose` decides each rule by its main effect on the questions (on only when
   it helps by more than its standard error: a tie goes to the simpler side), then takes
   the dense share and ``k`` in the middle of the plateau of those the questions cannot
   tell from the best by the mean of MRR and recall@5 (both over the first 5 passages
   of a 15-passage search, as ``rag eval retrieval`` counts them); remaining ties go to
   the simpler (a single retriever, ``k`` 30, a smaller share).

The rate of dropped words, how often a question names its document, and the sampling
over files and documents were calibrated on two corpora with human questions (the
trade-union reports with their dev and probe sets; CMRC 2018 trial): over all the
configurations, the ordering by pseudo-questions agrees with the ordering by the human
questions (Spearman 0.83-0.96 over six sampling seeds on each), and so it does on a
third corpus that took no part in calibrating (eval/datasets/genres, 0.84).

The choice and its figures are stored in the manifest (``manifest["retrieval"]``,
see :func:`fit_index`); :class:`~rag.retrieval.retrievers.HybridRetriever` follows it
(``Settings`` fields override). ``python eval/fit_fusion.py --index DIR`` prints every
configuration's figures.

>>> from rag.records import Chunk, Document
>>> doc = Document(id="d", source="a.txt", title="铜仁市总工会2025年工作综述", meta={"org": "铜仁市总工会", "year": "2025"})
>>> ch = Chunk(id="c", doc_id="d", source="a.txt", title=doc.title, heading_path=(), text="全年组织劳动技能竞赛17场，覆盖职工2.4万人次。", start=0, end=0, n_tokens=30)
>>> qs = pseudo_questions([ch], [doc], n=8, seed=1)
>>> any(q.text.startswith(("铜仁市总工会2025年", "2025年铜仁市总工会")) for q in qs), qs[0].relevant
(True, ((0,),))
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.records import Chunk, Document
from rag.retrieval.retrievers import (
    RULES,
    FusionConfig,
    PlaceScopes,
    _interleave,
    _shingles,
    split_comparison,
)
from rag.store import IndexData

SHARES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)  # dense share of the fusion weight
RRF_KS = (10, 30, 60)
SEARCH_K = 15  # passages asked for, as ``rag eval retrieval`` does (k * 3): the retriever's pool follows it
RECALL_AT = 5  # MRR and recall are counted over the first 5, as there
CANDIDATES = 50  # as Settings.candidates
DEDUP_THRESHOLD = 0.6  # as retrievers.dedup
SCOPE_FLAGS = ("place", "year", "title")

# --------------------------------------------------------------------------- questions

_SENTENCE = re.compile(r"[^。！？!?；;\n]+")
_CLAUSE = re.compile(r"[^，,：:、]+[，,：:、]?")
_YEAR = re.compile(r"(?<!\d)(?:1[5-9]|20)\d{2}年")
_NUMBER = re.compile(r"(?<![\d.A-Za-z])\d+(?:[.,]\d+)*(?:%|‰)?(?:[万亿千百]+)?")
_QUOTED = re.compile(r"[“《「『][^”》」』\n]{2,20}[”》」』]")
_LATIN = re.compile(r"(?<![A-Za-z0-9 .·\-])[A-Z][A-Za-z0-9]+(?:[ .·\-][A-Za-z0-9]+)*(?![A-Za-z0-9])")
_BRACKETED = re.compile(r"[（(][^）)]*[）)]")
_HEADING_NUMBER = re.compile(
    r"^\s*(?:[（(]?[一二三四五六七八九十\d]+[）)、.．]|第[一二三四五六七八九十\d]+[章节部分条]\s*)"
)
_TRIM = "，,：:、；;。 "
# Share of questions that say what their document is about: a report is asked about by
# its place or organisation nearly always (without it the question has no referent; 97%
# of the questions on the trade-union reports do), an article by its title often (59% of
# CMRC's questions), its content or a pronoun standing for it otherwise.
CONTEXT_RATE = {"place": 0.95, "title": 0.6}
TITLE_RATE = 0.1  # of those, the share naming the document by its 《title》
DROP_RATE = 0.35  # share of a question's words (2+ characters) left out
HEADING_RATE = 0.15
COMPARISON_RATE = 0.1


@dataclass(frozen=True)
class PseudoQuestion:
    """A question made from the corpus; ``relevant`` holds, per thing it asks, the rows that answer it."""

    text: str
    relevant: tuple[tuple[int, ...], ...]
    kind: str  # "sentence" | "heading" | "comparison" | "given"
    row: int = -1  # the chunk it was made from


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    ask: str  # what replaces text[start:end]


def _spans(sentence: str) -> list[_Span]:
    """Spans a question could ask for: years, figures (their unit kept), quoted names, Latin names."""
    spans: list[_Span] = []
    taken: list[tuple[int, int]] = []
    brackets = [(m.start(), m.end()) for m in _BRACKETED.finditer(sentence)]

    def add(a: int, b: int, ask: str) -> None:
        if all(b <= x or a >= y for x, y in taken) and not any(x < a and b < y for x, y in brackets):
            taken.append((a, b))
            spans.append(_Span(a, b, ask))

    for m in _YEAR.finditer(sentence):
        add(m.start(), m.end(), "哪一年")
    for m in _NUMBER.finditer(sentence):
        if len(m.group(0)) > 12:
            continue
        after = sentence[m.end() : m.end() + 1]
        if after in ("月", "日", "号", "时", "点"):
            add(m.start(), m.end(), "几")
        else:
            end = m.end() + (1 if after in ("多", "余") else 0)
            add(m.start(), end, "多少")
    for m in _QUOTED.finditer(sentence):
        add(m.start(), m.end(), "什么")
    for m in _LATIN.finditer(sentence):
        add(m.start(), m.end(), "什么")
    return spans


def _window(sentence: str, span: _Span, min_chars: int = 14, max_chars: int = 60) -> tuple[int, int]:
    """Character range of the clauses around ``span``: its clause, then neighbours while short."""
    bounds = [(m.start(), m.end()) for m in _CLAUSE.finditer(sentence)]
    j = next((i for i, (a, b) in enumerate(bounds) if a <= span.start < b), 0)
    lo, hi = j, j
    while bounds[hi][1] - bounds[lo][0] < min_chars and hi - lo < 2:
        if lo > 0:
            lo -= 1
        elif hi + 1 < len(bounds):
            hi += 1
        else:
            break
    a, b = bounds[lo][0], bounds[hi][1]
    if b - a > max_chars:  # one long clause: keep the span and what is nearest to it
        a = max(a, min(span.start - max_chars // 2, b - max_chars))
        b = min(b, a + max_chars)
    return a, b


def _subject(doc: Document, text: str = "") -> tuple[str, str]:
    """How a user names what the document is about, and the kind of name: ``"place"`` for
    the organisation / place its title names (a report), or that its ``text`` names twice
    or more when the title names nothing short; ``"title"`` for a short title (an
    encyclopaedia article); ``("", "")`` when there is nothing to name it by."""
    title = doc.title.strip()
    meta = doc.meta or {}
    names = [str(meta.get(key) or "") for key in ("org", "place")]
    for name in names:
        if len(name) >= 2 and name in title and name != title:
            return name, "place"
    if 2 <= len(title) <= 12:
        return title, "title"
    for name in names:
        if len(name) >= 2 and text.count(name) >= 2:
            return name, "place"
    return "", ""


def _year(doc: Document) -> str:
    """The document's year when its title states it (a yearly report), else ""."""
    year = str((doc.meta or {}).get("year") or "")
    return f"{year}年" if re.fullmatch(r"(?:19|20)\d{2}", year) and year in doc.title else ""


class _Rows:
    """Which rows' texts contain a string (whitespace and width aside), by one scan of the corpus."""

    def __init__(self, chunks: Sequence[Chunk]):
        from rag.ingest.clean import normalize_for_match

        self._norm = normalize_for_match
        texts = [normalize_for_match(c.text) for c in chunks]
        self.starts: list[int] = []
        pos = 0
        for t in texts:
            self.starts.append(pos)
            pos += len(t) + 1
        self.corpus = "\x00".join(texts)

    def containing(self, text: str, limit: int = 50) -> tuple[int, ...]:
        needle = self._norm(text)
        if not needle:
            return ()
        rows: list[int] = []
        i = self.corpus.find(needle)
        while i >= 0 and len(rows) < limit:
            row = bisect.bisect_right(self.starts, i) - 1
            if not rows or rows[-1] != row:
                rows.append(row)
            i = self.corpus.find(needle, i + 1)
        return tuple(rows)


@dataclass(frozen=True)
class _Made:
    row: int
    evidence: str  # the clause as the passage has it
    body: str  # the clause with its span asked for


class _Maker:
    """Makes the questions of :func:`pseudo_questions`; one seeded RNG drives every choice."""

    def __init__(self, chunks: Sequence[Chunk], documents: Sequence[Document], seed: int):
        self.chunks = chunks
        self.rng = random.Random(seed)
        self.docs = {d.id: d for d in documents}
        self.finder = _Rows(chunks)
        self.rows_of: dict[str, list[int]] = {}
        for r, c in enumerate(chunks):
            self.rows_of.setdefault(c.doc_id, []).append(r)
        self.subjects = {
            d.id: _subject(d, "".join(chunks[r].text for r in self.rows_of.get(d.id, []))) for d in documents
        }
        self.seen: set[str] = set()
        self.out: list[PseudoQuestion] = []
        self._cut: Any = None

    def emit(self, text: str, relevant: tuple[tuple[int, ...], ...], kind: str, row: int) -> bool:
        if text in self.seen or not all(relevant):
            return False
        self.seen.add(text)
        self.out.append(PseudoQuestion(text, relevant, kind, row))
        return True

    def framed(self, doc: Document | None, body: str) -> str:
        """``body`` as a user would ask it: mostly with the document's subject (and year) first;
        now and then naming the document by its title in 《》."""
        if doc is None:
            return body
        subject, kind = self.subjects.get(doc.id, ("", ""))
        if self.rng.random() >= CONTEXT_RATE.get(kind, CONTEXT_RATE["title"]):
            return body
        if len(doc.title) >= 4 and self.rng.random() < TITLE_RATE:
            return f"《{doc.title}》中，{body}"
        if not subject or subject in body:
            return body
        year = _year(doc)  # a yearly report is asked about with its year
        if year and year not in body:
            subject = year + subject if self.rng.random() < 0.5 else subject + year
        return subject + body

    def clause(self, row: int) -> _Made | None:
        """A clause of the chunk with a span to ask for, and that span asked for."""
        sentences = [
            m.group(0) for m in _SENTENCE.finditer(self.chunks[row].text) if 8 <= len(m.group(0).strip()) <= 300
        ]
        self.rng.shuffle(sentences)
        for sent in sentences:
            spans = _spans(sent)
            if not spans:
                continue
            span = spans[self.rng.randrange(len(spans))]
            a, b = _window(sent, span)
            evidence = sent[a:b].strip(_TRIM)
            body = (sent[a : span.start] + span.ask + sent[span.end : b]).strip(_TRIM)
            if DROP_RATE > 0:
                body = self.drop(body, span.ask)
            if len(evidence) >= 6 and len(body) >= 6:
                return _Made(row, evidence, body)
        return None

    def drop(self, body: str, ask: str) -> str:
        """``body`` with some of its words left out (never the asked-for word; at least two kept)."""
        if self._cut is None:
            from rag.retrieval.tokenize import Tokenizer

            self._cut = Tokenizer().segmenter().cut
        words = list(self._cut(body))
        keep = [w == ask or len(w) < 2 or self.rng.random() >= DROP_RATE for w in words]
        if sum(k and len(w) >= 2 and w != ask for w, k in zip(words, keep, strict=True)) < 2:
            return body
        return "".join(w for w, k in zip(words, keep, strict=True) if k)

    def _doc_turns(self) -> Iterator[str]:
        """Documents to make questions from, in turn: alternately the next file (a random
        document of it) and the next document, files and documents in seeded orders, so
        that a file of many articles and a file of one report both get asked about."""
        by_file: dict[str, list[str]] = {}
        for doc_id in sorted(self.rows_of):
            by_file.setdefault(self.chunks[self.rows_of[doc_id][0]].source, []).append(doc_id)
        files = sorted(by_file)
        docs = sorted(self.rows_of)
        self.rng.shuffle(files)
        self.rng.shuffle(docs)
        for i in itertools.count():
            if i % 2 == 0:
                group = by_file[files[(i // 2) % len(files)]]
                yield group[self.rng.randrange(len(group))]
            else:
                yield docs[(i // 2) % len(docs)]

    def sentences(self, n: int) -> list[_Made]:
        """Up to ``n`` clause questions, from documents in turn (:meth:`_doc_turns`), a random
        chunk of the document each time, each chunk once before any twice."""
        pending = {d: rows[:] for d, rows in self.rows_of.items()}
        for rows in pending.values():
            self.rng.shuffle(rows)
        made: list[_Made] = []
        misses = 0
        for doc_id in self._doc_turns():
            if len(made) >= n or misses > 4 * len(self.rows_of) + 50:
                break
            left = pending[doc_id]
            if not left:  # every chunk asked about: round again (other sentences, other spans)
                left[:] = self.rows_of[doc_id]
                self.rng.shuffle(left)
            got = None
            while left and got is None:
                got = self.clause(left.pop())
            relevant = (self.finder.containing(got.evidence) or (got.row,)) if got else ()
            if got is None or not self.emit(
                self.framed(self.docs.get(doc_id), got.body) + "？", (relevant,), "sentence", got.row
            ):
                misses += 1
                continue
            made.append(got)
        return made

    def headings(self, n: int) -> None:
        """Headings as topic questions: the passages under the heading answer them."""
        under: dict[tuple[str, str], list[int]] = {}
        for row, ch in enumerate(self.chunks):
            if ch.heading_path:
                head = _HEADING_NUMBER.sub("", ch.heading_path[-1]).strip(_TRIM)
                if 4 <= len(head) <= 40:
                    under.setdefault((ch.doc_id, head), []).append(row)
        heads = sorted(under)
        self.rng.shuffle(heads)
        for doc_id, head in heads[:n]:
            rows = tuple(under[(doc_id, head)])
            self.emit(self.framed(self.docs.get(doc_id), head), (rows,), "heading", rows[0])

    def comparisons(self, made: list[_Made], n: int) -> None:
        """ "A和B分别…多少": a clause of one document and the most alike clause of another
        document about another place; only where documents are about different places."""
        by_place: dict[str, list[str]] = {}
        for d in self.docs.values():
            place = str((d.meta or {}).get("place") or "")
            if len(place) >= 2 and place in self.subjects.get(d.id, ("", ""))[0]:
                by_place.setdefault(place, []).append(d.id)
        if len(by_place) < 2:
            return
        places = sorted(by_place)
        count = 0
        for m in made:
            if count >= n:
                break
            doc = self.docs.get(self.chunks[m.row].doc_id)
            place = str((doc.meta or {}).get("place") or "") if doc else ""
            if doc is None or place not in by_place:
                continue
            other_place = self.rng.choice([p for p in places if p != place])
            other = self.docs[self.rng.choice(by_place[other_place])]
            theirs = self._alike(m.evidence, other.id)
            if theirs is None:
                continue
            row_b, clause_b = theirs
            text = f"{place}和{other_place}分别{m.body}？"
            relevant = (self.finder.containing(m.evidence) or (m.row,), self.finder.containing(clause_b) or (row_b,))
            count += self.emit(text, relevant, "comparison", m.row)

    def _alike(self, clause: str, doc_id: str) -> tuple[int, str] | None:
        """The row and clause of document ``doc_id`` most like ``clause`` (character bigrams), if alike enough."""
        want = _shingles(clause, 2)
        best: tuple[float, int, str] | None = None
        for row in self.rows_of.get(doc_id, []):
            for sent in _SENTENCE.findall(self.chunks[row].text):
                for c in _CLAUSE.findall(sent):
                    c = c.strip(_TRIM)
                    if len(c) < 6:
                        continue
                    sim = len(want & _shingles(c, 2)) / max(1, len(want))
                    if best is None or sim > best[0]:
                        best = (sim, row, c)
        if best is None or best[0] < 0.3:
            return None
        return best[1], best[2]


def pseudo_questions(
    chunks: Sequence[Chunk], documents: Sequence[Document], n: int = 400, seed: int = 0
) -> list[PseudoQuestion]:
    """About ``n`` questions made from the corpus (deterministic for a seed); see the module doc."""
    maker = _Maker(chunks, documents, seed)
    n_heading, n_comparison = int(n * HEADING_RATE), int(n * COMPARISON_RATE)
    maker.headings(n_heading)
    made = maker.sentences(n - len(maker.out) - n_comparison)
    maker.comparisons(made, n_comparison)
    if len(maker.out) < n:  # a corpus without headings or places: more clauses instead
        maker.sentences(n - len(maker.out))
    return maker.out


def questions_from_rows(rows: Sequence[dict[str, Any]], chunks: Sequence[Chunk]) -> list[PseudoQuestion]:
    """Labelled questions (``{"question", "evidence": [...]}``, the dataset format) as questions
    the fit can rank: relevant rows are those whose text holds each evidence string."""
    finder = _Rows(chunks)
    out = []
    for r in rows:
        ev = [e for e in r.get("evidence") or [] if e and e.strip()]
        if ev:
            out.append(PseudoQuestion(r["question"], tuple(finder.containing(e, 10_000) for e in ev), "given"))
    return out


# --------------------------------------------------------------------------- measuring


@dataclass
class FitResult:
    """Every configuration's figures on the questions, the rules' main effects, and the choice."""

    questions: list[PseudoQuestion]
    table: list[tuple[FusionConfig, dict[str, float]]]
    choice: FusionConfig
    triggered: dict[str, int]  # questions whose scope / parts each rule changes
    effects: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0
    method: str = "effects"
    eligible: int = 0  # configurations chosen among (the others are measured to be shown)

    def figures(self, cfg: FusionConfig) -> dict[str, float]:
        key = _key(cfg)
        for c, f in self.table:
            if _key(c) == key:
                return f
        raise KeyError(cfg.describe())

    def named(self) -> dict[str, FusionConfig]:
        """The configurations worth a name: the choice, each retriever alone, the hand-set one."""
        return {
            "chosen": self.choice,
            "bm25": FusionConfig(dense_share=0.0, rrf_k=30).with_rules("none"),
            "dense": FusionConfig(dense_share=1.0, rrf_k=30).with_rules("none"),
            "hand_set": FusionConfig(dense_share=HAND_SET_SHARE, rrf_k=30),
        }

    def manifest_entry(self, chunks: int, seed: int) -> dict[str, Any]:
        """What the manifest stores under ``"retrieval"``."""
        cfg = self.choice.to_dict()
        figures = {}
        for name, c in self.named().items():
            try:
                f = self.figures(c)
            except KeyError:
                continue
            figures[name] = {"recall@5": round(f["recall@5"], 4), "mrr": round(f["mrr"], 4), "config": c.describe()}
        kinds: dict[str, int] = {}
        for q in self.questions:
            kinds[q.kind] = kinds.get(q.kind, 0) + 1
        return {
            "fusion": {k: v for k, v in cfg.items() if k != "rules"},
            "rules": cfg["rules"],
            "fitted": True,
            "method": self.method,
            "pseudo_questions": len(self.questions),
            "question_kinds": kinds,
            "figures": figures,
            "rule_effects": self.effects,
            "triggered": self.triggered,
            "configurations": self.eligible or len(self.table),
            "seed": seed,
            "seconds": round(self.seconds, 3),
            "fitted_on_chunks": chunks,
            "added_since_fit": 0,
        }

    def format_table(self, limit: int | None = None) -> str:
        """Markdown: the named configurations, the rules' effects, the share x k grid with the
        chosen rules, then every configuration (best first), the chosen one marked."""
        lines = [
            f"{len(self.questions)} questions made from the corpus ("
            + ", ".join(f"{k} {v}" for k, v in sorted(_kinds(self.questions).items()))
            + f"); {self.eligible or len(self.table)} configurations; {self.seconds:.2f} s",
            "rules triggered on (questions): " + ", ".join(f"{k} {v}" for k, v in self.triggered.items()),
            "",
            "| configuration | | recall@5 | MRR |",
            "|---|---|---|---|",
        ]
        for name, c in self.named().items():
            try:
                f = self.figures(c)
            except KeyError:
                continue
            lines.append(f"| {name} | {c.describe()} | {f['recall@5']:.3f} | {f['mrr']:.3f} |")
        if self.effects:
            lines += ["", "| rule | main effect | standard error | on |", "|---|---|---|---|"]
            for name, e in self.effects.items():
                lines.append(f"| {name} | {e['effect']:+.4f} | {e['se']:.4f} | {'on' if e['on'] else '-'} |")
        shares = sorted({c.dense_share for c, _ in self.table})
        ks = sorted({c.rrf_k for c, _ in self.table})
        lines += [
            "",
            f"objective (mean of recall@5 and MRR) by dense share and k, rules {self.choice.describe().split('rules ')[-1]}:",
            "",
            "| k \\ share | " + " | ".join(f"{w:.2f}" for w in shares) + " |",
            "|---" * (len(shares) + 1) + "|",
        ]
        for k in ks:
            cells = []
            for w in shares:
                try:
                    cells.append(
                        f"{_objective(self.figures(dataclasses.replace(self.choice, dense_share=w, rrf_k=k))):.4f}"
                    )
                except KeyError:
                    cells.append("")
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
        rows = sorted(self.table, key=lambda cf: (-_objective(cf[1]), _simplicity(cf[0])))
        lines += [
            "",
            "| | dense share | rrf k | " + " | ".join(RULES) + " | recall@5 | MRR | objective |",
            "|---" * (len(RULES) + 6) + "|",
        ]
        for cfg, f in rows[:limit] if limit else rows:
            mark = "**chosen**" if _key(cfg) == _key(self.choice) else ""
            flags = " | ".join("on" if v else "-" for v in cfg.rules().values())
            lines.append(
                f"| {mark} | {cfg.dense_share:.2f} | {cfg.rrf_k} | {flags} | {f['recall@5']:.3f} | {f['mrr']:.3f} | {_objective(f):.4f} |"
            )
        return "\n".join(lines)


HAND_SET_SHARE = 0.3 / 1.3  # the hand-set dense weight 0.3 (lexical 1.0), measured beside the grid


def _kinds(questions: Sequence[PseudoQuestion]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for q in questions:
        kinds[q.kind] = kinds.get(q.kind, 0) + 1
    return kinds


def _key(c: FusionConfig) -> tuple[Any, ...]:
    return (round(c.dense_share, 9), c.rrf_k, tuple(c.rules().values()))


def _objective(f: dict[str, float]) -> float:
    return (f["mrr"] + f["recall@5"]) / 2


def _simplicity(cfg: FusionConfig) -> tuple[Any, ...]:
    """Sort key, simplest first: fewer rules, a single retriever, k 30, a smaller dense share."""
    single = cfg.dense_share in (0.0, 1.0)
    return (sum(cfg.rules().values()), not single, cfg.rrf_k != 30, abs(cfg.rrf_k - 30), cfg.dense_share)


def choose(
    table: Sequence[tuple[FusionConfig, dict[str, float]]],
    per_question: np.ndarray | None = None,
    method: str = "effects",
    eligible: Sequence[bool] | None = None,
) -> tuple[FusionConfig, dict[str, dict[str, Any]]]:
    """The configuration to use, and each rule's measured main effect.

    ``method="best"``: the best objective (mean of MRR and recall@5), ties to the simpler.
    ``method="effects"`` (needs ``per_question``: questions x configurations, each
    question's objective): each rule first, by its main effect, the per-question
    difference rule on - rule off averaged over every other setting of the grid (the
    dense-only column aside, where no rule acts); the rule is on when that mean exceeds
    its standard error, so a difference the questions cannot tell from noise counts as
    a tie and goes to the simpler side. Then the best dense share and ``k`` with those
    rules: the middle of the plateau of those the questions cannot tell from the best
    (:func:`_middle`). A main effect averages over the grid, and the plateau's middle does
    not depend on which of its cells was lucky, where a single best cell among hundreds
    measured on a few hundred questions is partly luck. ``eligible`` excludes
    configurations that are measured only to be shown.

    >>> a, b = FusionConfig(dense_share=0.0).with_rules("none"), FusionConfig(dense_share=0.3)
    >>> choose([(b, {"mrr": 0.9, "recall@5": 0.95}), (a, {"mrr": 0.9, "recall@5": 0.95})], method="best")[0] == a
    True
    """
    ok = list(eligible) if eligible is not None else [True] * len(table)
    effects: dict[str, dict[str, Any]] = {}
    rules: dict[str, bool] = {}
    if method == "effects" and per_question is not None and per_question.shape[0] > 1:
        col = {_key(c): i for i, (c, _) in enumerate(table)}
        for name, field_name in RULES.items():
            pairs = [
                (i, col[_key(dataclasses.replace(c, **{field_name: False}))])
                for i, (c, _) in enumerate(table)
                if ok[i] and getattr(c, field_name) and c.dense_share < 1.0
            ]
            if not pairs:
                continue
            on, off = zip(*pairs, strict=True)
            diff = (per_question[:, list(on)] - per_question[:, list(off)]).mean(axis=1)
            mean, se = float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))
            rules[field_name] = mean > se + 1e-12
            effects[name] = {"effect": round(mean, 5), "se": round(se, 5), "on": rules[field_name]}
    elif method != "best":
        raise ValueError(f"unknown method {method!r}; known: effects, best")
    cands = [i for i, (c, _) in enumerate(table) if ok[i] and all(getattr(c, f) == v for f, v in rules.items())]
    scores = {i: _objective(table[i][1]) for i in cands}
    top = max(scores.values())
    tied = [i for i, v in scores.items() if v >= top - 1e-12]
    if method == "effects" and per_question is not None and per_question.shape[0] > 1:
        tied = _middle(table, cands, per_question, max(tied, key=lambda i: scores[i]))
    return min((table[i][0] for i in tied), key=_simplicity), effects


def _middle(
    table: Sequence[tuple[FusionConfig, dict[str, float]]], cands: list[int], per_question: np.ndarray, best: int
) -> list[int]:
    """The configurations nearest the middle of the plateau around ``best``: of the
    candidates the questions cannot tell from it (mean paired difference within one
    standard error), those closest, in grid steps, to their median dense share and k."""
    diff = per_question[:, [best]] - per_question[:, cands]
    se = diff.std(axis=0, ddof=1) / np.sqrt(diff.shape[0])
    plateau = [i for i, d, e in zip(cands, diff.mean(axis=0), se, strict=True) if d <= e + 1e-12]
    shares = sorted({table[i][0].dense_share for i in cands})
    ks = sorted({table[i][0].rrf_k for i in cands})
    pos = {i: (shares.index(table[i][0].dense_share), ks.index(table[i][0].rrf_k)) for i in plateau}
    mw = float(np.median([p[0] for p in pos.values()]))
    mk = float(np.median([p[1] for p in pos.values()]))
    dist = {i: abs(p[0] - mw) + abs(p[1] - mk) for i, p in pos.items()}
    nearest = min(dist.values())
    return [i for i, d in dist.items() if d <= nearest + 1e-9]


class _Dedup:
    """``retrievers.dedup`` with each chunk's shingles and each pair's verdict computed once."""

    def __init__(self, chunks: Sequence[Chunk]):
        self.chunks = chunks
        self._sh: dict[int, set[str]] = {}
        self._pair: dict[tuple[int, int], bool] = {}

    def sh(self, row: int) -> set[str]:
        s = self._sh.get(row)
        if s is None:
            s = self._sh[row] = _shingles(self.chunks[row].text)
        return s

    def dup(self, a: int, b: int) -> bool:
        key = (a, b) if a < b else (b, a)
        v = self._pair.get(key)
        if v is None:
            x, y = self.sh(a), self.sh(b)
            v = self._pair[key] = len(x & y) / max(1, min(len(x), len(y))) >= DEDUP_THRESHOLD
        return v


def _top(scores: np.ndarray, k: int, positive: bool) -> np.ndarray:
    """Rows of the ``k`` best scores, best first (BM25 keeps only positive scores), as the indexes rank."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return top[scores[top] > 0] if positive else top


def _score(rows: Sequence[int], relevant: Sequence[frozenset[int]], dd: _Dedup | None) -> tuple[float, float]:
    """Reciprocal rank and recall within the first ``RECALL_AT`` rows (after dropping
    near-duplicates), as ``rag eval retrieval`` counts them (MRR@5, recall@5)."""
    positions: list[int | None] = [None] * len(relevant)
    missing = len(relevant)
    kept: list[int] = []
    for row in rows:
        if dd is not None and any(dd.dup(row, o) for o in kept):
            continue
        pos = len(kept)
        kept.append(row)
        for i, rel in enumerate(relevant):
            if positions[i] is None and row in rel:
                positions[i] = pos
                missing -= 1
        if missing == 0 or len(kept) >= RECALL_AT:
            break
    found = [p for p in positions if p is not None]
    rr = 1.0 / (min(found) + 1) if found else 0.0
    return rr, len(found) / max(1, len(relevant))


def fit_fusion(
    data: IndexData,
    questions: Sequence[PseudoQuestion],
    *,
    shares: Sequence[float] = SHARES,
    ks: Sequence[int] = RRF_KS,
    candidates: int = CANDIDATES,
    method: str = "effects",
    show_shares: Sequence[float] = (HAND_SET_SHARE,),
) -> FitResult:
    """Figures of every configuration of the grid on ``questions`` over the index ``data``, and
    the choice (:func:`choose`). ``show_shares`` are measured too, for the table, not chosen."""
    t0 = time.perf_counter()
    has_dense = data.dense is not None and data.embedder is not None
    chosen_shares = list(shares) if has_dense else [0.0]
    all_shares = chosen_shares + [w for w in show_shares if has_dense and w not in chosen_shares]
    ks = list(ks)
    pool = max(SEARCH_K * 3, 20)  # what HybridRetriever.search fuses for k = SEARCH_K
    c = max(candidates, pool)
    scopes = PlaceScopes(data)
    dd = _Dedup(data.chunks)
    combos: list[tuple[bool, bool, bool]] = [
        (a, b, t) for a in (False, True) for b in (False, True) for t in (False, True)
    ]
    nq, nk, nw = len(questions), len(ks), len(all_shares)

    # every query string: the questions and, for comparisons, their parts
    parts_of = [split_comparison(q.text) for q in questions]
    strings = sorted({q.text for q in questions} | {p for ps in parts_of if len(ps) > 1 for p in ps})
    sid = {s: i for i, s in enumerate(strings)}

    dense_top: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(strings)
    if has_dense and strings and any(w > 0 for w in all_shares):
        qv = np.asarray(data.embedder.embed(strings, query=True), dtype=np.float32)
        vecs = np.asarray(data.dense.vectors, dtype=np.float32)
        block = max(1, 2**25 // max(1, vecs.shape[0]))  # every question at once unless that passes ~128 MB
        for b0 in range(0, len(strings), block):
            sims = qv[b0 : b0 + block] @ vecs.T
            for j in range(sims.shape[0]):
                if np.any(qv[b0 + j]):  # a query with no known feature finds nothing, as in DenseRetriever
                    dense_top[b0 + j] = _top(sims[j], c, positive=False)

    # BM25: one score vector per string; a scope only masks it
    scope_of: list[dict[tuple[bool, bool, bool], frozenset[str] | None]] = []
    lex_top: dict[tuple[int, frozenset[str] | None], np.ndarray] = {}
    masks: dict[frozenset[str], np.ndarray] = {}
    for i, s in enumerate(strings):
        by_combo: dict[tuple[bool, bool, bool], frozenset[str] | None] = {}
        for combo in combos:
            found = scopes.docs_for(s, place=combo[0], year=combo[1], title=combo[2])
            by_combo[combo] = frozenset(found) if found is not None else None
        scope_of.append(by_combo)
        scores = data.bm25.scores(s)
        lex_top[(i, None)] = _top(scores, c, positive=True)
        for scope in {v for v in by_combo.values() if v is not None}:
            if scope not in masks:
                masks[scope] = scopes.rows_of(scope)
            lex_top[(i, scope)] = _top(np.where(masks[scope], scores, 0.0), c, positive=True)

    lex_w = np.array([1.0 - w for w in all_shares])
    dense_w = np.array(all_shares, dtype=float)
    fused_cache: dict[tuple[int, frozenset[str] | None, int], list[list[int]]] = {}

    def fused(si: int, scope: frozenset[str] | None, ki: int) -> list[list[int]]:
        """HybridRetriever.fused(string si, pool) for every share at once: RRF sums in the
        retriever's list order, a zero-weight list adds exactly nothing (it omits it)."""
        key = (si, scope, ki)
        got = fused_cache.get(key)
        if got is not None:
            return got
        k = ks[ki]
        lists = [(lex_top[(si, None)], lex_w), (dense_top[si], dense_w)]
        if scope is not None:
            lists.append((lex_top[(si, scope)], lex_w))
        union = np.unique(np.concatenate([rows for rows, _ in lists]))
        acc = np.zeros((nw, len(union)))
        for rows, weights in lists:
            if len(rows):
                acc[:, np.searchsorted(union, rows)] += weights[:, None] / (k + np.arange(len(rows)) + 1.0)
        order = np.lexsort((np.broadcast_to(union, acc.shape), -acc), axis=-1)  # score, then row
        out = []
        for wi in range(nw):
            o = order[wi]
            out.append(union[o[acc[wi, o] > 0][:pool]].tolist())
        fused_cache[key] = out
        return out

    # per question, each distinct variant (the scope of each string; split or not) once,
    # for every k, share and dedup setting: results[(combo, split)][q, k, share, dedup, (rr, recall)]
    triggered = dict.fromkeys(RULES, 0)
    results = {(combo, split): np.zeros((nq, nk, nw, 2, 2)) for combo in combos for split in (False, True)}
    one_rule: dict[str, tuple[bool, bool, bool]] = {
        "place": (True, False, False),
        "year": (False, True, False),
        "title": (False, False, True),
    }
    for qi, q in enumerate(questions):
        relevant = [frozenset(r) for r in q.relevant]
        whole = sid[q.text]
        part_ids = [sid[p] for p in parts_of[qi]] if len(parts_of[qi]) > 1 else []
        done: dict[tuple[Any, ...], np.ndarray] = {}
        for combo in combos:
            for split in (False, True):
                strs = [whole, *part_ids] if split and part_ids else [whole]
                variant = (tuple(scope_of[s][combo] for s in strs), len(strs) > 1)
                res = done.get(variant)
                if res is None:
                    res = done[variant] = np.zeros((nk, nw, 2, 2))
                    for ki in range(nk):
                        per_string = [fused(s, scope_of[s][combo], ki) for s in strs]
                        for wi in range(nw):
                            if len(strs) == 1:
                                rows = per_string[0][wi]
                            else:  # as HybridRetriever.search: the whole question, then each part, in turn
                                rows = [r for r, _ in _interleave([[(r, 0.0) for r in ps[wi]] for ps in per_string])]
                            res[ki, wi, 0] = _score(rows, relevant, None)
                            res[ki, wi, 1] = _score(rows, relevant, dd)
                results[(combo, split)][qi] = res
        none = scope_of[whole][(False, False, False)]
        for name, combo in one_rule.items():
            triggered[name] += scope_of[whole][combo] != none
        triggered["compare"] += bool(part_ids)
        plain = results[((False, False, False), False)][qi]
        triggered["dedup"] += not np.array_equal(plain[:, :, 0], plain[:, :, 1])

    table: list[tuple[FusionConfig, dict[str, float]]] = []
    per_question: list[np.ndarray] = []
    eligible: list[bool] = []
    for (combo, split), arr in results.items():
        for ki, k in enumerate(ks):
            for wi, w in enumerate(all_shares):
                for d in (False, True):
                    cfg = FusionConfig(w, k, combo[0], combo[1], combo[2], split, d)
                    rr, rec = arr[:, ki, wi, int(d), 0], arr[:, ki, wi, int(d), 1]
                    table.append(
                        (cfg, {"mrr": float(rr.mean()) if nq else 0.0, "recall@5": float(rec.mean()) if nq else 0.0})
                    )
                    per_question.append((rr + rec) / 2)
                    eligible.append(wi < len(chosen_shares))
    pq = np.array(per_question).T if nq else None
    choice, effects = choose(table, pq, method if nq > 1 else "best", eligible)
    seconds = time.perf_counter() - t0
    return FitResult(list(questions), table, choice, triggered, effects, seconds, method, sum(eligible))


def fit_index(
    data: IndexData, n: int = 400, seed: int = 0, candidates: int = CANDIDATES
) -> tuple[FitResult, dict[str, Any]]:
    """Make the questions, fit, and return the result with the manifest's ``"retrieval"`` entry.

    The entry (JSON)::

        {"fusion": {"dense_share", "lexical_weight", "dense_weight", "rrf_k"},
         "rules": {"place", "year", "title", "compare", "dedup": bool},
         "fitted": true, "method": "effects", "pseudo_questions": n, "question_kinds": {...},
         "figures": {"chosen" | "bm25" | "dense" | "hand_set": {"recall@5", "mrr", "config"}},
         "rule_effects": {rule: {"effect", "se", "on"}}, "triggered": {rule: questions},
         "configurations": 864, "seed": 0, "seconds": ..., "fitted_on_chunks": ..., "added_since_fit": 0}
    """
    t0 = time.perf_counter()
    questions = pseudo_questions(data.chunks, data.documents, n=n, seed=seed)
    result = fit_fusion(data, questions, candidates=candidates)
    result.seconds = time.perf_counter() - t0
    return result, result.manifest_entry(len(data.chunks), seed)
