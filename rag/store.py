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
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexFormatError
from rag.records import Chunk, Document
from rag.records_db import FileRecord, open_records, read_records, write_records

__all__ = [
    "FORMAT_VERSION",
    "FileRecord",
    "IndexData",
    "IndexFormatError",
    "current_version",
    "discard",
    "load_vectors",
    "new_version_dir",
    "open_records",
    "publish",
    "read_manifest",
    "read_records",
    "write_lock",
    "write_records",
]

FORMAT_VERSION = 1


@dataclass
class IndexData:
    """An index held in memory: chunk rows line up with BM25 rows and vector rows."""

    manifest: dict[str, Any]
    files: dict[str, FileRecord]
    documents: list[Document]
    chunks: Sequence[Chunk]  # a list while building; a lazy ChunkTable in a loaded index
    bm25: Any = None  # BM25Index
    dense: Any = None  # DenseIndex | None
    embedder: Any = None  # Embedder | None
    folder: Path | None = None
    _doc_by_id: dict[str, Document] = field(default_factory=dict)
    _columns: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        self._doc_by_id = {d.id: d for d in self.documents}

    def document(self, doc_id: str) -> Document | None:
        return self._doc_by_id.get(doc_id)

    def chunk_by_id(self, chunk_id: str) -> Chunk | None:
        """The chunk with this id, or None."""
        row_of = getattr(self.chunks, "row_of", None)
        if row_of is not None:
            row = row_of(chunk_id)
            return None if row is None else self.chunks[row]
        return next((c for c in self.chunks if c.id == chunk_id), None)

    def chunk_rows(self, rows: Sequence[int]) -> list[Chunk]:
        """The chunks at ``rows`` (one read for a ChunkTable)."""
        rows_of = getattr(self.chunks, "rows", None)
        return rows_of(rows) if rows_of is not None else [self.chunks[r] for r in rows]

    def row_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per chunk row: its source, its document id and its title (object arrays), computed
        once; from the ChunkTable's integer columns when the chunks are on disk."""
        cols = self._columns
        if cols is None:
            from rag.records_db import ChunkTable

            if isinstance(self.chunks, ChunkTable):
                t = self.chunks
                ids = np.array([d.id for d in self.documents] + [""], dtype=object)
                titles = np.array([d.title for d in self.documents] + [""], dtype=object)
                cols = (np.array(t.source_names, dtype=object)[t.source_codes], ids[t.doc_codes], titles[t.doc_codes])
            else:
                cols = (
                    np.array([c.source for c in self.chunks], dtype=object),
                    np.array([c.doc_id for c in self.chunks], dtype=object),
                    np.array([c.title for c in self.chunks], dtype=object),
                )
            self._columns = cols
        return cols


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
        elif old.name.startswith(".CURRENT.") and old.is_file():  # left by a writer killed mid-publish
            old.unlink(missing_ok=True)
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
    return np.load(path, allow_pickle=False, mmap_mode="r") if path.is_file() else None
