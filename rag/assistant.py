"""The public entry point: load an index, retrieve passages, ask questions.

>>> from rag import Assistant                                    # doctest: +SKIP
>>> a = Assistant.load("index")                                  # doctest: +SKIP
>>> [p.title for p in a.retrieve("2025年铜仁市发放了多少职工医疗互助金？", k=2)]   # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.integrity import verify
from rag.records import Answer, Chunk, Document, Passage
from rag.settings import Settings
from rag.store import IndexData, IndexFormatError, current_version, open_records, read_manifest

History = Sequence[tuple[str, str]]


def _pointer(root: Path) -> str:
    try:
        return (root / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


@contextmanager
def _damaged(path: Path) -> Iterator[None]:
    """Turn a library's error on reading ``path`` (sqlite, numpy, FAISS, safetensors...) into
    an :class:`IndexFormatError` that names the file and says what to do."""
    try:
        yield
    except (IndexFormatError, FileNotFoundError):
        raise
    except Exception as e:
        raise IndexFormatError(
            f"index file {path} cannot be read ({type(e).__name__}: {str(e)[:200]}); "
            "rebuild the index with `rag ingest` (or `rag reindex`)"
        ) from e


class Assistant:
    """Question answering over one index folder. Thread-safe for concurrent reads."""

    def __init__(self, data: IndexData, settings: Settings):
        from rag.retrieval.retrievers import HybridRetriever

        self.data = data
        self.settings = settings
        self.retriever: Any = HybridRetriever(data, settings)
        if settings.milvus_uri and data.folder is not None:  # BM25 + vectors searched and fused in Milvus
            from rag.vectorstore import StoreRetriever, open_store

            self.retriever = StoreRetriever(open_store(settings, data.folder, data), data, data.embedder, settings)
        self._answerer: Any = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, index_dir: str | Path, settings: Settings | None = None) -> Assistant:
        """Open the index at ``index_dir`` (built by ``rag ingest``).

        An ingest publishing a new version at the same moment is harmless: the version
        just replaced is kept until the next one, and a load that still loses the race
        reads ``CURRENT`` again.
        """
        root = Path(index_dir)
        for _ in range(3):  # an ingest that publishes (twice) while we read: read the new version
            seen = _pointer(root)
            try:
                return cls._load(index_dir, settings)
            except (FileNotFoundError, IndexFormatError):
                if _pointer(root) == seen:
                    raise
        return cls._load(index_dir, settings)

    @classmethod
    def _load(cls, index_dir: str | Path, settings: Settings | None = None) -> Assistant:
        from rag.retrieval.dense import DenseIndex
        from rag.retrieval.lexical import BM25Index

        settings = settings or Settings.from_env()
        root = Path(index_dir)
        live = current_version(root) if root.is_dir() else None
        if live is None:
            raise IndexFormatError(f"no index at {root}: build one with `rag ingest PATH... --index {root}`")
        manifest = read_manifest(live)
        built_with = manifest.get("embedding_model")
        if settings.embedding_model and settings.embedding_model != built_with:
            raise IndexFormatError(
                f"index {root} was built with embedding model {built_with!r} but {settings.embedding_model!r} "
                f"was asked for; rebuild with `rag ingest ... --embedding-model {settings.embedding_model}` "
                "or unset RAG_EMBEDDING_MODEL"
            )
        settings = settings.replace(embedding_model=built_with)
        try:
            verify(live, manifest.get("integrity"), settings.verify_index)
        except IndexFormatError:
            if current_version(root) != live:  # replaced by an ingest while we read it: read again
                raise FileNotFoundError(live) from None
            raise
        with _damaged(live / "records.sqlite"):
            files, documents, chunks = open_records(live)
        with _damaged(live / "bm25"):
            bm25 = BM25Index.load(live / "bm25")
        if bm25.n_docs != len(chunks):
            raise IndexFormatError(f"index {root} is inconsistent: {bm25.n_docs} BM25 rows for {len(chunks)} chunks")
        dense = embedder = None
        if (live / "dense" / "dense.faiss").is_file():
            from rag.embed import load_embedder

            with _damaged(live / "dense"):
                dense = DenseIndex.load(live / "dense", manifest.get("dense"))
            with _damaged(live / "embedder"):
                embedder = load_embedder(str(built_with), live)
            if dense.index.ntotal != len(chunks):
                raise IndexFormatError(
                    f"index {root} is inconsistent: {dense.index.ntotal} vectors, {len(chunks)} chunks"
                )
            dim = manifest.get("embedder", {}).get("dim")
            if embedder is not None and dim and embedder.dim != dim:
                raise IndexFormatError(
                    f"embedder {built_with!r} gives {embedder.dim}-d vectors; the index holds {dim}-d"
                )
        data = IndexData(manifest, files, documents, chunks, bm25, dense, embedder, live)
        return cls(data, settings)

    @classmethod
    def build(cls, paths: Iterable[str | Path], index_dir: str | Path, settings: Settings | None = None) -> Assistant:
        """Ingest ``paths`` into ``index_dir`` and open it."""
        from rag.build import build_index

        settings = settings or Settings.from_env()
        build_index(paths, index_dir, settings)
        return cls.load(index_dir, settings)

    def warm_up(self) -> float:
        """Load what the first question would otherwise pay for (jieba dictionaries, the
        part-of-speech tagger, the embedder); returns the milliseconds it took."""
        import time

        from rag import zh

        t0 = time.perf_counter()
        title = next((d.title for d in self.data.documents if d.title), "")
        q = f"{title}有多少？" if title else "有多少？"
        zh.pos_words(title or "文档")  # the tagger the answerer needs for names and places
        if self.settings.llm:
            self.retrieve(q)  # no paid LLM call just to warm up
        else:
            self.ask(q)
        return (time.perf_counter() - t0) * 1000

    def term_idf(self, term: str) -> float:
        """How rare ``term`` is in this index: BM25's inverse document frequency over chunks
        (Robertson & Zaragoza 2009), from the stored term statistics; unseen terms are rarest."""
        cache = self.__dict__.setdefault("_idf_cache", {})
        if term in cache:
            return float(cache[term])
        import math

        bm25 = self.data.bm25
        model, n = bm25.model, max(1, int(bm25.n_docs))
        indptr = model.scores["indptr"]
        total = len(model.scores["indices"])

        def df(token: str) -> int:
            t = model.vocab_dict.get(token)
            if t is None:
                return 0
            end = indptr[t + 1] if t + 1 < len(indptr) else total
            return int(end - indptr[t])

        d = df(term)
        if d == 0:
            parts = [x for x in bm25.tokenizer.tokens(term) if x in model.vocab_dict]
            d = min((df(x) for x in parts), default=0)
        value = math.log(1 + (n - d + 0.5) / (d + 0.5))
        if len(cache) < 100_000:
            cache[term] = value
        return value

    # ------------------------------------------------------------------ contents
    def documents(self) -> list[Document]:
        """Every indexed document (article), in index order."""
        return list(self.data.documents)

    def passages(self) -> list[Passage]:
        """Every indexed passage (chunk), score 0."""
        return [Passage.from_chunk(c, 0.0) for c in self.data.chunks]

    def chunks(self) -> list[Chunk]:
        return list(self.data.chunks)

    def source_text(self, source: str) -> str:
        """The decoded text of an indexed file; passage offsets point into it."""
        from rag.records_db import file_text

        if source not in self.data.files:
            raise KeyError(source)
        rec = self.data.files[source]
        if rec.text:
            return rec.text
        own = getattr(self.data.chunks, "file_text", None)  # the connection opened at load
        if own is not None:
            return str(own(source))
        return file_text(self.data.folder, source) if self.data.folder is not None else ""

    # ------------------------------------------------------------------ retrieval
    def retrieve(
        self,
        question: str,
        k: int | None = None,
        *,
        sources: Iterable[str] | None = None,
        titles: Iterable[str] | None = None,
    ) -> list[Passage]:
        """The ``k`` best passages for ``question``, best first (hybrid BM25 + dense)."""
        q = self._check_question(question)
        if k is None:
            k = self.settings.top_k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
            raise ValueError(f"k must be a whole number from 1 to 100, got {k!r}")
        return self.retriever.search(q, k, sources=sources, titles=titles)

    def as_retriever(self, k: int | None = None) -> Any:
        """This assistant's retrieval as a LangChain ``BaseRetriever``."""
        from rag.retrieval.langchain import AssistantRetriever

        return AssistantRetriever(assistant=self, k=k or self.settings.top_k)

    # ------------------------------------------------------------------ answers
    def _check_question(self, question: str) -> str:
        if not isinstance(question, str):
            raise TypeError(f"question must be a str, got {type(question).__name__}")
        q = question.strip()
        if not q:
            raise ValueError("question is empty: ask something about the documents, e.g. '2023年的营业收入是多少？'")
        return q[: self.settings.max_question_chars]

    def ask(self, question: str, history: History = (), **filters: Any) -> Answer:
        """Answer ``question`` with ``[n]`` citations, or refuse when the documents don't say."""
        from rag.answer.pipeline import answer_question

        q = self._check_question(question)
        return answer_question(self, q, history, **filters)

    def stream(self, question: str, history: History = (), **filters: Any) -> Iterator[str | Answer]:
        """Like :meth:`ask`, yielding text pieces as they come, then the final :class:`Answer`."""
        from rag.answer.pipeline import stream_answer

        q = self._check_question(question)
        yield from stream_answer(self, q, history, **filters)
