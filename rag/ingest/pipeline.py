"""From a file on disk to documents and chunks.

>>> from pathlib import Path                                      # doctest: +SKIP
>>> parsed = parse_file(Path("seeds/003_c29671b5c8295cff.txt"))     # doctest: +SKIP
>>> [d.title for d in parsed.documents]                            # doctest: +SKIP
['一路繁花耀征程——市总工会“十四五”期间工作综述', '绘就职工发展蓝图 奏响时代奋进强音']

A file is parsed in a child process that is stopped after ``Settings.max_file_seconds``
(:mod:`rag.ingest.guard`); the work itself is :func:`parse_file_here`. A JSONL file is a
compilation whose articles are its lines (:mod:`rag.ingest.jsonl`): one document each,
titled by its ``title`` field or else by its first line.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from rag.ingest.chunker import Chunker
from rag.ingest.clean import Paragraph, paragraphs
from rag.ingest.jsonl import Record
from rag.ingest.loaders import UnreadableFile, file_kind, load_file
from rag.ingest.names import safe_source
from rag.ingest.structure import Article, describe, place_stem, section_tree, split_articles, take_title
from rag.records import Chunk, Document, stable_id
from rag.settings import Settings
from rag.tokens import count_tokens


@dataclass(frozen=True)
class ParsedFile:
    """Everything one file contributes to an index."""

    source: str  # the file's name, used as its key in the index
    path: str
    checksum: str  # SHA-256 of the file's bytes
    text: str  # the decoded text; chunk offsets point into it
    documents: tuple[Document, ...]
    chunks: tuple[Chunk, ...]
    warnings: tuple[str, ...] = ()  # what was repaired while reading (NUL bytes dropped, ...)


def file_checksum(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks (a large file is never held whole)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def parse_text(text: str, source: str, settings: Settings | None = None) -> tuple[list[Document], list[Chunk]]:
    """Documents and chunks from decoded text (see :func:`parse_file`)."""
    articles = split_articles(paragraphs(text))
    metas = [describe(a) for a in articles]
    _share_place(articles, metas)
    return _chunk_articles(articles, metas, source, settings or Settings())


def parse_records(
    text: str, records: Iterable[Record], source: str, settings: Settings | None = None
) -> tuple[list[Document], list[Chunk]]:
    r"""Documents and chunks of a JSONL file: one article per record, whose span in ``text``
    the record gives; ``date`` and ``id`` go into the document's meta.

    >>> from rag.ingest.jsonl import read_jsonl
    >>> data = '{"id": "7", "text": "甲市新闻\\n甲市建成驿站10个。"}\n{"title": "乙", "text": "乙市建成驿站20个。"}'
    >>> text, recs, _ = read_jsonl("n.jsonl", data.encode(), 1 << 20)
    >>> docs, chunks = parse_records(text, recs, "n.jsonl")
    >>> [(d.title, d.meta.get("id", "")) for d in docs], [text[c.start : c.end] for c in chunks]
    ([('甲市新闻', '7'), ('乙', '')], ['甲市建成驿站10个。', '乙市建成驿站20个。'])
    """
    articles = [_record_article(text, r, i) for i, r in enumerate(records)]
    metas = [describe(a) for a in articles]
    return _chunk_articles(articles, metas, source, settings or Settings())


HEADLINE_MAX = 60  # a title made from a record's first line is cut to this many characters


def _record_article(text: str, r: Record, index: int) -> Article:
    """A record as an article: its ``title`` field, else its first line as the title (taken
    out of the body when it reads like a title, else its first sentence, shortened)."""
    paras = _shifted(paragraphs(text[r.body_start : r.end]), r.body_start)
    if r.title:
        title, body = r.title, paras
    else:
        title, body = take_title(paras) if paras else ("", paras)
        if not title and paras:
            first = paras[0].text
            cut = min((first.find(c) + 1 for c in "。！？!?" if first.find(c) >= 0), default=len(first))
            title = first[: min(cut, HEADLINE_MAX)].rstrip("。！？!?") + ("…" if cut > HEADLINE_MAX else "")
    meta = {k: v for k, v in (("date", r.date), ("id", r.id)) if v}
    return Article(title, body, r.start, r.end, meta=meta, index=index)


def _shifted(paras: list[Paragraph], by: int) -> list[Paragraph]:
    """Paragraphs of a slice of the text, with offsets into the whole text."""
    return [Paragraph(p.text, tuple((o, s + by, n) for o, s, n in p.pieces), p.caption) for p in paras]


def _chunk_articles(
    articles: list[Article], metas: list[dict[str, str]], source: str, settings: Settings
) -> tuple[list[Document], list[Chunk]]:
    def count(s: str) -> int:
        return count_tokens(s, settings.tiktoken_encoding)

    chunker = Chunker(settings.chunk_tokens, settings.chunk_overlap_tokens, count)
    documents: list[Document] = []
    chunks: list[Chunk] = []
    seen: set[str] = set()
    next_n: dict[str, int] = {}  # the same text n times: the next suffix to try (linear, not n^2)
    for art, meta in zip(articles, metas, strict=True):
        title = art.title or Path(source).stem
        meta.update({k: v for k, v in art.meta.items() if k in ("collection", "date", "id")})
        doc_id = stable_id(source, str(art.index), title)
        raw = chunker.chunk(section_tree(art))
        doc_chunks = []
        for rc in raw:
            cid = base = stable_id(source, rc.text)
            if cid in seen:  # the same text twice in one file (a repeated paragraph)
                n = next_n.get(base, 1)
                cid = stable_id(source, rc.text, str(n))
                while cid in seen:
                    n += 1
                    cid = stable_id(source, rc.text, str(n))
                next_n[base] = n + 1
            seen.add(cid)
            doc_chunks.append(
                Chunk(
                    id=cid,
                    doc_id=doc_id,
                    source=source,
                    title=title,
                    heading_path=rc.heading_path,
                    text=rc.text,
                    start=rc.start,
                    end=rc.end,
                    n_tokens=rc.tokens,
                    meta=meta,
                )
            )
        if not doc_chunks:
            continue
        documents.append(
            Document(
                id=doc_id,
                source=source,
                title=title,
                meta=meta,
                n_chunks=len(doc_chunks),
                article_index=art.index,
                start=art.start,
                end=art.end,
            )
        )
        chunks += doc_chunks
    return documents, chunks


def _share_place(articles: list[Article], metas: list[dict[str, str]]) -> None:
    """Articles of one newspaper page share its place: when the articles that have a place
    all agree on it, one without a place takes it -- only if its own text names that
    place, in full or without its administrative suffix (临江 for 临江市); it takes the
    organisation too only if its text names it in full. Nothing is given to an article
    whose text does not say it. Not done inside a compilation with a contents list.
    """
    if any("collection" in a.meta for a in articles):
        return
    places = {m["place"] for m in metas if "place" in m}
    if len(places) != 1:
        return
    donor = next(m for m in metas if "place" in m)
    place = donor["place"]
    for art, m in zip(articles, metas, strict=True):
        if "place" in m:
            continue
        text = art.title + "\n" + "\n".join(p.text for p in art.paragraphs)
        if place in text or place_stem(place) in text:
            m["place"] = place
            if "org" in donor and "org" not in m and donor["org"] in text:
                m["org"] = donor["org"]


def parse_file(path: Path, settings: Settings | None = None, source: str | None = None) -> ParsedFile:
    """Read, clean, split into articles and chunk one file; raises :class:`UnreadableFile`.

    ``source`` is the key the file is stored under (default: its name, made safe by
    :func:`~rag.ingest.names.safe_source`; a given key is kept as it is, since the caller
    may already hold records under it). With ``max_file_seconds`` set (the default) the
    work runs in a child process and a file that takes longer is refused.
    """
    settings = settings or Settings()
    src = source if source is not None else safe_source(path.name)
    if settings.max_file_seconds > 0:
        from rag.ingest.guard import parse_in_child

        return parse_in_child(path, settings, src)
    return parse_file_here(path, settings, src)


def parse_file_here(path: Path, settings: Settings | None = None, source: str | None = None) -> ParsedFile:
    """:func:`parse_file` in this process, with no time limit."""
    loaded = load_file(path, settings)
    src = source if source is not None else safe_source(path.name)
    if loaded.records is not None:
        documents, chunks = parse_records(loaded.text, loaded.records, src, settings)
    else:
        documents, chunks = parse_text(loaded.text, src, settings)
    if not chunks:
        raise UnreadableFile(path, "no text left after cleaning")
    if loaded.page_starts:  # a PDF: each chunk knows the page it starts on (meta["page"], 1-based)
        chunks = [replace(c, meta={**c.meta, "page": str(bisect_right(loaded.page_starts, c.start))}) for c in chunks]
    return ParsedFile(
        source=src,
        path=str(path),
        checksum=file_checksum(path),
        text=loaded.text,
        documents=tuple(documents),
        chunks=tuple(chunks),
        warnings=loaded.warnings,
    )


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files under ``paths`` (folders walked recursively, hidden files skipped), sorted."""
    for path, _ in iter_sources(paths):
        yield path


def iter_sources(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str]]:
    """``(file, source key)`` for every file under ``paths``.

    The key names the file in the index: its path relative to the folder given on the
    command line (``seeds/a/x.txt`` under ``seeds`` is ``a/x.txt``), or its name when a
    file is given directly, made safe to show (:func:`~rag.ingest.names.safe_source`). Two
    files called ``report.txt`` in different sub-folders stay two documents.
    """
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                rel = f.relative_to(path)
                hidden = any(part.startswith(".") for part in rel.parts)
                if f.is_file() and not hidden and file_kind(f):
                    yield f, safe_source(rel.as_posix())
        else:
            yield path, safe_source(path.name)
