"""From a file on disk to documents and chunks.

>>> from pathlib import Path                                      # doctest: +SKIP
>>> parsed = parse_file(Path("seeds/003_c29671b5c8295cff.txt"))     # doctest: +SKIP
>>> [d.title for d in parsed.documents]                            # doctest: +SKIP
['一路繁花耀征程——市总工会“十四五”期间工作综述', '绘就职工发展蓝图 奏响时代奋进强音']
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from rag.ingest.chunker import Chunker
from rag.ingest.clean import paragraphs
from rag.ingest.loaders import SUPPORTED_SUFFIXES, UnreadableFile, load_text_and_pages
from rag.ingest.structure import Article, describe, place_stem, section_tree, split_articles
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


def file_checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parse_text(text: str, source: str, settings: Settings | None = None) -> tuple[list[Document], list[Chunk]]:
    """Documents and chunks from decoded text (see :func:`parse_file`)."""
    settings = settings or Settings()

    def count(s: str) -> int:
        return count_tokens(s, settings.tiktoken_encoding)

    chunker = Chunker(settings.chunk_tokens, settings.chunk_overlap_tokens, count)
    documents: list[Document] = []
    chunks: list[Chunk] = []
    seen: set[str] = set()
    articles = split_articles(paragraphs(text))
    metas = [describe(a) for a in articles]
    _share_place(articles, metas)
    for art, meta in zip(articles, metas, strict=True):
        title = art.title or Path(source).stem
        if "collection" in art.meta:
            meta["collection"] = art.meta["collection"]
        doc_id = stable_id(source, str(art.index), title)
        raw = chunker.chunk(section_tree(art))
        doc_chunks = []
        for rc in raw:
            cid = stable_id(source, rc.text)
            n = 1
            while cid in seen:  # the same text twice in one file (a repeated paragraph)
                cid = stable_id(source, rc.text, str(n))
                n += 1
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
    """Read, clean, split into articles and chunk one file; raises :class:`UnreadableFile`."""
    text, page_starts = load_text_and_pages(path)
    src = source or path.name
    documents, chunks = parse_text(text, src, settings)
    if not chunks:
        raise UnreadableFile(path, "no text left after cleaning")
    if page_starts:  # a PDF: each chunk knows the page it starts on (meta["page"], 1-based)
        chunks = [replace(c, meta={**c.meta, "page": str(bisect_right(page_starts, c.start))}) for c in chunks]
    return ParsedFile(
        source=src,
        path=str(path),
        checksum=file_checksum(path),
        text=text,
        documents=tuple(documents),
        chunks=tuple(chunks),
    )


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files under ``paths`` (folders walked recursively, hidden files skipped), sorted."""
    for path, _ in iter_sources(paths):
        yield path


def iter_sources(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str]]:
    """``(file, source key)`` for every file under ``paths``.

    The key names the file in the index: its path relative to the folder given on the
    command line (``seeds/a/x.txt`` under ``seeds`` is ``a/x.txt``), or its name when a
    file is given directly. Two files called ``report.txt`` in different sub-folders
    stay two documents.
    """
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                rel = f.relative_to(path)
                hidden = any(part.startswith(".") for part in rel.parts)
                if f.is_file() and not hidden and f.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield f, rel.as_posix()
        else:
            yield path, path.name
