"""The answerer role: one protocol, one core method.

Every answerer -- the offline :class:`rag.answer.extractive.ExtractiveAnswerer` and the
:class:`rag.answer.llm.LLMAnswerer` -- turns a question and its retrieved passages (best
first) into an :class:`rag.records.Answer` whose ``[n]`` markers index its citations, or a
refusal. ``tests/test_answerer_contract.py`` checks both against this contract.

>>> from rag.answer.extractive import ExtractiveAnswerer
>>> isinstance(ExtractiveAnswerer(), Answerer)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rag.records import Answer, Passage

__all__ = ["Answerer"]


@runtime_checkable
class Answerer(Protocol):
    def answer(self, question: str, passages: Sequence[Passage], history: Sequence[tuple[str, str]] = ()) -> Answer:
        """The answer to ``question`` from ``passages`` (best first), with ``[n]`` citations, or a refusal."""
        ...
