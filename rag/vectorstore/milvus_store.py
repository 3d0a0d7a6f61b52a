r"""Chunks searched in Milvus: dense vectors and BM25 both inside Milvus, fused there.

One collection per index (:func:`rag.vectorstore.factory.collection_name`), one entity
per chunk:

=========  ======================  =====================================================
field      type                    what
=========  ======================  =====================================================
id         VARCHAR (primary key)   the chunk id (a content hash, ``rag.records.stable_id``)
source     VARCHAR                 file name, for the ``sources`` filter
doc_id     VARCHAR                 the chunk's document
text       VARCHAR, analyzer on    what BM25 indexes: jieba (search mode), punctuation
                                   and the project's stop words removed
sparse     SPARSE_FLOAT_VECTOR     filled by Milvus from ``text`` (a BM25 ``Function``)
dense      FLOAT_VECTOR            the chunk's embedding, inner product (absent when the
                                   index has no embedder)
=========  ======================  =====================================================

``search`` in hybrid mode sends one ``hybrid_search`` with two ``AnnSearchRequest``
(the query text against ``sparse``, the query vector against ``dense``) fused by
``RRFRanker(rrf_k)``; the ``sources`` filter is a boolean expression on ``source``
(string literals escaped by :func:`source_filter`). The URI picks the deployment:
``PATH.db`` is a Milvus Lite data file opened in-process (pymilvus starts it),
``http://host:19530`` (with a token, ``user:password`` or an API key) a server or
cluster. Reads use Strong consistency, so a row added is found by the next search.

Known differences between deployments, handled here: Milvus Lite reports BM25 scores
negated (scores are returned as their absolute value, BM25 being never negative);
``get_collection_stats`` on a server counts deleted rows until compaction (``count``
uses ``count(*)`` instead); a reopened collection must be loaded before it is searched.
Needs Milvus 2.5.11+ on a server (BM25 functions, the ``removepunct`` filter).

>>> print(source_filter(['a.txt', 'say "hi".txt', 'c\\d.txt']))
source in ["a.txt", "say \"hi\".txt", "c\\d.txt"]
>>> redact("http://root:Milvus@db.example:19530")
'http://***@db.example:19530'
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np

from rag.vectorstore.base import Mode, StoreRow, check_rows, check_search_args, query_vector

# Milvus VARCHAR limits are in bytes of UTF-8 (a Chinese character is 3 bytes).
MAX_TEXT_BYTES = 65_535
MAX_SOURCE_BYTES = 2_048
MAX_ID_BYTES = 256
FIELDS = ("id", "source", "doc_id", "text", "sparse")
# Rows per insert/upsert request: well under gRPC's default 64 MB message limit for
# 300-token chunks with 1024-d vectors.
BATCH = 500
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def source_filter(sources: Iterable[str]) -> str:
    """A Milvus boolean expression keeping rows whose ``source`` is one of ``sources``.

    Quotes, backslashes and line breaks in file names are escaped, so a name can never
    end the literal early and change the expression.
    """
    lits = ['"' + "".join(_ESCAPES.get(ch, ch) for ch in s) + '"' for s in sources]
    return f"source in [{', '.join(lits)}]"


def redact(uri: str) -> str:
    """``uri`` without a password, for error messages."""
    return re.sub(r"//[^/@]*@", "//***@", uri)


def analyzer_params() -> dict[str, Any]:
    """The analyzer of the ``text`` field: jieba search mode without punctuation or stop words."""
    from rag.retrieval.tokenize import STOPWORDS

    return {"tokenizer": "jieba", "filter": ["removepunct", {"type": "stop", "stop_words": sorted(STOPWORDS)}]}


class MilvusStore:
    """A :class:`~rag.vectorstore.base.VectorStore` in one Milvus collection.

    ``dim`` is the vector length for a collection that does not exist yet (None: taken
    from the first rows added; 0: no dense field). An existing collection's own schema
    wins, and a ``dim`` that disagrees with it is an error naming both.
    """

    def __init__(
        self,
        uri: str,
        collection: str,
        *,
        token: str = "",
        dim: int | None = None,
        rrf_k: int = 60,
        candidates: int = 50,
        consistency: str = "Strong",
        timeout: float | None = 30.0,
    ) -> None:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        if rrf_k < 1:
            raise ValueError(f"rrf_k must be >= 1, got {rrf_k!r}")
        self.uri, self.collection = uri, collection
        self.rrf_k, self.candidates, self.consistency, self.timeout = rrf_k, max(1, candidates), consistency, timeout
        try:
            self.client = MilvusClient(uri=uri, token=token, timeout=timeout)
            exists = self.client.has_collection(collection)
        except MilvusException as e:
            hint = (
                " (a Milvus Lite .db is locked by the process using it: is another one open?)"
                if uri.endswith(".db")
                else ""
            )
            raise ConnectionError(f"cannot open Milvus at {redact(uri)}: {e}{hint}") from e
        # Milvus Lite searches rows not yet flushed by brute force in Python (4.5 s a BM25
        # query at 5k rows, 0.1 s once flushed), so on Lite every change is flushed; a
        # server indexes growing segments itself and seals them on its own schedule.
        self.lite = str(self.client.get_server_version()).startswith("milvus_lite")
        self._dim: int | None = dim
        if exists:
            self._check_schema(dim)
            self.client.load_collection(collection)  # a reopened collection is released until loaded
        elif dim is not None:
            self._create(dim)

    # ------------------------------------------------------------------ protocol
    @property
    def dim(self) -> int:
        return self._dim or 0

    def exists(self) -> bool:
        return bool(self.client.has_collection(self.collection))

    def add(self, rows: Sequence[StoreRow]) -> None:
        rows = list(rows)
        if not rows:
            return
        dim = check_rows(rows, self._dim)
        for r in rows:
            for name, value, limit in (("text", r.text, MAX_TEXT_BYTES), ("source", r.source, MAX_SOURCE_BYTES)):
                if len(value.encode("utf-8")) > limit:
                    raise ValueError(f"chunk {r.chunk_id!r}: {name} is over Milvus's {limit} bytes")
            if len(r.chunk_id.encode("utf-8")) > MAX_ID_BYTES or len(r.doc_id.encode("utf-8")) > MAX_ID_BYTES:
                raise ValueError(f"chunk {r.chunk_id!r}: id or doc_id over {MAX_ID_BYTES} bytes")
        if self._dim is None:
            self._create(dim)
        for i in range(0, len(rows), BATCH):
            batch = [self._entity(r) for r in rows[i : i + BATCH]]
            self.client.upsert(self.collection, batch, timeout=self.timeout)
        self._settle(rows[0].text)

    def delete(self, chunk_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(chunk_ids))
        if not ids or not self.exists():
            return
        for i in range(0, len(ids), BATCH):
            self.client.delete(self.collection, ids=ids[i : i + BATCH], timeout=self.timeout)
        self._settle()

    def count(self) -> int:
        if not self.exists():
            return 0
        res = self.client.query(
            self.collection, filter="", output_fields=["count(*)"], consistency_level=self.consistency
        )
        return int(res[0]["count(*)"]) if res else 0

    def ids(self) -> set[str]:
        if not self.exists():
            return set()
        it = self.client.query_iterator(
            self.collection, batch_size=1000, filter="", output_fields=["id"], consistency_level=self.consistency
        )
        out: set[str] = set()
        try:
            while batch := it.next():
                out.update(str(r["id"]) for r in batch)
        finally:
            it.close()
        return out

    def search(
        self,
        query: str,
        vector: np.ndarray | None,
        k: int,
        *,
        mode: Mode = "hybrid",
        sources: Collection[str] | None = None,
    ) -> list[tuple[str, float]]:
        from pymilvus import AnnSearchRequest, RRFRanker

        check_search_args(mode, k)
        vec = query_vector(vector, mode, self.dim)
        if k == 0 or self._dim is None:
            return []
        if isinstance(sources, str):
            sources = [sources]
        if sources is not None and not sources:
            return []
        expr = source_filter(sources) if sources is not None else ""
        has_text = bool(query.strip())
        if mode == "hybrid" and (vec is None or not self._dim):
            mode = "lexical"
        if mode == "hybrid" and not has_text:
            mode = "dense"
        if mode == "lexical" and not has_text:
            return []
        common: dict[str, Any] = {
            "limit": k,
            "output_fields": ["source"],
            "timeout": self.timeout,
            "consistency_level": self.consistency,
        }
        if mode == "lexical":
            res = self.client.search(
                self.collection, data=[query], anns_field="sparse", filter=expr,
                search_params={"metric_type": "BM25"}, **common,
            )  # fmt: skip
            return [(str(h["id"]), abs(float(h["distance"]))) for h in res[0]]
        assert vec is not None
        if mode == "dense":
            res = self.client.search(
                self.collection, data=[vec.tolist()], anns_field="dense", filter=expr,
                search_params={"metric_type": "IP"}, **common,
            )  # fmt: skip
            return [(str(h["id"]), float(h["distance"])) for h in res[0]]
        n = max(k, self.candidates)
        reqs = [
            AnnSearchRequest(data=[query], anns_field="sparse", param={"metric_type": "BM25"}, limit=n, expr=expr),
            AnnSearchRequest(data=[vec.tolist()], anns_field="dense", param={"metric_type": "IP"}, limit=n, expr=expr),
        ]
        res = self.client.hybrid_search(self.collection, reqs, RRFRanker(self.rrf_k), **common)
        return [(str(h["id"]), float(h["distance"])) for h in res[0]]

    def drop(self) -> None:
        """Delete the whole collection (e.g. before a rebuild with vectors of another length)."""
        if self.exists():
            self.client.drop_collection(self.collection)
        self._dim = None

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ internals
    def _settle(self, probe: str = "") -> None:
        """On Milvus Lite: flush, then one BM25 query (Lite builds a new segment's index at
        its first search, ~2 s for 2k rows), so the update pays for it, not the next question."""
        if not self.lite:
            return
        self.client.flush(self.collection, timeout=self.timeout)
        if probe.strip():
            self.search(probe[:20], None, 1, mode="lexical")

    def _entity(self, r: StoreRow) -> dict[str, Any]:
        e: dict[str, Any] = {"id": r.chunk_id, "source": r.source, "doc_id": r.doc_id, "text": r.text}
        if self._dim:
            e["dense"] = np.asarray(r.vector, dtype=np.float32).tolist()
        return e

    def _create(self, dim: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, max_length=MAX_ID_BYTES, is_primary=True)
        schema.add_field("source", DataType.VARCHAR, max_length=MAX_SOURCE_BYTES)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID_BYTES)
        schema.add_field(
            "text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True, analyzer_params=analyzer_params()
        )
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        if dim:
            schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_function(
            Function(
                name="text_bm25",
                function_type=FunctionType.BM25,
                input_field_names=["text"],
                output_field_names=["sparse"],
            )
        )
        index = c.prepare_index_params()
        index.add_index(
            "sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": 1.2, "bm25_b": 0.75}
        )
        if dim:
            # Lite's AUTOINDEX is an HNSW with default parameters (5k news chunks: the asked chunk
            # in the dense top 5 for 66% of queries vs 73% exact); FLAT is exact, as the in-folder
            # store is up to 200k rows. A server's AUTOINDEX is tuned by Milvus for its size.
            index.add_index("dense", index_type="FLAT" if self.lite else "AUTOINDEX", metric_type="IP")
        c.create_collection(self.collection, schema=schema, index_params=index, consistency_level=self.consistency)
        self._dim = dim

    def _check_schema(self, dim: int | None) -> None:
        """Take the vector length from the existing collection; refuse one this store cannot use."""
        info = self.client.describe_collection(self.collection)
        fields = {f["name"]: f for f in info.get("fields", [])}
        missing = [n for n in FIELDS if n not in fields]
        if missing:
            raise ValueError(
                f"Milvus collection {self.collection!r} at {redact(self.uri)} was not made by this program "
                f"(no field {', '.join(missing)}); choose another with RAG_MILVUS_COLLECTION"
            )
        have = int(fields["dense"].get("params", {}).get("dim", 0)) if "dense" in fields else 0
        if dim is not None and dim != have:
            raise ValueError(
                f"Milvus collection {self.collection!r} holds {have}-d vectors but the index's embedder gives "
                f"{dim}-d; drop it (MilvusStore.drop) or set RAG_MILVUS_COLLECTION to a new name"
            )
        self._dim = have


__all__ = ["MilvusStore", "analyzer_params", "redact", "source_filter"]
