"""The assistant's retriever for LangChain chains: ``Assistant.as_retriever()``.

>>> r = assistant.as_retriever(k=5)                                  # doctest: +SKIP
>>> docs = r.invoke("2023年临江市的地区生产总值是多少？")                # doctest: +SKIP
>>> len(r.invoke("2023年临江市的地区生产总值是多少？", k=2))            # doctest: +SKIP
2
>>> docs[0].metadata["title"], docs[0].metadata["score"]            # doctest: +SKIP
('临江市2023年国民经济和社会发展统计公报', 0.0231)

It follows LangChain's retriever conventions, checked by ``langchain-tests``'
``RetrieversIntegrationTests`` (``tests/test_langchain_standard.py``):

- ``AssistantRetriever(assistant=a, k=3)`` returns 3 documents per query;
- ``invoke(query, k=1)`` overrides the number for one call: LangChain 1.x passes
  ``invoke``'s extra keyword arguments on to ``_get_relevant_documents`` when its
  signature names more than ``query`` and ``run_manager`` (``BaseRetriever.__init_subclass__``
  sets ``_expects_other_args``), and the same for ``ainvoke`` / ``_aget_relevant_documents``;
- ``sources=[...]`` / ``titles=[...]`` restrict a call to some files or documents, as
  :meth:`rag.Assistant.retrieve` does; any other keyword is an error that names it.

Each ``Document`` carries the passage id (``Document.id``) and its source file, title,
heading path, score and character offsets in ``metadata``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor

# keywords LangChain itself may leave in invoke()'s kwargs; accepted and ignored
_LANGCHAIN_KWARGS = frozenset({"verbose"})


class AssistantRetriever(BaseRetriever):
    """A LangChain ``BaseRetriever`` over an :class:`rag.Assistant`'s hybrid search."""

    assistant: Any
    k: int = 5

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        sources: Iterable[str] | None = None,
        titles: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> list[LCDocument]:
        unknown = sorted(set(kwargs) - _LANGCHAIN_KWARGS)
        if unknown:
            raise TypeError(
                f"AssistantRetriever.invoke got unexpected keyword argument(s) {', '.join(unknown)}; "
                "it takes k, sources and titles"
            )
        n = self.k if k is None else k
        return [_to_document(p) for p in self.assistant.retrieve(query, k=n, sources=sources, titles=titles)]

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        **kwargs: Any,
    ) -> list[LCDocument]:
        # BaseRetriever's default drops the keywords; retrieval is CPU-bound, so a thread
        return await run_in_executor(
            None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(), **kwargs
        )


def _to_document(p: Any) -> LCDocument:
    """A :class:`rag.records.Passage` as a LangChain ``Document``."""
    return LCDocument(
        page_content=p.text,
        id=p.id,
        metadata={
            "id": p.id,
            "source": p.source,
            "title": p.title,
            "heading_path": list(p.heading_path),
            "score": p.score,
            "start": p.start,
            "end": p.end,
        },
    )
