"""Source keys: the name a file is stored and shown under, made safe to show and to use.

A key is a relative path with ``/`` between its parts. A file's name on disk can hold
anything but ``/`` and NUL: newlines and other control characters, bidirectional overrides
that make a name read backwards, 300 characters; a key handed in by a caller can also hold
``..`` or a leading ``/``. :func:`safe_source` keeps a key that is already fine as it is and
otherwise rewrites each bad part: control and format characters become ``_``, a long part
is shortened (its suffix kept), and a part that had to change gets eight hex digits of a
hash of its original, so two different bad names never end up as one key. ``..``, ``.``
and empty parts are dropped, so a key never climbs out of a folder it is joined to.

>>> safe_source("a/report.txt")
'a/report.txt'
>>> safe_source("../../etc/passwd")
'etc/passwd'
>>> safe_source("报告\\n2024.txt")
'报告_2024~a28a8ad9.txt'
>>> len(safe_source("长" * 300 + ".md")) <= MAX_PART
True
>>> safe_source(safe_source("x\\u202egnp.txt")) == safe_source("x\\u202egnp.txt")
True
"""

from __future__ import annotations

import hashlib
import unicodedata

MAX_PART = 120  # characters of one part of a key (a folder or the file name)


def safe_source(key: str) -> str:
    """``key`` made safe to show and to join to a folder (see the module's text)."""
    parts = [p for p in key.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    out = [_safe_part(p) for p in parts]
    out = [p for p in out if p]
    return "/".join(out) or "unnamed~" + _digest(key)


def _safe_part(part: str) -> str:
    cleaned = "".join("_" if unicodedata.category(c).startswith("C") else c for c in part).strip()
    if cleaned == part and len(part) <= MAX_PART:
        return part
    from rag.ingest.loaders import file_kind

    suffix = file_kind(cleaned) or ""
    if not suffix and "." in cleaned[-11:]:
        suffix = cleaned[cleaned.rindex(".") :]
    stem = cleaned[: len(cleaned) - len(suffix)]
    tag = "~" + _digest(part)
    return stem[: MAX_PART - len(tag) - len(suffix)] + tag + suffix


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
