"""The index folder: records in SQLite, BM25 arrays, FAISS vectors, the embedder, a manifest.

Layout of ``DIR``::

    DIR/CURRENT              name of the live version folder (replaced atomically)
    DIR/v-<time>-<rand>/
        manifest.json        format version, embedder, settings, files and checksums, counts
        records.sqlite       files (with their decoded text), documents, chunks
        bm25/                bm25s arrays (.npy, allow_pickle=False) + vocabulary JSON
        dense/               dense.faiss + vectors.npy
        embedder/            the corpus-trained embedder (safetensors), when used

A new version is written beside the live one and becomes live by replacing ``CURRENT``
(``os.replace`` is atomic), so a crash mid-ingest leaves the previous index whole.
Nothing here is pickled: loading an index never executes code from it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.records import Chunk, Document

FORMAT_VERSION = 1


class IndexFormatError(RuntimeError):
    """The index folder is missing, damaged, from another format version, or does not fit the settings."""


@dataclass
class FileRecord:
    source: str
    path: str
    checksum: str
    text: str
    n_documents: int = 0
    n_chunks: int = 0


@dataclass
class IndexData:
    """An index held in memory: chunk rows line up with BM25 rows and vector rows."""

    manifest: dict[str, Any]
    files: dict[str, FileRecord]
    documents: list[Document]
    chunks: list[Chunk]
    bm25: Any = None  # BM25Index
    dense: Any = None  # DenseIndex | None
    embedder: Any = None  # Embedder | None
    folder: Path | None = None
    _doc_by_id: dict[str, Document] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._doc_by_id = {d.id: d for d in self.documents}

    def document(self, doc_id: str) -> Document | None:
        return self._doc_by_id.get(doc_id)


def current_version(root: Path) -> Path | None:
    """The live version folder of the index at ``root``, or None if there is none."""
    pointer = root / "CURRENT"
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    folder = root / name
    if not name or "/" in name or not folder.is_dir():
        raise IndexFormatError(f"index {root} is damaged: CURRENT points at missing folder {name!r}")
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise IndexFormatError(f"index {folder} has no readable manifest.json ({e})") from None
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexFormatError(
            f"index {folder} has format version {version!r}; this program reads version {FORMAT_VERSION}. "
            "Rebuild it with `rag ingest`."
        )
    return manifest


def write_records(folder: Path, files: dict[str, FileRecord], documents: list[Document], chunks: list[Chunk]) -> None:
    con = sqlite3.connect(folder / "records.sqlite")
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
            [(i, c.id, c.doc_id, c.source, json.dumps(c.to_dict(), ensure_ascii=False)) for i, c in enumerate(chunks)],
        )
        con.commit()
    finally:
        con.close()


def read_records(folder: Path) -> tuple[dict[str, FileRecord], list[Document], list[Chunk]]:
    path = folder / "records.sqlite"
    if not path.is_file():
        raise IndexFormatError(f"index {folder} has no records.sqlite")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        files = {
            r[0]: FileRecord(*r)
            for r in con.execute("SELECT source, path, checksum, text, n_documents, n_chunks FROM files")
        }
        documents = [
            Document.from_dict(json.loads(r[0])) for r in con.execute("SELECT record FROM documents ORDER BY pos")
        ]
        chunks = [Chunk.from_dict(json.loads(r[0])) for r in con.execute("SELECT record FROM chunks ORDER BY row")]
    finally:
        con.close()
    return files, documents, chunks


@contextmanager
def write_lock(root: Path) -> Iterator[None]:
    """Hold ``root/.lock`` exclusively: one ingest at a time per index (readers never wait)."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def new_version_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"tmp-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    folder.mkdir()
    return folder


def publish(root: Path, tmp: Path) -> Path:
    """Make ``tmp`` the live version of ``root`` atomically.

    The version it replaces is kept (a reader that has just read ``CURRENT`` may still be
    opening it); older ones are deleted.
    """
    final = root / ("v-" + tmp.name.removeprefix("tmp-"))
    pointer = root / "CURRENT"
    previous = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else ""
    _fsync_tree(tmp)
    tmp.rename(final)
    pointer_tmp = root / f".CURRENT.{secrets.token_hex(3)}"
    pointer_tmp.write_text(final.name, encoding="utf-8")
    with open(pointer_tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(pointer_tmp, root / "CURRENT")
    for old in root.iterdir():
        if old.is_dir() and old.name not in (final.name, previous) and old.name.startswith("v-"):
            shutil.rmtree(old, ignore_errors=True)
    return final


def discard(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())


def load_vectors(folder: Path) -> np.ndarray | None:
    path = folder / "dense" / "vectors.npy"
    return np.load(path, allow_pickle=False) if path.is_file() else None
