"""Evaluation questions read from JSON Lines, one question per line.

A row needs only ``question``; everything else is optional and the figures that need a
missing field are skipped for that row (no ``must_contain`` and no ``answers``: no
accuracy; no ``evidence``: no retrieval figures; no ``answer`` and no ``answers``: no
token F1 / character F1)::

    {"id": "g001", "question": "2023年临江市举办了多少场招聘会？",
     "answer": "全年举办招聘会97场…", "must_contain": ["97", "2.59万"],
     "evidence": ["举办招聘会97场,服务求职者2.59万人次"], "source_file": "stat_….txt",
     "type": "numeric"}

``answers`` lists several acceptable gold answers, any one of which makes the answer
right (CMRC 2018 / SQuAD style, e.g. ``"answers": ["1999年", "1999年10月"]``); ``corpus``
names the collection a question belongs to, for the per-corpus figures -- when a row has
none it is the dataset file's stem (``qa`` for ``…/qa.jsonl``). :func:`load_datasets`
reads several files into one run.

A question is *expected to be refused* when its ``type`` is ``"unanswerable"``, or when
it carries an empty ``must_contain`` list and no evidence (the documents do not say).

>>> item = EvalItem(id="q1", question="拉萨有多少个基层工会？", must_contain=("2123",))
>>> item.expects_refusal
False
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

UNANSWERABLE = "unanswerable"


class DatasetError(ValueError):
    """A dataset line that cannot be used; the message names the file and line number."""


@dataclass(frozen=True)
class EvalItem:
    """One evaluation question with what a right answer must contain.

    ``must_contain``, ``answers`` and ``evidence`` are ``None`` when the row has no such
    field, and ``()`` when the field is there but empty (which, for ``must_contain``,
    marks an unanswerable question).
    """

    id: str
    question: str
    answer: str = ""  # the reference answer, for token F1
    must_contain: tuple[str, ...] | None = None
    evidence: tuple[str, ...] | None = None  # exact quotes from the source, for retrieval recall
    source_file: str = ""
    type: str = ""
    line: int = 0  # 1-based line in the dataset file (0 when built in code)
    answers: tuple[str, ...] | None = None  # acceptable gold answers; any one counts
    corpus: str = ""  # the collection the question is about, for per-corpus figures

    @property
    def gold_answers(self) -> tuple[str, ...]:
        """The gold answers character F1 / exact match are taken against: ``answers``, else ``(answer,)``.

        >>> EvalItem(id="x", question="?", answer="1999年10月", answers=("1999年", "1999年10月")).gold_answers
        ('1999年', '1999年10月')
        >>> EvalItem(id="x", question="?", answer="举办97场").gold_answers, EvalItem(id="x", question="?").gold_answers
        (('举办97场',), ())
        """
        if self.answers:
            return self.answers
        return (self.answer,) if self.answer.strip() else ()

    @property
    def expects_refusal(self) -> bool:
        """True when the right answer is a refusal ("the documents do not say").

        >>> EvalItem(id="x", question="?", must_contain=(), evidence=()).expects_refusal
        True
        >>> EvalItem(id="x", question="?").expects_refusal   # no fields: nothing known
        False
        >>> EvalItem(id="x", question="?", must_contain=(), answers=("踢爆",)).expects_refusal
        False
        """
        if self.type == UNANSWERABLE:
            return True
        return self.must_contain is not None and not self.must_contain and not self.evidence and not self.answers

    @property
    def kind(self) -> str:
        """The type used for per-type figures ("all" when the row has none)."""
        return self.type or "all"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "answers": None if self.answers is None else list(self.answers),
            "must_contain": None if self.must_contain is None else list(self.must_contain),
            "evidence": None if self.evidence is None else list(self.evidence),
            "source_file": self.source_file,
            "type": self.type,
            "corpus": self.corpus,
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


def item_from_dict(row: dict[str, Any], *, line: int = 0, where: str = "", corpus: str = "") -> EvalItem:
    """One :class:`EvalItem` from a parsed row; ``where`` prefixes error messages.

    ``corpus`` is used when the row has no ``corpus`` field of its own.

    >>> item_from_dict({"question": "多少场？", "must_contain": "97"}, line=3).must_contain
    ('97',)
    >>> it = item_from_dict({"question": "哪一年？", "answers": ["1999年", " "]}, corpus="qa")
    >>> it.answers, it.corpus
    (('1999年',), 'qa')
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
        answers=_strings(row.get("answers"), "answers", where),
        corpus=str(row.get("corpus") or corpus),
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


def parse_lines(lines: Iterable[str], name: str = "<dataset>", corpus: str = "") -> list[EvalItem]:
    """Parse JSONL text lines; blank lines are skipped, ids must be unique.

    ``corpus`` is given to the rows that do not name their own.

    >>> [i.id for i in parse_lines(['{"id": "a", "question": "几个？"}', ""])]
    ['a']
    """
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for n, where, row in json_lines(lines, name):
        item = item_from_dict(row, line=n, where=where, corpus=corpus)
        if item.id in seen:
            raise DatasetError(f"{where}: duplicate id {item.id!r} (first on line {seen[item.id]})")
        seen[item.id] = n
        items.append(item)
    return items


def load_dataset(path: str | Path, *, corpus: str = "") -> list[EvalItem]:
    """Read the evaluation questions of a JSONL file.

    Rows without a ``corpus`` field get ``corpus`` (default: the file's stem). Raises
    :class:`DatasetError` naming the line for bad JSON, a missing question, a malformed
    field or a duplicate id; ``FileNotFoundError`` when there is no file.

    >>> items = load_dataset("eval/datasets/dev_qa.jsonl")      # doctest: +SKIP
    >>> items[0].id, items[0].must_contain, items[0].corpus     # doctest: +SKIP
    ('d001', ('97', '2.59万'), 'dev_qa')
    """
    p = Path(path)
    with p.open(encoding="utf-8-sig") as f:
        items = parse_lines(f, name=str(p), corpus=corpus or p.stem)
    if not items:
        raise DatasetError(f"{p}: no questions in the file")
    return items


def dataset_labels(paths: Sequence[str | Path]) -> list[str]:
    """A distinct short name per dataset file: its stem, or ``folder/stem`` when stems repeat.

    >>> dataset_labels(["eval/dev_qa.jsonl", "cmrc/qa.jsonl"])
    ['dev_qa', 'qa']
    >>> dataset_labels(["cmrc/qa.jsonl", "drcd/qa.jsonl", "drcd/qa.json"])
    ['cmrc/qa', 'drcd/qa', 'drcd/qa#3']
    """
    ps = [Path(p) for p in paths]
    stems = Counter(p.stem for p in ps)
    labels = [p.stem if stems[p.stem] == 1 else f"{p.parent.name}/{p.stem}" for p in ps]
    seen: set[str] = set()
    out: list[str] = []
    for i, label in enumerate(labels):
        out.append(label if label not in seen else f"{label}#{i + 1}")
        seen.add(out[-1])
    return out


def merge_datasets(named: Sequence[tuple[str, Sequence[EvalItem]]]) -> list[EvalItem]:
    """The items of several datasets in one list, in order, with ids made unique.

    An id that occurs in more than one dataset becomes ``"<label>:<id>"`` in every dataset
    it occurs in; ids that are unique stay as they are.

    >>> a = [EvalItem(id="q1", question="甲？"), EvalItem(id="q2", question="乙？")]
    >>> b = [EvalItem(id="q1", question="丙？")]
    >>> [i.id for i in merge_datasets([("dev_qa", a), ("qa", b)])]
    ['dev_qa:q1', 'q2', 'qa:q1']
    """
    owners: dict[str, set[str]] = defaultdict(set)
    for label, items in named:
        for item in items:
            owners[item.id].add(label)
    out: list[EvalItem] = []
    seen: set[str] = set()
    for label, items in named:
        for item in items:
            new_id = f"{label}:{item.id}" if len(owners[item.id]) > 1 else item.id
            if new_id in seen:
                raise DatasetError(f"{label}: id {new_id!r} is not unique across the datasets")
            seen.add(new_id)
            out.append(item if new_id == item.id else replace(item, id=new_id))
    return out


def load_datasets(paths: Sequence[str | Path]) -> list[EvalItem]:
    """Read one or several JSONL datasets into one list of questions (for one run).

    Each row's ``corpus`` defaults to its file's stem (:func:`dataset_labels` when two
    files share a stem); ids shared by several files get the file's label as a prefix
    (:func:`merge_datasets`).

    >>> items = load_datasets(["eval/datasets/dev_qa.jsonl", "cmrc/qa.jsonl"])  # doctest: +SKIP
    >>> sorted({i.corpus for i in items})                                          # doctest: +SKIP
    ['dev_qa', 'qa']
    """
    if not paths:
        raise DatasetError("no dataset file given")
    labels = dataset_labels(paths)
    return merge_datasets([(label, load_dataset(p, corpus=label)) for label, p in zip(labels, paths, strict=True)])
