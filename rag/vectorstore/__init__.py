"""Vector stores: the same index searched in-process (FAISS + bm25s) or in Milvus.

- :mod:`.base`: the ``VectorStore`` protocol (``add``, ``delete``, ``count``, ``ids``,
  ``search(query, vector, k, mode=..., sources=...)``) and ``StoreRow``;
- :mod:`.faiss_store`: the default, the index folder's own FAISS and BM25;
- :mod:`.milvus_store`: Milvus Lite (a ``.db`` file) or a Milvus server / cluster;
- :mod:`.sync`: bring a store up to date with an index, only the difference;
- :mod:`.retriever`: ``StoreRetriever``, the project's Retriever over a store;
- :mod:`.factory`: ``open_store(settings, index_folder)``, chosen by ``RAG_MILVUS_URI``.

Nothing heavy is imported here: pymilvus, FAISS and bm25s load when a store is made.
"""

from rag.vectorstore.base import MODES, Mode, StoreRow, VectorStore
from rag.vectorstore.factory import collection_name, open_store
from rag.vectorstore.retriever import StoreRetriever
from rag.vectorstore.sync import SyncReport, rows_from_index, store_rows, sync

__all__ = [
    "MODES",
    "Mode",
    "StoreRetriever",
    "StoreRow",
    "SyncReport",
    "VectorStore",
    "collection_name",
    "open_store",
    "rows_from_index",
    "store_rows",
    "sync",
]
