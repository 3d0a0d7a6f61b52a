"""Evaluation figures on hand-made cases whose right value is known (rag.evaluation.metrics, .dataset)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.evaluation import metrics
from rag.evaluation.dataset import DatasetError, EvalItem, load_dataset, load_datasets
from rag.evaluation.retrieval import score_retrieval
from rag.records import Citation, Passage


def _p(pid: str, text: str, title: str = "") -> Passage:
    return Passage(id=pid, text=text, source=f"{pid}.txt", title=title, heading_path=(), score=1.0)


def _cite(*passages: Passage) -> list[Citation]:
    return [Citation(i + 1, p, "") for i, p in enumerate(passages)]


def _key(text: str) -> str:
    return re.sub(r"[。，；\s]", "", text)


class FakeJudge:
    """A judge whose verdicts are obvious: a claim is supported/entailed iff it occurs verbatim in the context.

    It records every call so tests can check which contexts a claim was checked against.
    """

    threshold = 0.5

    def __init__(self) -> None:
        self.judge_calls: list[tuple[str, list[str], str]] = []
        self.entails_calls: list[tuple[str, str]] = []

    def judge(self, question: str, contexts: list[str], answer: str) -> SimpleNamespace:
        self.judge_calls.append((question, list(contexts), answer))
        claims = []
        for claim in (c for c in re.split(r"[，。]", answer) if c.strip()):
            idx = next((i for i, c in enumerate(contexts) if claim in _key(c)), -1)
            claims.append(
                SimpleNamespace(
                    claim=claim,
                    supported=idx >= 0,
                    score=1.0 if idx >= 0 else 0.0,
                    span=claim if idx >= 0 else "",
                    reason="" if idx >= 0 else "不在资料中",
                    context_index=idx,
                )
            )
        score = sum(c.supported for c in claims) / len(claims) if claims else 0.0
        return SimpleNamespace(faithfulness=score, claims=tuple(claims))

    def entails(self, claim: str, context: str) -> tuple[float, str]:
        self.entails_calls.append((claim, context))
        k = _key(claim)
        return (1.0, k) if k and k in _key(context) else (0.2, "")


# ---------------------------------------------------------------------------- accuracy


def test_accuracy_full_width_digits_and_spaces_match() -> None:
    assert metrics.accuracy("共举办９７场，服务劳动者 2.59 万人次。", ["97", "2.59万"]) == 1.0


def test_accuracy_is_zero_when_one_string_is_missing() -> None:
    assert metrics.accuracy("共举办97场。", ["97", "2.59万"]) == 0.0
    assert metrics.missing_strings("共举办97场。", ["97", "2.59万"]) == ["2.59万"]


def test_accuracy_wrong_number_fails_and_markers_do_not_split_a_figure() -> None:
    assert metrics.accuracy("共举办79场。", ["97"]) == 0.0
    assert metrics.accuracy("会员总数12.2万[1]人。", ["12.2万人"]) == 1.0


def test_several_gold_answers_any_one_counts() -> None:
    answers = ["1999年10月", "1999年"]
    assert metrics.answers_accuracy("成立于１９９９年。", answers) == 1.0  # the second one, full-width digits
    assert metrics.matched_answer("成立于１９９９年。", answers) == "1999年"
    assert metrics.answers_accuracy("成立于1999年10月[1]。", answers) == 1.0
    assert metrics.answers_accuracy("成立于2000年。", answers) == 0.0
    assert metrics.matched_answer("成立于2000年。", answers) is None


def test_must_contain_repeating_the_first_gold_answer_is_not_required_in_addition() -> None:
    # must_contain copies answers[0]; an answer holding only answers[1] is still right
    assert metrics.extra_required(["水枪、小枪"], ["水枪、小枪", "水枪"]) == ()
    assert metrics.answers_accuracy("玩家用水枪泡封敌人。", ["水枪、小枪", "水枪"], ["水枪、小枪"]) == 1.0
    # a must_contain that says something else stays required
    assert metrics.extra_required(["敌人"], ["水枪"]) == ("敌人",)
    assert metrics.answers_accuracy("用水枪。", ["水枪"], ["敌人"]) == 0.0
    assert metrics.answers_accuracy("用水枪泡封敌人。", ["水枪"], ["敌人"]) == 1.0
    # without gold answers must_contain works as before: all of them
    assert metrics.answers_accuracy("共举办97场。", [], ["97", "2.59万"]) == 0.0


# ---------------------------------------------------------------------------- CMRC 2018 F1 / EM


def test_cmrc_segments_chinese_characters_alone_other_text_in_words() -> None:
    assert metrics.cmrc_segments("1999年10月") == ["1999", "年", "10", "月"]
    assert metrics.cmrc_segments(" 《The Beatles》乐队， ") == ["the", "beatles", "乐", "队"]
    assert metrics.cmrc_segments("2.59万人次。") == ["2.59", "万", "人", "次"]
    assert metrics.cmrc_segments("“”。！") == []


@pytest.mark.parametrize(
    ("pred", "golds", "f1", "em"),
    [
        # 1999|年 vs 1999|年|10|月: LCS 2, P 2/2, R 2/4 -> F1 2/3
        ("1999年", ["1999年10月"], 2 / 3, 0.0),
        # the other way round: P 2/4, R 2/2 -> 2/3
        ("1999年10月", ["1999年"], 2 / 3, 0.0),
        # longest common SUBSTRING, not subsequence: 甲乙丙丁 vs 甲丙丁 -> 丙丁 = 2, P 2/4, R 2/3 -> 4/7
        ("甲乙丙丁", ["甲丙丁"], 4 / 7, 0.0),
        # punctuation, case and spaces do not count
        ("《the Beatles》。", ["The Beatles"], 1.0, 1.0),
        ("1999 年", ["1999年"], 1.0, 1.0),
        # the / beatles / 乐 / 队 vs beatles: LCS 1, P 1/4, R 1 -> 0.4
        ("The Beatles乐队", ["beatles"], 0.4, 0.0),
        # best over the gold answers
        ("周星驰", ["刘德华", "周星驰主演"], 2 * 1 * 0.6 / 1.6, 0.0),
        ("踢爆", ["被踢爆", "踢爆"], 1.0, 1.0),
        # nothing shared, or nothing left after normalisation
        ("上海", ["北京"], 0.0, 0.0),
        ("。", ["北京"], 0.0, 0.0),
        ("北京", [], 0.0, 0.0),
    ],
)
def test_char_f1_and_exact_match_known_cases(pred: str, golds: list[str], f1: float, em: float) -> None:
    assert metrics.char_f1(pred, golds) == pytest.approx(f1)
    assert metrics.exact_match(pred, golds) == em


def test_scored_prediction_prefers_the_short_answer() -> None:
    assert metrics.scored_prediction("成立于1999年[1]。", "1999年") == "1999年"
    assert metrics.scored_prediction("成立于1999年[1][2]。", "  ") == "成立于1999年。"


# ---------------------------------------------------------------------------- token F1


def test_token_f1_known_pair() -> None:
    pred, ref = "职工书屋75个", "新建职工书屋75个"
    assert metrics.tokens(pred) == ["职工", "书屋", "75", "个"]
    assert metrics.tokens(ref) == ["新建", "职工", "书屋", "75", "个"]
    # precision 4/4, recall 4/5 -> F1 = 2 * 1 * 0.8 / 1.8 = 8/9
    assert metrics.token_f1(pred, ref) == pytest.approx(8 / 9)


def test_token_f1_ignores_punctuation_and_markers() -> None:
    assert metrics.token_f1("“举办97场”[1]。", "举办97场") == 1.0
    assert metrics.token_f1("举办97场", "服务劳动者") == 0.0


def test_token_f1_empty_sides() -> None:
    assert metrics.token_f1("", "") == 1.0
    assert metrics.token_f1("。", "举办97场") == 0.0


def test_token_f1_counts_shared_tokens_with_multiplicity() -> None:
    # pred 职工/职工 (2 tokens), ref 职工 (1): shared 1 -> P 1/2, R 1 -> F1 2/3
    assert metrics.tokens("职工职工") == ["职工", "职工"]
    assert metrics.token_f1("职工职工", "职工") == pytest.approx(2 / 3)


# ---------------------------------------------------------------------------- faithfulness


def test_faithfulness_judges_each_sentence_against_its_own_citations() -> None:
    p1, p2 = _p("p1", "共举办97场。"), _p("p2", "服务劳动者2.59万人次。")
    judge = FakeJudge()
    answer = "共举办97场[1]。服务劳动者2.59万人次[1]。"
    r = metrics.faithfulness(answer, _cite(p1, p2), judge, question="多少？")
    # sentence 2 cites [1], which does not hold it -> 1 of 2 claims supported
    assert r.score == 0.5
    assert [c.supported for c in r.claims] == [True, False]
    assert [c.checked_against for c in r.claims] == [(1,), (1,)]
    assert r.claims[0].supporting_citation == 1 and r.claims[1].supporting_citation is None
    assert all(ctx == ["共举办97场。"] for _, ctx, _ in judge.judge_calls)
    assert all("[" not in claim for _, _, claim in judge.judge_calls)  # markers stripped


def test_faithfulness_sentence_without_marker_uses_all_cited_passages() -> None:
    p1, p2 = _p("p1", "共举办97场。"), _p("p2", "服务劳动者2.59万人次。")
    judge = FakeJudge()
    r = metrics.faithfulness("共举办97场[1]。服务劳动者2.59万人次。", _cite(p1, p2), judge)
    assert r.score == 1.0
    assert judge.judge_calls[1][1] == ["共举办97场。", "服务劳动者2.59万人次。"]
    assert r.claims[1].supporting_citation == 2


def test_faithfulness_none_for_empty_answer() -> None:
    assert metrics.faithfulness("", [], FakeJudge()).score is None


# ---------------------------------------------------------------------------- ALCE


def test_alce_two_sentences_one_irrelevant_citation() -> None:
    p1, p2 = _p("p1", "共举办97场。"), _p("p2", "服务劳动者2.59万人次。")
    # sentence 1 cites [1][2]: [1] alone entails it, [2] alone does not and [1] without it still does
    # -> [2] is irrelevant. sentence 2 cites [2], which entails it.
    r = metrics.citation_scores("共举办97场[1][2]。服务劳动者2.59万人次[2]。", _cite(p1, p2), FakeJudge())
    assert r.recall == 1.0
    assert r.precision == pytest.approx(2 / 3)
    assert r.sentences[0].precision == {1: 1, 2: 0}
    assert r.sentences[1].precision == {2: 1}


def test_alce_both_citations_needed_are_both_relevant() -> None:
    # neither passage alone holds the sentence, together they do: both are relevant
    p1, p2 = _p("p1", "共举办"), _p("p2", "97场")
    r = metrics.citation_scores("共举办97场[1][2]。", _cite(p1, p2), FakeJudge())
    assert (r.recall, r.precision) == (1.0, 1.0)


def test_alce_sentence_without_citation_has_recall_zero() -> None:
    p1 = _p("p1", "共举办97场。服务劳动者2.59万人次。")
    r = metrics.citation_scores("共举办97场[1]。服务劳动者2.59万人次。", _cite(p1), FakeJudge())
    assert r.recall == 0.5
    assert r.precision == 1.0  # the one citation there is relevant
    assert metrics.citation_recall("共举办97场。", _cite(p1), FakeJudge()) == 0.0
    assert metrics.citation_precision("共举办97场。", _cite(p1), FakeJudge()) == 0.0  # no citations at all


def test_alce_unsupported_sentence_makes_its_citations_imprecise() -> None:
    p1, p2 = _p("p1", "共举办97场。"), _p("p2", "其他内容。")
    r = metrics.citation_scores("共举办79场[1][2]。", _cite(p1, p2), FakeJudge())
    assert (r.recall, r.precision) == (0.0, 0.0)


def test_alce_marker_pointing_at_no_passage() -> None:
    p1 = _p("p1", "共举办97场。")
    r = metrics.citation_scores("共举办97场[3]。", _cite(p1), FakeJudge())
    assert (r.recall, r.precision) == (0.0, 0.0)


def test_alce_threshold_decides_entailment() -> None:
    p1 = _p("p1", "无关。")
    # FakeJudge scores 0.2 when the claim is absent: entailed only with a threshold below 0.2
    assert metrics.citation_recall("共举办97场[1]。", _cite(p1), FakeJudge(), threshold=0.1) == 1.0
    assert metrics.citation_recall("共举办97场[1]。", _cite(p1), FakeJudge(), threshold=0.5) == 0.0


def test_alce_passes_title_and_text_to_the_judge() -> None:
    judge = FakeJudge()
    metrics.citation_scores("铜仁市[1]。", _cite(_p("p1", "共举办97场。", title="铜仁市总工会")), judge)
    assert judge.entails_calls[0] == ("铜仁市。", "铜仁市总工会\n共举办97场。")


# ---------------------------------------------------------------------------- refusals


def test_refusal_accuracy_and_false_refusal_rate() -> None:
    expected = [True, True, True, False, False, False, False]
    refused = [True, True, False, True, False, False, False]
    assert metrics.refusal_accuracy(expected, refused) == pytest.approx(2 / 3)
    assert metrics.false_refusal_rate(expected, refused) == pytest.approx(1 / 4)
    assert metrics.refusal_accuracy([False], [True]) is None
    assert metrics.false_refusal_rate([True], [True]) is None


def test_expected_refusal_from_type_or_empty_fields() -> None:
    assert EvalItem("a", "?", type="unanswerable").expects_refusal
    assert EvalItem("b", "?", must_contain=(), evidence=()).expects_refusal
    assert not EvalItem("c", "?", must_contain=("97",), evidence=()).expects_refusal
    assert not EvalItem("d", "?").expects_refusal  # nothing known: not an unanswerable question
    assert not EvalItem("e", "?", must_contain=(), evidence=(), answers=("踢爆",)).expects_refusal


# ---------------------------------------------------------------------------- retrieval (reused)


def test_recall_at_5_ignores_whitespace_and_width_differences() -> None:
    filler = [_p(f"x{i}", "无关内容。") for i in range(4)]
    hit = _p("hit", "全年共发放 ３２３４ 万元\n互助金。")
    r = score_retrieval(["发放3234万元"], [*filler, hit], k=5)
    assert r is not None
    assert (r.recall_at_k, r.reciprocal_rank) == (1.0, 0.2)
    r6 = score_retrieval(["发放3234万元"], [*filler, _p("x5", "无关。"), hit], k=5)
    assert r6 is not None and r6.recall_at_k == 0.0


# ---------------------------------------------------------------------------- dataset


def test_load_dataset_accepts_rows_without_evidence_or_must_contain(tmp_path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text(
        '{"id": "a", "question": "多少场？", "must_contain": ["97"]}\n\n'
        '{"id": "b", "question": "谁？", "answer": "杨叶奎", "evidence": "杨叶奎同志"}\n',
        encoding="utf-8",
    )
    a, b = load_dataset(path)
    assert (a.must_contain, a.evidence, a.line) == (("97",), None, 1)
    assert (b.must_contain, b.evidence, b.line) == (None, ("杨叶奎同志",), 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"question": "a"}\n{"question": \n', r":2: bad JSON"),
        ('{"question": "a"}\n{"question": "b"}\n{"id": "x", "answer": "c"}\n', r":3: missing or empty 'question'"),
        ('{"id": "x", "question": "a"}\n{"id": "x", "question": "b"}\n', r":2: duplicate id 'x'"),
        ('{"question": "a", "must_contain": 97}\n', r":1: 'must_contain' must be a list"),
    ],
)
def test_load_dataset_errors_name_the_line(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


def test_load_dataset_reads_answers_and_corpus(tmp_path) -> None:
    path = tmp_path / "cmrc_qa.jsonl"
    path.write_text(
        '{"id": "a", "question": "哪年？", "answer": "1999年", "answers": ["1999年", "1999年10月", ""]}\n'
        '{"id": "b", "question": "谁？", "answers": "周星驰", "corpus": "films"}\n'
        '{"id": "c", "question": "几场？", "must_contain": ["97"]}\n',
        encoding="utf-8",
    )
    a, b, c = load_dataset(path)
    assert a.answers == ("1999年", "1999年10月") and a.gold_answers == a.answers
    assert b.answers == ("周星驰",) and c.answers is None
    assert (a.corpus, b.corpus, c.corpus) == ("cmrc_qa", "films", "cmrc_qa")  # the stem unless the row says
    assert a.to_dict()["answers"] == ["1999年", "1999年10月"] and a.to_dict()["corpus"] == "cmrc_qa"
    assert c.to_dict()["answers"] is None
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "a", "answers": [1999]}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r":1: 'answers' must be a list"):
        load_dataset(bad)


def test_load_datasets_prefixes_only_colliding_ids(tmp_path) -> None:
    (tmp_path / "dev_qa.jsonl").write_text(
        '{"id": "q1", "question": "甲？"}\n{"id": "d2", "question": "乙？"}\n', encoding="utf-8"
    )
    (tmp_path / "qa.jsonl").write_text(
        '{"id": "q1", "question": "丙？"}\n{"id": "c2", "question": "丁？"}\n', encoding="utf-8"
    )
    items = load_datasets([tmp_path / "dev_qa.jsonl", tmp_path / "qa.jsonl"])
    assert [i.id for i in items] == ["dev_qa:q1", "d2", "qa:q1", "c2"]
    assert [i.corpus for i in items] == ["dev_qa", "dev_qa", "qa", "qa"]
    assert [i.question for i in items] == ["甲？", "乙？", "丙？", "丁？"]
    # one file: ids as they are
    assert [i.id for i in load_datasets([tmp_path / "qa.jsonl"])] == ["q1", "c2"]
    # two files with the same stem are told apart by their folder
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "qa.jsonl").write_text('{"id": "q1", "question": "戊？"}\n', encoding="utf-8")
    both = load_datasets([tmp_path / "qa.jsonl", tmp_path / "b" / "qa.jsonl"])
    assert [(i.id, i.corpus) for i in both] == [
        (f"{tmp_path.name}/qa:q1", f"{tmp_path.name}/qa"),
        ("c2", f"{tmp_path.name}/qa"),
        ("b/qa:q1", "b/qa"),
    ]


def test_cmrc_trial_dataset_loads_with_answers() -> None:
    path = Path(__file__).resolve().parents[2] / "shared" / "eval" / "cmrc2018_trial" / "qa.jsonl"
    if not path.is_file():
        pytest.skip(f"no {path}")
    items = load_dataset(path)
    assert len(items) == 1000 and all(i.answers for i in items) and {i.corpus for i in items} == {"qa"}
    assert not any(i.expects_refusal for i in items)


def test_dev_dataset_loads() -> None:
    items = load_dataset(Path(__file__).resolve().parents[1] / "eval" / "datasets" / "dev_qa.jsonl")
    assert len(items) == 40
    assert sum(i.expects_refusal for i in items) == 5
