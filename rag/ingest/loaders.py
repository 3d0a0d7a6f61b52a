"""Read .txt / .md / .pdf / .docx files into text, detecting the encoding of plain text.

>>> from pathlib import Path                                  # doctest: +SKIP
>>> load_text(Path("seeds/000_5079e179db016442.txt"))[:6]       # doctest: +SKIP
'情暖职工聚合力'

Every failure is an :class:`UnreadableFile` whose message names the file and the reason,
so an ingest can skip it with a one-line note and go on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".docx")


class UnreadableFile(Exception):
    """A file that cannot be turned into text; ``str(e)`` is a one-line reason."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{Path(path).name}: {reason}")
        self.path = str(path)
        self.reason = reason


def load_text(path: Path) -> str:
    """The text of ``path``, newline-normalised; raises :class:`UnreadableFile`."""
    return load_text_and_pages(path)[0]


def load_text_and_pages(path: Path) -> tuple[str, list[int]]:
    """The text of ``path`` and, for a PDF, the offset in it where each page starts
    (empty for other files); raises :class:`UnreadableFile`."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(path, f"unsupported file type {suffix or '(none)'!r}; supported: {SUPPORTED_SUFFIXES}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UnreadableFile(path, f"cannot read file ({e.strerror or e})") from None
    if not data.strip():
        raise UnreadableFile(path, "empty file")
    page_starts: list[int] = []
    if suffix == ".pdf":
        pages = [_newlines(p) for p in _pdf_pages(path, data)]
        # A blank line between pages; a line broken by the page end is repaired later.
        text, at = "", 0
        for i, page in enumerate(pages):
            page_starts.append(at)
            text += ("\n\n" if i else "") + page
            at = len(text) + 2
    elif suffix == ".docx":
        text = _newlines(_docx_text(path, data))
    else:
        text = _newlines(decode_bytes(data, path))
    if not text.strip():
        raise UnreadableFile(path, "no text could be extracted")
    return text, page_starts


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_bytes(data: bytes, path: Path | str = "<bytes>") -> str:
    """Decode plain-text bytes: UTF-8 (with or without BOM), else the detected encoding.

    GBK/GB2312 detections are decoded as GB18030, their superset, so no character is lost.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise UnreadableFile(path, "invalid UTF-16 text") from None
    if b"\x00" in data[:4096]:
        raise UnreadableFile(path, "binary data (NUL bytes), not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _detect_and_decode(data, path)
    if _garbage_ratio(text) > 0.05:
        raise UnreadableFile(path, "binary or garbled content (too many control/replacement characters)")
    return text


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
        return 1.0
    return len(_CONTROL.findall(text)) / len(text)


def _pdf_pages(path: Path, data: bytes) -> list[str]:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            ok: object
            try:
                ok = reader.decrypt("")
            except Exception:
                ok = 0
            if not ok:
                raise UnreadableFile(path, "encrypted PDF (a password is needed)")
        pages = [_drop_page_number(page.extract_text() or "") for page in reader.pages]
    except UnreadableFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise UnreadableFile(path, f"not a readable PDF ({type(e).__name__}: {e})") from None
    except Exception as e:  # pypdf raises many kinds on damaged files
        raise UnreadableFile(path, f"not a readable PDF ({type(e).__name__})") from None
    if not any(p.strip() for p in pages):
        raise UnreadableFile(path, "PDF has no extractable text (scanned images need OCR, which is not supported)")
    return pages


_BARE_PAGE_NUMBER = re.compile(r"^\s*[-—－–]?\s*\d{1,4}\s*[-—－–]?\s*$")


def _drop_page_number(page: str) -> str:
    """A page's text without a bare page number on its first or last line."""
    lines = page.split("\n")
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for i in {nonblank[0], nonblank[-1]} if len(nonblank) > 1 else set():
        if _BARE_PAGE_NUMBER.match(lines[i]):
            lines[i] = ""
    return "\n".join(lines)


def _docx_text(path: Path, data: bytes) -> str:
    import io
    import zipfile

    try:
        import docx
    except ImportError:  # pragma: no cover - a dependency
        raise UnreadableFile(path, "python-docx is not installed") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise UnreadableFile(path, f"not a readable DOCX ({type(e).__name__})") from None
    except Exception as e:
        raise UnreadableFile(path, f"not a readable DOCX ({type(e).__name__})") from None
    lines: list[str] = []
    for block in _docx_blocks(document):
        lines.append(block)
        lines.append("")
    return "\n".join(lines)


def _docx_blocks(document: object) -> list[str]:
    """Paragraphs (Word headings as Markdown ``#``) and tables (one row a line), in order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []
    for item in document.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(item, Paragraph):
            text = item.text.strip()
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            m = re.match(r"(?:Heading|标题)\s*(\d)", style)
            if m:
                out.append("#" * min(int(m.group(1)), 6) + " " + text)
            elif style == "Title":
                out.append("# " + text)
            else:
                out.append(text)
        elif isinstance(item, Table):
            out += _table_rows(item)
    return out


def _table_rows(table: Any) -> list[str]:
    """One line per row, cells joined by `` | ``; a merged cell once; nested tables after their row."""
    out: list[str] = []
    for row in table.rows:
        seen: list[Any] = []
        cells: list[str] = []
        nested: list[str] = []
        for cell in row.cells:
            if any(cell._tc is tc for tc in seen):  # one cell spanning several grid columns
                continue
            seen.append(cell._tc)
            cells.append(" ".join(p.text.strip() for p in cell.paragraphs if p.text.strip()))
            for inner in cell.tables:
                nested += _table_rows(inner)
        if any(cells):
            out.append(" | ".join(cells))
        out += nested
    return out
