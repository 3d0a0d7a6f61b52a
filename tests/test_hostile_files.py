"""Hostile input files: each one is refused (or repaired) within bounded time and memory,
with a one-line reason, and the rest of the batch is ingested. Every file is made here,
small on disk wherever the attack allows it."""

from __future__ import annotations

import gzip
import json
import time
import zipfile
from pathlib import Path

import pytest

from rag.ingest.clean import LONG_LINE
from rag.ingest.loaders import UnreadableFile, load_file
from rag.ingest.pipeline import iter_sources, parse_file, parse_text
from rag.settings import Settings

HERE = Settings(max_file_seconds=0)  # parse in this process: the limits checked without the child
BODY = "铜仁市总工会全年发放职工医疗互助金3234万元，惠及职工1.2万人次。"


def _refused(path: Path, settings: Settings = HERE, *words: str) -> str:
    with pytest.raises(UnreadableFile) as e:
        parse_file(path, settings)
    reason = str(e.value)
    assert path.name in reason and "\n" not in reason, reason
    for w in words:
        assert w in reason, reason
    return reason


# ----------------------------------------------------------------------------- DOCX


def _docx(tmp_path: Path, body_xml: str, name: str = "x.docx") -> Path:
    """A python-docx document whose word/document.xml body is ``body_xml``."""
    import docx

    base = tmp_path / "base.docx"
    docx.Document().save(str(base))
    out = tmp_path / name
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    xml = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {ns}><w:body>{body_xml}</w:body></w:document>'
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = xml.encode() if item.filename == "word/document.xml" else src.read(item)
            dst.writestr(item, data)
    return out


def _p(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def _bomb(tmp_path: Path, inflated_mb: int, name: str = "bomb.docx") -> Path:
    """A DOCX whose document.xml is a valid paragraph followed by ``inflated_mb`` MB of spaces."""
    base = _docx(tmp_path, _p(BODY), "base2.docx")
    out = tmp_path / name
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != "word/document.xml":
                dst.writestr(item, src.read(item))
                continue
            xml = src.read(item)
            head, tail = xml.split(b"</w:body>")
            with dst.open("word/document.xml", "w", force_zip64=True) as fh:
                fh.write(head)
                block = b" " * (1 << 20)
                for _ in range(inflated_mb):
                    fh.write(block)
                fh.write(b"</w:body>" + tail)
    return out


def test_docx_zip_bomb_is_refused_by_its_directory(tmp_path):
    bomb = _bomb(tmp_path, 64)
    assert bomb.stat().st_size < 1 << 20  # small on disk, 64 MB inflated
    t = time.perf_counter()
    _refused(bomb, Settings(max_file_seconds=0, max_inflated_mb=16), "would inflate", "max_inflated_mb")
    assert time.perf_counter() - t < 2  # refused on the directory, nothing decompressed
    # the same kind of file inflating to less than the limit reads (the spaces are nothing)
    assert (
        BODY
        in parse_file(_bomb(tmp_path, 4, "ok.docx"), Settings(max_file_seconds=0, max_inflated_mb=16)).chunks[0].text
    )


def _declare_size(path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size the zip's central directory gives ``member``."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    at = data.find(b"PK\x01\x02")
    while data[at + 46 : at + 46 + len(name)] != name:  # central directory headers are 46 bytes + name
        at = data.find(b"PK\x01\x02", at + 4)
    data[at + 24 : at + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as z:
        assert z.getinfo(member).file_size == size


def test_docx_whose_directory_lies_is_stopped_while_decompressing(tmp_path):
    """The central directory says document.xml is 1 KB; it inflates to 64 MB."""
    liar = _bomb(tmp_path, 64, "liar.docx")
    _declare_size(liar, "word/document.xml", 1024)
    t = time.perf_counter()
    reason = _refused(liar, Settings(max_file_seconds=0, max_inflated_mb=16))
    assert time.perf_counter() - t < 5
    assert "DOCX" in reason and ("CRC" in reason or "inflate" in reason), reason


def test_docx_gigabyte_bomb_under_the_default_limit(tmp_path):
    """document.xml declared at 3.7 GB in a file of a few kB: the default max_inflated_mb
    refuses it on the directory, before decompressing anything."""
    bomb = _bomb(tmp_path, 8, "giga.docx")
    _declare_size(bomb, "word/document.xml", 4_000_000_000)
    assert bomb.stat().st_size < 1 << 20
    t = time.perf_counter()
    _refused(bomb, HERE, "would inflate to 381", "256.0 MB limit")
    assert time.perf_counter() - t < 2


def test_docx_tables_nested_deeper_than_the_limit_are_refused(tmp_path):
    def nested(depth: int) -> str:
        xml = _p("最里面")
        for i in range(depth):
            xml = f"<w:tbl><w:tr><w:tc>{_p(f'第{i}层')}{xml}</w:tc></w:tr></w:tbl>{_p('')}"
        return xml

    ok = _docx(tmp_path, _p("表格") + nested(5), "ok.docx")
    text = "\n".join(c.text for c in parse_file(ok, HERE).chunks)
    assert "第4层" in text and "最里面" in text
    _refused(_docx(tmp_path, nested(40), "deep.docx"), HERE, "nested more than 32 deep")
    # thousands deep: lxml's own depth limit stops the parse, with a reason
    t = time.perf_counter()
    _refused(_docx(tmp_path, nested(3000), "deeper.docx"), HERE, "DOCX")
    assert time.perf_counter() - t < 10


def test_docx_thousands_of_tables_and_crafted_spans_stay_linear(tmp_path):
    # a cell claiming to span 10^8 grid columns, a vertical merge continued over 3,000 rows
    span = f'<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val="100000000"/></w:tcPr>{_p("宽单元格")}</w:tc></w:tr></w:tbl>'
    restart, cont = '<w:vMerge w:val="restart"/>', "<w:vMerge/>"
    rows = "".join(
        f"<w:tr><w:tc><w:tcPr>{cont if i else restart}</w:tcPr>{_p('' if i else '合并')}</w:tc>"
        f"<w:tc>{_p(f'第{i}行')}</w:tc></w:tr>"
        for i in range(3000)
    )
    many = "".join(f"<w:tbl><w:tr><w:tc>{_p(f'表{i}')}</w:tc></w:tr></w:tbl>" for i in range(3000))
    path = _docx(tmp_path, _p("正文。") + span + f"<w:tbl>{rows}</w:tbl>" + many, "tables.docx")
    t = time.perf_counter()
    text = load_file(path, HERE).text
    assert time.perf_counter() - t < 20
    assert text.count("宽单元格") == 1 and text.count("合并") == 1 and "第2999行" in text and "表2999" in text


# ------------------------------------------------------------------------------ PDF


def _pdf(objects: dict[int, bytes], root: int = 1, xref_stream: bytes | None = None) -> bytes:
    """A PDF from numbered object bodies, with a classic xref table (or none, when the
    caller supplies an xref stream object)."""
    out = bytearray(b"%PDF-1.5\n")
    offsets: dict[int, int] = {}
    for n in sorted(objects):
        offsets[n] = len(out)
        out += f"{n} 0 obj\n".encode() + objects[n] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for n in range(1, size):
        out += f"{offsets[n]:010d} 00000 n \n".encode() if n in offsets else b"0000000000 65535 f \n"
    out += f"trailer\n<< /Size {size} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _page(contents: int, parent: int = 2) -> bytes:
    return (
        f"<< /Type /Page /Parent {parent} 0 R /MediaBox [0 0 612 842] "
        f"/Resources << /Font << /F1 99 0 R >> >> /Contents {contents} 0 R >>"
    ).encode()


def _stream(ops: str) -> bytes:
    data = ops.encode("latin-1")
    return f"<< /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"


FONT = {99: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
TEXT = "BT /F1 11 Tf 50 780 Td (The union paid medical aid to workers.) Tj ET"


def test_pdf_page_tree_that_loops_is_refused(tmp_path):
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>",
        3: _page(4),
        4: _stream(TEXT),
        5: b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",  # back to the root
        **FONT,
    }
    p = tmp_path / "loop.pdf"
    p.write_bytes(_pdf(objs))
    t = time.perf_counter()
    _refused(p, HERE, "PDF")
    assert time.perf_counter() - t < 5


def test_pdf_object_streams_that_loop_are_refused(tmp_path):
    """Objects 5 and 6 are object streams each said (by the xref stream) to live inside the other."""
    import struct

    body = bytearray(b"%PDF-1.5\n")
    offsets = {}
    for n, obj in {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: _page(4), 4: _stream(TEXT), **FONT}.items():
        offsets[n] = len(body)
        body += f"{n} 0 obj\n".encode() + obj + b"\nendobj\n"
    for n, inner in ((5, 6), (6, 5)):
        content = f"2 0 {inner} 40 ".encode().ljust(20) + b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
        offsets[n] = len(body)
        body += f"{n} 0 obj\n<< /Type /ObjStm /N 2 /First 20 /Length {len(content)} >>\nstream\n".encode()
        body += content + b"\nendstream\nendobj\n"
    xref_at = len(body)
    rows = [struct.pack(">BIB", 0, 0, 255)]
    for n in range(1, 8):
        if n == 2:
            rows.append(struct.pack(">BIB", 2, 5, 0))  # object 2 is in object stream 5
        elif n == 5:
            rows.append(struct.pack(">BIB", 2, 6, 1))  # ... which is in object stream 6
        elif n == 6:
            rows.append(struct.pack(">BIB", 2, 5, 1))  # ... which is in object stream 5
        elif n == 7:
            rows.append(struct.pack(">BIB", 1, xref_at, 0))
        else:
            rows.append(struct.pack(">BIB", 1, offsets.get(n, 0), 0))
    rows.append(struct.pack(">BIB", 1, offsets[99], 0))
    data = b"".join(rows)
    index = "[0 8 99 1]"
    body += (
        f"7 0 obj\n<< /Type /XRef /Size 100 /Index {index} /W [1 4 1] /Root 1 0 R /Length {len(data)} >>\nstream\n".encode()
        + data
        + b"\nendstream\nendobj\n"
        + f"startxref\n{xref_at}\n%%EOF\n".encode()
    )
    p = tmp_path / "objstm.pdf"
    p.write_bytes(bytes(body))
    t = time.perf_counter()
    _refused(p, HERE, "PDF")
    assert time.perf_counter() - t < 10


def test_pdf_over_the_page_limit_is_refused_before_extraction(tmp_path):
    n = 30
    objs = {1: b"<< /Type /Catalog /Pages 2 0 R >>", **FONT, 3: _stream(TEXT)}
    kids = []
    for i in range(n):
        objs[10 + i] = _page(3)
        kids.append(f"{10 + i} 0 R")
    objs[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {n} >>".encode()
    p = tmp_path / "pages.pdf"
    p.write_bytes(_pdf(objs))
    _refused(p, Settings(max_file_seconds=0, max_pages=10), "30 pages", "max_pages")
    assert len(parse_file(p, Settings(max_file_seconds=0, max_pages=30)).text) > 0


# ----------------------------------------------------------------------- large text


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    big = tmp_path / "big.txt"
    big.write_text(BODY * 40_000, encoding="utf-8")  # ~3.5 MB
    read: list[Path] = []
    real = Path.read_bytes

    def spy(self: Path) -> bytes:
        read.append(self)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    _refused(big, Settings(max_file_seconds=0, max_file_mb=2), "over the 2 MB limit", "max_file_mb")
    assert big not in read  # refused on its size alone
    assert parse_file(big, Settings(max_file_seconds=0, max_file_mb=4)).chunks


def test_a_200_mb_file_is_refused_by_the_default_limit(tmp_path):
    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as fh:  # sparse: 200 MB long, nothing on disk
        fh.write(BODY.encode())
        fh.truncate(200 << 20)
    t = time.perf_counter()
    _refused(huge, HERE, "200 MB", "100 MB limit")
    assert time.perf_counter() - t < 1


def _timed_parse(body: str) -> float:
    """Seconds to parse a titled file with ``body``; the chunks must hold all of it (its
    lines joined into one paragraph)."""
    t = time.perf_counter()
    _, chunks = parse_text("标题\n\n" + body, "x.txt")
    elapsed = time.perf_counter() - t
    assert "".join(c.text for c in chunks) == body.replace("\n", "")  # cut by size, nothing lost
    return elapsed


def test_one_character_repeated_is_parsed_in_linear_time():
    parse_text("标题\n\n正文。", "warm.txt")
    small = _timed_parse("啊" * 250_000)
    large = _timed_parse("啊" * 1_000_000)
    # 4x the text: linear is 4x the time; the old chunker was quadratic (16x and more)
    assert large < 8 * small + 1.0, (small, large)


def test_lines_without_punctuation_joined_into_one_paragraph_stay_linear():
    from rag.ingest.clean import paragraphs

    line = "职工医疗互助金发放工作全面推进各项服务不断完善基层组织建设持续加强工会会员人数不断增长"
    assert len(line) >= LONG_LINE  # every line is "cut by the page width": all join into one paragraph

    def timed(n: int) -> float:
        text = "标题\n\n" + "\n".join([line] * n)
        t = time.perf_counter()
        paras = paragraphs(text)
        elapsed = time.perf_counter() - t
        assert len(paras) == 2 and len(paras[1].text) == n * len(line)
        return elapsed

    timed(100)
    small, large = timed(5_000), timed(20_000)
    # the old join re-read the whole paragraph at every line: 10x the time for 4x the lines
    assert large < 6 * small + 0.3, (small, large)
    # and the chunks of such a paragraph point back at their text through its 2,000 pieces
    text = "标题\n\n" + "\n".join([line] * 2_000)
    _, chunks = parse_text(text, "x.txt")
    assert "".join(c.text for c in chunks) == line * 2_000
    for c in chunks:
        assert text[c.start : c.end].replace("\n", "") == c.text


@pytest.mark.slow
def test_ten_million_repeated_characters_in_a_file(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("啊" * 10_000_000, encoding="utf-8")  # 30 MB
    pf = parse_file(p)  # the default settings: in the child, within its time limit (13 s on 2 shared cores)
    assert sum(len(c.text) for c in pf.chunks) == 10_000_000
    assert all(pf.text[c.start : c.end] == c.text for c in pf.chunks[:: max(1, len(pf.chunks) // 200)])


# ------------------------------------------------------------------------ bad bytes


def test_nul_bytes_and_invalid_utf8_in_a_good_file_keep_the_good_text(tmp_path):
    good = [f"第{i}段：铜仁市总工会发放职工医疗互助金{i}万元。" for i in range(60)]
    raw = "\n".join(good[:30]).encode() + b"\x00\x00\xff\xfe\x80" + "\n".join(good[30:]).encode()
    p = tmp_path / "mixed.txt"
    p.write_bytes(raw)
    for settings in (HERE, Settings()):  # in this process and in the child
        pf = parse_file(p, settings)
        joined = "".join(c.text for c in pf.chunks)
        assert all(g in joined for g in good if g != good[29]), "good text lost"
        assert "\x00" not in pf.text and pf.text.startswith(good[0])
        assert any("NUL" in w for w in pf.warnings) and any("U+FFFD" in w for w in pf.warnings)
    # the same bytes in GBK with a stray NUL: still Chinese, not mojibake
    p2 = tmp_path / "gbk.txt"
    p2.write_bytes("\n".join(good[:30]).encode("gbk") + b"\x00" + "\n".join(good[30:]).encode("gbk"))
    assert good[40] in parse_file(p2, HERE).text


# ------------------------------------------------------------------------ file names


def test_file_names_become_safe_source_keys(tmp_path):
    from rag.ingest.names import MAX_PART, safe_source

    docs = tmp_path / "docs"
    (docs / "sub\x1bdir").mkdir(parents=True)
    names = ["a\nb.txt", "\u202etxt.exe.txt", "\x07bell.md", "正常.txt"]
    for n in names:
        (docs / n).write_text(BODY, encoding="utf-8")
    (docs / "sub\x1bdir" / "c\td.txt").write_text(BODY, encoding="utf-8")
    keys = [key for _, key in iter_sources([docs])]
    assert len(keys) == len(set(keys)) == 5 and "正常.txt" in keys
    for key in keys:
        assert key.isprintable() and ".." not in key.split("/") and not key.startswith("/"), key
        assert safe_source(key) == key  # already safe: kept
    # keys a caller hands in: never climb out of a folder, never too long
    for bad in ("../../etc/passwd", "/abs/x.txt", "..\\..\\win.txt", "x" * 300 + ".txt", "..", ""):
        key = safe_source(bad)
        assert key and ".." not in key.split("/") and not key.startswith("/") and "\\" not in key
        assert all(len(part) <= MAX_PART for part in key.split("/"))
        assert (tmp_path / key).resolve().is_relative_to(tmp_path)
    assert safe_source("x" * 300 + ".txt").endswith(".txt") and safe_source("y" * 300 + ".txt") != safe_source(
        "x" * 300 + ".txt"
    )
    # a file given directly: its name is the key, made safe
    pf = parse_file(docs / "a\nb.txt", HERE)
    assert pf.source.isprintable() and pf.source.endswith(".txt")


def test_build_skips_hostile_files_and_keeps_the_rest(tmp_path):
    from rag.assistant import Assistant
    from rag.build import build_index

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("铜仁市工会\n\n" + BODY, encoding="utf-8")
    (docs / "bad\nname.md").write_text("拉萨市工会\n\n拉萨全市建立基层工会组织1200个。", encoding="utf-8")
    _bomb(tmp_path, 40).rename(docs / "bomb.docx")
    (docs / "loop.pdf").write_bytes(
        _pdf({1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"})
    )
    settings = Settings(embedding_model="none", fusion_fit=False, max_inflated_mb=8)
    report = build_index([docs], tmp_path / "idx", settings)
    skipped = dict(report.skipped)
    assert set(skipped) == {"bomb.docx", "loop.pdf"}, report.skipped
    assert all("\n" not in r for r in skipped.values())
    sources = {d.source for d in Assistant.load(tmp_path / "idx").documents()}
    assert "good.txt" in sources and len(sources) == 2 and all(s.isprintable() for s in sources)


# ------------------------------------------------------------------------ time limit


def test_the_time_limit_stops_a_slow_parse_and_the_next_file_still_parses(tmp_path):
    import random

    rng = random.Random(0)
    slow = tmp_path / "slow.txt"  # 3 million random Han characters: several seconds of work
    slow.write_text("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(3_000_000)), encoding="utf-8")
    fast = tmp_path / "fast.txt"
    fast.write_text("标题\n\n" + BODY, encoding="utf-8")
    parse_file(fast, Settings(max_file_seconds=60))  # the child is started and warm
    t = time.perf_counter()
    _refused(slow, Settings(max_file_seconds=0.5), "longer than 0.5 s", "max_file_seconds")
    assert time.perf_counter() - t < 5  # stopped, not waited for
    assert BODY in parse_file(fast, Settings(max_file_seconds=60)).chunks[0].text  # a fresh child


def test_the_child_answers_like_the_parent(tmp_path):
    p = tmp_path / "r.md"
    p.write_text("# 年度报告\n\n## 维权\n\n" + BODY * 20 + "\n\n## 服务\n\n" + BODY + "\n", encoding="utf-8")
    here, child = parse_file(p, HERE), parse_file(p, Settings())
    assert here == child


# ------------------------------------------------------------------------------ JSONL


def _jsonl(rows: list[object]) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows).encode()


def test_jsonl_lines_are_articles(tmp_path):
    rows = [
        {
            "id": "a1",
            "date": "2023-08-16",
            "title": "甲市建成驿站",
            "text": "甲市今年建成户外劳动者驿站10个。\n覆盖全部城区。",
        },
        {"id": "a2", "text": "乙市工会消息\n乙市全年发放互助金200万元。"},
        {"id": 3, "text": "丙市全年新建工会组织35家，新发展会员1200人，其中农民工会员800人，各项工作稳步推进。" * 3},
        "{not json",
        {"title": "没有正文"},
    ]
    p = tmp_path / "news.jsonl"
    p.write_bytes(_jsonl(rows))
    pf = parse_file(p, HERE)
    assert [d.title for d in pf.documents][:2] == ["甲市建成驿站", "乙市工会消息"]
    assert pf.documents[2].title.startswith("丙市全年新建工会组织35家") and len(pf.documents[2].title) <= 61
    assert [d.meta.get("id") for d in pf.documents] == ["a1", "a2", "3"] and pf.documents[0].meta[
        "date"
    ] == "2023-08-16"
    assert any("2 of 5 lines skipped" in w for w in pf.warnings)
    for c in pf.chunks:
        assert pf.text[c.start : c.end] == c.text
    by_doc = {d.id: d for d in pf.documents}
    assert all(by_doc[c.doc_id].start <= c.start < c.end <= by_doc[c.doc_id].end for c in pf.chunks)
    gz = tmp_path / "news.jsonl.gz"
    gz.write_bytes(gzip.compress(_jsonl(rows)))
    assert [c.text for c in parse_file(gz, HERE).chunks] == [c.text for c in pf.chunks]
    assert [key for _, key in iter_sources([tmp_path])] == ["news.jsonl", "news.jsonl.gz"]


def test_jsonl_gzip_bomb_and_empty_files_are_refused(tmp_path):
    bomb = tmp_path / "bomb.jsonl.gz"
    bomb.write_bytes(gzip.compress(b" " * (20 << 20)))
    _refused(bomb, Settings(max_file_seconds=0, max_inflated_mb=4), "inflates past", "max_inflated_mb")
    nothing = tmp_path / "nothing.jsonl"
    nothing.write_bytes(_jsonl([{"title": "x"}, [1, 2], "oops"]))
    _refused(nothing, HERE, '"text" string')


@pytest.mark.slow
def test_the_news_corpus_file_parses_fast():
    path = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "news" / "news-01.jsonl.gz"
    if not path.is_file():
        pytest.skip("../shared/corpora/news not beside the repo")
    pf = parse_file(path)  # in the child, within its time limit (~70 CPU seconds)
    assert len(pf.documents) == 20_000
    assert all(pf.text[c.start : c.end] == c.text for c in pf.chunks[::97])


def test_the_memory_limit_stops_a_parse_that_blows_up(tmp_path):
    """4.9 million empty paragraphs: under the element limit, 29 MB of XML, a few hundred kB on
    disk -- and a parse tree far over a 256 MB address space."""
    base = _docx(tmp_path, _p(BODY), "base4.docx")
    path = tmp_path / "many.docx"
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != "word/document.xml":
                dst.writestr(item, src.read(item))
                continue
            head, tail = src.read(item).split(b"</w:body>")
            with dst.open("word/document.xml", "w") as fh:
                fh.write(head)
                for _ in range(49):
                    fh.write(b"<w:p/>" * 100_000)
                fh.write(b"</w:body>" + tail)
    assert path.stat().st_size < 1 << 20
    t = time.perf_counter()
    reason = _refused(path, Settings(max_parse_memory_mb=256))
    assert "memory" in reason or "process" in reason, reason
    assert time.perf_counter() - t < 60
    small = tmp_path / "small.txt"
    small.write_text("标题\n\n" + BODY, encoding="utf-8")
    assert parse_file(small, Settings()).chunks  # a fresh child with the default limit


def test_the_limits_are_settings_with_environment_overrides():
    env = {"RAG_MAX_FILE_MB": "5", "RAG_MAX_PAGES": "7", "RAG_MAX_INFLATED_MB": "9", "RAG_MAX_FILE_SECONDS": "0"}
    s = Settings.from_env(env)
    assert (s.max_file_mb, s.max_pages, s.max_inflated_mb, s.max_file_seconds) == (5, 7, 9, 0.0)
    for bad in ({"max_file_mb": 0}, {"max_pages": 0}, {"max_inflated_mb": -1}, {"max_file_seconds": -1.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Settings(**bad)
    with pytest.raises(ValueError, match="RAG_MAX_FILE_SECONDS='soon'"):
        Settings.from_env({"RAG_MAX_FILE_SECONDS": "soon"})
