"""Tests of the offline faithfulness judge (rag.judge): claims, checks, ROC-AUC, meta-evaluation.

The hand-made cases use invented sentences, first in the style of the development corpus
(work reports), then of other genres (a company report, a statistics bulletin, an encyclopedia
entry, a regulation); each has a known right answer (supported or not, and why). One test
guards the dev-set ROC-AUC.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from rag.judge import ClaimVerdict, JudgeResult, OfflineJudge, meta_evaluate, roc_auc, split_claims
from rag.judge.numbers import extract_figures

DEV = Path(__file__).resolve().parents[1] / "eval" / "datasets" / "dev_faithfulness.jsonl"

CTX_TRAINING = (
    "队伍建设扎实推进。2024年，市总工会组织工会干部培训12期，覆盖860余人次，"
    "公开招聘工会社会工作者15人。全市新建职工书屋42个、户外劳动者驿站3,120个，投入资金2386万元。"
)
CTX_MODELS = (
    "五年来，全市共涌现出各级先进典型1203个。全国劳模张志强、“全国五一劳动奖章”获得者李红梅和王建国等"
    "先进典型，在平凡岗位上争创一流。"
)


@pytest.fixture(scope="module")
def judge() -> OfflineJudge:
    return OfflineJudge()


def _only(result: JudgeResult) -> ClaimVerdict:
    assert len(result.claims) == 1, result.claims
    return result.claims[0]


# ---------------------------------------------------------------------------- claims


def test_split_claims_sentences_clauses_and_citations() -> None:
    claims = split_claims("市总工会组织培训12期[1]，覆盖860余人次[2][3]；公开招聘社工15人，并全部派驻到社区工作。")
    assert claims == ["市总工会组织培训12期", "覆盖860余人次", "公开招聘社工15人", "并全部派驻到社区工作"]
    assert all("[" not in c and "]" not in c for c in claims)


def test_split_claims_enumeration_with_figures_and_short_pieces() -> None:
    claims = split_claims("全国劳模15人、省级劳模121人、市级劳模837人。")
    assert claims == ["全国劳模15人", "省级劳模121人", "市级劳模837人"]
    # a list of plain words stays one claim; a bare frame (据介绍) is dropped
    assert split_claims("据介绍，开展生产、经营、教学等一线岗位竞赛。") == ["开展生产、经营、教学等一线岗位竞赛"]


def test_figures_are_normalised() -> None:
    [a] = extract_figures("投入资金3,234万元")
    [b] = extract_figures("投入资金3234万元")
    assert (a.value, a.unit) == (b.value, b.unit) == (32340000.0, "元")
    assert [(f.value, f.unit) for f in extract_figures("第三届，近两万名，2.4万人次")] == [
        (3.0, "届"),
        (20000.0, "名"),
        (24000.0, "人次"),
    ]
    assert extract_figures("五一劳动奖章") == []  # 五一 is a name, not a figure


# ---------------------------------------------------------------------------- checks


def test_exact_sub_sentence_is_supported_with_span(judge: OfflineJudge) -> None:
    contexts = ["与本题无关的一段资料，讲的是职工运动会。", CTX_TRAINING]
    r = judge.judge("", contexts, "全市新建职工书屋42个。")
    v = _only(r)
    assert v.supported and v.score > 0.9 and r.faithfulness > 0.9
    assert v.context_index == 1
    assert "新建职工书屋42个" in v.span and v.span in contexts[1]
    assert v.reason == ""


def test_changed_number_is_unsupported(judge: OfflineJudge) -> None:
    v = _only(judge.judge("", [CTX_TRAINING], "全市新建职工书屋24个。"))
    assert not v.supported
    assert "24" in v.reason and "数字" in v.reason


def test_number_formats_count_as_the_same_figure(judge: OfflineJudge) -> None:
    ok = _only(judge.judge("", [CTX_TRAINING], "全市新建户外劳动者驿站3120个。"))
    assert ok.supported, ok
    bad = _only(judge.judge("", [CTX_TRAINING], "全市新建户外劳动者驿站3210个。"))
    assert not bad.supported


def test_swapped_place_is_unsupported(judge: OfflineJudge) -> None:
    ctx = ["在评先选优上向一线职工倾斜，12名快递小哥获评湖南省五一劳动奖章。"]
    good = _only(judge.judge("", ctx, "12名快递小哥获评湖南省五一劳动奖章。"))
    bad = _only(judge.judge("", ctx, "12名快递小哥获评全国五一劳动奖章。"))
    assert good.supported and not bad.supported
    assert "全国" in bad.reason and "湖南省" in bad.reason


def test_unrelated_passages_do_not_license_a_wrong_fact(judge: OfflineJudge) -> None:
    # 全国 and 24 occur in another retrieved passage, about something else entirely
    ctx = [
        "在评先选优上向一线职工倾斜，12名快递小哥获评湖南省五一劳动奖章。",
        "全国职工运动会于5月开幕，来自24个代表团的运动员参加了比赛。",
    ]
    bad_place = _only(judge.judge("", ctx, "12名快递小哥获评全国五一劳动奖章。"))
    bad_number = _only(judge.judge("", ctx, "24名快递小哥获评湖南省五一劳动奖章。"))
    assert not bad_place.supported and bad_place.context_index == 0
    assert not bad_number.supported and "24" in bad_number.reason


def test_swapped_person_role_is_unsupported(judge: OfflineJudge) -> None:
    # every word of the claim occurs in the context, but 全国劳模 belongs to 张志强
    good = _only(judge.judge("", [CTX_MODELS], "其中包括全国劳模张志强。"))
    bad = _only(judge.judge("", [CTX_MODELS], "其中包括全国劳模李红梅。"))
    assert good.supported, good
    assert not bad.supported and "李红梅" in bad.reason


def test_unknown_programme_name_is_unsupported(judge: OfflineJudge) -> None:
    ctx = ["推进“工匠领航”项目建设，为3200名青年职工提供技能培训。"]
    assert _only(judge.judge("", ctx, "推进“工匠领航”项目建设。")).supported
    bad = _only(judge.judge("", ctx, "推进“匠心筑梦”项目建设。"))
    assert not bad.supported and "匠心筑梦" in bad.reason


def test_negated_claim_is_unsupported(judge: OfflineJudge) -> None:
    ctx = ["全市乡镇工会已实现规范化建设全覆盖，职工满意度持续提升。"]
    assert _only(judge.judge("", ctx, "全市乡镇工会已实现规范化建设全覆盖。")).supported
    bad = _only(judge.judge("", ctx, "全市乡镇工会尚未实现规范化建设全覆盖。"))
    assert not bad.supported and "尚未" in bad.reason


def test_dropped_negation_is_unsupported(judge: OfflineJudge) -> None:
    ctx = ["目前仍有3个县级工会尚未配备专职副主席。"]
    bad = _only(judge.judge("", ctx, "目前3个县级工会已配备专职副主席。"))
    assert not bad.supported and "否定" in bad.reason


def test_reversed_order_and_antonym_are_unsupported(judge: OfflineJudge) -> None:
    ctx = ["坚持“先培训后上岗”原则，全年会员人数同比增长12%。"]
    order = judge.judge("", ctx, "坚持“先上岗后培训”原则。")
    assert not _only(order).supported and "顺序" in _only(order).reason
    antonym = judge.judge("", ctx, "全年会员人数同比下降12%。")
    assert not _only(antonym).supported and "下降" in _only(antonym).reason


def test_added_clause_makes_answer_partly_unsupported(judge: OfflineJudge) -> None:
    r = judge.judge("", [CTX_TRAINING], "全市新建职工书屋42个，并由省总工会统一配发图书十万册。")
    assert [c.supported for c in r.claims] == [True, False]
    assert r.claims[0].score > 0.9 > 0.5 > r.claims[1].score
    assert r.faithfulness < 0.5
    assert r.unsupported == (r.claims[1],)


def test_faithful_paraphrase_scores_above_flawed_variants(judge: OfflineJudge) -> None:
    faithful = judge.judge("", [CTX_TRAINING], "2024年市总工会共组织了12期工会干部培训，覆盖860多人次。")
    assert faithful.faithfulness > 0.7, faithful
    for flawed in (
        "2024年市总工会共组织了21期工会干部培训，覆盖860多人次。",
        "2024年市总工会共组织了12期工会干部培训，覆盖860多人次，培训合格率达98%。",
        "2024年省总工会共组织了12期工会干部培训，覆盖860多人次。",
    ):
        assert judge.judge("", [CTX_TRAINING], flawed).faithfulness < faithful.faithfulness, flawed


def test_abstention_is_not_unfaithful(judge: OfflineJudge) -> None:
    r = judge.judge("南川区有多少工会会员？", [CTX_TRAINING], "资料中没有相关信息。")
    assert r.faithfulness == 1.0 and _only(r).supported


def test_entails_one_passage(judge: OfflineJudge) -> None:
    score, span = judge.entails("公开招聘工会社会工作者15人[1]", CTX_TRAINING)
    assert score > 0.9 and "公开招聘工会社会工作者15人" in span and span in CTX_TRAINING
    score, span = judge.entails("公开招聘工会社会工作者51人", CTX_TRAINING)
    assert score < 0.5
    assert judge.entails("任意内容", "") == (0.0, "")


def test_results_are_frozen_and_bounded(judge: OfflineJudge) -> None:
    r = judge.judge("", [CTX_TRAINING], "全市新建职工书屋42个，投入资金2386万元。")
    assert 0.0 <= r.faithfulness <= 1.0 and all(0.0 <= c.score <= 1.0 for c in r.claims)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.claims[0].score = 0.0  # type: ignore[misc]
    assert judge.judge("", [CTX_TRAINING], "").claims == ()


def test_long_contexts_are_fast_enough(judge: OfflineJudge) -> None:
    base = CTX_TRAINING + CTX_MODELS
    contexts = [(f"第{i}段。" + base * 6)[:1000] for i in range(10)]
    answer = "2024年市总工会组织工会干部培训12期，覆盖860余人次；全国劳模张志强在平凡岗位上争创一流。"
    judge.judge("", contexts, answer)  # warm caches and jieba
    t0 = time.perf_counter()
    for k in range(5):
        judge.judge("", [c + str(k) for c in contexts], answer)
    per_answer = (time.perf_counter() - t0) / 5
    assert per_answer < 0.25, per_answer  # ~10-20 ms normally; loose bound for a shared CPU


# ---------------------------------------------------------------------------- meta-evaluation


def test_roc_auc_known_values() -> None:
    assert roc_auc([1, 1, 0, 0], [0.9, 0.8, 0.3, 0.1]) == 1.0
    assert roc_auc([1, 1, 0, 0], [0.1, 0.3, 0.8, 0.9]) == 0.0
    assert roc_auc([True, False, True, False], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert roc_auc([1, 0, 1, 0], [0.8, 0.6, 0.4, 0.2]) == 0.75
    assert roc_auc([1, 0, 0], [0.5, 0.5, 0.1]) == 0.75  # one tie counts one half
    assert math.isnan(roc_auc([1, 1], [0.2, 0.3]))
    with pytest.raises(ValueError):
        roc_auc([1, 0], [0.5])


class _StubJudge:
    """Scores fixed by answer text, so meta_evaluate's bookkeeping can be checked exactly."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def judge(self, question: str, contexts: list[str], answer: str) -> JudgeResult:
        return JudgeResult(self.scores[answer], ())


def test_meta_evaluate_tiny() -> None:
    rows = [
        {"id": "a", "question": "", "contexts": ["c"], "answer": "f1", "faithful": True, "flaw": None},
        {"id": "b", "question": "", "contexts": ["c"], "answer": "f2", "faithful": True, "flaw": None},
        {"id": "c", "question": "", "contexts": ["c"], "answer": "n1", "faithful": False, "flaw": "changed_number"},
        {"id": "d", "question": "", "contexts": ["c"], "answer": "e1", "faithful": False, "flaw": "wrong_entity"},
    ]
    stub = _StubJudge({"f1": 0.9, "f2": 0.5, "n1": 0.1, "e1": 0.7})
    rep = meta_evaluate(rows, stub)
    assert rep["overall"]["n"] == 4 and rep["overall"]["n_faithful"] == 2
    assert rep["overall"]["roc_auc"] == 0.75
    assert rep["per_flaw"]["changed_number"] == {"roc_auc": 1.0, "n": 1}
    assert rep["per_flaw"]["wrong_entity"] == {"roc_auc": 0.5, "n": 1}
    assert rep["scores"] == {"a": 0.9, "b": 0.5, "c": 0.1, "d": 0.7}


def test_dev_set_auc_regression_guard(judge: OfflineJudge) -> None:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    rep = meta_evaluate(rows, judge)
    assert rep["overall"]["n"] == len(rows) >= 40
    assert rep["overall"]["roc_auc"] >= 0.9, rep["overall"]
    for flaw, r in rep["per_flaw"].items():
        assert r["roc_auc"] >= 0.8, (flaw, r)


# ---------------------------------------------------------------------------- roles, bounds, direction


def test_swapped_places_between_two_roles_are_unsupported(judge: OfflineJudge) -> None:
    ctx = ["调解机制成效显著，东坪县试点经验被省总工会推广，西岭县园区调解组织获国家表彰。"]
    assert _only(judge.judge("", ctx, "东坪县试点经验被省总工会推广")).supported
    bad = _only(judge.judge("", ctx, "西岭县的试点经验被省总工会推广"))
    assert not bad.supported and "西岭" in bad.reason and "东坪县" in bad.reason


def test_reversed_bound_on_a_figure_is_unsupported(judge: OfflineJudge) -> None:
    ctx = ["实施技师津贴制度，向首席技师给予不低于12万元年的津贴，累计评选首席技师88名。"]
    assert _only(judge.judge("", ctx, "向首席技师给予不低于12万元年的津贴")).supported
    assert _only(judge.judge("", ctx, "向首席技师给予至少12万元年的津贴")).supported
    bad = _only(judge.judge("", ctx, "向首席技师给予最高12万元年的津贴"))
    assert not bad.supported and "相反" in bad.reason


def test_reversed_direction_of_thanks_is_unsupported(judge: OfflineJudge) -> None:
    ctx = ["活动圆满结束，省旅游集团、市人民医院分别向区总工会发来感谢信。"]
    good = judge.judge("", ctx, "省旅游集团和市人民医院向区总工会发来感谢信。")
    bad = judge.judge("", ctx, "区总工会向省旅游集团和市人民医院发去感谢信。")
    assert good.faithfulness >= 0.8
    assert bad.faithfulness < 0.5 and "方向颠倒" in bad.claims[0].reason


def test_substituted_noun_in_the_same_slot_is_unsupported(judge: OfflineJudge) -> None:
    ctx = ["先后投入8万元，为600余名环卫工人购买意外伤害保险。另有外卖骑手驿站12个。"]
    bad = _only(judge.judge("", ctx, "为600余名外卖骑手购买意外伤害保险"))
    assert not bad.supported and "环卫工人" in bad.reason


def test_figure_with_the_unit_of_another_slot_is_unsupported(judge: OfflineJudge) -> None:
    ctx = ["全年获评省级劳动模范1名，“五一劳动奖状”2个、“工人先锋号”3个。"]
    bad = _only(judge.judge("", ctx, "全年获评省级劳动模范2名"))
    assert bad.score < 0.3 and "1名" in bad.reason


def test_faithful_rewordings_are_not_flagged(judge: OfflineJudge) -> None:
    ctx = [
        "我市出台疗休养工作规则，各级工会走访慰问节日期间坚守工作岗位的职工3200余人次，"
        "建设示范书屋16个。召开全市工会安全工作座谈会。"
    ]
    for answer in (
        "当地出台了疗休养工作规则。",  # deictic subject
        "走访慰问节日坚守岗位职工3200余人次。",  # a word dropped from inside a phrase
        "建成示范书屋16个。",  # 建成 is a verb, not a numeral word
        "市总工会召开了全市工会安全工作座谈会。",  # the report's author named as subject
    ):
        assert judge.judge("", ctx, answer).faithfulness >= 0.75, answer


def test_meta_evaluate_treats_null_none_and_missing_flaw_alike() -> None:
    rows: list[dict[str, Any]] = [
        {"id": "a", "contexts": ["c"], "answer": "f1", "faithful": True, "flaw": None},
        {"id": "b", "contexts": ["c"], "answer": "f2", "faithful": True, "flaw": "none"},
        {"id": "c", "contexts": ["c"], "answer": "f3", "faithful": True},
        {"id": "d", "contexts": ["c"], "answer": "f4", "flaw": "none"},
        {"id": "e", "contexts": ["c"], "answer": "n1", "flaw": "changed_number"},
    ]
    stub = _StubJudge({"f1": 0.9, "f2": 0.8, "f3": 0.7, "f4": 0.6, "n1": 0.1})
    rep = meta_evaluate(rows, stub)
    assert rep["overall"]["n_faithful"] == 4 and rep["overall"]["roc_auc"] == 1.0
    assert set(rep["per_flaw"]) == {"changed_number"}


# ---------------------------------------------------------------------------- other genres
#
# The judge's word lists hold general Chinese only; these passages (made up here) come from
# genres other than work reports. In each, a faithful paraphrase must pass and a wrong figure,
# a wrong entity and an unsupported addition must be caught.

GENRES: dict[str, tuple[str, list[str], dict[str, tuple[str, str]]]] = {
    "company_report": (
        "2024年，华岳科技股份有限公司实现营业收入128.6亿元，同比增长14.2%；归属于上市公司股东的净利润9.3亿元。"
        "公司全年研发投入7.8亿元，占营业收入的6.1%。报告期内，公司在成都新建智能制造基地一座，员工总数达到12,450人。",
        [
            "华岳科技2024年的营业收入为128.6亿元，比上年增长14.2%；全年研发投入7.8亿元。",
            "报告期内公司在成都新建了一座智能制造基地，员工总数达12450人。",
        ],
        {
            "wrong_figure": ("2024年华岳科技实现营业收入126.8亿元，同比增长14.2%。", "126.8"),
            "wrong_entity": ("报告期内，公司在西安新建智能制造基地一座。", "西安"),
            "unsupported": ("报告期内，公司在成都新建智能制造基地一座，并计划于2026年在德国设立欧洲总部。", "德国"),
        },
    ),
    "statistics_bulletin": (
        "岳阳市2023年国民经济和社会发展统计公报。全年全市地区生产总值5,210亿元，比上年增长5.6%。"
        "其中，第一产业增加值312亿元，增长3.1%；第二产业增加值2,015亿元，增长6.2%；第三产业增加值2,883亿元，"
        "增长5.4%。年末全市常住人口为872.4万人，城镇化率为68.5%。",
        [
            "2023年岳阳市实现地区生产总值5210亿元，较上年增长5.6%。",
            "全市年末常住人口872.4万人，城镇化率68.5%。",
        ],
        {
            "wrong_figure": ("2023年岳阳市第二产业增加值2015亿元，增长6.8%。", "6.8"),
            # every figure occurs, but 6.2% is the growth of another sector
            "figure_of_another_item": ("第三产业增加值2883亿元，增长6.2%。", "5.4"),
            "wrong_entity": ("2023年常德市地区生产总值5210亿元，比上年增长5.6%。", "常德市"),
            "unsupported": ("年末全市常住人口为872.4万人，城镇化率为68.5%，居全省第一。", "全省"),
        },
    ),
    "encyclopedia": (
        "长江\n长江是亚洲第一长河，全长约6,300公里，发源于青藏高原的唐古拉山脉，流经青海、西藏、四川、云南、重庆、"
        "湖北、湖南、江西、安徽、江苏和上海，在上海注入东海。长江流域面积约180万平方公里，干流上的三峡水利枢纽"
        "于2006年全面建成。",
        [
            "长江发源于唐古拉山脉，全长约6300公里，最终在上海注入东海。",
            "三峡水利枢纽位于长江干流，2006年全面建成。",
        ],
        {
            "wrong_figure": ("长江全长约3,600公里，发源于青藏高原的唐古拉山脉。", "3,600"),
            "wrong_entity": ("长江发源于青藏高原的昆仑山脉。", "昆仑山脉"),
            "wrong_date": ("三峡水利枢纽于2009年全面建成。", "2009"),
            "unsupported": ("长江流域面积约180万平方公里，流域内人口超过4亿。", "4亿"),
        },
    ),
    "regulation": (
        "第十二条 经营者应当自收到消费者退货申请之日起七日内办理退款；逾期未办理的，由市场监督管理部门责令改正，"
        "并处五千元以上五万元以下罚款。第十三条 本办法自2025年3月1日起施行。",
        [
            "经营者应在收到消费者的退货申请后七日内办理退款。",
            "逾期未办理退款的，由市场监督管理部门责令改正，并处五千元以上五万元以下的罚款。",
        ],
        {
            "wrong_figure": ("逾期未办理的，并处五千元以上十万元以下罚款。", "十万"),
            "wrong_entity": ("逾期未办理的，由公安机关责令改正。", "公安机关"),
            "unsupported": ("本办法自2025年3月1日起施行，有效期五年。", "五年"),
            # 未办理 two clauses on does not license negating the duty itself
            "negation": ("经营者可以不办理退款。", "不办理"),
        },
    ),
}


@pytest.mark.parametrize("genre", sorted(GENRES))
def test_faithful_paraphrases_pass_in_other_genres(judge: OfflineJudge, genre: str) -> None:
    context, paraphrases, _ = GENRES[genre]
    for answer in paraphrases:
        r = judge.judge("", [context], answer)
        assert r.faithfulness >= 0.75 and not r.unsupported, (answer, r)


@pytest.mark.parametrize(
    ("genre", "flaw"), [(g, f) for g in sorted(GENRES) for f in sorted(GENRES[g][2])], ids=lambda x: str(x)
)
def test_flaws_are_caught_in_other_genres(judge: OfflineJudge, genre: str, flaw: str) -> None:
    context, paraphrases, flaws = GENRES[genre]
    answer, named = flaws[flaw]
    r = judge.judge("", [context], answer)
    assert r.faithfulness < 0.5 and r.unsupported, (answer, r)
    assert any(named in c.reason for c in r.unsupported), (named, r.unsupported)
    assert r.faithfulness < min(judge.judge("", [context], p).faithfulness for p in paraphrases)


def test_negation_characters_inside_names_are_not_negations(judge: OfflineJudge) -> None:
    ctx = ["该植物分布于不丹、尼泊尔、非洲东部以及中国的云南、西藏等地，生长于海拔1,200米至2,800米的山坡。"]
    r = judge.judge("", ctx, "分布于不丹、尼泊尔、非洲东部以及中国的云南、西藏等地。")
    assert r.faithfulness >= 0.9, r


def test_two_people_swapped_between_roles_are_unsupported(judge: OfflineJudge) -> None:
    ctx = ["安史之乱时，他随史思明攻打河阳，趁夜率五百人投降李光弼，唐肃宗召至京师，赐名李忠臣。"]
    assert judge.judge("", ctx, "安史之乱时，他随史思明攻打河阳，后投降李光弼。").faithfulness >= 0.75
    bad = judge.judge("", ctx, "安史之乱时，他随李光弼攻打河阳，趁夜率五百人投降史思明。")
    assert bad.faithfulness < 0.5, bad


def test_judge_code_holds_no_corpus_words() -> None:
    """The judge keeps general Chinese only: no word of the development corpus (trade-union reports)."""
    corpus_words = ("工会", "职工", "劳模", "会员", "铜仁", "贵州")
    root = Path(__file__).resolve().parents[1] / "rag" / "judge"
    paths = sorted(root.glob("*.py"))
    assert len(paths) >= 8, root
    for path in paths:
        text = path.read_text(encoding="utf-8")
        found = [w for w in corpus_words if w in text]
        assert not found, (path.name, found)
