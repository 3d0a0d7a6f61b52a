r"""Read .txt / .md / .pdf / .docx / .jsonl(.gz) files into text, detecting the encoding of plain text.

>>> from pathlib import Path                                  # doctest: +SKIP
>>> load_text(Path("seeds/000_5079e179db016442.txt"))[:6]       # doctest: +SKIP
'情暖职工聚合力'

Every failure is an :class:`UnreadableFile` whose message names the file and the reason,
so an ingest can skip it with a one-line note and go on. A file over ``max_file_mb`` is
refused on its size, before it is read; containers (PDF, DOCX, gzip) are read within the
limits of :mod:`rag.ingest.containers`. What was repaired on the way (NUL bytes dropped,
undecodable bytes replaced) is said in :attr:`Loaded.warnings`:

>>> text, warnings = decode_text("职工之家\x00建成。".encode() + b"\xff" + "共1200个。".encode() * 200)
>>> text[:8] == "职工之家建成。\ufffd", warnings
(True, ['1 NUL/control characters dropped', '1 undecodable bytes replaced by U+FFFD'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.ingest.jsonl import Record
    from rag.settings import Settings

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".docx", ".jsonl", ".jsonl.gz")
_MB = 1 << 20


class UnreadableFile(Exception):
    """A file that cannot be turned into text; ``str(e)`` is a one-line reason."""

    def __init__(self, path: Path | str, reason: str):
        name = "".join(c if c.isprintable() else "_" for c in Path(path).name)  # one line, whatever the name
        super().__init__(f"{name}: {reason}")
        self.path = str(path)
        self.reason = reason


def file_kind(path: Path | str) -> str:
    """The supported suffix ``path`` ends with (``.jsonl.gz`` counts whole), or ``""``.

    >>> file_kind("a/News-01.JSONL.gz"), file_kind("b.md"), file_kind("c.gz")
    ('.jsonl.gz', '.md', '')
    """
    name = Path(path).name.lower()
    return next((s for s in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True) if name.endswith(s)), "")


@dataclass(frozen=True)
class Loaded:
    """A file read into text: for a PDF where each page starts; for a JSONL file its records
    (each with its span in ``text``); what was repaired on the way."""

    text: str
    page_starts: tuple[int, ...] = ()
    records: tuple[Record, ...] | None = None
    warnings: tuple[str, ...] = field(default=())


def load_text(path: Path, settings: Settings | None = None) -> str:
    """The text of ``path``, newline-normalised; raises :class:`UnreadableFile`."""
    return load_file(path, settings).text


def load_text_and_pages(path: Path, settings: Settings | None = None) -> tuple[str, list[int]]:
    """The text of ``path`` and, for a PDF, the offset in it where each page starts
    (empty for other files); raises :class:`UnreadableFile`."""
    loaded = load_file(path, settings)
    return loaded.text, list(loaded.page_starts)


def load_file(path: Path, settings: Settings | None = None) -> Loaded:
    """Read ``path`` within the limits of ``settings``; raises :class:`UnreadableFile`."""
    from rag.ingest import containers
    from rag.settings import Settings

    settings = settings or Settings()
    kind = file_kind(path)
    if not kind:
        raise UnreadableFile(
            path, f"unsupported file type {path.suffix.lower() or '(none)'!r}; supported: {SUPPORTED_SUFFIXES}"
        )
    try:
        size = path.stat().st_size
        if size > settings.max_file_mb * _MB:
            raise UnreadableFile(
                path, f"file is {size / _MB:.0f} MB, over the {settings.max_file_mb} MB limit (max_file_mb)"
            )
        data = path.read_bytes()
    except OSError as e:
        raise UnreadableFile(path, f"cannot read file ({e.strerror or e})") from None
    if not data.strip():
        raise UnreadableFile(path, "empty file")
    warnings: list[str] = []
    page_starts: list[int] = []
    records = None
    if kind == ".pdf":
        pages = [_newlines(p) for p in containers.pdf_pages(path, data, settings.max_pages)]
        # A blank line between pages; a line broken by the page end is repaired later.
        parts, at = [], 0
        for i, page in enumerate(pages):
            page_starts.append(at + (2 if i else 0))
            parts.append(("\n\n" if i else "") + page)
            at += len(parts[-1])
        text = "".join(parts)
    elif kind == ".docx":
        text = _newlines(containers.docx_text(path, data, settings.max_inflated_mb * _MB))
    elif kind in (".jsonl", ".jsonl.gz"):
        from rag.ingest.jsonl import read_jsonl

        text, recs, warnings = read_jsonl(path, data, settings.max_inflated_mb * _MB)
        records = tuple(recs)
    else:
        text, warnings = decode_text(data, path)
        text = _newlines(text)
    if not text.strip():
        raise UnreadableFile(path, "no text could be extracted")
    return Loaded(text, tuple(page_starts), records, tuple(warnings))


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


NUL_MAX_SHARE = 0.01  # more NUL bytes than this share: a binary file, not text with a few stray NULs
# text is read as UTF-8 with a few bad sequences when it has this many good multi-byte
# characters per bad sequence (GBK read as UTF-8 has about one good one per ten bad ones)
UTF8_GOOD_PER_BAD = 20
# control characters dropped from decoded text (tab, newline and carriage return stay; a form
# feed, a page break in text exports, becomes a newline)
_DROP = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_bytes(data: bytes, path: Path | str = "<bytes>") -> str:
    """Decode plain-text bytes: UTF-8 (with or without BOM), else the detected encoding.

    GBK/GB2312 detections are decoded as GB18030, their superset, so no character is lost.
    """
    return decode_text(data, path)[0]


def decode_text(data: bytes, path: Path | str = "<bytes>") -> tuple[str, list[str]]:
    """:func:`decode_bytes` and what it repaired: stray NUL and control characters are
    dropped, and a file that is UTF-8 but for a few bad sequences (``UTF8_GOOD_PER_BAD``
    good multi-byte characters for each) keeps its text with U+FFFD in their place -- it is
    not read as GB18030, which would garble all of it."""
    warnings: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _clean_controls(data.decode("utf-16"), path, warnings), warnings
        except UnicodeDecodeError:
            raise UnreadableFile(path, "invalid UTF-16 text") from None
    nul = data.count(b"\x00")
    if nul > NUL_MAX_SHARE * len(data):
        raise UnreadableFile(path, "binary data (NUL bytes), not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = _mostly_utf8(data) or _detect_and_decode(data, path)
        except UnreadableFile:
            if nul:  # undecodable and with NUL bytes: a binary file
                raise UnreadableFile(path, "binary data (NUL bytes, no text encoding fits), not a text file") from None
            raise
    if _garbage_ratio(text) > 0.05:
        raise UnreadableFile(path, "binary or garbled content (too many control/replacement characters)")
    text = _clean_controls(text, path, warnings)
    if bad := text.count("\ufffd"):
        warnings.append(f"{bad} undecodable bytes replaced by U+FFFD")
    return text, warnings


def _clean_controls(text: str, path: Path | str, warnings: list[str]) -> str:
    text = text.replace("\x0c", "\n")
    cleaned = _DROP.sub("", text)
    if len(cleaned) != len(text):
        warnings.append(f"{len(text) - len(cleaned)} NUL/control characters dropped")
    return cleaned


def _mostly_utf8(data: bytes) -> str | None:
    """``data`` decoded as UTF-8 with replacement characters, when it is UTF-8 but for a few
    bad sequences; None when it reads like another encoding.

    Text in GBK decoded as UTF-8 fails on nearly every Chinese character; English text with
    a few GBK words has no good multi-byte characters at all -- both are left to detection.
    """
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good_multibyte = len(text) - len(text.encode("ascii", "ignore")) - bad
    if good_multibyte >= UTF8_GOOD_PER_BAD * bad:
        return text
    return None


_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
LENIENT_MAX = 0.001  # at most this share of undecodable bytes is replaced rather than refused


def _detect_and_decode(data: bytes, path: Path | str) -> str:
    """Non-UTF-8 bytes: the Chinese encoding whose decoding reads most like Chinese.

    GB18030 decodes almost any byte pairs, so a strict decode proves little: Big5 text
    comes out as rare characters or private-use code points. Each candidate is scored by
    how common its Han characters are (jieba's dictionary frequencies); charset-normalizer
    is asked only when neither GB18030 nor Big5 decodes. A file with a few bad bytes (a
    cut-off last character, one stray byte) is decoded with replacement characters when
    they are under 0.1% of the text.
    """
    candidates = []
    for enc in ("gb18030", "big5"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        candidates.append((_chinese_score(text), enc, text))
    if candidates:
        return max(candidates)[2]
    for enc in ("utf-8", "gb18030"):
        text = data.decode(enc, errors="replace")
        if text.count("\ufffd") <= max(1, LENIENT_MAX * len(text)):
            return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise UnreadableFile(path, "unknown text encoding (not UTF-8, GB18030/GBK, Big5 or any detectable one)")
    enc = best.encoding.lower()
    if enc in {"gbk", "gb2312", "cp936", "hz"}:
        enc = "gb18030"
    try:
        return data.decode(enc)
    except (UnicodeDecodeError, LookupError):
        raise UnreadableFile(path, f"could not decode as detected encoding {enc}") from None


def _chinese_score(text: str) -> float:
    """How much ``text`` reads like Chinese: common Han characters up, private-use ones down."""
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    pua = len(_PRIVATE_USE.findall(text))
    if not han:
        return -pua
    common = _common_chars()
    return sum(1 for c in han if c in common) / len(han) - 5 * pua / max(1, len(han))


_COMMON: frozenset[str] | None = None


def _common_chars() -> frozenset[str]:
    """Han characters of words jieba's dictionary rates common (the top ~4,000)."""
    global _COMMON
    if _COMMON is None:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.dt.check_initialized()
        counts: dict[str, int] = {}
        for word, freq in jieba.dt.FREQ.items():
            if freq >= 50:
                for c in word:
                    counts[c] = counts.get(c, 0) + freq
        _COMMON = frozenset(sorted(counts, key=counts.__getitem__, reverse=True)[:4000])
    return _COMMON


def _cjk_ratio(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(
        1 for c in chars if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef"
    ) / len(chars)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def _garbage_ratio(text: str) -> float:
    if not text:
        return 0.0  # nothing to judge (an empty file is refused by the loader as empty)
    return len(_CONTROL.findall(text)) / len(text)
