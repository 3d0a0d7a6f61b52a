"""Evaluation questions read from JSON Lines, one question per line.

A row needs only ``question``; everything else is optional and the figures that need a
missing field are skipped for that row (no ``must_contain``: no accuracy; no
``evidence``: no retrieval figures; no ``answer``: no token F1)::

    {"id": "d001", "question": "铜仁市总工会2025年“春送岗位”办了多少场？",
     "answer": "“春送岗位”举办97场…", "must_contain": ["97", "2.59万"],
     "evidence": ["“春送岗位”97场,服务劳动者2.59万人次"], "source_file": "000_….txt",
     "type": "numeric"}

A question is *expected to be refused* when its ``type`` is ``"unanswerable"``, or when
it carries an empty ``must_contain`` list and no evidence (the documents do not say).

>>> item = EvalItem(id="q1", question="拉萨有多少个基层工会？", must_contain=("2123",))
>>> item.expects_refusal
False
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UNANSWERABLE = "unanswerable"


class DatasetError(ValueError):
    """A dataset line that cannot be used; the message names the file and line number."""


@dataclass(frozen=True)
class EvalItem:
    """One evaluation question with what a right answer must contain.

    ``must_contain`` and ``evidence`` are ``None`` when the row has no such field, and
    ``()`` when the field is there but empty (which, for ``must_contain``, marks an
    unanswerable question).
    """

    id: str
    question: str
    answer: str = ""  # the reference answer, for token F1
    must_contain: tuple[str, ...] | None = None
    evidence: tuple[str, ...] | None = None  # exact quotes from the source, for retrieval recall
    source_file: str = ""
    type: str = ""
    line: int = 0  # 1-based line in the dataset file (0 when built in code)

    @property
    def expects_refusal(self) -> bool:
        """True when the right answer is a refusal ("the documents do not say").

        >>> EvalItem(id="x", question="?", must_contain=(), evidence=()).expects_refusal
        True
        >>> EvalItem(id="x", question="?").expects_refusal   # no fields: nothing known
        False
        """
        if self.type == UNANSWERABLE:
            return True
        return self.must_contain is not None and not self.must_contain and not self.evidence

    @property
    def kind(self) -> str:
        """The type used for per-type figures ("all" when the row has none)."""
        return self.type or "all"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "must_contain": None if self.must_contain is None else list(self.must_contain),
            "evidence": None if self.evidence is None else list(self.evidence),
            "source_file": self.source_file,
            "type": self.type,
        }


def _strings(value: Any, field: str, where: str) -> tuple[str, ...] | None:
    """A list of strings (a single string is taken as a list of one); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if v.strip())
    raise DatasetError(f"{where}: {field!r} must be a list of strings, got {value!r}")


def item_from_dict(row: dict[str, Any], *, line: int = 0, where: str = "") -> EvalItem:
    """One :class:`EvalItem` from a parsed row; ``where`` prefixes error messages.

    >>> item_from_dict({"question": "多少场？", "must_contain": "97"}, line=3).must_contain
    ('97',)
    """
    where = where or f"line {line}"
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(row).__name__}")
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: missing or empty 'question'")
    raw_id = row.get("id")
    item_id = str(raw_id) if raw_id not in (None, "") else f"line{line}"
    answer = row.get("answer") or ""
    if not isinstance(answer, str):
        raise DatasetError(f"{where}: 'answer' must be a string, got {answer!r}")
    return EvalItem(
        id=item_id,
        question=question.strip(),
        answer=answer,
        must_contain=_strings(row.get("must_contain"), "must_contain", where),
        evidence=_strings(row.get("evidence"), "evidence", where),
        source_file=str(row.get("source_file") or ""),
        type=str(row.get("type") or ""),
        line=line,
    )


def json_lines(lines: Iterable[str], name: str) -> Iterator[tuple[int, str, Any]]:
    """``(line number, "name:line", parsed value)`` for each non-blank JSONL line; bad JSON
    raises :class:`DatasetError` naming the line."""
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{name}:{n}"
        try:
            yield n, where, json.loads(raw)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{where}: bad JSON ({e.msg} at column {e.colno})") from e


def parse_lines(lines: Iterable[str], name: str = "<dataset>") -> list[EvalItem]:
    """Parse JSONL text lines; blank lines are skipped, ids must be unique.

    >>> [i.id for i in parse_lines(['{"id": "a", "question": "几个？"}', ""])]
    ['a']
    """
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for n, where, row in json_lines(lines, name):
        item = item_from_dict(row, line=n, where=where)
        if item.id in seen:
            raise DatasetError(f"{where}: duplicate id {item.id!r} (first on line {seen[item.id]})")
        seen[item.id] = n
        items.append(item)
    return items


def load_dataset(path: str | Path) -> list[EvalItem]:
    """Read the evaluation questions of a JSONL file.

    Raises :class:`DatasetError` naming the line for bad JSON, a missing question, a
    malformed field or a duplicate id; ``FileNotFoundError`` when there is no file.

    >>> items = load_dataset("eval/datasets/dev_qa.jsonl")      # doctest: +SKIP
    >>> items[0].id, items[0].must_contain                       # doctest: +SKIP
    ('d001', ('97', '2.59万'))
    """
    p = Path(path)
    with p.open(encoding="utf-8-sig") as f:
        items = parse_lines(f, name=str(p))
    if not items:
        raise DatasetError(f"{p}: no questions in the file")
    return items
