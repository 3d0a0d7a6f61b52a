"""Text out of container formats -- PDF (pypdf) and DOCX (a zip of XML) -- within limits.

A hostile file can make a parser run forever or fill the memory: a zip whose
``word/document.xml`` inflates to gigabytes, tables nested thousands deep, a PDF page tree
that loops. Each reader here refuses such a file with an :class:`UnreadableFile` whose
one-line reason names the limit, before the expensive step where it can:

- DOCX: the sizes in the zip's directory are summed first (``max_inflated_mb``), then
  every part is decompressed as a stream and counted, since a directory can lie; the
  markup's element count and the nesting of tables are bounded; tables are walked here,
  not through python-docx's cell grid (which follows a vertical merge up row by row and
  repeats a cell once per grid column it spans, so a crafted ``gridSpan`` costs millions
  of steps per cell).
- PDF: the page count (``max_pages``) is checked before any text is extracted; pypdf
  itself detects a ``/Kids`` cycle, and whatever else loops in pypdf is stopped by the
  per-file time limit of :mod:`rag.ingest.guard`.

>>> import io, zipfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
...     z.writestr("word/document.xml", "<a/>" * 300_000)
>>> check_zip("x.docx", buf.getvalue(), max_bytes=100_000)
Traceback (most recent call last):
...
rag.ingest.loaders.UnreadableFile: x.docx: DOCX parts would inflate to 1.1 MB, over the 0.1 MB limit (max_inflated_mb)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rag.ingest.loaders import UnreadableFile

MAX_ZIP_MEMBERS = 10_000  # parts a DOCX may hold (a real one has a few dozen)
MAX_XML_ELEMENTS = 5_000_000  # elements of word/document.xml (a 1,000-page report has ~500k)
MAX_TABLE_DEPTH = 32  # tables inside tables inside ... (Word documents rarely go past 3)
_MB = 1 << 20


def _mb(n: int) -> str:
    return f"{n / _MB:.1f}"


# ------------------------------------------------------------------------------- zip


def check_zip(path: Path | str, data: bytes, max_bytes: int, kind: str = "DOCX") -> int:
    """Check that the zip ``data`` inflates to at most ``max_bytes``: first by its directory,
    then by decompressing every part as a stream and counting. Returns the element count of
    ``word/document.xml`` (0 when there is none); raises :class:`UnreadableFile`."""
    import io
    import zipfile
    import zlib

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise UnreadableFile(path, f"not a readable {kind} (not a zip archive: {e})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise UnreadableFile(path, f"{kind} holds {len(infos)} parts, over {MAX_ZIP_MEMBERS}")
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise UnreadableFile(
                path,
                f"{kind} parts would inflate to {_mb(declared)} MB, over the {_mb(max_bytes)} MB limit (max_inflated_mb)",
            )
        total = 0
        elements = 0
        for info in infos:
            is_body = info.filename == "word/document.xml"
            try:
                with zf.open(info) as fh:
                    while block := fh.read(_MB):
                        total += len(block)
                        if total > max_bytes:
                            raise UnreadableFile(
                                path,
                                f"{kind} parts inflate past the {_mb(max_bytes)} MB limit (max_inflated_mb) "
                                "although the zip directory says less",
                            )
                        if is_body:
                            elements += block.count(b"<") - block.count(b"</")
            except UnreadableFile:
                raise
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, ValueError) as e:
                # zipfile stops at the size the directory declares and then finds the CRC wrong
                raise UnreadableFile(path, f"not a readable {kind} (part {info.filename[:60]!r}: {e})") from None
        if elements > MAX_XML_ELEMENTS:
            raise UnreadableFile(path, f"{kind} body has about {elements} XML elements, over {MAX_XML_ELEMENTS}")
        return elements


# ------------------------------------------------------------------------------ DOCX


def docx_text(path: Path | str, data: bytes, max_inflated_bytes: int) -> str:
    """Paragraphs (Word headings as Markdown ``#``) and tables (one row a line, cells joined by
    `` | ``, a merged cell once, nested tables after their row), a blank line between blocks."""
    import io

    check_zip(path, data, max_inflated_bytes)
    try:
        import docx
    except ImportError:  # pragma: no cover - a dependency
        raise UnreadableFile(path, "python-docx is not installed") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx and lxml raise many kinds on damaged files
        raise UnreadableFile(path, f"not a readable DOCX ({type(e).__name__}: {_one_line(e)})") from None
    lines: list[str] = []
    for block in _docx_blocks(path, document):
        lines.append(block)
        lines.append("")
    return "\n".join(lines)


def _one_line(e: BaseException, limit: int = 160) -> str:
    return " ".join(str(e).split())[:limit]


def _docx_blocks(path: Path | str, document: Any) -> list[str]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []
    for item in document.iter_inner_content():
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
            out += table_rows(path, item._tbl)
    return out


def table_rows(path: Path | str, tbl: Any, depth: int = 1) -> list[str]:
    """One line per row of the ``<w:tbl>`` element ``tbl``; a cell continuing a vertical merge
    is skipped (its text is the first row's), a horizontally merged cell is one ``<w:tc>``."""
    from docx.text.paragraph import Paragraph

    if depth > MAX_TABLE_DEPTH:
        raise UnreadableFile(path, f"DOCX tables nested more than {MAX_TABLE_DEPTH} deep")
    out: list[str] = []
    for tr in tbl.tr_lst:
        cells: list[str] = []
        nested: list[str] = []
        for tc in tr.tc_lst:
            if tc.vMerge == "continue":
                continue
            cells.append(" ".join(t for p in tc.p_lst if (t := Paragraph(p, None).text.strip())))  # type: ignore[arg-type]
            for inner in tc.tbl_lst:
                nested += table_rows(path, inner, depth + 1)
        if any(cells):
            out.append(" | ".join(cells))
        out += nested
    return out


# ------------------------------------------------------------------------------- PDF


def pdf_pages(path: Path | str, data: bytes, max_pages: int) -> list[str]:
    """The text of each page (a bare page number on a page's first or last line dropped)."""
    import io
    import logging

    from pypdf import PdfReader

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
        n = len(reader.pages)
        if n > max_pages:
            raise UnreadableFile(path, f"PDF has {n} pages, over the {max_pages} page limit (max_pages)")
        pages = [_drop_page_number(page.extract_text() or "") for page in reader.pages]
    except UnreadableFile:
        raise
    except RecursionError:
        raise UnreadableFile(path, "not a readable PDF (objects refer to each other in a loop)") from None
    except Exception as e:  # pypdf raises many kinds on damaged files
        raise UnreadableFile(path, f"not a readable PDF ({type(e).__name__}: {_one_line(e)})") from None
    if not any(p.strip() for p in pages):
        raise UnreadableFile(path, "PDF has no extractable text (scanned images need OCR, which is not supported)")
    return pages


_BARE_PAGE_NUMBER = re.compile(r"^\s*[-—－–]?\s*\d{1,4}\s*[-—－–]?\s*$")


def _drop_page_number(page: str) -> str:
    """A page's text without a bare page number on its first or last line.

    >>> _drop_page_number("12\\n正文\\n- 3 -")
    '\\n正文\\n'
    """
    lines = page.split("\n")
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for i in {nonblank[0], nonblank[-1]} if len(nonblank) > 1 else set():
        if _BARE_PAGE_NUMBER.match(lines[i]):
            lines[i] = ""
    return "\n".join(lines)
