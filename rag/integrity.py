"""Checks that an index version is the one its ingest wrote, before anything reads it.

The manifest lists every file of the version with its size and a BLAKE2b digest
(``"integrity"``). Loading verifies, in this order, and stops at the first problem with
an :class:`~rag.errors.IndexFormatError` naming the file and what to do:

1. no symlink anywhere in the version folder (a link could point outside it);
2. every listed path is relative, inside the folder, and exists;
3. no file the manifest does not list (a planted file);
4. sizes match (free) and, with ``verify="full"`` (the default), digests match.

BLAKE2b reads about a gigabyte a second on one core, so full checks cost about a second
per GB of index (``rag bench`` reports it); ``RAG_VERIFY_INDEX=size`` checks only sizes.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); (d / "a.npy").write_bytes(b"123")
3
>>> listing = fingerprint(d)
>>> verify(d, listing)
>>> (d / "a.npy").write_bytes(b"124") and None
>>> verify(d, listing)
Traceback (most recent call last):
...
rag.errors.IndexFormatError: index file ...a.npy was changed after it was written (checksum differs); rebuild the index with `rag ingest` (or `rag reindex`)
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from rag.errors import IndexFormatError

MANIFEST = "manifest.json"
MODES = ("full", "size", "off")


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def fingerprint(folder: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"size", "blake2b"}}`` of every file in ``folder`` except the manifest."""
    out: dict[str, dict[str, Any]] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            out[p.relative_to(folder).as_posix()] = {"size": p.stat().st_size, "blake2b": _digest(p)}
    return out


def _fail(path: Path | str, what: str) -> IndexFormatError:
    return IndexFormatError(
        f"index file {path} {what}; rebuild the index with `rag ingest` (or `rag reindex`)"
    )


def verify(folder: Path, listing: dict[str, Any] | None, mode: str = "full") -> None:
    """Raise :class:`IndexFormatError` unless ``folder`` holds exactly the files in ``listing``."""
    if mode not in MODES:
        raise ValueError(f"verify mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "off":
        return
    root = folder.resolve()
    for p in folder.rglob("*"):
        if p.is_symlink():
            raise _fail(p, f"is a symbolic link (to {p.readlink()}); an index folder holds only its own files")
    if listing is None:
        return  # an index from before checksums were recorded: nothing to compare against
    if not isinstance(listing, dict):
        raise _fail(folder / MANIFEST, "has a malformed file list")
    for rel, rec in listing.items():
        path = folder / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts or not path.resolve().is_relative_to(root):
            raise _fail(folder / MANIFEST, f"names a file outside the index folder ({rel!r})")
        if not path.is_file():
            raise _fail(path, "is missing")
        if not isinstance(rec, dict) or path.stat().st_size != rec.get("size"):
            raise _fail(path, "was changed after it was written (size differs)")
        if mode == "full" and _digest(path) != rec.get("blake2b"):
            raise _fail(path, "was changed after it was written (checksum differs)")
    for p in folder.rglob("*"):
        if p.is_file() and p.name != MANIFEST and p.relative_to(folder).as_posix() not in listing:
            raise _fail(p, "is not part of this index (not in its manifest)")
