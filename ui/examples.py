"""Example questions made from the indexed documents themselves, checked against the index.

A sentence that states a figure with a unit or counter ("全年新建图书馆12个") is asked
back with the figure replaced by 多少, led by its document's title ("《某市统计公报》中，…"
or without the 《》, or bare); the first wording the assistant answers with that figure
is kept. So the examples fit whatever corpus is loaded, and every one of them works.

>>> cloze("全年共新建图书馆12个")
'全年共新建图书馆多少个'
>>> cloze("全年共新建图书馆12个，接待读者35万人次") is None   # the figure must close the clause
True
>>> cloze("会议强调了工作重点") is None
True
"""

from __future__ import annotations

import re
from typing import Any

# A figure followed by a unit or counter (general Chinese, not any one corpus).
_FIGURE = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?)(万|亿)?"
    r"(个|名|家|场|次|项|人次|人|元|万元|亿元|所|座|户|件|篇|条|部|台|辆|公里|千米|平方千米|平方公里|米|吨|公斤|千克|岁|年|册|本|份|张|套|处|支|批|期|种|类)"
)
_CLAUSES = re.compile(r"[^，。！？；：,;!?\n]+")


def cloze(clause: str) -> str | None:
    """``clause`` with its first figure asked for (多少 + its counter), or None."""
    m = _FIGURE.search(clause)
    if not m or (m.group(3) == "年" and not m.group(2)):  # "2024年" is a year, not an amount
        return None
    if len(clause) - m.end() > 6:  # "…12家五年来": the figure should close the clause
        return None
    q = clause[: m.start()] + "多少" + (m.group(2) or "") + m.group(3) + clause[m.end() :]
    q = q.strip(" “”\"'（）()")
    if q.count("（") != q.count("）") or q.count("(") != q.count(")") or q.count("“") != q.count("”"):
        return None
    return q if 6 <= len(q) <= 40 else None


def _candidates(assistant: Any, per_doc: int = 3) -> list[tuple[list[str], str]]:
    """``(wordings of a question, figure)`` pairs, a few from each document, documents interleaved."""
    by_doc: dict[str, list[tuple[list[str], str]]] = {}
    for c in assistant.data.chunks:
        got = by_doc.setdefault(c.doc_id, [])
        if len(got) >= per_doc:
            continue
        for clause in _CLAUSES.findall(c.text):
            q = cloze(clause.strip())
            if q is None:
                continue
            fig = _FIGURE.search(clause)
            assert fig is not None
            title = c.title.strip()
            wordings = [f"{title}中，{q}？", f"{q}？", f"《{title}》中，{q}？"] if title and len(title) <= 30 else [f"{q}？"]
            got.append((wordings, fig.group(1)))
            if len(got) >= per_doc:
                break
    lists = list(by_doc.values())
    out: list[tuple[list[str], str]] = []
    for i in range(per_doc):
        out += [lst[i] for lst in lists if i < len(lst)]
    return out


def example_questions(assistant: Any, n: int = 4, max_tries: int = 24) -> list[str]:
    """Up to ``n`` questions from different documents that ``assistant`` answers with the asked figure."""
    out: list[str] = []
    for wordings, figure in _candidates(assistant)[:max_tries]:
        for question in wordings:
            ans = assistant.ask(question)
            if not ans.refused and figure in ans.text and ans.citations:
                out.append(question)
                break
        if len(out) >= n:
            break
    return out
