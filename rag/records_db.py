"""Records of one index version in SQLite: files (with their decoded text), documents, chunks.

An ingest writes them all at once (:func:`write_records`) and reads them all back to update
them (:func:`read_records`). A reader that only answers questions opens them lazily
(:func:`open_records`): the documents are read, the chunks stay on disk in a
:class:`ChunkTable` that reads a row when it is asked for (with a small cache) and holds
only two columns in memory, each chunk's source and document as small integers. That is
what keeps loading an index of a million chunks to seconds and its memory to the vectors.

>>> import tempfile, pathlib
>>> from rag.records import Chunk, Document
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> doc = Document("d1", "a.txt", "标题")
>>> ch = [Chunk(f"c{i}", "d1", "a.txt", "标题", (), f"第{i}段。", 0, 4, 3) for i in range(3)]
>>> write_records(d, {"a.txt": FileRecord("a.txt", "a.txt", "x", "全文")}, [doc], ch)
>>> files, docs, table = open_records(d)
>>> len(table), table[2].text, [c.id for c in table.rows([2, 0])], files["a.txt"].text
(3, '第2段。', ['c2', 'c0'], '')
>>> file_text(d, "a.txt"), table.source_names[table.source_codes[1]]
('全文', 'a.txt')
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from rag.errors import IndexFormatError
from rag.records import Chunk, Document

RECORDS_FILE = "records.sqlite"


@dataclass
class FileRecord:
    source: str
    path: str
    checksum: str
    text: str  # the decoded text; "" when the records were opened lazily (see file_text)
    n_documents: int = 0
    n_chunks: int = 0


def write_records(folder: Path, files: dict[str, FileRecord], documents: list[Document], chunks: Sequence[Chunk]) -> None:
    con = sqlite3.connect(folder / RECORDS_FILE)
    try:
        con.executescript(
            """
            CREATE TABLE files (source TEXT PRIMARY KEY, path TEXT, checksum TEXT, text TEXT,
                                n_documents INTEGER, n_chunks INTEGER);
            CREATE TABLE documents (pos INTEGER PRIMARY KEY, id TEXT UNIQUE, source TEXT, record TEXT);
            CREATE TABLE chunks (row INTEGER PRIMARY KEY, id TEXT UNIQUE, doc_id TEXT, source TEXT, record TEXT);
            CREATE INDEX chunks_source ON chunks(source);
            """
        )
        con.executemany(
            "INSERT INTO files VALUES (?,?,?,?,?,?)",
            [(f.source, f.path, f.checksum, f.text, f.n_documents, f.n_chunks) for f in files.values()],
        )
        con.executemany(
            "INSERT INTO documents VALUES (?,?,?,?)",
            [(i, d.id, d.source, json.dumps(d.to_dict(), ensure_ascii=False)) for i, d in enumerate(documents)],
        )
        con.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?)",
            (
                (i, c.id, c.doc_id, c.source, json.dumps(c.to_dict(), ensure_ascii=False))
                for i, c in enumerate(chunks)
            ),
        )
        con.commit()
    finally:
        con.close()


def _connect(folder: Path) -> sqlite3.Connection:
    path = folder / RECORDS_FILE
    if not path.is_file():
        raise IndexFormatError(f"index {folder} has no {RECORDS_FILE}")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def read_records(folder: Path) -> tuple[dict[str, FileRecord], list[Document], list[Chunk]]:
    """Everything, as objects (what an ingest needs to update the index)."""
    con = _connect(folder)
    try:
        files = {
            r[0]: FileRecord(*r)
            for r in con.execute("SELECT source, path, checksum, text, n_documents, n_chunks FROM files")
        }
        documents = _documents(con)
        chunks = [Chunk.from_dict(json.loads(r[0])) for r in con.execute("SELECT record FROM chunks ORDER BY row")]
    finally:
        con.close()
    return files, documents, chunks


def open_records(folder: Path, cache_size: int = 4096) -> tuple[dict[str, FileRecord], list[Document], ChunkTable]:
    """Files without their text, the documents, and the chunks as a lazy :class:`ChunkTable`."""
    con = _connect(folder)
    try:
        files = {
            r[0]: FileRecord(r[0], r[1], r[2], "", r[3], r[4])
            for r in con.execute("SELECT source, path, checksum, n_documents, n_chunks FROM files")
        }
        documents = _documents(con)
    finally:
        con.close()
    return files, documents, ChunkTable(folder, documents, cache_size)


def file_text(folder: Path, source: str) -> str:
    """The decoded text of one stored file ("" if it is not in the index)."""
    con = _connect(folder)
    try:
        row = con.execute("SELECT text FROM files WHERE source = ?", (source,)).fetchone()
    finally:
        con.close()
    return str(row[0]) if row else ""


def _documents(con: sqlite3.Connection) -> list[Document]:
    return [Document.from_dict(json.loads(r[0])) for r in con.execute("SELECT record FROM documents ORDER BY pos")]


class ChunkTable(Sequence[Chunk]):
    """The chunks of an index version, row by row from SQLite; thread-safe.

    ``source_codes[row]`` indexes ``source_names`` and ``doc_codes[row]`` the documents'
    list, so filters by source or document run on arrays without reading a row.
    """

    def __init__(self, folder: Path, documents: Sequence[Document], cache_size: int = 4096):
        self.folder = folder
        self._con = _connect(folder)
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, Chunk] = OrderedDict()
        self._cache_size = cache_size
        doc_pos = {d.id: i for i, d in enumerate(documents)}
        names: dict[str, int] = {}
        src, docs = [], []
        for source, doc_id in self._con.execute("SELECT source, doc_id FROM chunks ORDER BY row"):
            src.append(names.setdefault(source, len(names)))
            docs.append(doc_pos.get(doc_id, -1))
        self.source_names: list[str] = list(names)
        self.source_codes = np.array(src, dtype=np.int32)
        self.doc_codes = np.array(docs, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.source_codes)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return self.rows(range(*i.indices(len(self))))
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"chunk row {i} out of range (0..{n - 1})")
        return self.rows([i % n])[0]

    def rows(self, rows: Sequence[int] | range) -> list[Chunk]:
        """The chunks at ``rows``, in that order (one query for the ones not cached)."""
        with self._lock:
            missing = sorted({int(r) for r in rows if int(r) not in self._cache})
            for start in range(0, len(missing), 500):
                part = missing[start : start + 500]
                marks = ",".join("?" * len(part))
                for row, record in self._con.execute(f"SELECT row, record FROM chunks WHERE row IN ({marks})", part):
                    self._cache[int(row)] = Chunk.from_dict(json.loads(record))
            out = []
            for r in rows:
                c = self._cache[int(r)]
                self._cache.move_to_end(int(r))
                out.append(c)
            while len(self._cache) > max(self._cache_size, len(out)):
                self._cache.popitem(last=False)
            return out

    def row_of(self, chunk_id: str) -> int | None:
        """The row of the chunk with this id, or None."""
        with self._lock:
            hit = self._con.execute("SELECT row FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
        return None if hit is None else int(hit[0])

    def __iter__(self) -> Iterator[Chunk]:
        """Every chunk in row order, streamed in blocks (the cache is left alone). Reads go
        through the connection opened at load, so they keep working after a newer ingest
        has deleted this version's folder."""
        for lo in range(0, len(self), 2000):
            with self._lock:
                block = self._con.execute(
                    "SELECT record FROM chunks WHERE row >= ? AND row < ? ORDER BY row", (lo, lo + 2000)
                ).fetchall()
            for (record,) in block:
                yield Chunk.from_dict(json.loads(record))

    def file_text(self, source: str) -> str:
        """The decoded text of one stored file ("" if it is not in the index)."""
        with self._lock:
            row = self._con.execute("SELECT text FROM files WHERE source = ?", (source,)).fetchone()
        return str(row[0]) if row else ""

    def close(self) -> None:
        self._con.close()

    def __repr__(self) -> str:
        return f"ChunkTable({self.folder}, {len(self)} chunks)"
