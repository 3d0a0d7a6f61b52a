"""The whole ask path with an LLM configured: Assistant -> retrieval -> prompt -> HTTP -> citations."""

from __future__ import annotations

import re

from rag import Assistant
from rag.settings import Settings


def _reply(messages):
    """Answer from whichever numbered passage mentions 2123, as a model would."""
    user = messages[-1]["content"]
    for m in re.finditer(r'<passage id="(\d+)">(.*?)</passage>', user, re.S):
        if "2123" in m.group(2):
            return f"拉萨全市建立基层工会组织2123个[{m.group(1)}]，会员总数12.2万人[9]。"
    return "资料中没有相关信息。"


def test_ask_through_an_llm_over_http(bm25_index, server):
    server.reply = _reply
    settings = Settings(llm="openai:test-model", llm_base_url=server.base_url, llm_api_key="test")
    a = Assistant.load(bm25_index, settings)
    ans = a.ask("拉萨全市建立了多少个基层工会组织？")
    assert not ans.refused and "2123" in ans.text
    assert "[9]" not in ans.text  # a marker pointing at no passage is dropped
    assert ans.citations and all(c.quote in c.passage.text for c in ans.citations)
    assert "2123" in ans.citations[0].passage.text
    assert server.requests, "the model was called over HTTP"

    pieces = list(a.stream("拉萨全市建立了多少个基层工会组织？"))
    assert all(isinstance(p, str) for p in pieces[:-1]) and pieces[-1].citations


def test_llm_refusal_keeps_the_closest_passages(bm25_index, server):
    server.reply = "资料中没有相关信息。"
    settings = Settings(llm="openai:test-model", llm_base_url=server.base_url, llm_api_key="test")
    ans = Assistant.load(bm25_index, settings).ask("拉萨全市建立了多少个基层工会组织？")
    assert ans.refused and ans.text.startswith("资料中没有相关信息") and ans.passages
