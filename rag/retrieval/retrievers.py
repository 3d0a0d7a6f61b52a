"""Retrievers over an index: lexical, dense, and the hybrid of both.

All follow one protocol, ``search(query, k, *, sources=None, titles=None) -> list[Passage]``,
best first. The hybrid fuses the two ranked lists with reciprocal-rank fusion
(Cormack, Clarke & Büttcher, SIGIR 2009: score = Σ w / (k + rank)) and, rule by rule,
scopes a query naming a place, year or 《title》 to those documents, answers each half of
a comparison question separately, and drops near-duplicate passages.

How it fuses is a :class:`FusionConfig`, chosen per index at ingest from measurements
on questions made from the corpus itself (:mod:`rag.retrieval.fusion_fit`) and stored in
the manifest under ``"retrieval"``. Precedence, first that applies:

1. a ``Settings`` field that is set: ``dense_weight``, ``rrf_k``, ``retrieval_rules``
   (``RAG_*`` variables or flags), each overriding only its own part;
2. the index's fitted choice (``manifest["retrieval"]["fusion"]``);
3. the hand-set defaults (:func:`default_config`), for an index built before the fit or
   with ``fusion_fit`` off: dense weight 0.3 with the corpus embedder (1.0 with a
   pretrained one), ``rrf_k`` 30, every rule on.

>>> FusionConfig(dense_share=0.25).describe()
'dense 0.25, k 30, rules place+year+title+compare+dedup'
>>> FusionConfig().with_rules("none,dedup").rules()
{'place': False, 'year': False, 'title': False, 'compare': False, 'dedup': True}
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rag.records import Passage
from rag.settings import Settings
from rag.store import IndexData

# Scoping rules by short name (as in ``Settings.retrieval_rules``) and FusionConfig field.
RULES = {
    "place": "place_scope",
    "year": "year_scope",
    "title": "title_scope",
    "compare": "split_comparisons",
    "dedup": "dedup",
}


@dataclass(frozen=True)
class FusionConfig:
    """How the hybrid retriever combines its lists, and which scoping rules it applies.

    ``dense_share`` is the dense list's share of the fusion weight: lexical lists weigh
    ``1 - dense_share``, the dense list ``dense_share``; 0 is BM25 alone, 1 dense alone.
    """

    dense_share: float = 0.3 / 1.3
    rrf_k: int = 30
    place_scope: bool = True  # a query naming a place a document is about adds a BM25 list scoped to it
    year_scope: bool = True  # ... and a year (among those documents, or alone when few documents have it)
    title_scope: bool = True  # a 《title》 in the query scopes to that document
    split_comparisons: bool = True  # "A和B…分别…" is answered part by part
    dedup: bool = True  # passages mostly contained in a better-ranked one are dropped

    def __post_init__(self) -> None:
        if not 0.0 <= self.dense_share <= 1.0:
            raise ValueError(f"dense_share must be in 0..1, got {self.dense_share!r}")
        if self.rrf_k < 1:
            raise ValueError(f"rrf_k must be >= 1, got {self.rrf_k!r}")

    @property
    def lexical_weight(self) -> float:
        return 1.0 - self.dense_share

    @property
    def dense_weight(self) -> float:
        return self.dense_share

    def rules(self) -> dict[str, bool]:
        return {name: bool(getattr(self, f)) for name, f in RULES.items()}

    def with_rules(self, spec: str) -> FusionConfig:
        """Rules changed by a spec such as ``"none,dedup"`` or ``"-place,-year"``: names turn
        a rule on, ``-name`` off, ``all`` / ``none`` every rule; applied left to right."""
        changes: dict[str, bool] = {}
        for raw in re.split(r"[,\s]+", spec.strip()):
            if not raw:
                continue
            on = not raw.startswith("-")
            name = raw.lstrip("+-").lower()
            if name in ("all", "none"):
                changes.update(dict.fromkeys(RULES.values(), name == "all" and on))
            elif name in RULES:
                changes[RULES[name]] = on
            else:
                raise ValueError(f"unknown retrieval rule {raw!r}; known: all, none, {', '.join(RULES)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dense_share": round(self.dense_share, 6),
            "lexical_weight": round(self.lexical_weight, 6),
            "dense_weight": round(self.dense_weight, 6),
            "rrf_k": self.rrf_k,
            "rules": self.rules(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FusionConfig:
        """Inverse of :meth:`to_dict`; missing parts take the defaults.

        >>> c = FusionConfig(dense_share=0.4, rrf_k=60, dedup=False)
        >>> FusionConfig.from_dict(c.to_dict()) == c
        True
        """
        rules = d.get("rules", {}) or {}
        kw: dict[str, Any] = {f: bool(rules[n]) for n, f in RULES.items() if n in rules}
        if "dense_share" in d:
            kw["dense_share"] = float(d["dense_share"])
        if "rrf_k" in d:
            kw["rrf_k"] = int(d["rrf_k"])
        return cls(**kw)

    def describe(self) -> str:
        on = [n for n, v in self.rules().items() if v]
        return f"dense {self.dense_share:.2f}, k {self.rrf_k}, rules {'+'.join(on) or 'none'}"


def share_of(dense_weight: float) -> float:
    """The dense share of a dense weight given relative to lexical weight 1.0 (``Settings.dense_weight``).

    >>> round(share_of(0.3), 4), share_of(1.0)
    (0.2308, 0.5)
    """
    return dense_weight / (1.0 + dense_weight)


def default_config(embedding_model: str) -> FusionConfig:
    """The hand-set configuration (tuned on the trade-union reports): for indexes without a fitted choice."""
    return FusionConfig(dense_share=share_of(Settings().fusion_weight(embedding_model)), rrf_k=30)


def resolve_config(manifest: Mapping[str, Any], settings: Settings, has_dense: bool = True) -> tuple[FusionConfig, str]:
    """The configuration a hybrid retriever follows, and where it came from (see the module doc).

    >>> entry = {"fusion": {"dense_share": 0.1, "rrf_k": 60}, "rules": {"place": False}}
    >>> cfg, src = resolve_config({"retrieval": entry}, Settings(rrf_k=20, retrieval_rules="-dedup"))
    >>> cfg.dense_share, cfg.rrf_k, cfg.place_scope, cfg.dedup, src
    (0.1, 20, False, False, 'index, settings')
    >>> resolve_config({}, Settings())[0] == default_config("corpus")
    True
    """
    model = str(manifest.get("embedding_model", "corpus"))
    entry = manifest.get("retrieval") or {}
    if entry.get("fusion"):
        cfg, source = FusionConfig.from_dict({**entry["fusion"], "rules": entry.get("rules", {})}), "index"
    else:
        cfg, source = default_config(model), "default"
    changes: dict[str, Any] = {}
    if settings.dense_weight is not None:
        changes["dense_share"] = share_of(settings.dense_weight)
    if settings.rrf_k is not None:
        changes["rrf_k"] = settings.rrf_k
    if changes:
        cfg = dataclasses.replace(cfg, **changes)
    if settings.retrieval_rules:
        cfg = cfg.with_rules(settings.retrieval_rules)
    if changes or settings.retrieval_rules:
        source += ", settings"
    if not has_dense and cfg.dense_share > 0:
        cfg = dataclasses.replace(cfg, dense_share=0.0)
    return cfg, source


@runtime_checkable
class Retriever(Protocol):
    def search(
        self, query: str, k: int = 5, *, sources: Iterable[str] | None = None, titles: Iterable[str] | None = None
    ) -> list[Passage]: ...


def _mask(data: IndexData, sources: Iterable[str] | None, titles: Iterable[str] | None) -> np.ndarray | None:
    """Rows allowed by the filters: file names in ``sources``, titles containing any of ``titles``."""
    if sources is None and titles is None:
        return None
    if isinstance(sources, str):
        sources = [sources]
    if isinstance(titles, str):
        titles = [titles]
    row_source, _, row_title = data.row_columns()
    mask = np.ones(len(row_source), dtype=bool)
    if sources is not None:
        mask &= np.isin(row_source, list(set(sources)))
    if titles is not None:
        tls = list(titles)
        ok = {t for t in set(row_title) if any(q in t for q in tls)}
        mask &= np.isin(row_title, list(ok))
    return mask


class LexicalRetriever:
    """BM25 over jieba tokens of the chunk's indexed text."""

    def __init__(self, data: IndexData):
        self.data = data

    def ranked(self, query: str, n: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        return self.data.bm25.search(query, n, mask)

    def search(
        self, query: str, k: int = 5, *, sources: Iterable[str] | None = None, titles: Iterable[str] | None = None
    ) -> list[Passage]:
        hits = self.ranked(query, k, _mask(self.data, sources, titles))
        chunks = self.data.chunk_rows([i for i, _ in hits])
        return [Passage.from_chunk(c, s) for c, (_, s) in zip(chunks, hits, strict=True)]


class DenseRetriever:
    """Cosine similarity of embeddings, through FAISS."""

    def __init__(self, data: IndexData):
        if data.dense is None or data.embedder is None:
            raise ValueError("this index has no dense vectors (built with embedding_model='none')")
        self.data = data

    def ranked(self, query: str, n: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        vec = self.data.embedder.embed([query], query=True)[0]
        if not np.any(vec):
            return []
        return self.data.dense.search(vec, n, mask)

    def search(
        self, query: str, k: int = 5, *, sources: Iterable[str] | None = None, titles: Iterable[str] | None = None
    ) -> list[Passage]:
        hits = self.ranked(query, k, _mask(self.data, sources, titles))
        chunks = self.data.chunk_rows([i for i, _ in hits])
        return [Passage.from_chunk(c, s) for c, (_, s) in zip(chunks, hits, strict=True)]


class HybridRetriever:
    """BM25 + dense, fused by reciprocal rank, with the scoping rules of its :class:`FusionConfig`."""

    def __init__(self, data: IndexData, settings: Settings | None = None, config: FusionConfig | None = None):
        self.data = data
        self.settings = settings or Settings()
        self.lexical = LexicalRetriever(data)
        self.dense = DenseRetriever(data) if data.dense is not None and data.embedder is not None else None
        if config is None:
            config, self.config_source = resolve_config(data.manifest, self.settings, self.dense is not None)
        else:
            self.config_source = "given"
        self.config = config
        self.scopes = PlaceScopes(data)

    def fused(self, query: str, n: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Rows and fused scores for one query.

        Besides the lexical and dense lists over the whole index, when the query names a
        place that documents are about (their title or recorded place), the lexical list
        restricted to those documents is fused in too: a passage of the 湖南 report that
        never repeats "湖南" still counts as being about 湖南.
        """
        cfg = self.config
        c = max(self.settings.candidates, n)
        lw = cfg.lexical_weight if self.dense is not None else 1.0
        lists = []
        if lw > 0:
            lists.append((self.lexical.ranked(query, c, mask), lw))
        if self.dense is not None and cfg.dense_weight > 0:
            lists.append((self.dense.ranked(query, c, mask), cfg.dense_weight))
        scope = self.scopes.mask_for(query, **self.scope_flags()) if lw > 0 else None
        if scope is not None:
            scoped = scope if mask is None else scope & mask
            lists.append((self.lexical.ranked(query, c, scoped), lw))
        return rrf(lists, cfg.rrf_k)[:n]

    def scope_flags(self) -> dict[str, bool]:
        return {"place": self.config.place_scope, "year": self.config.year_scope, "title": self.config.title_scope}

    def search(
        self, query: str, k: int = 5, *, sources: Iterable[str] | None = None, titles: Iterable[str] | None = None
    ) -> list[Passage]:
        mask = _mask(self.data, sources, titles)
        parts = split_comparison(query) if self.config.split_comparisons else [query]
        pool = max(k * 3, 20)
        if len(parts) <= 1:
            ranked = self.fused(query, pool, mask)
        else:
            # each part gets its own best passages; the whole question fills the rest
            per_part = [self.fused(p, pool, mask) for p in parts]
            whole = self.fused(query, pool, mask)
            # scores of different queries do not compare: score by place in the merged list
            merged = _interleave([whole, *per_part])
            ranked = [(r, 1.0 / (self.config.rrf_k + i + 1)) for i, (r, _) in enumerate(merged)]
        if self.config.dedup:
            rows = dedup([r for r, _ in ranked], [c.text for c in self.data.chunk_rows([r for r, _ in ranked])], k)
        else:
            rows = [r for r, _ in ranked[:k]]
        score = dict(ranked)
        return [Passage.from_chunk(c, score[r]) for c, r in zip(self.data.chunk_rows(rows), rows, strict=True)]


class PlaceScopes:
    """Which chunks belong to documents about a place (and year) named in a query.

    Each document is known by the stems of its recorded place and of the place in its
    title (安康市 -> 安康, 重庆南川区 -> 南川区/南川); a query naming one of them scopes to those
    documents. Names shared by more than a third of the documents scope nothing.
    """

    _SUFFIX = re.compile(r"(?:省|自治区|市|自治州|州|县|区|新区|盟)$")

    def __init__(self, data: IndexData):
        self.data = data
        by_name: dict[str, set[str]] = {}
        for d in data.documents:
            for name in {d.meta.get("place", ""), d.meta.get("org", "")}:
                for form in self._forms(name):
                    by_name.setdefault(form, set()).add(d.id)
        limit = max(2, len(data.documents) // 3)
        self.by_name = {k: v for k, v in by_name.items() if len(v) <= limit and k not in {"全国", "中国"}}
        self.doc_of_row = data.row_columns()[1]
        self._names = sorted(self.by_name, key=len, reverse=True)
        self.by_year: dict[str, set[str]] = {}
        for d in data.documents:
            if d.meta.get("year"):
                self.by_year.setdefault(d.meta["year"], set()).add(d.id)

    def _forms(self, name: str) -> set[str]:
        if not name or len(name) < 2:
            return set()
        forms = {name}
        stem = self._SUFFIX.sub("", name)
        if len(stem) >= 2:
            forms.add(stem)
        return forms

    def docs_for(self, query: str, *, place: bool = True, year: bool = True, title: bool = True) -> set[str] | None:
        """Ids of the documents a query is scoped to, or None: the document named by its title
        in 《》 (``title``), else those about the places it names (``place``) and, among those or
        alone, of the year it names (``year``)."""
        if title:
            titled = {
                d.id
                for m in re.finditer(r"《([^》]{4,})》", query)
                for d in self.data.documents
                if _same_title(m.group(1), d.title)
            }
            if titled:
                return titled
        docs: set[str] = set()
        if place:
            for name in self._names:
                if name in query:
                    docs |= self.by_name[name]
        years = set(re.findall(r"((?:19|20)\d{2})年", query)) if year else set()
        if years:
            of_year = set().union(*(self.by_year.get(y, set()) for y in years))
            if docs and docs & of_year:
                docs &= of_year  # 铜仁 + 2025: the 2025 report, not the 2024 one
            elif not docs and 0 < len(of_year) <= max(2, len(self.data.documents) // 3):
                docs = of_year
        if not docs or len(docs) == len(self.data.documents):
            return None
        return docs

    def mask_for(self, query: str, *, place: bool = True, year: bool = True, title: bool = True) -> np.ndarray | None:
        """Rows of the documents :meth:`docs_for` scopes the query to, or None."""
        docs = self.docs_for(query, place=place, year=year, title=title)
        return None if docs is None else self.rows_of(docs)

    def rows_of(self, docs: Iterable[str]) -> np.ndarray:
        return np.isin(self.doc_of_row, list(docs))


def _same_title(quoted: str, title: str) -> bool:
    """Whether a title quoted in a question names this document (whitespace and punctuation aside)."""
    q, t = (re.sub(r"[\s，,、：:“”\"'——-]", "", x) for x in (quoted, title))
    return bool(q) and (q == t or (len(q) >= 6 and (q in t or t in q)))


def rrf(lists: Sequence[tuple[list[tuple[int, float]], float]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion of ranked ``(row, score)`` lists, each with a weight.

    >>> rrf([([(1, 9.0), (2, 5.0)], 1.0), ([(2, 0.9), (3, 0.8)], 1.0)], k=60)[0][0]
    2
    """
    fused: dict[int, float] = {}
    for hits, weight in lists:
        for rank, (row, _) in enumerate(hits):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank + 1)
    return sorted(fused.items(), key=lambda x: (-x[1], x[0]))


def _interleave(lists: list[list[tuple[int, float]]]) -> list[tuple[int, float]]:
    out: list[tuple[int, float]] = []
    seen: set[int] = set()
    for i in range(max((len(x) for x in lists), default=0)):
        for lst in lists:
            if i < len(lst) and lst[i][0] not in seen:
                seen.add(lst[i][0])
                out.append(lst[i])
    return out


def _shingles(text: str, n: int = 5) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def dedup(rows: list[int], texts: list[str], k: int, threshold: float = 0.6) -> list[int]:
    """The first ``k`` rows whose text is not mostly contained in an earlier kept one."""
    kept: list[int] = []
    kept_sh: list[set[str]] = []
    for row, text in zip(rows, texts, strict=True):
        sh = _shingles(text)
        if any(len(sh & o) / max(1, min(len(sh), len(o))) >= threshold for o in kept_sh):
            continue
        kept.append(row)
        kept_sh.append(sh)
        if len(kept) >= k:
            break
    return kept


_ENTITY = r"(?:\d{4}年|[\u4e00-\u9fff]{2,8}?(?:省|市|区|县|州|集团|公司|局)|[\u4e00-\u9fff]{2,4}?)"
# the second entity of a pair ends where the shared rest of the question begins
_PAIR = re.compile(
    rf"({_ENTITY})(?:和|与|及|、|以及)({_ENTITY}?)(?=的|分别|各|，|,|在|工会|总工会|两|开展|举办|发放|\d)"
)


_LIST = re.compile(
    rf"((?:{_ENTITY}、)+{_ENTITY})(?:和|与|及|以及)({_ENTITY}?)(?=的|分别|各|，|,|在|工会|总工会|两|开展|举办|发放|\d)"
)


def split_comparison(question: str) -> list[str]:
    """Sub-questions of a question that compares two things; ``[question]`` otherwise.

    >>> split_comparison("铜仁市2024年和2025年开展的宣讲活动分别有多少场？")
    ['铜仁市2024年开展的宣讲活动分别有多少场？', '铜仁市2025年开展的宣讲活动分别有多少场？']
    """
    q = question.strip()
    if not re.search(r"分别|各自|各有|对比|比较|相比|哪个更|谁更", q):
        return [q]
    # two long clauses: "A…，和B…分别…"
    m = re.match(r"^(.{6,}?)[，,]\s*(?:和|与|以及|及)(.{4,}?)(分别.*|各自.*|各有.*)$", q)
    if m:
        return [m.group(1) + m.group(3), m.group(2) + m.group(3)]
    years = re.search(r"((?:\d{4}年、)*\d{4}年)(?:和|与|及|以及)(\d{4}年)", q)
    listed = _LIST.search(q)
    m = years or listed or _PAIR.search(q)
    if m:
        first, last = m.group(1), m.group(2)
        if m is not years and first.endswith("年") and not last.endswith("年"):
            return [q]
        head, tail = q[: m.start()], q[m.end() :]
        items = [*first.split("、"), last]
        return [head + item + tail for item in items]
    return [q]
