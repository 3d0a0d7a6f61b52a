"""Question answering with verified citations over Chinese documents.

>>> from rag import Assistant                       # doctest: +SKIP
>>> a = Assistant.load("index")                     # doctest: +SKIP
>>> a.ask("2025年铜仁市发放了多少职工医疗互助金？").text   # doctest: +SKIP
"""

from rag.assistant import Assistant
from rag.records import Answer, Chunk, Citation, Document, Passage
from rag.settings import Settings
from rag.store import IndexFormatError

__all__ = ["Answer", "Assistant", "Chunk", "Citation", "Document", "IndexFormatError", "Passage", "Settings"]
