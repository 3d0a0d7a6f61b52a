"""The records that cross module boundaries: documents, chunks, passages, answers.

All are frozen dataclasses so they can be shared between threads and cached safely.
Ids are content hashes (like haystack's ``Document``): the same text from the same
source always gets the same id, so re-ingesting an unchanged file changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


def stable_id(*parts: str, length: int = 16) -> str:
    """A short hex id from a SHA-256 of ``parts``.

    >>> stable_id("a.txt", "text") == stable_id("a.txt", "text")
    True
    """
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:length]


@dataclass(frozen=True)
class Document:
    """One article: a whole file, or one article of a compilation file."""

    id: str
    source: str  # file name as ingested, e.g. "002_5b471ee912e3ac09.txt"
    title: str
    meta: dict[str, str] = field(default_factory=dict, hash=False)  # place / org / year
    n_chunks: int = 0
    article_index: int = 0  # position of the article inside its source file
    start: int = 0  # character span of the article in the decoded source text
    end: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Document:
        return cls(**d)


@dataclass(frozen=True)
class Chunk:
    """A piece of one article, sized for retrieval, with where it came from."""

    id: str
    doc_id: str
    source: str
    title: str
    heading_path: tuple[str, ...]
    text: str  # what a user is shown: the passage itself
    start: int  # character offsets in the decoded source text
    end: int
    n_tokens: int
    meta: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def index_text(self) -> str:
        """The text the chunk is indexed under: title, place/org, heading path, then body."""
        return context_header(self.title, self.heading_path, self.meta) + "\n" + self.text

    def to_dict(self) -> dict[str, Any]:
        # written out rather than dataclasses.asdict, which recurses and copies: 5x faster
        # on the hundreds of thousands of chunks a big ingest writes
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "heading_path": list(self.heading_path),
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "n_tokens": self.n_tokens,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        d = dict(d)
        d["heading_path"] = tuple(d.get("heading_path", ()))
        return cls(**d)


def context_header(title: str, heading_path: tuple[str, ...], meta: dict[str, str]) -> str:
    """The line put in front of a chunk's text when it is indexed."""
    about = " ".join(v for k in ("place", "org", "year") if (v := meta.get(k)))
    parts = [title]
    if about:
        parts.append(f"（{about}）")
    if heading_path:
        parts.append(" > ".join(heading_path))
    return " ".join(parts)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score (higher is better)."""

    id: str
    text: str
    source: str
    title: str
    heading_path: tuple[str, ...]
    score: float
    doc_id: str = ""
    start: int = 0
    end: int = 0
    meta: dict[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def from_chunk(cls, chunk: Chunk, score: float) -> Passage:
        return cls(
            id=chunk.id,
            text=chunk.text,
            source=chunk.source,
            title=chunk.title,
            heading_path=chunk.heading_path,
            score=float(score),
            doc_id=chunk.doc_id,
            start=chunk.start,
            end=chunk.end,
            meta=chunk.meta,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["heading_path"] = list(self.heading_path)
        return d


@dataclass(frozen=True)
class Citation:
    """``[n]`` in an answer: the passage it points at and the span that supports it."""

    n: int
    passage: Passage
    quote: str

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "quote": self.quote, "passage": self.passage.to_dict()}


@dataclass(frozen=True)
class Answer:
    """What ``Assistant.ask`` returns.

    ``text`` carries ``[n]`` markers that index into ``citations``; when ``refused`` is
    true the text says the documents do not contain the answer and ``passages`` still
    lists the closest passages.
    """

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    refused: bool = False
    passages: tuple[Passage, ...] = ()  # everything retrieved, best first
    resolved_question: str = ""  # the question after follow-up resolution
    latency_ms: float = 0.0
    # The asked span alone, verbatim from a passage (a figure, name, date, place, person or
    # list); "" when the question asks for a description or the answer is a refusal.
    short_answer: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "resolved_question": self.resolved_question,
            "text": self.text,
            "short_answer": self.short_answer,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "latency_ms": self.latency_ms,
        }
