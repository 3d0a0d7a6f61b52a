"""Choose the store for an index from the settings: in-folder FAISS + BM25, or Milvus.

``Settings.milvus_uri`` empty (the default): the index folder's own FAISS and bm25s
(:class:`~rag.vectorstore.faiss_store.FaissStore`). Set: a
:class:`~rag.vectorstore.milvus_store.MilvusStore` on that URI, in the collection
``Settings.milvus_collection`` or, when that is empty, one named after the index folder.

>>> collection_name(Settings(), "/data/index")
'rag_index'
>>> collection_name(Settings(), "/data/news-2025")
'rag_news_2025_38c37dea'
>>> collection_name(Settings(milvus_collection="kb_main"), "/data/index")
'kb_main'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from rag.records import stable_id
from rag.settings import Settings
from rag.vectorstore.base import VectorStore

if TYPE_CHECKING:
    from rag.store import IndexData


def index_root(folder: str | Path) -> Path:
    """The index folder (the one with ``CURRENT``) of ``folder``, which may be one of its versions."""
    p = Path(folder)
    if not (p / "CURRENT").is_file() and (p / "manifest.json").is_file() and (p.parent / "CURRENT").is_file():
        return p.parent
    return p


def collection_name(settings: Settings, index_folder: str | Path) -> str:
    """``settings.milvus_collection``, else ``rag_`` + the index folder's name made legal for Milvus.

    Milvus names hold ASCII letters, digits and ``_``; a name that had to be changed to
    fit (``news-2025``, ``知识库``) gets a short hash of the original, so two folders never
    share a collection by accident.
    """
    if settings.milvus_collection:
        return settings.milvus_collection
    name = index_root(index_folder).resolve().name
    ascii_name = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
    out = "rag_" + ascii_name[:200] if ascii_name else "rag"
    if ascii_name != name:
        out += "_" + stable_id(name, length=8)
    return out


def open_store(settings: Settings, index_folder: str | Path, data: IndexData | None = None) -> VectorStore:
    """The store ``settings`` ask for, for the index at ``index_folder``.

    ``data`` is the index when it is already loaded (the FAISS store then wraps its
    arrays instead of reading them again; Milvus takes the vector length from its
    manifest). RRF ``k`` follows the index's fusion choice unless ``RAG_RRF_K`` is set.
    """
    from rag.retrieval.retrievers import resolve_config
    from rag.store import IndexFormatError, current_version, read_manifest

    version = data.folder if data is not None and data.folder is not None else None
    if data is None:
        root = index_root(index_folder)
        version = current_version(root) if (root / "CURRENT").is_file() else None
        if version is None:
            raise IndexFormatError(f"no index at {root}: build one with `rag ingest PATH... --index {root}`")
    manifest = data.manifest if data is not None else read_manifest(version)  # type: ignore[arg-type]
    has_dense = data.dense is not None if data is not None else version is not None and (version / "dense").is_dir()
    rrf_k = resolve_config(manifest, settings, has_dense)[0].rrf_k
    if not settings.milvus_uri:
        from rag.vectorstore.faiss_store import FaissStore

        if data is not None:
            return FaissStore.from_index(data, rrf_k=rrf_k, candidates=settings.candidates)
        return FaissStore.from_folder(version, rrf_k=rrf_k, candidates=settings.candidates)  # type: ignore[arg-type]
    from rag.vectorstore.milvus_store import MilvusStore

    recorded = manifest.get("embedder", {}).get("dim")
    dim = (int(recorded) if recorded else None) if has_dense else 0  # None: from the first rows synced
    return MilvusStore(
        settings.milvus_uri,
        collection_name(settings, index_folder),
        token=settings.milvus_token,
        dim=dim,
        rrf_k=rrf_k,
        candidates=settings.candidates,
    )


__all__ = ["collection_name", "index_root", "open_store"]
