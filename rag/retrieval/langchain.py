"""The assistant's retriever for LangChain chains: ``Assistant.as_retriever()``.

>>> docs = assistant.as_retriever().invoke("拉萨全市建立了多少个基层工会组织？")   # doctest: +SKIP
>>> docs[0].metadata["title"]                                                    # doctest: +SKIP
'拉萨市工会事业高质量发展综述'
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever


class AssistantRetriever(BaseRetriever):
    """A LangChain ``BaseRetriever`` over an :class:`rag.Assistant`'s hybrid search."""

    assistant: Any
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        return [
            LCDocument(
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
            for p in self.assistant.retrieve(query, k=self.k)
        ]
