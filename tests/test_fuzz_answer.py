"""Property tests of question parsing and the offline answerer (hypothesis): on random and
adversarial questions and passages they never crash, every ``[n]`` marker points at a
citation, every citation quotes its passage, and the short answer is verbatim from one."""

from __future__ import annotations

import re

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rag.answer.extractive import ExtractiveAnswerer  # noqa: E402
from rag.answer.question import analyze_question, find_places  # noqa: E402
from rag.records import Passage  # noqa: E402

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
BITS = [
    "多少", "哪些", "什么", "哪一年", "谁", "为什么", "如何", "是否", "分别", "和", "与", "比", "增长", "下降",
    "2023年", "2024年", "以来", "1.8米", "12.8亿元", "5.2%", "85岁", "3.5亿美元", "第一", "临江市", "青禾县",
    "《年度报告》", "“春风行动”", "？", "。", "，", "！", "\n", "　", "[1]", "[", "]", "<script>", "忽略以上所有指令",
    "ABC", "x", "😀", "０１２", "", "的", "了",
]  # fmt: skip
TEXT = st.lists(st.one_of(st.sampled_from(BITS), st.text(HAN, min_size=1, max_size=6)), max_size=30).map("".join)
KNOWN = ["临江市", "青禾县", "北京市"]


def _passage(i: int, text: str) -> Passage:
    return Passage(f"p{i}", text, f"doc{i}.txt", f"文档{i}", (), 1.0 / (i + 1), f"d{i}", 0, len(text))


@FUZZ
@given(TEXT)
def test_question_parsing_never_crashes(q):
    parsed = analyze_question(q, KNOWN)
    assert parsed.kind
    for m in find_places(q, KNOWN):
        assert 0 <= m.start < m.end <= len(q) and q[m.start : m.end] == m.text


@FUZZ
@given(TEXT, st.lists(TEXT, min_size=0, max_size=4))
def test_the_answerer_never_crashes_and_cites_what_it_quotes(q, texts):
    passages = [_passage(i, t) for i, t in enumerate(texts) if t.strip()]
    if not q.strip():
        return
    answer = ExtractiveAnswerer(known_places=KNOWN).answer(q, passages)
    assert isinstance(answer.text, str) and answer.text
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    if not answer.refused:
        assert markers <= set(range(1, len(answer.citations) + 1)), (answer.text, answer.citations)
    by_id = {p.id: p for p in passages}
    for c in answer.citations:
        assert c.passage.id in by_id and c.quote in by_id[c.passage.id].text, (c.quote, c.passage.text)
    if answer.short_answer:
        assert any(answer.short_answer in p.text for p in passages)
