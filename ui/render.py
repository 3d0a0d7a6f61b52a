"""HTML and text for answers and their sources. Document text is data: every piece of it
is escaped here, whatever it contains.

>>> escape_markdown("<img src=x onerror=alert(1)> *强调*")
'&lt;img src=x onerror=alert(1)&gt; \\\\*强调\\\\*'
>>> highlight_span("全年新建图书馆12个，接待读者35万人次。", "新建图书馆12个")
(2, 10)

Highlights are found by deterministic matching of the citation's quote in its passage
(exact, then ignoring white space, then the sentence sharing most character bigrams),
never by asking a model to quote (kotaemon's LLM-quoted highlights often miss).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from rag.records import Answer, Citation, Passage

_MD_SPECIAL = re.compile(r"([\\`*_#|~])")
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")


def escape_markdown(text: str) -> str:
    """``text`` shown literally by a Markdown renderer: HTML escaped, Markdown marks
    backslashed, no link syntax. ``[n]`` markers stay as they are."""
    t = html.escape(text, quote=False)
    t = _MD_SPECIAL.sub(r"\\\1", t)
    return t.replace("](", "]\\(").replace("![", "!\\[")


def _bigrams(s: str) -> set[str]:
    s = re.sub(r"\s+", "", s)
    return {s[i : i + 2] for i in range(len(s) - 1)}


def highlight_span(text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` stands in ``text`` as ``(start, end)``, or None when nothing fits."""
    quote = quote.strip()
    if not quote or not text:
        return None
    at = text.find(quote)
    if at >= 0:
        return at, at + len(quote)
    # ignoring white space (a quote joined across a line break)
    squeezed, where = [], []
    for i, ch in enumerate(text):
        if not ch.isspace():
            squeezed.append(ch)
            where.append(i)
    q = re.sub(r"\s+", "", quote)
    at = "".join(squeezed).find(q)
    if at >= 0 and q:
        return where[at], where[at + len(q) - 1] + 1
    # the sentence that shares most character bigrams with the quote
    want = _bigrams(quote)
    best, span = 0.0, None
    for m in _SENTENCE.finditer(text):
        got = _bigrams(m.group(0))
        score = len(want & got) / max(1, len(want))
        if score > best:
            best, span = score, (m.start(), m.end())
    return span if best >= 0.5 else None


def marked_html(text: str, span: tuple[int, int] | None, cls: str = "rag-hl", mark_id: str = "") -> str:
    """``text`` escaped, line breaks kept, with ``span`` wrapped in ``<mark>``."""
    if span is None:
        return html.escape(text).replace("\n", "<br>")
    a, b = span
    id_attr = f' id="{html.escape(mark_id)}"' if mark_id else ""
    return (
        html.escape(text[:a]).replace("\n", "<br>")
        + f'<mark class="{cls}"{id_attr}>'
        + html.escape(text[a:b]).replace("\n", "<br>")
        + "</mark>"
        + html.escape(text[b:]).replace("\n", "<br>")
    )


def _where(p: Passage) -> str:
    page = p.meta.get("page") if p.meta else None
    return html.escape(p.source) + (f" · 第 {html.escape(str(page))} 页" if page else "")


def source_card(turn: int, n: int | None, p: Passage, quote: str = "") -> str:
    """One source: number, title, heading path, file (page), score, the passage with the
    supporting span marked, and a button that opens the whole document."""
    span = highlight_span(p.text, quote) if quote else None
    ident = f"rag-src-{turn}-{n}" if n is not None else f"rag-near-{turn}-{html.escape(p.id)}"
    label = f"[{n}]" if n is not None else "·"
    path = " › ".join(p.heading_path)
    return (
        f'<div class="rag-src" id="{ident}" data-turn="{turn}" data-n="{n if n is not None else ""}">'
        f'<div class="rag-src-head"><span class="rag-src-n">{label}</span> '
        f'<span class="rag-src-title">{html.escape(p.title)}</span>'
        f'<span class="rag-src-score" title="检索得分">{p.score:.3f}</span></div>'
        + (f'<div class="rag-src-path">{html.escape(path)}</div>' if path else "")
        + f'<div class="rag-src-file">{_where(p)}</div>'
        f'<div class="rag-src-text">{marked_html(p.text, span)}</div>'
        f'<button class="rag-open" type="button" data-passage="{html.escape(p.id)}">查看原文</button>'
        "</div>"
    )


def turn_html(turn: int, question: str, answer: Answer, open_: bool) -> str:
    """The sources of one turn: its citations, or the closest passages of a refusal."""
    cards: list[str] = []
    if answer.citations:
        cards = [source_card(turn, c.n, c.passage, c.quote) for c in answer.citations]
    elif answer.passages:
        cards = ['<div class="rag-note">文档中没有找到答案。最接近的段落：</div>']
        cards += [source_card(turn, None, p) for p in answer.passages[:3]]
    else:
        cards = ['<div class="rag-note">没有检索到相关段落。</div>']
    return (
        f'<details class="rag-turn" data-turn="{turn}"{" open" if open_ else ""}>'
        f'<summary>第 {turn + 1} 问：{html.escape(question[:60])}</summary>' + "".join(cards) + "</details>"
    )


def sources_html(turns: Sequence[Any]) -> str:
    """The sources panel: every turn of the conversation, newest first and open."""
    if not turns:
        return '<div class="rag-empty">提问后，答案引用的原文段落显示在这里；点击答案中的 [n] 跳到对应段落。</div>'
    last = len(turns) - 1
    return "".join(turn_html(i, t.question, t.answer, i == last) for i, t in reversed(list(enumerate(turns))))


def document_html(title: str, text: str, start: int, end: int) -> str:
    """A whole document, escaped, with the passage ``text[start:end]`` marked (id ``rag-doc-hit``)."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    span = (start, end) if end > start else None
    return f'<h3 class="rag-doc-title">{html.escape(title)}</h3><div class="rag-doc-text">' + marked_html(
        text, span, "rag-doc-hl", "rag-doc-hit"
    ) + "</div>"


def answer_markdown(answer: Answer) -> str:
    """The answer as a chat message: its text (markers kept), escaped for Markdown; the short
    answer that opens it is shown in bold.

    >>> a = Answer("q", "8848.86米[1]。珠穆朗玛峰海拔8848.86米[1]。", short_answer="8848.86米")
    >>> answer_markdown(a)
    '**8848.86米**[1]。珠穆朗玛峰海拔8848.86米[1]。'
    """
    short = answer.short_answer
    if short and answer.text.startswith(short):
        return f"**{escape_markdown(short)}**" + escape_markdown(answer.text[len(short) :])
    return escape_markdown(answer.text)


def sources_text(citations: Sequence[Citation]) -> str:
    """The plain-text source list put under an answer by the API."""
    if not citations:
        return ""
    lines = ["来源："]
    for c in citations:
        p = c.passage
        path = " › ".join(p.heading_path)
        page = f" 第{p.meta['page']}页" if p.meta and p.meta.get("page") else ""
        lines.append(f"[{c.n}] {p.title}" + (f" › {path}" if path else "") + f"（{p.source}{page}）")
        if c.quote:
            lines.append(f"    “{c.quote}”")
    return "\n".join(lines)


def citation_dict(c: Citation) -> dict[str, Any]:
    """One source as the API's structured field has it."""
    p = c.passage
    return {
        "n": c.n,
        "quote": c.quote,
        "title": p.title,
        "heading_path": list(p.heading_path),
        "source": p.source,
        "page": int(p.meta["page"]) if p.meta and str(p.meta.get("page", "")).isdigit() else None,
        "passage_id": p.id,
        "text": p.text,
        "score": p.score,
    }
