"""A JSONL file (``.jsonl``, or gzipped ``.jsonl.gz``) as a compilation of articles.

Each line is a JSON object with a ``text`` string, and optionally ``title``, ``id`` and
``date``; each becomes one :class:`Record`, and later one document. The file's text is the
records one after another (a record's title line, when it has one, then its text), a
blank line between two, so chunk offsets point into it like into any other file's text.
A line that is not such an object is skipped and counted in a warning; a gzip stream is
decompressed in blocks and stopped past ``max_inflated_mb``.

>>> import gzip, json
>>> lines = [{"id": "n1", "date": "2023-08-16", "title": "甲市新闻", "text": "甲市建成驿站10个。"},
...          {"text": "乙市消息\\n乙市建成驿站20个。"}, "not an object", {"text": 3}]
>>> data = gzip.compress("\\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode())
>>> text, records, warnings = read_jsonl("n.jsonl.gz", data, 1 << 20)
>>> [(r.title, r.id, text[r.body_start : r.end]) for r in records]
[('甲市新闻', 'n1', '甲市建成驿站10个。'), ('', '', '乙市消息\\n乙市建成驿站20个。')]
>>> warnings
['2 of 4 lines skipped (not a JSON object with a "text" string)']
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rag.ingest.loaders import UnreadableFile, _newlines


@dataclass(frozen=True)
class Record:
    """One article of a JSONL file and its span in the file's text."""

    title: str  # the "title" field, "" when there is none
    id: str
    date: str
    start: int  # where the record's block (title line, then text) starts in the file's text
    body_start: int  # where its text starts
    end: int


def read_jsonl(path: Path | str, data: bytes, max_inflated_bytes: int) -> tuple[str, list[Record], list[str]]:
    """The joined text, the records and the warnings of a JSONL file's bytes (gzip or not)."""
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(path, data, max_inflated_bytes)
    raw = data.decode("utf-8", errors="replace")
    warnings = []
    if bad := raw.count("\ufffd"):
        warnings.append(f"{bad} undecodable bytes replaced by U+FFFD")
    parts: list[str] = []
    records: list[Record] = []
    at = 0
    lines = skipped = 0
    for line in raw.split("\n"):
        if not line.strip():
            continue
        lines += 1
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            skipped += 1
            continue
        title = _field(obj, "title")
        body = _newlines(obj["text"]).strip()
        if parts:
            parts.append("\n\n")
            at += 2
        start = at
        if title:
            parts.append(title + "\n\n")
            at += len(title) + 2
        parts.append(body)
        records.append(Record(title, _field(obj, "id"), _field(obj, "date"), start, at, at + len(body)))
        at += len(body)
    if skipped:
        warnings.append(f'{skipped} of {lines} lines skipped (not a JSON object with a "text" string)')
    if not records:
        raise UnreadableFile(path, 'no line of this JSONL file is a JSON object with a "text" string')
    return "".join(parts), records, warnings


def _field(obj: dict[str, object], name: str) -> str:
    """A short string field (numbers written as strings); newlines become spaces."""
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return " ".join(str(value).split())[:200]


def _gunzip(path: Path | str, data: bytes, max_bytes: int) -> bytes:
    """Decompress gzip ``data`` in blocks, stopping past ``max_bytes``."""
    import gzip
    import io
    import zlib

    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            while block := fh.read(1 << 20):
                out += block
                if len(out) > max_bytes:
                    raise UnreadableFile(
                        path, f"gzip data inflates past the {max_bytes / (1 << 20):.1f} MB limit (max_inflated_mb)"
                    )
    except (OSError, EOFError, zlib.error) as e:
        raise UnreadableFile(path, f"not a readable gzip file ({e})") from None
    return bytes(out)
