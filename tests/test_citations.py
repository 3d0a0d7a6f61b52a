"""Citation markers: parsing, support scores and repair (rag.answer.citations)."""

from __future__ import annotations

import pytest

from rag.answer.citations import (
    SUPPORT_THRESHOLD,
    find_markers,
    parse_citations,
    repair_citations,
    split_sentences,
    strip_markers,
    support,
)
from rag.records import Passage


def _p(pid: str, text: str, title: str = "铜仁市总工会2025年工作综述") -> Passage:
    return Passage(id=pid, text=text, source=f"{pid}.txt", title=title, heading_path=(), score=1.0)


P1 = _p(
    "p1", "开展理论宣传宣讲280余场。发放职工医疗互助金3234万元，惠及职工1.2万人次。疗休养直接拉动文旅消费超3600万元。"
)
P2 = _p("p2", "组织劳动技能竞赛覆盖职工2.4万人次。大国工匠实现零的突破。")
P3 = _p("p3", "全年新建职工之家120个，新增建会企业560家，新发展会员1.8万人。")
PASSAGES = [P1, P2, P3]


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("金额3234万元[1]。", [1]),
        ("见[1][2]。", [1, 2]),
        ("见[1,2]与[3, 4]。", [1, 2, 3, 4]),
        ("见[1，2]和[1、3]。", [1, 2, 3]),
        ("见[1-3]。", [1, 2, 3]),
        ("见[2–4]。", [2, 3, 4]),
        ("全角［1］与【2】。", [1, 2]),
        ("全角数字［１］。", [1]),
        ("带来源【3†source】。", [3]),
        ("先[3]后[1]再[3]。", [3, 1]),
        ("没有标记。", []),
        ("注释[注]与【2024年】不是标记。", []),
    ],
)
def test_parse_citations(text: str, expected: list[int]) -> None:
    assert parse_citations(text) == expected


def test_find_markers_spans_and_absurd_ranges() -> None:
    text = "甲[1]乙[2-1000]"
    markers = find_markers(text)
    assert [text[m.start : m.end] for m in markers] == ["[1]", "[2-1000]"]
    assert markers[1].numbers == (2, 1000)  # not expanded into a thousand numbers


def test_strip_markers() -> None:
    assert strip_markers("发放3234万元[1][2]，覆盖2.4万人次【3】。") == "发放3234万元，覆盖2.4万人次。"


def test_split_sentences_keeps_markers_after_terminator() -> None:
    assert split_sentences("第一句。[1] 第二句！第三句？\n第四句；第五句") == [
        "第一句。[1]",
        "第二句！",
        "第三句？",
        "第四句；",
        "第五句",
    ]


# --- support ---------------------------------------------------------------------------


def test_support_returns_exact_span_and_prefers_matching_numbers() -> None:
    score, span = support("医疗互助金发放了3234万元", P1.text)
    assert score >= 0.8
    assert span == "发放职工医疗互助金3234万元，惠及职工1.2万人次。"
    assert span in P1.text


def test_support_numbers_are_strong_evidence() -> None:
    right, _ = support("技能竞赛覆盖2.4万人次", P2.text)
    wrong, _ = support("技能竞赛覆盖3.5万人次", P2.text)
    assert right >= 0.7
    assert wrong < SUPPORT_THRESHOLD
    # A number that only appears as part of a longer one is not a match.
    partial, _ = support("发放互助金323万元", P1.text)
    full, _ = support("发放互助金3234万元", P1.text)
    assert partial < full


def test_support_is_bounded_and_deterministic() -> None:
    for sentence in ["", "。", "工会", "完全无关的火星探测任务进展顺利", P1.text]:
        a = support(sentence, P1.text)
        assert a == support(sentence, P1.text)
        assert 0.0 <= a[0] <= 1.0
        assert a[1] in P1.text
    assert support("完全无关的火星探测任务进展顺利", P1.text)[0] < SUPPORT_THRESHOLD


def test_support_can_join_two_adjacent_sentences() -> None:
    score, span = support("宣讲280余场，发放互助金3234万元", P1.text)
    assert score > 0.8
    assert span.startswith("开展理论宣传宣讲280余场。") and "3234万元" in span


# --- repair ----------------------------------------------------------------------------


def test_marker_pointing_to_no_passage_is_removed() -> None:
    text, cites, bad = repair_citations("发放职工医疗互助金3234万元[1][9]。", PASSAGES)
    assert text == "发放职工医疗互助金3234万元[1]。"
    assert [c.n for c in cites] == [1]
    assert cites[0].passage is P1
    assert bad == []


def test_invalid_marker_on_supported_sentence_is_replaced_by_best_passage() -> None:
    text, cites, bad = repair_citations("技能竞赛覆盖职工2.4万人次[9]。", PASSAGES)
    assert text == "技能竞赛覆盖职工2.4万人次[1]。"
    assert cites[0].passage is P2
    assert cites[0].quote == "组织劳动技能竞赛覆盖职工2.4万人次。"
    assert bad == []


def test_unmarked_sentence_gets_the_supporting_passage() -> None:
    text, cites, bad = repair_citations("全市新建职工之家120个。发放互助金3234万元[1]。", PASSAGES)
    assert text == "全市新建职工之家120个[1]。发放互助金3234万元[2]。"
    assert [c.passage for c in cites] == [P3, P1]
    assert cites[0].quote == "全年新建职工之家120个，新增建会企业560家，新发展会员1.8万人。"
    assert bad == []


def test_unsupported_sentence_is_flagged_and_left_unmarked() -> None:
    answer = "发放职工医疗互助金3234万元[1]。此外，工会还将在火星建设职工疗养基地。"
    text, cites, bad = repair_citations(answer, PASSAGES)
    assert text == answer
    assert bad == ["此外，工会还将在火星建设职工疗养基地。"]
    assert len(cites) == 1


def test_wrong_number_is_not_supported() -> None:
    _, cites, bad = repair_citations("新建职工之家999个。", PASSAGES)
    assert cites == []
    assert bad == ["新建职工之家999个。"]


def test_markers_renumbered_by_first_appearance_and_normalised() -> None:
    answer = "新建职工之家120个【3】。技能竞赛覆盖2.4万人次［2］[3]。发放3234万元[1,1]。"
    text, cites, bad = repair_citations(answer, PASSAGES)
    assert text == "新建职工之家120个[1]。技能竞赛覆盖2.4万人次[2][1]。发放3234万元[3]。"
    assert [(c.n, c.passage.id) for c in cites] == [(1, "p3"), (2, "p2"), (3, "p1")]
    assert parse_citations(text) == [1, 2, 3]
    assert bad == []


def test_marker_after_terminator_stays_with_its_sentence() -> None:
    text, cites, _ = repair_citations("发放3234万元。[3] 覆盖2.4万人次。[2]", PASSAGES)
    assert text == "发放3234万元。[1] 覆盖2.4万人次。[2]"
    assert [c.passage.id for c in cites] == ["p3", "p2"]  # the model's choice is kept


def test_quote_is_the_best_supporting_sentence_of_the_passage() -> None:
    _, cites, _ = repair_citations("疗休养拉动文旅消费超3600万元[1]。", PASSAGES)
    assert cites[0].quote == "疗休养直接拉动文旅消费超3600万元。"
    for c in cites:
        assert c.quote in c.passage.text


def test_statement_of_absence_is_not_flagged() -> None:
    _, _, bad = repair_citations("资料中未提及2024年的数据。", PASSAGES)
    assert bad == []


def test_edge_cases() -> None:
    assert repair_citations("", PASSAGES) == ("", [], [])
    text, cites, bad = repair_citations("发放3234万元[1]。", [])
    assert text == "发放3234万元。" and cites == [] and bad == ["发放3234万元。"]
    # Very short fragments are neither cited nor flagged.
    assert repair_citations("是的。", PASSAGES) == ("是的。", [], [])
