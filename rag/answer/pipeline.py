"""From a question to an answer: resolve the follow-up, retrieve, check, answer.

>>> from rag import Assistant                                           # doctest: +SKIP
>>> a = Assistant.load("index")                                         # doctest: +SKIP
>>> answer_question(a, "那2024年呢？", [("2025年铜仁市开展了多少场宣讲？", "…")]).resolved_question  # doctest: +SKIP
'2024年铜仁市开展了多少场宣讲？'

Steps: ``resolve_followup`` (or ``LLMAnswerer.rewrite`` when ``Settings.llm`` is set)
-> ``assistant.retrieve(resolved, k=top_k)``, plus one retrieval per side of a
comparison ("济南和许昌…分别") -> ``refusal.judge`` on the passages -> the extractive
answer, or the LLM's when one is configured.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from rag.records import Answer, Citation, Passage

__all__ = [
    "answer_question",
    "known_places",
    "merge_answers",
    "resolve",
    "retrieve_for",
    "split_questions",
    "stream_answer",
]

log = logging.getLogger(__name__)

# Extra passages each side of a comparison may add to the main retrieval.
_PER_SIDE = 3


def known_places(assistant: Any) -> list[str]:
    """The places the index's documents are about (``meta["place"]``) and the place names
    its text writes (the tokenizer's corpus words that end in an administrative suffix)."""
    cached = getattr(assistant, "_known_places_cache", None)
    if cached is not None:
        return list(cached)
    out: dict[str, None] = {}
    data = getattr(assistant, "data", None)
    for d in getattr(data, "documents", ()) or ():
        meta = getattr(d, "meta", {}) or {}
        v = str(meta.get("place", "")).strip()
        if v:
            out.setdefault(v, None)
    # names before an administrative suffix that the corpus itself writes (found at ingest)
    tk = getattr(getattr(data, "bm25", None), "tokenizer", None)
    for w in getattr(tk, "user_words", ()) or ():
        if re.search(r"(?:省|自治区|市|自治州|州|县|区|镇|乡)$", w) and len(w) >= 3:
            out.setdefault(w, None)
    places = list(out)
    with contextlib.suppress(AttributeError):  # a frozen or slotted stand-in keeps no cache
        assistant._known_places_cache = tuple(places)
    return places


def _llm(assistant: Any) -> Any:
    """The assistant's LLMAnswerer, built once."""
    from rag.answer.llm import LLMAnswerer

    current = getattr(assistant, "_answerer", None)
    if isinstance(current, LLMAnswerer) and current.settings == assistant.settings:
        return current
    lock = getattr(assistant, "_lock", None)
    if lock is None:
        return LLMAnswerer(assistant.settings)
    with lock:
        current = getattr(assistant, "_answerer", None)
        if not (isinstance(current, LLMAnswerer) and current.settings == assistant.settings):
            current = LLMAnswerer(assistant.settings)
            assistant._answerer = current
    return current


def resolve(assistant: Any, question: str, history: Sequence[Any]) -> str:
    """``question`` made standalone: by the LLM when configured, else by rules."""
    from rag.answer.followup import history_questions, resolve_followup

    if not history or not history_questions(history):
        return question
    if assistant.settings.llm:
        from rag.answer.llm import LLMError

        try:
            pairs = [(str(t[0]), str(t[1])) for t in history if isinstance(t, (list, tuple)) and len(t) == 2]
            if not pairs:  # chat messages: the user turns, answers unknown
                pairs = [(q, "") for q in history_questions(history)]
            rewritten = _llm(assistant).rewrite(question, pairs)
            if rewritten and rewritten.strip():
                return str(rewritten).strip()[: assistant.settings.max_question_chars]
        except LLMError as e:
            log.warning("follow-up rewrite by the LLM failed, using rules: %s", e)
    return resolve_followup(question, history, known_places=known_places(assistant))[
        : assistant.settings.max_question_chars
    ]


def retrieve_for(assistant: Any, question: str, **filters: Any) -> list[Passage]:
    """``top_k`` passages for ``question``, plus the best few for each side of a comparison."""
    from rag.answer.question import comparison_queries

    k = assistant.settings.top_k
    passages = list(assistant.retrieve(question, k=k, **filters))
    seen = {p.id for p in passages}
    for sub in comparison_queries(question, known_places(assistant)):
        if not sub.strip():
            continue
        added = 0
        for p in assistant.retrieve(sub, k=k, **filters):
            if p.id not in seen and added < _PER_SIDE:
                passages.append(p)
                seen.add(p.id)
                added += 1
    return passages


def _prepare(assistant: Any, question: str, history: Sequence[Any], filters: dict[str, Any]) -> tuple[Any, ...]:
    resolved = resolve(assistant, question, history)
    passages = retrieve_for(assistant, resolved, **filters)
    answerer = _extractive(assistant)
    analysis = answerer.analyze(resolved, passages)
    return resolved, passages, analysis, answerer.verdict(analysis)


def _extractive(assistant: Any) -> Any:
    """The assistant's offline answerer, with the index's term statistics."""
    from rag.answer.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(
        assistant.settings,
        known_places(assistant),
        idf=getattr(assistant, "term_idf", None),
        tokenizer=corpus_tokenizer(assistant),
    )


def corpus_tokenizer(assistant: Any) -> Any:
    """The index's jieba (with the words found in the corpus at ingest), or None."""
    bm25 = getattr(getattr(assistant, "data", None), "bm25", None)
    tk = getattr(bm25, "tokenizer", None)
    return tk.jieba() if tk is not None and hasattr(tk, "jieba") else None


def _finish(ans: Answer, question: str, resolved: str, t0: float) -> Answer:
    return replace(ans, question=question, resolved_question=resolved, latency_ms=(time.perf_counter() - t0) * 1000)


def split_questions(question: str, places: Sequence[str]) -> list[str]:
    """Separate questions asked in one go about different places, one per place.

    >>> split_questions("2023年临江市常住人口有多少？青川县人口是多少？", ["临江市", "青川县"])
    ['2023年临江市常住人口有多少？', '青川县人口是多少？']

    A second question without a place of its own ("…录入？建制率是多少？") stays with the first.
    """
    parts = [p for p in re.findall(r"[^？?]+[？?]?", question) if p.strip()]
    if len(parts) < 2:
        return [question]
    stems = {re.sub(r"(省|市|区|县|州)$", "", p) or p for p in places if p}
    named = [{s for s in stems if len(s) >= 2 and s in part} for part in parts]
    if all(named) and len({frozenset(n) for n in named}) == len(parts):
        return [p.strip() for p in parts]
    return [question]


def _shift_markers(text: str, offset: int) -> str:
    def shifted(m: re.Match[str]) -> str:
        return f"[{int(m.group(1)) + offset}]"

    return re.sub(r"\[(\d+)\]", shifted, text)


def merge_answers(question: str, answers: Sequence[Answer]) -> Answer:
    """One answer from the answers to each separate question, citations renumbered in order."""
    texts: list[str] = []
    citations: list[Citation] = []
    passages: dict[str, Passage] = {}
    for ans in answers:
        offset = len(citations)
        texts.append(_shift_markers(ans.text, offset))
        citations += [replace(c, n=c.n + offset) for c in ans.citations]
        for p in ans.passages:
            passages.setdefault(p.id, p)
    return Answer(
        question,
        "".join(texts),
        tuple(citations),
        refused=all(a.refused for a in answers),
        passages=tuple(passages.values()),
    )


def answer_question(assistant: Any, question: str, history: Sequence[Any] = (), **filters: Any) -> Answer:
    """Answer ``question`` (a follow-up of ``history`` perhaps) with ``[n]`` citations, or refuse.

    ``filters`` go to ``assistant.retrieve`` (``sources=``, ``titles=``). Separate questions
    about different places asked in one go are answered one by one and joined.
    """
    from rag.answer.refusal import refusal_answer

    t0 = time.perf_counter()
    if not assistant.settings.llm:
        parts = split_questions(resolve(assistant, question, history), known_places(assistant))
        if len(parts) > 1:
            merged = merge_answers(question, [answer_question(assistant, p, (), **filters) for p in parts])
            return _finish(merged, question, "".join(parts), t0)
    resolved, passages, analysis, verdict = _prepare(assistant, question, history, filters)
    if verdict.refuse:
        return _finish(refusal_answer(question, passages, verdict), question, resolved, t0)
    if assistant.settings.llm:
        from rag.answer.llm import LLMError

        try:
            return _finish(_llm(assistant).answer(resolved, passages, history), question, resolved, t0)
        except LLMError as e:
            log.warning("LLM answer failed, answering extractively: %s", e)
    ex = _extractive(assistant)
    return _finish(ex.answer(resolved, passages, history, analysis=analysis), question, resolved, t0)


def stream_answer(assistant: Any, question: str, history: Sequence[Any] = (), **filters: Any) -> Iterator[str | Answer]:
    """Like :func:`answer_question`, yielding text pieces (LLM tokens) and then the final ``Answer``."""
    from rag.answer.refusal import refusal_answer

    t0 = time.perf_counter()
    if (
        not assistant.settings.llm
        and len(split_questions(resolve(assistant, question, history), known_places(assistant))) > 1
    ):
        ans = answer_question(assistant, question, history, **filters)
        yield ans.text
        yield ans
        return
    resolved, passages, analysis, verdict = _prepare(assistant, question, history, filters)
    if verdict.refuse:
        ans = _finish(refusal_answer(question, passages, verdict), question, resolved, t0)
        yield ans.text
        yield ans
        return
    if assistant.settings.llm:
        from rag.answer.llm import LLMError

        sent = False
        try:
            for item in _llm(assistant).stream(resolved, passages, history):
                if isinstance(item, Answer):
                    yield _finish(item, question, resolved, t0)
                    return
                sent = True
                yield item
            return
        except LLMError as e:
            if sent:
                raise
            log.warning("LLM stream failed, answering extractively: %s", e)
    ex = _extractive(assistant)
    ans = _finish(ex.answer(resolved, passages, history, analysis=analysis), question, resolved, t0)
    yield ans.text
    yield ans
