"""Evaluation reports: plain-text tables for the terminal, ``report.md`` and a self-contained ``report.html``.

>>> print(format_table(["指标", "值"], [["accuracy", 0.9], ["mrr", None]]))
指标      值
--------  -----
accuracy  0.900
mrr           –

The HTML report carries its plots inline (matplotlib, Agg, base64 PNG) so it can be
mailed or archived as one file; every failed question links to its detail section.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ANSWER_COLUMNS = (
    ("accuracy", "acc"),
    ("cited_evidence", "cit_ev"),
    ("token_f1", "tok_F1"),
    ("char_f1", "chr_F1"),
    ("exact_match", "EM"),
    ("faithfulness", "faith"),
    ("citation_precision", "cit_P"),
    ("citation_recall", "cit_R"),
    ("refusal_accuracy", "refuse_ok"),
    ("false_refusal_rate", "false_refuse"),
)


# ---------------------------------------------------------------------------- text tables


def fmt(value: Any, digits: int = 3) -> str:
    """A cell: floats with ``digits`` decimals, None/NaN as "–", everything else ``str``.

    >>> fmt(0.5), fmt(None), fmt(float("nan")), fmt(3), fmt(True)
    ('0.500', '–', '–', '3', 'yes')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _width(text: str) -> int:
    """Display width: CJK and full-width characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[bool] | None = None) -> str:
    """A monospace table; numeric columns (or those flagged in ``right``) right-aligned, CJK double width."""
    cells = [[fmt(v) for v in row] for row in rows]
    numeric = (
        list(right)
        if right is not None
        else [
            all(isinstance(r[i], int | float) or r[i] is None for r in rows) and bool(rows) for i in range(len(headers))
        ]
    )
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [
        "  ".join(_pad(h, w, False) for h, w in zip(headers, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    for r in cells:
        lines.append("  ".join(_pad(c, w, n) for c, w, n in zip(r, widths, numeric, strict=True)).rstrip())
    return "\n".join(lines)


def _recall_key(block: dict[str, Any]) -> str:
    return next((key for key in block if key.startswith("recall@")), "recall@5")


def _groups(summary: dict[str, Any], key: str) -> list[str]:
    """The group names of ``per_type`` / ``per_corpus`` blocks, sorted."""
    retrieval, answer = summary.get("retrieval", {}), summary.get("answer", {})
    return sorted(set(retrieval.get(key, {})) | set(answer.get(key, {})))


def corpora(summary: dict[str, Any]) -> list[str]:
    """The corpora a run's summary has figures for (``per_corpus``).

    >>> corpora({"answer": {"per_corpus": {"qa": {}, "dev_qa": {}}}, "retrieval": {}})
    ['dev_qa', 'qa']
    """
    return _groups(summary, "per_corpus")


def _per_type_rows(
    summary: dict[str, Any], key: str = "per_type", label: str = "type"
) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the figures per group (``per_type`` or ``per_corpus``), then overall."""
    retrieval, answer = summary.get("retrieval", {}), summary.get("answer", {})
    rkey = _recall_key(retrieval)
    headers = [label, "n", rkey, "rec_2000", "mrr"] + [short for _, short in ANSWER_COLUMNS]
    rows: list[list[Any]] = []
    for t in _groups(summary, key):
        r, a = retrieval.get(key, {}).get(t, {}), answer.get(key, {}).get(t, {})
        rows.append([t, a.get("n", r.get("n")), r.get(rkey), r.get("recall_2000"), r.get("mrr")])
        rows[-1] += [a.get(name) for name, _ in ANSWER_COLUMNS]
    rows.append(["overall", summary.get("n"), retrieval.get(rkey), retrieval.get("recall_2000"), retrieval.get("mrr")])
    rows[-1] += [answer.get(name) for name, _ in ANSWER_COLUMNS]
    return headers, rows


def format_summary(summary: dict[str, Any]) -> str:
    """The ``summary.json`` dict as terminal tables: overall figures, per type, per corpus
    (when there is more than one), latency.

    >>> s = {"retrieval": {"recall@5": 1.0, "recall_2000": 1.0, "mrr": 0.5, "per_type": {}},
    ...      "answer": {"accuracy": 0.75, "per_type": {}}, "latency_ms": {"p50": 12.0}, "n": 4}
    >>> "accuracy" in format_summary(s) and "0.750" in format_summary(s)
    True
    """
    retrieval, answer = summary.get("retrieval", {}), summary.get("answer", {})
    rkey = _recall_key(retrieval)
    counts = answer.get("n_scored", {})
    rows: list[list[Any]] = [
        [f"retrieval {rkey}", retrieval.get(rkey), retrieval.get("n")],
        ["retrieval recall_2000", retrieval.get("recall_2000"), retrieval.get("n")],
        ["retrieval mrr", retrieval.get("mrr"), retrieval.get("n")],
    ]
    rows += [[f"answer {name}", answer.get(name), counts.get(name)] for name, _ in ANSWER_COLUMNS]
    lat = summary.get("latency_ms", {})
    rows += [[f"latency {q} (ms)", lat.get(q), None] for q in ("p50", "p95", "mean")]
    parts = [f"{summary.get('n', 0)} questions", f"{summary.get('failed', 0)} failed"]
    if summary.get("errors"):
        parts.append(f"{summary['errors']} ERRORS (see results.jsonl)")
    out = ["  ·  ".join(parts), "", format_table(["metric", "value", "n"], rows)]
    if retrieval.get("per_type") or answer.get("per_type"):
        headers, type_rows = _per_type_rows(summary)
        out += ["", "per type", format_table(headers, type_rows)]
    if len(corpora(summary)) > 1:
        headers, corpus_rows = _per_type_rows(summary, "per_corpus", "corpus")
        out += ["", "per corpus", format_table(headers, corpus_rows)]
    return "\n".join(out)


# ---------------------------------------------------------------------------- plots


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plot_per_type(summary: dict[str, Any]) -> str:
    """Base64 PNG: grouped bars of answer accuracy and retrieval recall@k per question type."""
    import warnings

    from matplotlib.figure import Figure

    retrieval, answer = summary.get("retrieval", {}), summary.get("answer", {})
    rkey = _recall_key(retrieval)
    types = sorted(set(retrieval.get("per_type", {})) | set(answer.get("per_type", {})))
    series = [
        ("accuracy", [answer.get("per_type", {}).get(t, {}).get("accuracy") for t in types]),
        (rkey, [retrieval.get("per_type", {}).get(t, {}).get(rkey) for t in types]),
        ("refusal acc.", [answer.get("per_type", {}).get(t, {}).get("refusal_accuracy") for t in types]),
    ]
    series = [(name, vals) for name, vals in series if any(v is not None for v in vals)]
    fig = Figure(figsize=(max(5.0, 1.1 * len(types) + 2), 3.4))
    ax = fig.subplots()
    width = 0.8 / max(1, len(series))
    for j, (name, vals) in enumerate(series):
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(types))]
        ax.bar(xs, [v if v is not None else 0.0 for v in vals], width, label=name)
    ax.set_xticks(range(len(types)), types, rotation=30 if len(types) > 6 else 0)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title("per question type")
    ax.grid(axis="y", alpha=0.3)
    if series:
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.12 if len(types) <= 6 else -0.3), ncol=3, fontsize="small"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing CJK glyphs in a type name are not worth a warning
        return _png(fig)


def plot_latency(rows: Sequence[dict[str, Any]]) -> str:
    """Base64 PNG: histogram of per-question latency (ms)."""
    from matplotlib.figure import Figure

    ms = [float(r.get("latency_ms") or 0.0) for r in rows if not r.get("error")]
    fig = Figure(figsize=(5.0, 3.0))
    ax = fig.subplots()
    ax.hist(ms or [0.0], bins=min(30, max(5, len(ms) // 2)), color="#4C72B0")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title("latency")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


# ---------------------------------------------------------------------------- markdown


def _kind(row: dict[str, Any]) -> str:
    """``type`` of a results row, with its corpus when it has one: ``numeric · dev_qa``."""
    return " · ".join(x for x in (row.get("type") or "-", row.get("corpus") or "") if x)


def _md_cell(value: Any) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table.

    >>> print(md_table(["a", "b"], [[1, 0.5]]))
    | a | b |
    |---|---|
    | 1 | 0.500 |
    """
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    """``report.md``: figures per type (and per corpus), and every failed question with its reasons."""
    headers, type_rows = _per_type_rows(summary)
    lat = summary.get("latency_ms", {})
    failed = [r for r in rows if r.get("failed")]
    out = [
        "# Evaluation report",
        "",
        f"{summary.get('n', 0)} questions, {len(failed)} failed, {summary.get('errors', 0)} errors. "
        f"Latency p50 {fmt(lat.get('p50'), 1)} ms, p95 {fmt(lat.get('p95'), 1)} ms, mean {fmt(lat.get('mean'), 1)} ms.",
        "",
        "## Figures",
        "",
        md_table(headers, type_rows),
        "",
    ]
    if len(corpora(summary)) > 1:
        out += ["## Per corpus", "", md_table(*_per_type_rows(summary, "per_corpus", "corpus")), ""]
    out += [
        "Definitions: `rag/evaluation/metrics.py` and `rag/evaluation/retrieval.py`. "
        "Per-question details: `results.jsonl`; plots: `report.html`.",
        "",
        f"## Failures ({len(failed)})",
        "",
    ]
    for r in failed:
        out.append(f"### {r['id']} ({_kind(r)}): {r['question']}")
        out.append("")
        out.append(f"- answer{' (refused)' if r.get('refused') else ''}: {_md_cell(r.get('answer') or '')}")
        out.append(f"- short answer: {_md_cell(r.get('short_answer') or '–')}")
        if r.get("answers"):
            out.append(f"- gold answers: {_md_cell(' / '.join(r['answers']))}")
        elif r.get("reference"):
            out.append(f"- reference: {_md_cell(r['reference'])}")
        out += [f"- {_md_cell(reason)}" for reason in r.get("reasons", [])]
        out.append("")
    cfg = summary.get("config", {})
    if cfg:
        out += ["## Config", "", "```json", json.dumps(cfg, ensure_ascii=False, indent=2, default=str), "```", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------- html

_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .5em;
vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.fail{color:#b00020}.ok{color:#0a7d28}.muted{color:#777}section.q{border-top:1px solid #ddd;padding:.5em 0}
img{max-width:100%}code,pre{background:#f6f6f6}pre{padding:.5em;overflow-x:auto}
"""


def _anchor(index: int, item_id: str) -> str:
    return f"q{index}-" + re.sub(r"[^A-Za-z0-9_-]", "_", item_id)


def _h(value: Any) -> str:
    return html.escape(fmt(value))


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then they are trusted HTML strings)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for v in row:
            cls = ' class="num"' if isinstance(v, int | float) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{v if raw and isinstance(v, str) else _h(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _question_section(index: int, r: dict[str, Any]) -> str:
    status = '<span class="fail">FAILED</span>' if r.get("failed") else '<span class="ok">passed</span>'
    parts = [
        f'<section class="q" id="{_anchor(index, r["id"])}">',
        f"<h3>{html.escape(r['id'])} · {html.escape(_kind(r))} · {status}</h3>",
        f"<p><b>Q:</b> {html.escape(r['question'])}</p>",
        f"<p><b>A{' (refused)' if r.get('refused') else ''}:</b> {html.escape(r.get('answer') or '')}</p>",
    ]
    if r.get("short_answer"):
        parts.append(f"<p><b>short answer:</b> {html.escape(r['short_answer'])}</p>")
    if r.get("answers"):
        parts.append(f"<p class='muted'><b>gold answers:</b> {html.escape(' / '.join(r['answers']))}</p>")
    elif r.get("reference"):
        parts.append(f"<p class='muted'><b>reference:</b> {html.escape(r['reference'])}</p>")
    if r.get("reasons"):
        parts.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in r["reasons"]) + "</ul>")
    scores = r.get("scores", {})
    parts.append(_html_table(list(scores), [list(scores.values())]))
    if r.get("citations"):
        parts.append("<h4>citations</h4>")
        parts.append(
            _html_table(
                ["n", "source", "title", "quote"],
                [[c["n"], c["source"], c["title"], c["quote"]] for c in r["citations"]],
            )
        )
    if r.get("evidence"):
        parts.append("<h4>evidence</h4>")
        parts.append(
            _html_table(
                ["evidence", "rank", "in top k"], [[e["text"], e["rank"], e["in_top_k"]] for e in r["evidence"]]
            )
        )
    if r.get("retrieved"):
        parts.append("<h4>retrieved</h4>")
        parts.append(
            _html_table(
                ["rank", "source", "title", "score"],
                [[p["rank"], p["source"], p["title"], p["score"]] for p in r["retrieved"]],
            )
        )
    if r.get("claims"):
        parts.append("<h4>claims (judge)</h4>")
        parts.append(
            _html_table(
                ["claim", "supported", "score", "reason", "span"],
                [[c["claim"], c["supported"], c["score"], c["reason"], c["span"]] for c in r["claims"]],
            )
        )
    if r.get("sentences"):
        parts.append("<h4>sentences (ALCE)</h4>")
        parts.append(
            _html_table(
                ["sentence", "cited", "recall", "precision per citation"],
                [
                    [s["sentence"], ",".join(map(str, s["cited"])) or "–", s["recall"], json.dumps(s["precision"])]
                    for s in r["sentences"]
                ],
            )
        )
    if r.get("error"):
        parts.append(f"<pre>{html.escape(r['error'])}</pre>")
    parts.append("</section>")
    return "\n".join(parts)


def render_html(summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    """``report.html``: figures, inline plots, a failure table linking to per-question sections."""
    headers, type_rows = _per_type_rows(summary)
    lat = summary.get("latency_ms", {})
    failed = [(i, r) for i, r in enumerate(rows) if r.get("failed")]
    fail_rows = [
        [
            f'<a href="#{_anchor(i, r["id"])}">{html.escape(r["id"])}</a>',
            html.escape(_kind(r)),
            html.escape(r["question"]),
            html.escape(r.get("short_answer") or "–"),
            "<br>".join(html.escape(x) for x in r.get("reasons", [])[:4]),
        ]
        for i, r in failed
    ]
    cfg = json.dumps(summary.get("config", {}), ensure_ascii=False, indent=2, default=str)
    body = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8"><title>Evaluation report</title>',
        f"<style>{_CSS}</style></head><body>",
        "<h1>Evaluation report</h1>",
        f"<p>{summary.get('n', 0)} questions, <span class='fail'>{len(failed)} failed</span>, "
        f"{summary.get('errors', 0)} errors · latency p50 {_h(lat.get('p50'))} ms, p95 {_h(lat.get('p95'))} ms, "
        f"mean {_h(lat.get('mean'))} ms</p>",
        "<h2>Figures</h2>",
        _html_table(headers, type_rows),
        *(
            ["<h2>Per corpus</h2>", _html_table(*_per_type_rows(summary, "per_corpus", "corpus"))]
            if len(corpora(summary)) > 1
            else []
        ),
        "<h2>Plots</h2>",
        f'<img src="data:image/png;base64,{plot_per_type(summary)}" alt="accuracy and recall per type">',
        f'<img src="data:image/png;base64,{plot_latency(rows)}" alt="latency histogram">',
        f"<h2>Failures ({len(failed)})</h2>",
        _html_table(["id", "type", "question", "short answer", "why"], fail_rows, raw=True)
        if fail_rows
        else "<p>None.</p>",
        "<h2>All questions</h2>",
        *(_question_section(i, r) for i, r in enumerate(rows)),
        f"<h2>Config</h2><pre>{html.escape(cfg)}</pre>",
        "</body></html>",
    ]
    return "\n".join(body)


# ---------------------------------------------------------------------------- files


def write_reports(out_dir: str | Path, summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    md, page = out / "report.md", out / "report.html"
    md.write_text(render_markdown(summary, rows), encoding="utf-8")
    page.write_text(render_html(summary, rows), encoding="utf-8")
    return md, page


def load_run(run_dir: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(summary, rows)`` of a run folder written by ``run_eval``."""
    root = Path(run_dir)
    if not (root / "summary.json").is_file():
        raise FileNotFoundError(f"{root} holds no summary.json: is it a folder written by `rag eval run`?")
    summary = json.loads((root / "summary.json").read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = []
    results = root / "results.jsonl"
    if results.is_file():
        with results.open(encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    return summary, rows


def rebuild_reports(run_dir: str | Path) -> tuple[Path, Path]:
    """Re-render ``report.md`` / ``report.html`` of an existing run folder (e.g. after a report change)."""
    summary, rows = load_run(run_dir)
    return write_reports(run_dir, summary, rows)
