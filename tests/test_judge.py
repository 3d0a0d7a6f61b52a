"""Tests of the offline faithfulness judge (rag.judge): claims, checks, ROC-AUC, meta-evaluation.

The hand-made cases use invented sentences in the corpus style; each has a known right
answer (supported or not, and why). The last test guards the dev-set ROC-AUC.
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
