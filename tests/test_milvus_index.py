"""An index whose search runs in Milvus (``RAG_MILVUS_URI``), end to end: ingest fills the
collection, ``Assistant`` retrieves and answers through it, an update sends only the
difference, a removal deletes the file's rows. Milvus Lite on a ``.db`` file."""

from __future__ import annotations

import pytest

from rag import Assistant
from rag.build import build_index
from rag.settings import Settings

pytestmark = pytest.mark.slow

DOCS = {
    "report.txt": "华信精密科技股份有限公司2023年年度报告\n\n一、经营情况\n\n报告期内，公司实现营业收入12.8亿元，同比增长15.2%。"
    "研发投入1.1亿元，占营业收入的8.6%。\n\n二、员工\n\n公司共有员工2360人，其中研发人员410人。\n",
    "bulletin.txt": "2023年临江市国民经济和社会发展统计公报\n\n一、综合\n\n全市地区生产总值865.3亿元，比上年增长5.2%。"
    "年末常住人口182.6万人。\n\n二、农业\n\n全年粮食产量41.2万吨。\n",
    "wiki.txt": "中国大鲵\n\n中国大鲵，俗称娃娃鱼，是现存最大的两栖动物，体长可达1.8米。"
    "它生活在山区清澈的溪流中，以鱼、蛙和虾为食。\n",
}


def _write(folder, names):
    folder.mkdir(exist_ok=True)
    for n in names:
        (folder / n).write_text(DOCS[n], encoding="utf-8")
    return [folder / n for n in names]


def test_ingest_ask_update_remove_through_milvus_lite(tmp_path):
    from milvus_lite.server_manager import server_manager_instance

    from rag.vectorstore import StoreRetriever

    settings = Settings(milvus_uri=str(tmp_path / "milvus.db"), fusion_fit=False)
    index = tmp_path / "index"
    try:
        report = build_index(_write(tmp_path / "docs", ["report.txt", "bulletin.txt"]), index, settings)
        assert report.written and not report.warnings, report.warnings
        a = Assistant.load(index, settings)
        assert isinstance(a.retriever, StoreRetriever)
        assert a.retriever.store.count() == len(a.data.chunks)
        top = a.retrieve("华信精密的研发人员有多少人？", k=2)
        assert top[0].source == "report.txt" and "410人" in top[0].text
        answer = a.ask("2023年临江市粮食产量是多少？")
        assert "41.2万吨" in answer.text and answer.citations
        n_before = len(a.data.chunks)
        a.retriever.store.close()

        report = build_index(_write(tmp_path / "docs", ["wiki.txt"]), index, settings)
        assert report.added == ["wiki.txt"] and not report.warnings, report.warnings
        a = Assistant.load(index, settings)
        assert a.retriever.store.count() == len(a.data.chunks) > n_before
        assert a.retrieve("娃娃鱼体长多少？", k=1)[0].source == "wiki.txt"
        a.retriever.store.close()

        build_index([], index, settings, remove=["report.txt"])
        a = Assistant.load(index, settings)
        assert a.retriever.store.count() == len(a.data.chunks)
        assert all(p.source != "report.txt" for p in a.retrieve("营业收入 研发投入", k=5))
        a.retriever.store.close()
    finally:
        server_manager_instance.release_server(settings.milvus_uri)


def test_a_milvus_that_cannot_be_reached_leaves_the_local_index_published(tmp_path):
    settings = Settings(milvus_uri="http://127.0.0.1:9", fusion_fit=False)  # nothing listens on port 9
    report = build_index(_write(tmp_path / "docs", ["wiki.txt"]), tmp_path / "index", settings)
    assert report.written
    assert any("Milvus" in w and "not updated" in w for w in report.warnings)
    a = Assistant.load(tmp_path / "index", Settings(fusion_fit=False))  # the in-folder search still answers
    assert a.retrieve("娃娃鱼体长多少？", k=1)[0].source == "wiki.txt"
