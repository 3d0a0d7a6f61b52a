"""The answerer contract (``rag.answer.base.Answerer``), checked on both answerers.

The offline :class:`~rag.answer.extractive.ExtractiveAnswerer` and the
:class:`~rag.answer.llm.LLMAnswerer` (real LangChain HTTP calls to the scripted local server
of ``tests/llm_server.py``, as in ``tests/test_llm_answerer.py``) must both:

* be ``Answerer`` instances;
* give answers whose ``[n]`` markers all index its citations, numbered ``1..m``;
* quote, in every citation, text that is verbatim in the cited passage;
* refuse with ``refused=True`` and no citations, the text opening with "资料中没有相关信息";
* refuse when given no passages at all;
* ``stream()`` text pieces, then the same final ``Answer`` that ``answer()`` gives.

The scripted model replies what a careful model would for each question (the reply
table below); the extractive answerer decides by itself.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

# LangChain and the OpenAI SDK are slow to import; pay it once at collection.
import langchain.chat_models  # noqa: F401
import langchain_openai  # noqa: F401
import openai.resources  # noqa: F401
import pytest

from rag.answer.base import Answerer
from rag.answer.citations import parse_citations, strip_markers
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.llm import LLMAnswerer
from rag.answer.prompt import REFUSAL
from rag.records import Answer, Passage
from rag.settings import Settings

try:
    from tests.llm_server import ScriptedLLMServer
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from llm_server import ScriptedLLMServer  # type: ignore[no-redef]


def _p(pid: str, text: str, title: str, score: float = 1.0, **meta: str) -> Passage:
    return Passage(id=pid, text=text, source=f"{pid}.txt", title=title, heading_path=(), score=score, meta=meta)


BULLETIN = _p(
    "bulletin",
    "2023年以来，全市经济持续回升向好。2023年全市地区生产总值达到512.3亿元，比上年增长5.2%。全市常住人口286.4万人。",
    "2023年临江市国民经济和社会发展统计公报",
    place="临江市",
    year="2023",
)
REPORT = _p(
    "report",
    "报告期内，公司实现营业收入12.6亿元，同比增长8.3%；归属于上市公司股东的净利润4200万元。公司总股本12.8亿股。",
    "华信精密科技股份有限公司2023年年度报告",
    score=0.8,
    org="华信精密科技股份有限公司",
    year="2023",
)
ENTRY = _p(
    "entry",
    "珠穆朗玛峰是喜马拉雅山脉的主峰，海拔8848.86米，是世界最高峰。它位于中国与尼泊尔的边界上。",
    "珠穆朗玛峰",
    score=0.6,
    place="珠穆朗玛峰",
)
PASSAGES = (BULLETIN, REPORT, ENTRY)

# question -> what the scripted model replies (a careful model: the span, then its sentence, cited)
ANSWERABLE = {
    "2023年临江市地区生产总值是多少？": "512.3亿元[1]。2023年全市地区生产总值达到512.3亿元，比上年增长5.2%[1]。",
    "华信精密科技2023年的净利润是多少？": "4200万元[2]。归属于上市公司股东的净利润4200万元[2]。",
    "珠穆朗玛峰海拔多少米？": "8848.86米[3]。珠穆朗玛峰是喜马拉雅山脉的主峰，海拔8848.86米[3]。",
}
UNANSWERABLE = {
    # a year no passage mentions
    "2019年临江市地区生产总值是多少？": "资料中没有相关信息。资料只有2023年的数据[1]。",
    # a place no passage mentions
    "2023年云岚市地区生产总值是多少？": "资料中没有相关信息。",
}
REPLIES = {**ANSWERABLE, **UNANSWERABLE}
KNOWN_PLACES = ("临江市", "云岚市", "珠穆朗玛峰")


def _scripted(messages: list[dict[str, Any]]) -> str:
    user = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    for question, reply in REPLIES.items():
        if question in user:
            return reply
    return REFUSAL + "。"


@pytest.fixture(params=["extractive", "llm"])
def answerer(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "extractive":
        yield ExtractiveAnswerer(known_places=KNOWN_PLACES)
        return
    server: ScriptedLLMServer = request.getfixturevalue("server")  # tests/conftest.py
    server.reply = _scripted
    server.chunk_chars = 5
    settings = Settings(llm="openai:test-model", llm_base_url=server.base_url, llm_api_key="test")
    yield LLMAnswerer(settings, max_retries=0, timeout=10)


def _check_citations(ans: Answer) -> None:
    """Every [n] indexes a citation, the citations are 1..m and all cited, each quote verbatim."""
    markers = parse_citations(ans.text)
    numbers = [c.n for c in ans.citations]
    assert numbers == list(range(1, len(numbers) + 1)), ans
    assert set(markers) == set(numbers), ans.text
    for c in ans.citations:
        assert c.passage in PASSAGES
        assert c.quote.strip(), c
        assert c.quote in c.passage.text, (c.quote, c.passage.text)


def _check_refusal(ans: Answer) -> None:
    assert ans.refused, ans.text
    assert ans.text.startswith(REFUSAL), ans.text
    assert ans.citations == ()
    assert parse_citations(ans.text) == []
    assert ans.short_answer == ""


def test_is_an_answerer(answerer: Any) -> None:
    assert isinstance(answerer, Answerer)


@pytest.mark.parametrize("question", list(ANSWERABLE))
def test_answer_cites_its_passages_verbatim(answerer: Any, question: str) -> None:
    ans = answerer.answer(question, PASSAGES)
    assert isinstance(ans, Answer)
    assert not ans.refused, ans.text
    assert ans.question == question
    assert ans.citations and "[1]" in ans.text
    _check_citations(ans)
    # the asked figure is there, cited from the passage that writes it
    figure = re.match(r"[^\[]+", ANSWERABLE[question]).group(0)  # type: ignore[union-attr]
    assert figure in ans.text
    assert any(figure in c.quote for c in ans.citations)


@pytest.mark.parametrize("question", list(UNANSWERABLE))
def test_refusal_has_no_citations(answerer: Any, question: str) -> None:
    ans = answerer.answer(question, PASSAGES)
    _check_refusal(ans)
    assert ans.passages == PASSAGES  # the closest passages are still listed


def test_no_passages_is_a_refusal(answerer: Any) -> None:
    ans = answerer.answer("2023年临江市地区生产总值是多少？", [])
    _check_refusal(ans)
    assert ans.passages == ()


def _without_latency(ans: Answer) -> Answer:
    return dataclasses.replace(ans, latency_ms=0.0)


@pytest.mark.parametrize("question", [*ANSWERABLE, *UNANSWERABLE])
def test_stream_yields_text_then_the_same_answer(answerer: Any, question: str) -> None:
    items = list(answerer.stream(question, PASSAGES))
    assert len(items) >= 2
    pieces, final = items[:-1], items[-1]
    assert all(isinstance(x, str) for x in pieces)
    assert isinstance(final, Answer)
    # the pieces are the reply as written; the final text may renumber its markers (an LLM's
    # [2] becomes [1] when it is the first source cited) but says the same
    assert strip_markers("".join(pieces)) == strip_markers(final.text)
    assert _without_latency(final) == _without_latency(answerer.answer(question, PASSAGES))
    if final.refused:
        _check_refusal(final)
    else:
        _check_citations(final)


def test_stream_without_passages_refuses(answerer: Any) -> None:
    items = list(answerer.stream("2023年临江市地区生产总值是多少？", []))
    final = items[-1]
    assert isinstance(final, Answer)
    _check_refusal(final)
    assert "".join(str(x) for x in items[:-1]) == final.text
    assert final.passages == ()


WIKI = _p(
    "wiki",
    "珠穆朗玛峰是喜马拉雅山脉的主峰，海拔8848.86米[3]，是世界最高峰。它位于中国与尼泊尔的边界上[4]。",
    "珠穆朗玛峰",
    place="珠穆朗玛峰",
)


def test_markers_written_in_a_passage_never_dangle(answerer: Any, request: pytest.FixtureRequest) -> None:
    """An encyclopedia passage carries its own footnote markers ([3], [4]); an answer quoting it
    must not pass them on as citations of its own (there is only source [1])."""
    if isinstance(answerer, LLMAnswerer):
        request.getfixturevalue("server").reply = "8848.86米[1]。珠穆朗玛峰海拔8848.86米[3]，是世界最高峰[1]。"
    ans = answerer.answer("珠穆朗玛峰海拔多少米？", [WIKI])
    assert not ans.refused and "8848.86米" in ans.text
    assert set(parse_citations(ans.text)) == {c.n for c in ans.citations} == {1}
