"""The ``VectorStore`` protocol: where chunk ids are searched by text and by vector.

A store holds one :class:`StoreRow` per chunk (its id, the text BM25 indexes, its
source file, its document and its dense vector) and answers one question, "which
chunk ids best match this query?", in three modes:

- ``"lexical"``: BM25 over the row's text (the query string is used, not the vector);
- ``"dense"``: inner product of the query vector with the row vectors (cosine, since
  the project's embedders L2-normalise);
- ``"hybrid"``: both lists fused by reciprocal rank (Cormack et al. 2009).

Records (chunk text shown to users, titles, headings, the manifest) never live in a
store: they stay in the index folder's SQLite, and a retriever maps the ids a store
returns back to chunks (:class:`rag.vectorstore.retriever.StoreRetriever`). That is what
lets the same index be searched in-process (:mod:`rag.vectorstore.faiss_store`) or in
Milvus (:mod:`rag.vectorstore.milvus_store`) without changing anything else.

>>> row = StoreRow("c1", "职工医疗互助金", "a.txt", "d1", np.ones(4, dtype=np.float32))
>>> row.chunk_id, row.dim
('c1', 4)
>>> check_search_args("hybrid", 5)
>>> check_search_args("fuzzy", 5)
Traceback (most recent call last):
...
ValueError: search mode must be one of hybrid, dense, lexical; got 'fuzzy'
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args, runtime_checkable

import numpy as np

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = get_args(Mode)


@dataclass(frozen=True)
class StoreRow:
    """One chunk as a store sees it.

    ``text`` is what BM25 indexes (for the project's chunks, ``Chunk.index_text``: title,
    place/org, headings, then the body); ``vector`` is its embedding, or None in an index
    without dense vectors. The vector takes no part in ``==`` (arrays do not compare to
    one bool); two rows with the same id, text, source and document are equal.
    """

    chunk_id: str
    text: str
    source: str
    doc_id: str
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def dim(self) -> int:
        """Length of the vector, 0 without one."""
        return 0 if self.vector is None else int(np.asarray(self.vector).shape[-1])


@runtime_checkable
class VectorStore(Protocol):
    """Chunk ids by text and vector; every implementation passes ``tests/test_vector_store.py``.

    ``add`` replaces a row whose id is already there (upsert), so adding the same rows
    twice leaves one copy. Scores are "higher is better" but only comparable within one
    mode of one store: callers rank by position, never by absolute score.
    """

    def add(self, rows: Sequence[StoreRow]) -> None:
        """Insert ``rows``, replacing any with the same chunk id."""
        ...

    def delete(self, chunk_ids: Iterable[str]) -> None:
        """Remove these chunk ids (ids not in the store are ignored)."""
        ...

    def count(self) -> int:
        """Rows in the store."""
        ...

    def ids(self) -> set[str]:
        """Every chunk id in the store (what :func:`rag.vectorstore.sync.sync` diffs against)."""
        ...

    def search(
        self,
        query: str,
        vector: np.ndarray | None,
        k: int,
        *,
        mode: Mode = "hybrid",
        sources: Collection[str] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` best ``(chunk id, score)`` pairs, best first.

        ``vector`` is the query's embedding: required for ``"dense"``, ignored by
        ``"lexical"``; ``"hybrid"`` with no vector (or a zero one) is lexical alone.
        ``sources``, when given, keeps only rows whose source file is in it (an empty
        collection matches nothing).
        """
        ...

    def close(self) -> None:
        """Release connections and files; the store is not used afterwards."""
        ...


def check_search_args(mode: str, k: int) -> None:
    """Raise a ValueError naming the bad argument of a ``search`` call."""
    if mode not in MODES:
        raise ValueError(f"search mode must be one of {', '.join(MODES)}; got {mode!r}")
    if not isinstance(k, int) or isinstance(k, bool) or k < 0:
        raise ValueError(f"k must be a non-negative int, got {k!r}")


def query_vector(vector: np.ndarray | None, mode: str, dim: int) -> np.ndarray | None:
    """The query vector as 1-d float32, or None when the search should not use one.

    A zero vector (an embedder that knows no feature of the query) is similar to nothing,
    so it counts as none: hybrid falls back to lexical, dense raises.

    >>> query_vector(np.zeros(3), "hybrid", 3) is None
    True
    >>> query_vector([1, 0, 0], "dense", 3).dtype
    dtype('float32')
    >>> query_vector([1, 0], "dense", 3)
    Traceback (most recent call last):
    ...
    ValueError: query vector has 2 dimensions; the store holds 3-d vectors
    """
    if mode == "lexical":
        return None
    if vector is not None:
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        if dim and v.shape[0] != dim:
            raise ValueError(f"query vector has {v.shape[0]} dimensions; the store holds {dim}-d vectors")
        if np.any(v):
            return v
    if mode == "dense":
        if not dim:
            raise ValueError("dense search asked of a store without vectors (built with embedding_model='none')")
        raise ValueError("dense search needs a non-zero query vector")
    return None


def check_rows(rows: Sequence[StoreRow], dim: int | None) -> int:
    """The vector length shared by ``rows`` (0 when they have none); raises naming the first bad row.

    ``dim`` is the store's length (None while it has not been fixed yet).
    """
    want = dim
    seen: set[str] = set()
    for r in rows:
        if not isinstance(r, StoreRow):
            raise TypeError(f"a store takes StoreRow items, got {type(r).__name__}")
        if not r.chunk_id:
            raise ValueError(f"row with empty chunk id (source {r.source!r})")
        if r.chunk_id in seen:
            raise ValueError(f"chunk id {r.chunk_id!r} appears twice in one add()")
        seen.add(r.chunk_id)
        if want is None:
            want = r.dim
        elif r.dim != want:
            raise ValueError(f"chunk {r.chunk_id!r} has a {r.dim}-d vector; the store holds {want}-d vectors")
    return want or 0
