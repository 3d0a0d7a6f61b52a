"""End to end on the real seeds with the default settings: ingest, load, retrieve, ask."""

from __future__ import annotations

import json
import re

import pytest

from rag import Assistant

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def assistant(full_index) -> Assistant:
    return Assistant.load(full_index)


def test_documents_and_passages(assistant):
    docs = assistant.documents()
    assert len(docs) == 39
    assert sum(d.n_chunks for d in docs) == len(assistant.passages())
    ankang = [d for d in docs if d.source.startswith("003")]
    assert all(d.meta["place"] == "安康市" for d in ankang)
    p = assistant.passages()[0]
    assert p.text and p.source and p.title and p.id


def test_default_index_has_trained_dense_vectors(assistant):
    assert assistant.data.dense is not None and assistant.data.embedder is not None
    assert assistant.data.manifest["embedding_model"] == "corpus"


def test_retrieve_finds_the_figure(assistant):
    hits = assistant.retrieve("2025年铜仁市发放了多少职工医疗互助金？", k=5)
    assert len(hits) == 5
    assert any("3234万" in h.text for h in hits)
    assert hits[0].score >= hits[-1].score


def test_ask_answers_with_valid_citations(assistant):
    ans = assistant.ask("拉萨全市建立了多少个基层工会组织？会员总数是多少？")
    assert not ans.refused
    assert "2123" in ans.text and "12.2万" in ans.text
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", ans.text)}
    assert markers and markers == {c.n for c in ans.citations}
    for c in ans.citations:
        assert c.quote in c.passage.text


def test_ask_refuses_what_the_documents_do_not_say(assistant):
    ans = assistant.ask("广州市总工会2023年建成了多少个户外劳动者驿站？")
    assert ans.refused and ans.text.startswith("资料中没有相关信息")
    assert ans.passages  # the closest passages are still listed
    assert not ans.citations


def test_follow_up_carries_the_place(assistant):
    first = assistant.ask("2025年铜仁市工会指导企业签订了多少份综合集体合同？")
    follow = assistant.ask("那2024年呢？", history=[(first.question, first.text)])
    assert "2024" in follow.resolved_question and "铜仁" in follow.resolved_question


def test_stream_yields_text_then_answer(assistant):
    items = list(assistant.stream("曲靖建立了多少个新就业形态劳动者工会组织？"))
    assert isinstance(items[-1], type(assistant.ask("曲靖建立了多少个新就业形态劳动者工会组织？")))
    text = "".join(x for x in items[:-1] if isinstance(x, str))
    assert text and "63" in items[-1].text


def test_empty_question(assistant):
    with pytest.raises(ValueError, match="empty"):
        assistant.ask("  ")


def test_cli_ask_json(full_index, capsys):
    from rag.cli import main

    assert main(["ask", "曲靖建立了多少个新就业形态劳动者工会组织？", "--index", str(full_index), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "63" in out["text"] and out["citations"] and out["citations"][0]["passage"]["title"]
