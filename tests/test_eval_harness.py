"""The evaluation run end to end on a fake assistant (rag.evaluation.harness, .report, .compare, .judging)."""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.evaluation.compare import compare_data, compare_runs
from rag.evaluation.dataset import EvalItem, load_dataset, load_datasets
from rag.evaluation.harness import format_summary, run_eval, score_item
from rag.evaluation.judging import format_meta, judge_file, meta_file
from rag.records import Answer, Citation, Passage

ROWS = [
    {
        "id": "q1",
        "question": "铜仁市“春送岗位”办了多少场？",
        "answer": "举办97场。",
        "must_contain": ["97"],
        "evidence": ["“春送岗位”97场"],
        "type": "numeric",
    },
    {
        "id": "q2",
        "question": "拉萨有多少个基层工会组织？",
        "answer": "基层工会组织2123个。",
        "must_contain": ["2123"],
        "evidence": ["基层工会组织2123个"],
        "type": "numeric",
    },
    {
        "id": "q3",
        "question": "火星工会有多少会员？",
        "answer": "",
        "must_contain": [],
        "evidence": [],
        "type": "unanswerable",
    },
    {
        "id": "q4",
        "question": "谁获得了全国五一劳动奖章？",
        "answer": "杨叶奎。",
        "must_contain": ["杨叶奎"],
        "evidence": ["杨叶奎获全国五一劳动奖章"],
        "type": "entity",
    },
]


def _p(pid: str, text: str) -> Passage:
    return Passage(id=pid, text=text, source=f"{pid}.txt", title="", heading_path=(), score=1.0)


FILLER = [_p(f"x{i}", f"无关内容{i}。") for i in range(5)]
SPRING = _p("spring", "“春送岗位” 97场，服务劳动者2.59万人次。")
LHASA = _p("lhasa", "基层工会组织２１２３个，会员总数12.2万人。")


def _key(text: str) -> str:
    return re.sub(r"[。，；\s“”]", "", unicodedata.normalize("NFKC", text))


class FakeJudge:
    """Supported / entailed iff the claim occurs verbatim (punctuation and spaces ignored) in a context."""

    threshold = 0.5

    def judge(self, question: str, contexts: list[str], answer: str) -> SimpleNamespace:
        claims = []
        for claim in (c for c in re.split(r"[，。]", answer) if c.strip()):
            idx = next((i for i, c in enumerate(contexts) if _key(claim) in _key(c)), -1)
            ok = idx >= 0
            claims.append(
                SimpleNamespace(claim=claim, supported=ok, score=float(ok), span="", reason="", context_index=idx)
            )
        return SimpleNamespace(faithfulness=sum(c.supported for c in claims) / max(1, len(claims)), claims=claims)

    def entails(self, claim: str, context: str) -> tuple[float, str]:
        return (1.0, claim) if _key(claim) in _key(context) else (0.0, "")


class FakeAssistant:
    """Hand-made answers. ``good`` fixes q2's wrong number (so q2 flips fail -> pass between runs)."""

    def __init__(self, good: bool = False, fail_on: str = "") -> None:
        self.good = good
        self.fail_on = fail_on
        self.retrieve_calls: list[str] = []

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        self.retrieve_calls.append(question)
        return FILLER[: k or 5]

    def ask(self, question: str, history: tuple = ()) -> Answer:
        if question == self.fail_on:
            raise RuntimeError("boom")
        if question.startswith("铜仁"):  # right answer, evidence at rank 1
            ps = (SPRING, *FILLER[:4])
            return Answer(question, "春送岗位97场[1]。", (Citation(1, SPRING, "97场"),), False, ps, latency_ms=10)
        if question.startswith("拉萨"):  # evidence at rank 2; wrong number unless good
            ps = (FILLER[0], LHASA, *FILLER[1:4])
            text = "基层工会组织2123个[1]。" if self.good else "基层工会组织2213个[1]。"
            return Answer(question, text, (Citation(1, LHASA, ""),), False, ps, latency_ms=20)
        if question.startswith("火星"):  # correctly refused
            return Answer(question, "资料中没有相关信息。", (), True, tuple(FILLER), latency_ms=5)
        # answerable, refused, evidence not retrieved
        return Answer(question, "资料中没有相关信息。", (), True, tuple(FILLER), latency_ms=7)


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    return path


def _run(dataset: Path, out: Path, **kw) -> dict:
    assistant = kw.pop("assistant", None) or FakeAssistant()
    return run_eval(load_dataset(dataset), assistant, out, judge=FakeJudge(), k=5, progress=False, **kw)


def test_summary_figures(dataset: Path, tmp_path: Path) -> None:
    s = _run(dataset, tmp_path / "run", config={"dataset": str(dataset)})
    assert set(s) >= {"retrieval", "answer", "latency_ms", "n", "config"}
    assert s["n"] == 4 and s["errors"] == 0
    r = s["retrieval"]
    assert set(r) >= {"recall@5", "recall_2000", "mrr", "per_type"}
    # q1 rank 1, q2 rank 2, q4 not found; q3 has no evidence
    assert r["recall@5"] == pytest.approx(2 / 3)
    assert r["mrr"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert r["per_type"]["numeric"]["recall@5"] == 1.0 and r["per_type"]["entity"]["recall@5"] == 0.0
    a = s["answer"]
    assert set(a) >= {
        "accuracy",
        "token_f1",
        "faithfulness",
        "citation_precision",
        "citation_recall",
        "refusal_accuracy",
        "false_refusal_rate",
        "per_type",
    }
    assert a["accuracy"] == pytest.approx(1 / 3)  # q1 right, q2 wrong number, q4 refused
    assert a["per_type"]["numeric"]["accuracy"] == 0.5
    assert a["refusal_accuracy"] == 1.0
    assert a["false_refusal_rate"] == pytest.approx(1 / 3)
    assert a["faithfulness"] == 0.5  # q1 supported, q2's 2213 not in its passage; refusals not judged
    assert (a["citation_recall"], a["citation_precision"]) == (0.5, 0.5)
    assert a["n_scored"]["faithfulness"] == 2
    assert set(s["latency_ms"]) == {"p50", "p95", "mean"}
    assert s["config"]["dataset"] == str(dataset) and s["config"]["judge"] == "FakeJudge"
    saved = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert saved["answer"]["accuracy"] == pytest.approx(1 / 3)
    table = format_summary(saved)
    assert "answer accuracy" in table and "0.333" in table and "numeric" in table


def test_results_lines_explain_failures(dataset: Path, tmp_path: Path) -> None:
    assistant = FakeAssistant()
    _run(dataset, tmp_path / "run", assistant=assistant)
    assert assistant.retrieve_calls == []  # retrieval figures come from Answer.passages
    lines = (tmp_path / "run" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    rows = {r["id"]: r for r in map(json.loads, lines)}
    assert list(rows) == ["q1", "q2", "q3", "q4"]
    q1, q2, q3, q4 = (rows[i] for i in ("q1", "q2", "q3", "q4"))
    assert q1["pass"] == {"answer": True, "retrieval": True} and not q1["failed"]
    assert q1["citations"] == [{"n": 1, "passage_id": "spring", "source": "spring.txt", "title": "", "quote": "97场"}]
    assert [p["id"] for p in q1["retrieved"]][:2] == ["spring", "x0"]
    assert q2["must_contain_missing"] == ["2123"]
    assert q2["evidence"] == [{"text": "基层工会组织2123个", "rank": 2, "in_top_k": True}]
    assert q2["claims"][0]["supported"] is False
    assert q2["scores"]["accuracy"] == 0.0 and q2["scores"]["reciprocal_rank"] == 0.5
    assert q2["failed"] and any("missing: 2123" in x for x in q2["reasons"])
    assert q3["pass"]["answer"] is True and q3["scores"]["accuracy"] is None
    assert q4["refused"] and q4["evidence"][0]["rank"] is None
    assert "refused an answerable question" in q4["reasons"]
    assert q1["latency_ms"] >= 0 and q1["reported_latency_ms"] == 10


def test_reports_are_written_with_inline_plots(dataset: Path, tmp_path: Path) -> None:
    _run(dataset, tmp_path / "run")
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) >= 2
    assert base64.b64decode(images[0])[:8] == b"\x89PNG\r\n\x1a\n"
    # every failure links to an anchor that exists
    links = re.findall(r'href="#([^"]+)"', page)
    assert len(links) == 2  # q2, q4
    assert all(f'id="{a}"' in page for a in links)
    md = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "## Failures (2)" in md and "q2" in md


def test_one_failing_question_is_recorded_and_the_run_goes_on(dataset: Path, tmp_path: Path) -> None:
    s = _run(dataset, tmp_path / "run", assistant=FakeAssistant(fail_on=str(ROWS[0]["question"])))
    assert s["errors"] == 1 and s["n"] == 4
    first = json.loads((tmp_path / "run" / "results.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["error"] == "RuntimeError: boom" and first["failed"]


def test_unfinished_assistant_stops_the_run(dataset: Path, tmp_path: Path) -> None:
    class Unfinished(FakeAssistant):
        def ask(self, question: str, history: tuple = ()) -> Answer:
            raise ImportError("rag.answer.pipeline is not there yet")

    with pytest.raises(ImportError):
        _run(dataset, tmp_path / "run", assistant=Unfinished())


def test_compare_runs_finds_the_flipped_question(dataset: Path, tmp_path: Path) -> None:
    _run(dataset, tmp_path / "a")
    _run(dataset, tmp_path / "b", assistant=FakeAssistant(good=True))
    data = compare_data(tmp_path / "a", tmp_path / "b")
    assert data["flips"]["answer"] == {"pass_to_fail": [], "fail_to_pass": ["q2"]}
    assert data["flips"]["retrieval"] == {"pass_to_fail": [], "fail_to_pass": []}
    acc = next(m for m in data["metrics"] if m["metric"] == "answer accuracy")
    assert acc["delta"] == pytest.approx(1 / 3)
    text = compare_runs(tmp_path / "a", tmp_path / "b")
    assert "answer: fail→pass (1): q2" in text
    assert "answer: pass→fail (0)" in text
    assert re.search(r"answer accuracy\s+0\.333\s+0\.667\s+\+0\.333\s+better", text)


def test_judge_file_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "answers.jsonl"
    rows = [
        {"id": "a1", "question": "多少场？", "contexts": ["“春送岗位”97场。"], "answer": "春送岗位97场。"},
        {"id": "a2", "question": "多少场？", "contexts": ["“春送岗位”97场。"], "answer": "春送岗位97场，服务3万人。"},
    ]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "judged" / "out.jsonl"
    result = judge_file(src, out, FakeJudge())
    assert result["n"] == 2 and result["claims"] == 3 and result["unsupported"] == 1
    assert result["faithfulness"] == pytest.approx(0.75)
    judged = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [j["id"] for j in judged] == ["a1", "a2"]
    assert judged[0]["answer"] == rows[0]["answer"] and judged[0]["faithfulness"] == 1.0
    assert judged[1]["faithfulness"] == 0.5
    assert set(judged[1]["claims"][1]) >= {"claim", "supported", "score", "span", "reason"}
    assert judged[1]["claims"][1] | {"context_index": 0} == {
        "claim": "服务3万人",
        "supported": False,
        "score": 0.0,
        "span": "",
        "reason": "",
        "context_index": 0,
    }


def test_meta_file_and_table(tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    rows = [
        {"id": "g1", "contexts": ["共举办97场。"], "answer": "共举办97场。", "faithful": True, "flaw": "none"},
        {
            "id": "g2",
            "contexts": ["共举办97场。"],
            "answer": "共举办79场。",
            "faithful": False,
            "flaw": "changed_number",
        },
        {
            "id": "g3",
            "contexts": ["共举办97场。"],
            "answer": "共举办97场，服务3万人。",
            "faithful": False,
            "flaw": "unsupported_addition",
        },
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = meta_file(path, FakeJudge())
    assert result["overall"]["roc_auc"] == 1.0 and result["overall"]["n"] == 3
    assert result["per_flaw"]["changed_number"] == {"roc_auc": 1.0, "n": 1}
    table = format_meta(result)
    assert re.search(r"overall\s+1\.000\s+3", table) and "unsupported_addition" in table


def test_cited_evidence_is_one_only_when_the_cited_passages_hold_the_evidence() -> None:
    from rag.evaluation.dataset import EvalItem
    from rag.evaluation.harness import score_item

    right = _p("a", "全年发放职工医疗互助金3234万元。")
    other = _p("b", "组织劳动技能竞赛17场。")
    item = EvalItem(
        id="x", question="发放了多少互助金？", must_contain=("3234万",), evidence=("发放职工医疗互助金3234万元",)
    )
    cites_right = Answer(
        "q", "发放3234万元[1]。", (Citation(1, right, "发放职工医疗互助金3234万元"),), passages=(other, right)
    )
    cites_wrong = Answer(
        "q", "发放3234万元[1]。", (Citation(1, other, "组织劳动技能竞赛17场"),), passages=(other, right)
    )
    assert score_item(item, cites_right, cites_right.passages, None)["scores"]["cited_evidence"] == 1.0
    assert score_item(item, cites_wrong, cites_wrong.passages, None)["scores"]["cited_evidence"] == 0.0


# ---------------------------------------------------------------------------- gold answers, CMRC F1 / EM, corpora

PAOPAO = _p("paopao", "玩家以水枪、小枪、锤子或是水炸弹泡封敌人。每次泡封会减少生命数，生命数耗完即算为踢爆。")
CMRC_ROWS = [
    {  # id collides with the first dataset's q1
        "id": "q1",
        "question": "玩家用什么泡封敌人？",
        "answer": "水枪、小枪、锤子或是水炸弹",
        "answers": ["水枪、小枪、锤子或是水炸弹", "水枪"],
        "must_contain": ["水枪、小枪、锤子或是水炸弹"],
        "evidence": ["玩家以水枪、小枪、锤子或是水炸弹泡封敌人"],
        "type": "cmrc",
    },
    {
        "id": "c2",
        "question": "生命数耗完即算为什么？",
        "answer": "踢爆",
        "answers": ["踢爆"],
        "must_contain": ["踢爆"],
        "evidence": ["生命数耗完即算为踢爆"],
        "type": "cmrc",
    },
]


class CmrcAssistant(FakeAssistant):
    """FakeAssistant, plus short answers for the two CMRC questions (the second one wrong)."""

    def ask(self, question: str, history: tuple = ()) -> Answer:
        ps = (PAOPAO, *FILLER[:4])
        if question.startswith("玩家"):
            text, short = "玩家以水枪、小枪、锤子或是水炸弹泡封敌人[1]。", "水枪、小枪、锤子或是水炸弹"
            return Answer(question, text, (Citation(1, PAOPAO, ""),), False, ps, short_answer=short)
        if question.startswith("生命"):
            return Answer(
                question, "每次泡封会减少生命数[1]。", (Citation(1, PAOPAO, ""),), False, ps, short_answer="泡封"
            )
        return super().ask(question, history)


def _item(**kw) -> EvalItem:
    return EvalItem(id="c", question="玩家用什么泡封敌人？", **kw)


def test_any_one_gold_answer_makes_the_answer_right() -> None:
    item = _item(answers=("水枪、小枪、锤子或是水炸弹", "水枪"), must_contain=("水枪、小枪、锤子或是水炸弹",))
    only_second = Answer("q", "玩家用水枪[1]。", (Citation(1, PAOPAO, ""),), passages=(PAOPAO,))
    row = score_item(item, only_second, [PAOPAO], None)
    # must_contain only repeats answers[0], so it is not required in addition
    assert row["scores"]["accuracy"] == 1.0 and row["answer_matched"] == "水枪" and row["must_contain_missing"] == []
    assert row["answers"] == ["水枪、小枪、锤子或是水炸弹", "水枪"] and row["pass"]["answer"] is True
    wrong = score_item(item, Answer("q", "玩家用锤子[1]。", passages=(PAOPAO,)), [PAOPAO], None)
    assert wrong["scores"]["accuracy"] == 0.0 and wrong["answer_matched"] is None
    assert "none of the gold answers: 水枪、小枪、锤子或是水炸弹 / 水枪" in wrong["reasons"]
    # a must_contain that is not a gold answer is still required
    extra = _item(answers=("水枪",), must_contain=("敌人",))
    assert score_item(extra, only_second, [PAOPAO], None)["scores"]["accuracy"] == 0.0
    assert score_item(extra, Answer("q", "用水枪泡封敌人。"), [], None)["scores"]["accuracy"] == 1.0


def test_char_f1_and_em_score_the_short_answer_before_the_text() -> None:
    item = _item(answers=("1999年",), answer="1999年")
    with_short = Answer("q", "该游戏于1999年[1]发行。", short_answer="1999年")
    row = score_item(item, with_short, [], None)
    assert (row["scores"]["char_f1"], row["scores"]["exact_match"]) == (1.0, 1.0)
    assert row["short_answer"] == "1999年"
    # no short answer: the text without markers is scored, 该|游|戏|于|1999|年|发|行 (8) vs 1999|年 (2)
    # LCS 2 -> P 2/8, R 1 -> F1 0.4
    row = score_item(item, Answer("q", "该游戏于1999年[1]发行。"), [], None)
    assert row["scores"]["char_f1"] == pytest.approx(0.4) and row["scores"]["exact_match"] == 0.0
    assert row["short_answer"] == ""
    # refused: 0, even if the refusal text happened to hold the answer
    refused = score_item(item, Answer("q", "资料中没有1999年的信息。", refused=True, short_answer=""), [], None)
    assert (refused["scores"]["char_f1"], refused["scores"]["exact_match"], refused["scores"]["accuracy"]) == (0, 0, 0)
    # a question that should be refused has neither figure; nor has one without any gold answer
    unanswerable = EvalItem(id="u", question="?", must_contain=(), evidence=())
    row = score_item(unanswerable, Answer("?", "资料中没有相关信息。", refused=True), [], None)
    assert row["scores"]["char_f1"] is None and row["scores"]["exact_match"] is None
    assert score_item(_item(must_contain=("97",)), Answer("q", "97"), [], None)["scores"]["char_f1"] is None


@pytest.fixture()
def two_datasets(dataset: Path, tmp_path: Path) -> list[Path]:
    cmrc = tmp_path / "cmrc.jsonl"
    cmrc.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in CMRC_ROWS), encoding="utf-8")
    return [dataset, cmrc]


def test_figures_per_corpus_with_two_datasets(two_datasets: list[Path], tmp_path: Path) -> None:
    items = load_datasets(two_datasets)
    s = run_eval(items, CmrcAssistant(), tmp_path / "run", judge=FakeJudge(), k=5, progress=False)
    rows = [json.loads(x) for x in (tmp_path / "run" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["corpus"]) for r in rows] == [
        ("qa:q1", "qa"),
        ("q2", "qa"),
        ("q3", "qa"),
        ("q4", "qa"),
        ("cmrc:q1", "cmrc"),
        ("c2", "cmrc"),
    ]
    assert rows[4]["short_answer"] == "水枪、小枪、锤子或是水炸弹" and rows[5]["short_answer"] == "泡封"
    a, r = s["answer"], s["retrieval"]
    assert set(a["per_corpus"]) == set(r["per_corpus"]) == {"qa", "cmrc"}
    assert a["per_corpus"]["qa"]["accuracy"] == pytest.approx(1 / 3)  # as in test_summary_figures
    assert a["per_corpus"]["cmrc"]["accuracy"] == 0.5
    assert a["per_corpus"]["cmrc"]["char_f1"] == 0.5 and a["per_corpus"]["cmrc"]["exact_match"] == 0.5
    assert a["per_corpus"]["cmrc"]["n"] == 2 and a["per_corpus"]["qa"]["n"] == 4
    assert a["accuracy"] == pytest.approx(2 / 5)
    assert r["per_corpus"]["cmrc"]["recall@5"] == 1.0 and r["per_corpus"]["qa"]["recall@5"] == pytest.approx(2 / 3)
    assert a["n_scored"]["char_f1"] == 5 and a["n_scored"]["exact_match"] == 5  # q3 should be refused
    assert a["per_type"]["cmrc"]["char_f1"] == 0.5
    table = format_summary(s)
    assert "per corpus" in table and "answer char_f1" in table and "answer exact_match" in table
    assert re.search(r"^cmrc\s+2\s", table, re.MULTILINE)
    md = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "## Per corpus" in md and "chr_F1" in md and "| EM |" in md
    assert "### c2 (cmrc · cmrc)" in md and "- short answer: 泡封" in md and "- gold answers: 踢爆" in md
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Per corpus</h2>" in page and "<th>short answer</th>" in page and "<td>泡封</td>" in page


def test_one_corpus_has_no_per_corpus_table(dataset: Path, tmp_path: Path) -> None:
    s = _run(dataset, tmp_path / "run")
    assert list(s["answer"]["per_corpus"]) == ["qa"]  # the file's stem
    assert "per corpus" not in format_summary(s)
    assert "## Per corpus" not in (tmp_path / "run" / "report.md").read_text(encoding="utf-8")


def test_compare_shows_char_f1_em_and_corpora(two_datasets: list[Path], tmp_path: Path) -> None:
    items = load_datasets(two_datasets)
    run_eval(items, CmrcAssistant(), tmp_path / "a", judge=FakeJudge(), k=5, progress=False)
    run_eval(items, CmrcAssistant(good=True), tmp_path / "b", judge=FakeJudge(), k=5, progress=False)
    names = {m["metric"]: m for m in compare_data(tmp_path / "a", tmp_path / "b")["metrics"]}
    assert {"answer char_f1", "answer exact_match", "accuracy [corpus qa]", "char_f1 [corpus cmrc]"} <= set(names)
    assert names["accuracy [corpus qa]"]["delta"] == pytest.approx(1 / 3)  # q2 fixed
    assert names["accuracy [corpus cmrc]"]["delta"] == 0.0


class WarmCmrcAssistant(CmrcAssistant):
    """What ``rag eval run`` needs of the assistant it loads: ``warm_up()`` too."""

    def warm_up(self) -> float:
        return 1.0


def test_cli_eval_run_takes_several_datasets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import rag.cli

    loaded: list[str] = []

    def load(args):
        loaded.append(str(args.index))
        return WarmCmrcAssistant()

    monkeypatch.setattr(rag.cli, "_load", load)  # a stub assistant instead of an index
    monkeypatch.setattr(rag.cli, "_judge", lambda args: FakeJudge())
    first, second = tmp_path / "dev_qa.jsonl", tmp_path / "qa.jsonl"
    first.write_text(json.dumps(ROWS[0], ensure_ascii=False) + "\n", encoding="utf-8")
    second.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in CMRC_ROWS), encoding="utf-8")
    out = tmp_path / "run"
    assert rag.cli.main(["eval", "run", str(first), str(second), "--index", "idx", "--out", str(out), "-q"]) == 0
    assert loaded == ["idx"]
    printed = capsys.readouterr().out
    assert "per corpus" in printed and "answer char_f1" in printed
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["n"] == 3 and summary["config"]["dataset"] == [str(first), str(second)]
    assert set(summary["answer"]["per_corpus"]) == {"dev_qa", "qa"}
    assert summary["answer"]["per_corpus"]["qa"]["n"] == 2
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["dev_qa:q1", "qa:q1", "c2"]
    assert [r["short_answer"] for r in rows] == ["", "水枪、小枪、锤子或是水炸弹", "泡封"]
    assert [r["scores"]["exact_match"] for r in rows] == [0.0, 1.0, 0.0]
    assert summary["answer"]["per_corpus"]["qa"]["char_f1"] == 0.5
    # one file: the config names it alone, ids stay as they are
    assert rag.cli.main(["eval", "run", str(second), "--out", str(tmp_path / "one"), "-q"]) == 0
    one = json.loads((tmp_path / "one" / "summary.json").read_text(encoding="utf-8"))
    assert one["config"]["dataset"] == str(second) and list(one["answer"]["per_corpus"]) == ["qa"]
