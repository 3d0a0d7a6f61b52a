"""LangChain's own standard retriever tests (``langchain-tests``) over ``Assistant.as_retriever()``.

``RetrieversIntegrationTests`` checks the conventions every LangChain retriever keeps:
``k`` in the constructor, ``invoke(query, k=…)`` per call, ``invoke``/``ainvoke`` returning
``Document`` lists, and that no standard test was overridden. The assistant is built once
for the module from a tiny corpus of several genres written here (fusion fit off, so the
build takes a second or two).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.assistant import Assistant
from rag.retrieval.langchain import AssistantRetriever
from rag.settings import Settings

GENRES = {
    "stat_bulletin.txt": """青岩县2024年国民经济和社会发展统计公报

一、综合

全年全县地区生产总值286.4亿元，比上年增长5.6%。其中，第一产业增加值31.2亿元，第二产业增加值102.7亿元，第三产业增加值152.5亿元。

二、农业

全年粮食种植面积42.6万亩，粮食总产量17.8万吨，比上年增长2.1%。

三、人口

年末全县常住人口48.3万人，其中城镇人口27.9万人，城镇化率57.8%。
""",
    "manual_kettle.txt": """云舟牌ZK-17电热水壶使用说明书

一、安全须知

请勿在无水状态下通电。壶内水量不得超过最高水位线1.7升。

二、使用方法

加水后将壶身放在底座上，按下开关，指示灯亮起，约5分钟后水开自动断电。

三、清洁保养

每月用柠檬酸溶液除垢一次，清洁前务必拔下电源插头。
""",
    "ency_river.txt": """白沙河

白沙河是青岩县境内最长的河流，全长86公里，流域面积1240平方公里，发源于北部的鹰嘴山，向南注入清澜湖。

河流沿岸有国家级湿地公园一处，栖息鸟类132种，其中国家一级保护鸟类4种。
""",
    "reg_parking.txt": """青岩县机动车停放管理办法

第一条 为规范机动车停放秩序，制定本办法。

第二条 机动车应当在停车场或者依法施划的停车泊位内停放。

第三条 违反本办法第二条规定的，由公安机关交通管理部门处二百元罚款。
""",
    "news_fair.txt": """青岩县举办2024年秋季招聘会

10月12日，青岩县2024年秋季招聘会在县体育馆举行，共有186家企业参会，提供就业岗位4300余个，现场达成就业意向1260人。
""",
}


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    docs = tmp_path_factory.mktemp("lc_docs")
    for name, text in GENRES.items():
        (docs / name).write_text(text, encoding="utf-8")
    return Assistant.build([docs], tmp_path_factory.mktemp("lc_index"), Settings(fusion_fit=False))


class TestAssistantRetrieverStandard(RetrieversIntegrationTests):
    # the standard async test is a bare coroutine: anyio's pytest plugin (installed with
    # anyio) runs it on asyncio, with no project-wide asyncio mode
    pytestmark = pytest.mark.anyio
    assistant: Any = None

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _assistant(cls, assistant: Assistant) -> None:
        cls.assistant = assistant  # the properties below are read inside the tests

    @property
    def retriever_constructor(self) -> type[AssistantRetriever]:
        return AssistantRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"assistant": self.assistant, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "青岩县2024年地区生产总值是多少？"


# --- beyond the standard suite: the kwargs reach the search, wrong ones are refused ---------


def test_invoke_k_overrides_the_constructor_and_ranks_like_retrieve(assistant: Assistant) -> None:
    r = assistant.as_retriever(k=4)
    q = "电热水壶多久除垢一次？"
    docs = r.invoke(q, k=2)
    assert [d.id for d in docs] == [p.id for p in assistant.retrieve(q, k=2)]
    assert docs[0].metadata["source"] == "manual_kettle.txt"
    assert len(r.invoke(q)) == 4  # the constructor's k again: one call's k does not stick


def test_ainvoke_passes_k_and_filters(assistant: Assistant) -> None:
    r = assistant.as_retriever(k=5)
    docs = asyncio.run(r.ainvoke("罚款多少？", k=1, sources=["reg_parking.txt"]))
    assert len(docs) == 1 and docs[0].metadata["source"] == "reg_parking.txt"


def test_unknown_keyword_and_bad_k_are_clear_errors(assistant: Assistant) -> None:
    r = assistant.as_retriever()
    with pytest.raises(TypeError, match="top_n"):
        r.invoke("白沙河全长多少公里？", top_n=3)
    with pytest.raises(ValueError, match="k must be"):
        r.invoke("白沙河全长多少公里？", k=0)


def test_documents_carry_the_passage(assistant: Assistant) -> None:
    doc = assistant.as_retriever(k=1).invoke("白沙河全长多少公里？")[0]
    assert doc.metadata["source"] == "ency_river.txt" and "86公里" in doc.page_content
    text = assistant.source_text(doc.metadata["source"])
    assert doc.page_content.strip()[:10] in text and doc.metadata["end"] > doc.metadata["start"]
