"""Run an assistant over an evaluation set and write everything needed to see why it failed.

>>> from rag.evaluation.dataset import load_dataset                    # doctest: +SKIP
>>> from rag.assistant import Assistant                                  # doctest: +SKIP
>>> summary = run_eval(load_dataset("eval/datasets/dev_qa.jsonl"),       # doctest: +SKIP
...                    Assistant.load("index"), "eval/runs/dev")
>>> print(format_summary(summary))                                       # doctest: +SKIP

Each question is asked once (``assistant.ask``); the retrieval figures are computed on the
passages the answerer saw (``Answer.passages``), so nothing runs twice. The run folder gets:

* ``summary.json`` -- the figures overall, per question type and per corpus, latency,
  run config;
* ``results.jsonl`` -- one line per question: the answer and its short answer, its
  citations, the retrieved passages, the gold answer found or the missing
  ``must_contain`` strings, the rank of every evidence string, the judge's per-claim
  verdicts, the ALCE per-sentence verdicts and all scores;
* ``report.md`` and a self-contained ``report.html`` (plots inline as base64 PNG).

Figures and their definitions: :mod:`rag.evaluation.metrics` (answers) and
:mod:`rag.evaluation.retrieval` (recall@k, recall within 2,000 characters, MRR).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.evaluation import metrics
from rag.evaluation.dataset import EvalItem
from rag.evaluation.report import format_summary, write_reports
from rag.evaluation.retrieval import evidence_found, latency_summary, score_retrieval
from rag.records import Answer, Passage

__all__ = ["ANSWER_METRICS", "MEAN_METRICS", "default_judge", "format_summary", "run_eval", "score_item", "summarize"]

SUMMARY_FILE = "summary.json"
RESULTS_FILE = "results.jsonl"
ANSWER_METRICS = (
    "accuracy",
    "cited_evidence",
    "token_f1",
    "char_f1",
    "exact_match",
    "faithfulness",
    "citation_precision",
    "citation_recall",
    "refusal_accuracy",
    "false_refusal_rate",
)
# The answer figures that are a mean of a per-question score (the refusal rates are not).
MEAN_METRICS = tuple(m for m in ANSWER_METRICS if m not in ("refusal_accuracy", "false_refusal_rate"))
# Exceptions meaning "the assistant cannot answer at all" (e.g. ask() not wired yet):
# stop the run instead of recording the same failure for every question.
_FATAL = (ImportError, NotImplementedError, MemoryError)
_SECRET_FIELD = re.compile(r"api_key|secret|password|token$", re.IGNORECASE)


def default_judge() -> Any:
    """``rag.judge.OfflineJudge()``, or None when the judge package cannot be imported."""
    try:
        from rag.judge import OfflineJudge
    except ImportError:
        return None
    return OfflineJudge()


# ---------------------------------------------------------------------------- one question


def _passage_row(rank: int, p: Passage) -> dict[str, Any]:
    return {"rank": rank, "id": p.id, "source": p.source, "title": p.title, "score": round(float(p.score), 6)}


def score_item(
    item: EvalItem,
    answer: Answer,
    passages: Sequence[Passage],
    judge: Any,
    *,
    k: int = 5,
    latency_ms: float = 0.0,
    error: str = "",
) -> dict[str, Any]:
    """Score one answered question; the result is one line of ``results.jsonl``.

    ``passages`` are the retrieved passages, best first (normally ``answer.passages``);
    ``judge`` may be None, which leaves faithfulness and the citation figures out.

    Accuracy: with gold ``answers``, the answer must hold any one of them (plus the
    ``must_contain`` strings that do not merely repeat a gold answer,
    :func:`~rag.evaluation.metrics.extra_required`); without, every ``must_contain``
    string. ``char_f1`` / ``exact_match`` (CMRC 2018) score ``answer.short_answer``, or the
    answer text without markers when it has none, against the gold answers; a refusal
    scores 0, and a question that should be refused has neither.

    >>> item = EvalItem(id="c1", question="何时成立？", answers=("1999年10月", "1999年"), corpus="cmrc")
    >>> row = score_item(item, Answer("何时成立？", "成立于1999年[1]。", short_answer="1999年"), [], None)
    >>> row["scores"]["accuracy"], row["scores"]["exact_match"], row["answer_matched"], row["corpus"]
    (1.0, 1.0, '1999年', 'cmrc')
    """
    refused = bool(answer.refused)
    scores: dict[str, float | None] = {}

    # --- retrieval
    evidence_rows: list[dict[str, Any]] = []
    retrieval_pass: bool | None = None
    if item.evidence:
        r = score_retrieval(item.evidence, passages, k)
        assert r is not None
        scores[f"recall@{k}"] = r.recall_at_k
        scores["recall_2000"] = r.recall_2000
        scores["reciprocal_rank"] = r.reciprocal_rank
        for ev in item.evidence:
            rank = evidence_found(ev, passages)
            evidence_rows.append({"text": ev, "rank": rank, "in_top_k": rank is not None and rank <= k})
        retrieval_pass = r.recall_at_k >= 1.0
    else:
        scores[f"recall@{k}"] = scores["recall_2000"] = scores["reciprocal_rank"] = None

    # --- answer correctness
    missing: list[str] = []
    matched: str | None = None
    no_gold_answer = False  # gold answers given and none of them is in the answer
    if (item.answers or item.must_contain) and not item.expects_refusal:
        required = metrics.extra_required(item.must_contain, item.answers)
        if refused:
            missing, no_gold_answer = list(required), bool(item.answers)
        else:
            missing = metrics.missing_strings(answer.text, required)
            if item.answers:
                matched = metrics.matched_answer(answer.text, item.answers)
                no_gold_answer = matched is None
        scores["accuracy"] = 0.0 if missing or no_gold_answer else 1.0
    else:
        scores["accuracy"] = None
    if item.evidence and not item.expects_refusal:
        # every evidence quote lies whole inside some passage the answer cites
        cited = [c.passage for c in answer.citations]
        scores["cited_evidence"] = float(all(evidence_found(ev, cited) is not None for ev in item.evidence))
    else:
        scores["cited_evidence"] = None
    if item.answer and not item.expects_refusal:
        scores["token_f1"] = 0.0 if refused else metrics.token_f1(answer.text, item.answer)
    else:
        scores["token_f1"] = None
    short_answer = str(getattr(answer, "short_answer", "") or "")
    gold = item.gold_answers
    if gold and not item.expects_refusal:
        prediction = metrics.scored_prediction(answer.text, short_answer)
        scores["char_f1"] = 0.0 if refused else metrics.char_f1(prediction, gold)
        scores["exact_match"] = 0.0 if refused else metrics.exact_match(prediction, gold)
    else:
        scores["char_f1"] = scores["exact_match"] = None
    scores["refusal_correct"] = float(refused == item.expects_refusal)

    # --- support of what was said
    claims: list[dict[str, Any]] = []
    sentences: list[dict[str, Any]] = []
    scores["faithfulness"] = scores["citation_recall"] = scores["citation_precision"] = None
    if judge is not None and not refused and answer.text.strip():
        f = metrics.faithfulness(answer.text, answer.citations, judge, question=item.question)
        scores["faithfulness"] = f.score
        claims = [c.to_dict() for c in f.claims]
        c = metrics.citation_scores(answer.text, answer.citations, judge)
        scores["citation_recall"], scores["citation_precision"] = c.recall, c.precision
        sentences = [s.to_dict() for s in c.sentences]

    # --- pass / fail and why
    if error:
        answer_pass: bool | None = False
    elif item.expects_refusal:
        answer_pass = refused
    elif refused:
        answer_pass = False
    elif scores["accuracy"] is not None:
        answer_pass = scores["accuracy"] == 1.0
    else:
        answer_pass = None
    reasons = _reasons(item, refused, missing, no_gold_answer, evidence_rows, claims, sentences, k, error)

    return {
        "id": item.id,
        "type": item.type,
        "corpus": item.corpus,
        "question": item.question,
        "resolved_question": answer.resolved_question,
        "reference": item.answer,
        "answers": None if item.answers is None else list(item.answers),
        "must_contain": None if item.must_contain is None else list(item.must_contain),
        "expects_refusal": item.expects_refusal,
        "answer": answer.text,
        "short_answer": short_answer,
        "refused": refused,
        "error": error,
        "citations": [
            {
                "n": c.n,
                "passage_id": c.passage.id,
                "source": c.passage.source,
                "title": c.passage.title,
                "quote": c.quote,
            }
            for c in answer.citations
        ],
        "retrieved": [_passage_row(i + 1, p) for i, p in enumerate(passages)],
        "source_file": item.source_file,
        "source_file_rank": next((i + 1 for i, p in enumerate(passages) if p.source == item.source_file), None)
        if item.source_file
        else None,
        "answer_matched": matched,
        "must_contain_missing": missing,
        "evidence": evidence_rows,
        "claims": claims,
        "sentences": sentences,
        "scores": scores,
        "pass": {"answer": answer_pass, "retrieval": retrieval_pass},
        "failed": answer_pass is False or retrieval_pass is False,
        "reasons": reasons,
        "latency_ms": round(latency_ms, 3),
        "reported_latency_ms": round(float(answer.latency_ms), 3),
    }


def _short(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _reasons(
    item: EvalItem,
    refused: bool,
    missing: list[str],
    no_gold_answer: bool,
    evidence: list[dict[str, Any]],
    claims: list[dict[str, Any]],
    sentences: list[dict[str, Any]],
    k: int,
    error: str,
) -> list[str]:
    """Human-readable reasons, most important first."""
    out: list[str] = []
    if error:
        out.append(f"error: {error}")
    if item.expects_refusal and not refused and not error:
        out.append("answered a question the documents do not answer (should refuse)")
    if refused and not item.expects_refusal:
        out.append("refused an answerable question")
    if no_gold_answer and not refused and item.answers:
        out.append("none of the gold answers: " + " / ".join(item.answers))
    if missing and not refused:
        out.append("missing: " + "、".join(missing))
    for ev in evidence:
        if not ev["in_top_k"]:
            where = f"rank {ev['rank']}" if ev["rank"] else "not retrieved"
            out.append(f"evidence not in top {k} ({where}): {_short(ev['text'])}")
    for c in claims:
        if not c["supported"]:
            out.append(f"unsupported claim: {_short(c['claim'])}" + (f" ({c['reason']})" if c["reason"] else ""))
    for s in sentences:
        if not s["recall"]:
            why = "no citation" if not s["cited"] else "cited passages do not entail it"
            out.append(f"citation recall 0 ({why}): {_short(s['sentence'])}")
        irrelevant = [n for n, v in s["precision"].items() if not v]
        if s["recall"] and irrelevant:
            out.append(f"irrelevant citation [{','.join(irrelevant)}]: {_short(s['sentence'])}")
    return out


# ---------------------------------------------------------------------------- aggregation


def _retrieval_block(rows: Sequence[dict[str, Any]], k: int) -> dict[str, Any]:
    key = f"recall@{k}"
    scored = [r["scores"] for r in rows if r["scores"].get(key) is not None]
    return {
        "n": len(scored),
        key: metrics.mean(s[key] for s in scored),
        "recall_2000": metrics.mean(s["recall_2000"] for s in scored),
        "mrr": metrics.mean(s["reciprocal_rank"] for s in scored),
    }


def _answer_block(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    expected = [bool(r["expects_refusal"]) for r in rows]
    refused = [bool(r["refused"]) for r in rows]
    block: dict[str, Any] = {"n": len(rows)}
    for name in MEAN_METRICS:
        block[name] = metrics.mean(r["scores"].get(name) for r in rows)
    block["refusal_accuracy"] = metrics.refusal_accuracy(expected, refused)
    block["false_refusal_rate"] = metrics.false_refusal_rate(expected, refused)
    return block


def _counts(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many questions each answer figure averages over."""
    out = {name: sum(r["scores"].get(name) is not None for r in rows) for name in MEAN_METRICS}
    out["refusal_accuracy"] = sum(bool(r["expects_refusal"]) for r in rows)
    out["false_refusal_rate"] = len(rows) - out["refusal_accuracy"]
    return out


def summarize(rows: Sequence[dict[str, Any]], *, k: int = 5, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``summary.json`` dict from the lines of ``results.jsonl``.

    Every figure is a macro mean over the questions it applies to (None when none does);
    ``answer.n_scored`` says how many that was for each. ``per_type`` and ``per_corpus``
    hold the same blocks for the rows of each question type and each corpus (a row
    without one counts as ``"all"``).

    >>> rows = [{"type": "cmrc", "corpus": c, "expects_refusal": False, "refused": False, "latency_ms": 1.0,
    ...          "scores": {"accuracy": a, "char_f1": a}} for c, a in (("qa", 1.0), ("qa", 0.0), ("dev", 1.0))]
    >>> s = summarize(rows)
    >>> s["answer"]["accuracy"], s["answer"]["per_corpus"]["qa"]["char_f1"], sorted(s["retrieval"]["per_corpus"])
    (0.6666666666666666, 0.5, ['dev', 'qa'])
    """
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_corpus: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_type[r.get("type") or "all"].append(r)
        by_corpus[r.get("corpus") or "all"].append(r)
    retrieval = _retrieval_block(rows, k)
    retrieval["per_type"] = {t: _retrieval_block(rs, k) for t, rs in sorted(by_type.items())}
    retrieval["per_corpus"] = {c: _retrieval_block(rs, k) for c, rs in sorted(by_corpus.items())}
    answer = _answer_block(rows)
    answer["n_scored"] = _counts(rows)
    answer["per_type"] = {t: _answer_block(rs) for t, rs in sorted(by_type.items())}
    answer["per_corpus"] = {c: _answer_block(rs) for c, rs in sorted(by_corpus.items())}
    latencies = [float(r["latency_ms"]) for r in rows if not r.get("error")]
    return {
        "retrieval": retrieval,
        "answer": answer,
        "latency_ms": latency_summary(latencies),
        "n": len(rows),
        "errors": sum(bool(r.get("error")) for r in rows),
        "failed": sum(bool(r.get("failed")) for r in rows),
        "config": dict(config or {}),
    }


# ---------------------------------------------------------------------------- the run


def _describe(assistant: Any, judge: Any, k: int) -> dict[str, Any]:
    """What produced this run (settings without secrets)."""
    cfg: dict[str, Any] = {
        "k": k,
        "assistant": type(assistant).__name__,
        "judge": type(judge).__name__ if judge is not None else None,
        "judge_threshold": getattr(judge, "threshold", None) if judge is not None else None,
    }
    settings = getattr(assistant, "settings", None)
    if dataclasses.is_dataclass(settings) and not isinstance(settings, type):
        cfg["settings"] = {
            f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if not _SECRET_FIELD.search(f.name)
        }
    return cfg


def _ask(assistant: Any, item: EvalItem, k: int) -> tuple[Answer, list[Passage], float, str]:
    t0 = time.perf_counter()
    try:
        answer = assistant.ask(item.question)
        error = ""
    except _FATAL:
        raise
    except Exception as e:  # one bad question must not end the run; it is recorded and fails
        answer, error = Answer(question=item.question, text=""), f"{type(e).__name__}: {e}"
    ms = (time.perf_counter() - t0) * 1000
    passages = list(answer.passages)
    if not passages and item.evidence and not error and hasattr(assistant, "retrieve"):
        passages = list(assistant.retrieve(item.question, k))  # answerer exposed nothing: look ourselves
    return answer, passages, ms, error


def run_eval(
    items: Sequence[EvalItem],
    assistant: Any,
    out_dir: str | Path,
    *,
    judge: Any = None,
    k: int = 5,
    progress: bool = True,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Ask every question, score it, write the run folder, return the summary dict.

    ``assistant`` needs ``ask(question) -> Answer`` (and ``retrieve(question, k)``, used
    only when an answer carries no passages). ``judge`` defaults to
    ``rag.judge.OfflineJudge()``; faithfulness and citation figures are None without one.
    ``config`` (e.g. the dataset path and index folder) is stored in ``summary["config"]``.
    A question whose ``ask`` raises is recorded with its error and counted as failed;
    ImportError / NotImplementedError stop the run.
    """
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if judge is None:
        judge = default_judge()
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with (out / RESULTS_FILE).open("w", encoding="utf-8") as f:
        for item in tqdm(items, desc="eval", unit="q", disable=not progress, dynamic_ncols=True):
            answer, passages, ms, error = _ask(assistant, item, k)
            row = score_item(item, answer, passages, judge, k=k, latency_ms=ms, error=error)
            rows.append(row)
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
    cfg = _describe(assistant, judge, k) | {
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - t0, 3),
    }
    summary = summarize(rows, k=k, config=cfg | dict(config or {}))
    (out / SUMMARY_FILE).write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    write_reports(out, summary, rows)
    return summary
