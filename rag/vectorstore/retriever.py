"""The project's ``Retriever`` over any :class:`~rag.vectorstore.base.VectorStore`.

A store answers with chunk ids; :class:`StoreRetriever` embeds the query, asks the
store, and maps the ids back to the index's chunks (records stay in the index folder's
SQLite), returning :class:`rag.records.Passage` best first, as
``rag.retrieval.retrievers.Retriever`` asks.

What it keeps of the in-folder ``HybridRetriever``: the index's fusion choice decides
the mode (dense share 0: lexical only; 1: dense only; otherwise hybrid) and its RRF
``k`` (the store's own), and near-duplicate passages are dropped when the ``dedup``
rule is on. What it does not do (yet): weight the dense list (Milvus's ``RRFRanker``
weighs both lists equally), nor the place/year/title scoping and comparison splitting,
which need extra lexical lists over scoped rows.

``titles`` (keep chunks whose title contains any of them) is applied as a ``sources``
filter (files holding such a document) and then per chunk, over a larger pool.

>>> import numpy as np
>>> from rag.embed.base import HashingEmbedder
>>> from rag.records import Chunk
>>> from rag.store import IndexData
>>> from rag.vectorstore.faiss_store import FaissStore
>>> from rag.vectorstore.sync import store_rows, sync
>>> chunks = [Chunk(f"c{i}", "d", "a.txt", "年报", (), t, 0, len(t), 10) for i, t in enumerate(["营业收入增长", "研发投入"])]
>>> emb = HashingEmbedder(dim=64)
>>> store = FaissStore()
>>> _ = sync(store, store_rows(chunks, emb.embed([c.index_text for c in chunks])))
>>> r = StoreRetriever(store, IndexData({}, {}, [], chunks), emb)
>>> [p.id for p in r.search("研发投入多少", k=1)]
['c1']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.records import Chunk, Passage
from rag.settings import Settings
from rag.vectorstore.base import Mode, VectorStore

if TYPE_CHECKING:
    from rag.store import IndexData


class StoreRetriever:
    """``search(query, k, *, sources=None, titles=None) -> list[Passage]`` through a store."""

    def __init__(self, store: VectorStore, data: IndexData, embedder: Any = None, settings: Settings | None = None):
        from rag.retrieval.retrievers import resolve_config

        self.store = store
        self.data = data
        self.embedder = embedder
        self.settings = settings or Settings()
        self.config, self.config_source = resolve_config(data.manifest, self.settings, embedder is not None)
        self._chunks: dict[str, Chunk] = {c.id: c for c in data.chunks}
        self.missing = 0  # ids the store returned that the index does not hold (store out of date)

    def mode(self) -> Mode:
        share = self.config.dense_share if self.embedder is not None else 0.0
        return "lexical" if share <= 0 else "dense" if share >= 1 else "hybrid"

    def search(
        self, query: str, k: int = 5, *, sources: Iterable[str] | None = None, titles: Iterable[str] | None = None
    ) -> list[Passage]:
        from rag.retrieval.retrievers import dedup

        if k <= 0:
            return []
        src = {sources} if isinstance(sources, str) else set(sources) if sources is not None else None
        tls = [titles] if isinstance(titles, str) else list(titles) if titles is not None else None
        if tls is not None:
            titled = {c.source for c in self.data.chunks if any(t in c.title for t in tls)}
            src = titled if src is None else src & titled
        mode = self.mode()
        vector = None
        if mode != "lexical":
            vector = np.asarray(self.embedder.embed([query], query=True)[0], dtype=np.float32)
            if not np.any(vector):
                vector, mode = None, "lexical"
        pool = max(k * 3, 20) if (self.config.dedup or tls is not None) else k
        hits = self.store.search(query, vector, pool, mode=mode, sources=src)
        found: list[tuple[Chunk, float]] = []
        for cid, score in hits:
            chunk = self._chunks.get(cid)
            if chunk is None:
                self.missing += 1
                continue
            if tls is not None and not any(t in chunk.title for t in tls):
                continue
            found.append((chunk, score))
        if self.config.dedup:
            keep = set(dedup(list(range(len(found))), [c.text for c, _ in found], k))
            found = [f for i, f in enumerate(found) if i in keep]
        return [Passage.from_chunk(c, s) for c, s in found[:k]]


__all__ = ["StoreRetriever"]
