"""The default store: the index folder's own FAISS + bm25s, fused by reciprocal rank in-process.

It adapts the modules the index is built with (:class:`rag.retrieval.dense.DenseIndex`,
:class:`rag.retrieval.lexical.BM25Index`, :func:`rag.retrieval.retrievers.rrf`) to the
:class:`~rag.vectorstore.base.VectorStore` protocol. Rows live in memory in insertion
order; after ``add`` or ``delete`` the BM25 matrix and the FAISS index are rebuilt from
them at the next search (BM25 keeps every unchanged row's tokens, so only new rows are
tokenised; vectors are never recomputed). Three ways to get one:

- ``FaissStore.from_index(data)`` wraps an index already loaded (no copy, no rebuild);
- ``FaissStore.from_folder(version_folder)`` loads one version of an index folder;
- ``FaissStore(path=DIR)`` is a standalone store kept in ``DIR/rows.sqlite`` (text,
  tokens and vectors as float32 bytes; no pickle), written through on every change, so
  a new ``FaissStore(path=DIR)`` gives the same ranks. Used by the contract test.

>>> import numpy as np
>>> s = FaissStore()
>>> v = np.eye(3, dtype=np.float32)
>>> s.add([StoreRow("a", "职工医疗互助金", "a.txt", "d1", v[0]), StoreRow("b", "技能竞赛", "b.txt", "d2", v[1])])
>>> [cid for cid, _ in s.search("互助金", None, 2, mode="lexical")]
['a']
>>> [cid for cid, _ in s.search("", v[1], 1, mode="dense")]
['b']
>>> s.delete(["a"]); s.count()
1
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.vectorstore.base import Mode, StoreRow, check_rows, check_search_args, query_vector

if TYPE_CHECKING:
    from rag.retrieval.tokenize import Tokenizer
    from rag.store import IndexData


class FaissStore:
    """Rows in memory, searched with bm25s and FAISS (exact up to ``exact_max`` rows, HNSW above)."""

    def __init__(
        self,
        tokenizer: Tokenizer | None = None,
        *,
        path: str | Path | None = None,
        rrf_k: int = 60,
        candidates: int = 50,
        exact_max: int = 200_000,
    ) -> None:
        from rag.retrieval.tokenize import Tokenizer

        if rrf_k < 1:
            raise ValueError(f"rrf_k must be >= 1, got {rrf_k!r}")
        self.rrf_k, self.candidates, self.exact_max = rrf_k, max(1, candidates), exact_max
        self.path = Path(path) if path is not None else None
        self._ids: list[str] = []
        self._texts: list[str] = []
        self._sources: list[str] = []
        self._doc_ids: list[str] = []
        self._tokens: list[list[str] | None] = []
        self._vectors: np.ndarray | None = None  # (rows, dim) float32, None until a row has one
        self._dim: int | None = None
        self._bm25: Any = None
        self._dense: Any = None
        self._source_arr = np.array([], dtype=object)
        self._dirty = True
        self._token_folder: Path | None = None  # where from_index's token lists can be read back
        self._db: sqlite3.Connection | None = None
        # add/delete/rebuild under one lock: the server searches from several threads, and
        # the first search after a change rebuilds the indexes
        self._lock = threading.RLock()
        user_words: list[str] = list(tokenizer.user_words) if tokenizer is not None else []
        if self.path is not None:
            user_words = self._open_db(user_words)
        self.tokenizer = tokenizer if tokenizer is not None else Tokenizer(user_words)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_index(cls, data: IndexData, *, rrf_k: int = 60, candidates: int = 50) -> FaissStore:
        """The store over an index already in memory: its BM25 and FAISS are used as they are."""
        store = cls(data.bm25.tokenizer, rrf_k=rrf_k, candidates=candidates)
        chunks = data.chunks
        store._ids = [c.id for c in chunks]
        store._texts = [c.index_text for c in chunks]
        store._sources = [c.source for c in chunks]
        store._doc_ids = [c.doc_id for c in chunks]
        tokens = data.bm25.doc_tokens
        store._tokens = list(tokens) if tokens is not None else [None] * len(chunks)
        store._token_folder = (data.folder / "bm25") if tokens is None and data.folder is not None else None
        if data.dense is not None:
            store._vectors = np.asarray(data.dense.vectors, dtype=np.float32)
            store._dim = int(store._vectors.shape[1])
        else:
            store._dim = 0
        store._bm25, store._dense = data.bm25, data.dense
        store._source_arr = np.array(store._sources, dtype=object)
        store._dirty = False
        return store

    @classmethod
    def from_folder(cls, folder: str | Path, *, rrf_k: int = 60, candidates: int = 50) -> FaissStore:
        """The store over one version folder of an index (``DIR/v-…``, with ``manifest.json``)."""
        from rag.retrieval.dense import DenseIndex
        from rag.retrieval.lexical import BM25Index
        from rag.store import IndexData, read_manifest, read_records

        folder = Path(folder)
        manifest = read_manifest(folder)
        files, documents, chunks = read_records(folder)
        bm25 = BM25Index.load(folder / "bm25")
        dense = DenseIndex.load(folder / "dense") if (folder / "dense" / "dense.faiss").is_file() else None
        data = IndexData(manifest, files, documents, chunks, bm25, dense, None, folder)
        return cls.from_index(data, rrf_k=rrf_k, candidates=candidates)

    # ------------------------------------------------------------------ protocol
    @property
    def dim(self) -> int:
        """Vector length (0 for a store without vectors or with no rows yet)."""
        return self._dim or 0

    def count(self) -> int:
        return len(self._ids)

    def ids(self) -> set[str]:
        return set(self._ids)

    def add(self, rows: Sequence[StoreRow]) -> None:
        with self._lock:
            self._add(list(rows))

    def _add(self, rows: list[StoreRow]) -> None:
        if not rows:
            return
        dim = check_rows(rows, self._dim)
        self._load_tokens()
        pos = {cid: i for i, cid in enumerate(self._ids)}
        fresh = [r for r in rows if r.chunk_id not in pos]
        if dim and self._vectors is None:
            self._vectors = np.zeros((len(self._ids), dim), dtype=np.float32)
        elif self._vectors is not None and not self._vectors.flags.writeable:
            self._vectors = np.array(self._vectors)  # a loaded index's vectors may be a read-only memory map
        for r in rows:
            if (i := pos.get(r.chunk_id)) is not None:  # replace in place: its position is kept
                self._texts[i], self._sources[i], self._doc_ids[i], self._tokens[i] = r.text, r.source, r.doc_id, None
                if dim:
                    self._vectors[i] = np.asarray(r.vector, dtype=np.float32)  # type: ignore[index]
        for r in fresh:
            self._ids.append(r.chunk_id)
            self._texts.append(r.text)
            self._sources.append(r.source)
            self._doc_ids.append(r.doc_id)
            self._tokens.append(None)
        if dim and fresh:
            new = np.stack([np.asarray(r.vector, dtype=np.float32) for r in fresh])
            self._vectors = np.concatenate([self._vectors, new]) if self._vectors is not None else new
        self._dim = dim
        self._dirty = True
        if self._db is not None:
            self._write(rows, pos)

    def delete(self, chunk_ids: Iterable[str]) -> None:
        with self._lock:
            self._delete(set(chunk_ids))

    def _delete(self, chunk_ids: set[str]) -> None:
        gone = chunk_ids & set(self._ids)
        if not gone:
            return
        self._load_tokens()
        keep = [i for i, cid in enumerate(self._ids) if cid not in gone]
        for name in ("_ids", "_texts", "_sources", "_doc_ids", "_tokens"):
            old = getattr(self, name)
            setattr(self, name, [old[i] for i in keep])
        if self._vectors is not None:
            self._vectors = self._vectors[keep]
        self._dirty = True
        if self._db is not None:
            with self._db:
                self._db.executemany("DELETE FROM rows WHERE id = ?", [(c,) for c in gone])

    def search(
        self,
        query: str,
        vector: np.ndarray | None,
        k: int,
        *,
        mode: Mode = "hybrid",
        sources: Collection[str] | None = None,
    ) -> list[tuple[str, float]]:
        check_search_args(mode, k)
        vec = query_vector(vector, mode, self.dim)
        with self._lock:
            if k == 0 or not self._ids:
                return []
            self._refresh()
            ids, bm25, dense, source_arr = self._ids, self._bm25, self._dense, self._source_arr
        mask = None
        if sources is not None:
            mask = np.isin(source_arr, list({sources} if isinstance(sources, str) else sources))
            if not mask.any():
                return []
        if mode == "hybrid" and vec is None:
            mode = "lexical"
        n = k if mode != "hybrid" else max(k, self.candidates)
        lexical = bm25.search(query, n, mask) if mode != "dense" else []
        found = dense.search(vec, n, mask) if vec is not None and dense is not None else []
        if mode == "lexical":
            hits = lexical
        elif mode == "dense":
            hits = found
        else:
            from rag.retrieval.retrievers import rrf

            hits = rrf([(lexical, 1.0), (found, 1.0)], self.rrf_k)[:k]
        return [(ids[row], float(score)) for row, score in hits[:k]]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # ------------------------------------------------------------------ internals
    def _refresh(self) -> None:
        """Rebuild BM25 and FAISS from the rows after a change (unchanged rows keep their tokens)."""
        if not self._dirty:
            return
        from rag.retrieval.dense import DenseIndex
        from rag.retrieval.lexical import BM25Index

        untokenised = [i for i, t in enumerate(self._tokens) if t is None]
        self._bm25 = BM25Index.build(self._texts, self.tokenizer, tokens=self._tokens)
        self._tokens = list(self._bm25.doc_tokens)
        self._dense = DenseIndex.build(self._vectors, self.exact_max) if self._vectors is not None else None
        self._source_arr = np.array(self._sources, dtype=object)
        self._dirty = False
        if self._db is not None and untokenised:  # kept, so reopening tokenises nothing again
            with self._db:
                self._db.executemany(
                    "UPDATE rows SET tokens = ? WHERE id = ?",
                    [(json.dumps(self._tokens[i], ensure_ascii=False), self._ids[i]) for i in untokenised],
                )

    def _load_tokens(self) -> None:
        """Before the first change to a store over a loaded index: its saved token lists, so a
        rebuild re-tokenises only the rows that change."""
        if self._token_folder is None:
            return
        from rag.retrieval.lexical import load_token_lists

        saved = load_token_lists(self._token_folder)
        if saved is not None and len(saved) == len(self._ids):
            self._tokens = list(saved)
        self._token_folder = None

    def _open_db(self, user_words: list[str]) -> list[str]:
        """Open (or create) ``path/rows.sqlite`` and read its rows; returns the tokenizer's words."""
        assert self.path is not None
        self.path.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path / "rows.sqlite", check_same_thread=False)
        db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, pos INTEGER UNIQUE, text TEXT,
                                             source TEXT, doc_id TEXT, tokens TEXT, vector BLOB);
            """
        )
        meta = dict(db.execute("SELECT key, value FROM meta"))
        if "user_words" in meta:
            user_words = json.loads(meta["user_words"])
        else:
            with db:
                db.execute("INSERT INTO meta VALUES ('user_words', ?)", (json.dumps(user_words, ensure_ascii=False),))
        self._dim = int(meta["dim"]) if "dim" in meta else None
        vectors = []
        for cid, text, source, doc_id, tokens, blob in db.execute(
            "SELECT id, text, source, doc_id, tokens, vector FROM rows ORDER BY pos"
        ):
            self._ids.append(cid)
            self._texts.append(text)
            self._sources.append(source)
            self._doc_ids.append(doc_id)
            self._tokens.append(json.loads(tokens) if tokens is not None else None)
            if blob is not None:
                vectors.append(np.frombuffer(blob, dtype=np.float32))
        if vectors:
            if len(vectors) != len(self._ids) or (self._dim and len(vectors[0]) != self._dim):
                raise ValueError(f"store {self.path / 'rows.sqlite'} is damaged: vectors do not match its rows")
            self._vectors = np.stack(vectors)
        self._db = db
        return user_words

    def _write(self, rows: list[StoreRow], pos_before: dict[str, int]) -> None:
        assert self._db is not None
        start = (self._db.execute("SELECT COALESCE(MAX(pos), -1) FROM rows").fetchone()[0]) + 1
        with self._db:
            if self._dim is not None:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('dim', ?)", (str(self._dim),))
            fresh = 0
            for r in rows:
                blob = np.asarray(r.vector, dtype=np.float32).tobytes() if r.vector is not None else None
                if r.chunk_id in pos_before:
                    self._db.execute(
                        "UPDATE rows SET text=?, source=?, doc_id=?, tokens=NULL, vector=? WHERE id=?",
                        (r.text, r.source, r.doc_id, blob, r.chunk_id),
                    )
                else:
                    self._db.execute(
                        "INSERT INTO rows VALUES (?,?,?,?,?,NULL,?)",
                        (r.chunk_id, start + fresh, r.text, r.source, r.doc_id, blob),
                    )
                    fresh += 1


__all__ = ["FaissStore"]
