"""Bring a store up to date with an index, touching only what changed.

Chunk ids are content hashes (``stable_id(source, text)``), so an id already in the
store is the same chunk and is left alone; an update costs the rows it adds and the
ids it drops, not the corpus. ``refresh=True`` re-sends every row: for after the
corpus embedder is retrained (same ids, new vectors).

>>> from rag.vectorstore.faiss_store import FaissStore
>>> store = FaissStore()
>>> v = np.eye(2, dtype=np.float32)
>>> sync(store, [StoreRow("a", "甲", "a.txt", "d", v[0]), StoreRow("b", "乙", "b.txt", "d", v[1])])
SyncReport(added=2, deleted=0, kept=0)
>>> sync(store, [StoreRow("b", "乙", "b.txt", "d", v[1])], removed_ids=["a"])
SyncReport(added=0, deleted=1, kept=1)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rag.vectorstore.base import StoreRow, VectorStore

if TYPE_CHECKING:
    from rag.records import Chunk
    from rag.store import IndexData


@dataclass(frozen=True)
class SyncReport:
    """What :func:`sync` did: rows sent, ids deleted, rows already there and left alone."""

    added: int
    deleted: int
    kept: int


def store_rows(chunks: Sequence[Chunk], vectors: np.ndarray | None) -> list[StoreRow]:
    """One row per chunk: its indexed text (title, place/org, headings, body) and its vector.

    ``vectors[i]`` belongs to ``chunks[i]`` (the index folder keeps them aligned).
    """
    if vectors is not None and len(vectors) != len(chunks):
        raise ValueError(f"{len(vectors)} vectors for {len(chunks)} chunks: they must line up row by row")
    return [
        StoreRow(c.id, c.index_text, c.source, c.doc_id, None if vectors is None else vectors[i])
        for i, c in enumerate(chunks)
    ]


def rows_from_index(data: IndexData) -> list[StoreRow]:
    """Every chunk of a loaded index as store rows (vectors from its FAISS folder, if any)."""
    return store_rows(data.chunks, None if data.dense is None else data.dense.vectors)


def sync(
    store: VectorStore, rows: Sequence[StoreRow], removed_ids: Iterable[str] = (), *, refresh: bool = False
) -> SyncReport:
    """Make ``store`` hold exactly ``rows``.

    ``rows`` is every chunk the index holds now; ``removed_ids`` the chunk ids the update
    dropped (deleted even if the caller's rows were built before they went). Ids in the
    store that are in neither are deleted too, so a store an interrupted update left
    behind catches up on the next one.
    """
    wanted = {r.chunk_id for r in rows}
    removed = set(removed_ids)
    both = removed & wanted
    if both:
        raise ValueError(f"chunk ids both removed and kept: {sorted(both)[:5]}")
    present = store.ids()
    stale = (present - wanted) | (removed & present)
    if stale:
        store.delete(sorted(stale))
    todo = list(rows) if refresh else [r for r in rows if r.chunk_id not in present]
    store.add(todo)
    return SyncReport(added=len(todo), deleted=len(stale), kept=len(wanted) - len(todo))


__all__ = ["SyncReport", "rows_from_index", "store_rows", "sync"]
