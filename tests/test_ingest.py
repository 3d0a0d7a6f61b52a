"""Ingestion on the real seeds and on files made here: articles, titles, chunks, formats."""

from __future__ import annotations

import re
import zlib
from itertools import pairwise
from pathlib import Path

import pytest

from rag.ingest.clean import normalize_for_match, paragraphs
from rag.ingest.loaders import UnreadableFile, decode_bytes, load_text

COMPILATION_TITLES = [
    "中国工会第十七次全国代表大会以来工作综述",
    "甘肃省工会第十二次代表大会以来工作综述",
    "四川省工会5年深度观察",
    "青海省工会工作5年综述",
    "江西省工会五年工作综述",
    "西藏自治区工会五年工作综述",
    "贵州省工会做优“工”字品牌助力高质量发展",
    "安徽省工会工作综述",
    "湖北省工会凝心聚力促发展服务职工创和谐",
    "湖南省工会五年工作成就综述",
    "五年来兵团工会工作综述",
    "济南市工会五年工作综述",
    "长春市工会将以更大力度更实举措推进新时代工会工作",
    "拉萨市工会事业高质量发展综述",
    "许昌市工会六次代表大会以来工作综述",
    "曲靖市工会工作综述",
    "十堰市工会未来五年工作展望",
    "淮北市总工会着力打造新时代“五型工会”",
    "遵义市工会五年工作综述",
    "延安市工会工作五年回眸",
    "绥化市总工会解放思想改革创新不断推动工会工作提档升级",
    "铜仁市工会五年工作综述",
    "平凉市总工会深学细悟砥砺奋进奋力开创新征程工会工作新局面",
    "来宾市工会亮点工作扫描",
    "大庆市工会工作综述",
    "泉州市工会十六大以来工作掠影",
    "滨海新区总工会履职尽责勇担当创新实干促发展",
    "观山湖区总工会多措并举扎实做好工会工作",
    "昌吉州教育工会五年工作综述",
    "讷河市财政局创新工会工作记事",
    "北大荒集团工会工作综述",
    "新疆北方建设集团工会助力企业经济高质量发展纪实",
    "中铁二十五局扎实做好工会工作侧记",
    "以党建引领工会创新，激发企业职工群众的创造活力",
]
OTHER_TITLES = {
    "000_5079e179db016442.txt": ["情暖职工聚合力 跃马扬鞭启新程——铜仁市总工会2025年工作综述"],
    "001_3d701cba30aa6f48.txt": ["凝聚“工力量” 展现新风采——2024年铜仁市总工会工作综述"],
    "003_c29671b5c8295cff.txt": ["一路繁花耀征程——市总工会“十四五”期间工作综述", "绘就职工发展蓝图 奏响时代奋进强音"],
    "004_2282861e8734a6f4.txt": ["匠心筑梦践初心 实干担当惠职工——区总工会2025年工作回眸"],
}
COMPILATION = "002_5b471ee912e3ac09.txt"


def test_compilation_articles_and_titles(parsed_seeds):
    docs = parsed_seeds[COMPILATION].documents
    assert [d.title for d in docs] == COMPILATION_TITLES


def test_single_article_titles(parsed_seeds):
    for name, titles in OTHER_TITLES.items():
        assert [d.title for d in parsed_seeds[name].documents] == titles, name
    assert sum(len(p.documents) for p in parsed_seeds.values()) == 39


def test_place_found_from_body_when_title_omits_it(parsed_seeds):
    ankang = parsed_seeds["003_c29671b5c8295cff.txt"].documents
    assert all(d.meta.get("place") == "安康市" for d in ankang)
    nanchuan = parsed_seeds["004_2282861e8734a6f4.txt"].documents[0]
    assert nanchuan.meta.get("place") == "南川区"
    assert nanchuan.meta.get("year") == "2025"
    # the place is in the text the chunks are indexed under
    chunk = parsed_seeds["004_2282861e8734a6f4.txt"].chunks[0]
    assert "南川区" in chunk.index_text and "南川区" not in chunk.text[:0]


def test_no_chunk_from_the_table_of_contents(parsed_seeds):
    pf = parsed_seeds[COMPILATION]
    body_start = min(d.start for d in pf.documents)
    toc_end = pf.text.index("中国工会第十七次全国代表大会以来工作综述\n")  # the first title in the body
    assert body_start >= toc_end
    for c in pf.chunks:
        assert c.start >= body_start
        assert "目　录" not in c.text and not re.search(r"　　\d+$", c.text, re.M)


def test_no_chunk_crosses_two_articles(parsed_seeds):
    for pf in parsed_seeds.values():
        spans = {d.id: (d.start, d.end) for d in pf.documents}
        ordered = sorted(spans.values())
        assert all(a[1] <= b[0] for a, b in pairwise(ordered)), "articles overlap"
        for c in pf.chunks:
            s, e = spans[c.doc_id]
            assert s <= c.start < c.end <= e, (c.title, c.text[:30])


def test_chunk_records(parsed_seeds):
    from rag.tokens import count_tokens

    for pf in parsed_seeds.values():
        ids = [c.id for c in pf.chunks]
        assert len(ids) == len(set(ids))
        for c in pf.chunks[:20]:
            assert c.n_tokens == count_tokens(c.text)
            # the 300 budget plus joining newlines, or one sentence too long to cut
            assert c.n_tokens <= 330 or len(re.findall("[。！？]", c.text)) <= 1
            assert c.title and c.source == pf.source
            assert c.title in c.index_text


def test_chunk_ids_are_stable(seed_files):
    from rag.ingest.pipeline import parse_file

    a = parse_file(seed_files[0])
    b = parse_file(seed_files[0])
    assert [c.id for c in a.chunks] == [c.id for c in b.chunks]


def test_broken_lines_are_repaired(parsed_seeds):
    texts = [normalize_for_match(c.text) for c in parsed_seeds[COMPILATION].chunks]
    # "…在线发布岗位用" + blank line + "工需求69万余个。" in the source
    assert any("在线发布岗位用工需求69万余个。" in t for t in texts)
    # a heading whose last character went to the next line: "…显著增" + "强"
    paths = {h for c in parsed_seeds[COMPILATION].chunks for h in c.heading_path}
    assert any(h.endswith("认同感显著增强") for h in paths)
    # a sentence cut by image captions in 003 is whole again, the captions kept apart
    t003 = [c.text for c in parsed_seeds["003_c29671b5c8295cff.txt"].chunks]
    assert any("涵盖多领域的市级大赛，培养市级技术能手30余人。" in t for t in t003)


def test_repair_unit():
    text = "　　第一段的正文很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长用\n\n工需求69万余个。\n\n- 3 -\n\n　　第二段。\n"
    paras = paragraphs(text)
    assert [p.text for p in paras] == [
        "第一段的正文很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长用工需求69万余个。",
        "第二段。",
    ]
    p = paras[0]
    assert text[p.start : p.start + 4] == "第一段的"
    joined_at = p.text.index("工需求")
    assert text[p.source_offset(joined_at) : p.source_offset(joined_at) + 3] == "工需求"


def test_numbers_alone_on_a_line_are_content_not_page_numbers():
    from rag.ingest.pipeline import parse_text

    text = "工作数据\n\n全市建立基层工会组织数量（个）：\n1200\n全年发放职工医疗互助金（万元）：\n3234\n以上数据由市总工会统计。\n"
    body = parse_text(text, "x.txt")[1][0].text
    assert "1200" in body and "3234" in body


def _raw_sentences(text: str) -> list[str]:
    """Sentences that stand whole on one line of the raw file."""
    out = []
    for line in text.split("\n"):
        line = line.strip()
        for m in re.finditer(r"(?:(?<=^)|(?<=[。！？]))([^。！？]+[。！？])", line):
            s = normalize_for_match(m.group(1))
            if len(s) >= 4:
                out.append(s)
    return out


def test_every_sentence_lands_whole_in_a_chunk(parsed_seeds):
    for name, pf in parsed_seeds.items():
        body_start = min(d.start for d in pf.documents)
        article_text = pf.text[body_start:]
        haystack = [normalize_for_match(c.text + "".join(c.heading_path)) for c in pf.chunks]
        titles = "".join(normalize_for_match(d.title) for d in pf.documents)
        missing = [s for s in _raw_sentences(article_text) if s not in titles and not any(s in h for h in haystack)]
        # a sentence "whole on one line" can still start mid-sentence on a broken line;
        # those must then be found as the tail of a repaired sentence
        missing = [s for s in missing if not any(s[2:] in h for h in haystack)]
        assert not missing, (name, missing[:3])


# ------------------------------------------------------------------- file formats


def test_gbk_file_loads(tmp_path):
    text = "铜仁市总工会2025年工作综述\n\n全年发放职工医疗互助金3234万元。\n"
    p = tmp_path / "gbk.txt"
    p.write_bytes(text.encode("gbk"))
    assert load_text(p) == text
    p2 = tmp_path / "bom.txt"
    p2.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_text(p2) == text
    p3 = tmp_path / "gb18030.md"
    rare = "𠀀字与职工之家。\n"  # outside GBK, inside GB18030
    p3.write_bytes(rare.encode("gb18030"))
    assert load_text(p3) == rare


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Q3 2024 report: 工会 1200 members joined the union this quarter.", "gbk"),
        ("2024年度报表 ID:1200 / 3234 / 合计", "gbk"),
        ("臺灣省總工會舉辦職工技能競賽，參加職工一千二百人。", "big5"),
    ],
)
def test_mostly_ascii_gbk_and_big5_are_detected(text, encoding):
    assert decode_bytes(text.encode(encoding)) == text


def test_a_few_bad_bytes_do_not_lose_the_file():
    text = "铜仁市总工会发放职工医疗互助金3234万元。" * 50
    assert decode_bytes(text.encode("gbk") + b"\xff").startswith(text)
    cut = text.encode("utf-8")[:-1]  # the last character cut in half
    assert decode_bytes(cut)[:-1] == text[:-1]


def test_bad_files_give_one_line_reasons(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(bytes(range(256)) * 20)
    fake_pdf = tmp_path / "fake.pdf"
    fake_pdf.write_bytes(b"not a pdf at all")
    fake_docx = tmp_path / "fake.docx"
    fake_docx.write_bytes(b"PK\x03\x04garbage")
    other = tmp_path / "x.xlsx"
    other.write_bytes(b"data")
    for path, word in [
        (empty, "empty"),
        (binary, "binary"),
        (fake_pdf, "PDF"),
        (fake_docx, "DOCX"),
        (other, "unsupported"),
    ]:
        with pytest.raises(UnreadableFile) as e:
            load_text(path)
        assert path.name in str(e.value) and word in str(e.value) and "\n" not in str(e.value)


def test_decode_rejects_garbage():
    with pytest.raises(UnreadableFile):
        decode_bytes(b"\x00\x01\x02\x03" * 100)


def _pdf_bytes(pages: list[list[str]], encrypt: bool = False) -> bytes:
    """A minimal PDF with Helvetica text lines, written by hand (no PDF library writes text)."""
    objs: list[bytes] = []
    n_pages = len(pages)
    page_ids = [3 + 2 * i for i in range(n_pages)]
    font_id = 3 + 2 * n_pages
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{' '.join(f'{i} 0 R' for i in page_ids)}] /Count {n_pages} >>".encode())
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 11 Tf", "14 TL", "50 780 Td"]
        for line in lines:
            esc = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({esc}) Tj T*")
        ops.append("ET")
        stream = zlib.compress("\n".join(ops).encode("latin-1"))
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Resources << /Font << /F1 {font_id} 0 R >> >> "
            f"/Contents {page_ids[i] + 1} 0 R >>".encode()
        )
        objs.append(f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode() + stream + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_pdf_loads_and_page_numbers_are_dropped(tmp_path):
    from rag.ingest.pipeline import parse_file

    p = tmp_path / "report.pdf"
    p.write_bytes(
        _pdf_bytes(
            [
                ["Union Work Report 2025", "", "The union paid mutual medical aid of 32.34 million yuan to", "1"],
                ["workers in need across the city during the year.", "2"],
            ]
        )
    )
    text = load_text(p)
    assert "mutual medical aid" in text
    pf = parse_file(p)
    assert pf.documents[0].title == "Union Work Report 2025"
    body = " ".join(c.text for c in pf.chunks)
    assert "32.34 million yuan to workers in need" in body  # joined across the page break
    assert not re.search(r"(^|\n)\s*[12]\s*($|\n)", body)


def test_encrypted_pdf_is_refused(tmp_path):
    from pypdf import PdfReader, PdfWriter

    src = tmp_path / "plain.pdf"
    src.write_bytes(_pdf_bytes([["Secret union report text line."]]))
    writer = PdfWriter()
    for page in PdfReader(src).pages:
        writer.add_page(page)
    writer.encrypt(user_password="pw", owner_password="owner")
    enc = tmp_path / "enc.pdf"
    with open(enc, "wb") as fh:
        writer.write(fh)
    with pytest.raises(UnreadableFile, match="encrypted"):
        load_text(enc)


def test_docx_loads_with_headings(tmp_path):
    import docx

    from rag.ingest.pipeline import parse_file

    d = docx.Document()
    d.add_heading("南川区总工会2025年工作回眸", level=1)
    d.add_heading("维权护航", level=2)
    d.add_paragraph("全年为职工追回经济损失200万余元，办结法律援助案件36件。")
    d.add_heading("暖心惠民", level=2)
    d.add_paragraph("发放困难职工帮扶资金58万元。")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "项目"
    table.cell(0, 1).text = "数量"
    table.cell(1, 0).text = "新建工会"
    table.cell(1, 1).text = "35家"
    path = tmp_path / "nanchuan.docx"
    d.save(str(path))
    pf = parse_file(path)
    assert pf.documents[0].title == "南川区总工会2025年工作回眸"
    texts = {c.heading_path: c.text for c in pf.chunks}
    joined = " ".join(texts.values()) + " ".join(h for p in texts for h in p)
    assert "追回经济损失200万余元" in joined and "新建工会 | 35家" in joined
    assert any("维权护航" in h for p in texts for h in p) or "维权护航" in joined


def test_docx_tables_merged_nested_and_table_only(tmp_path):
    import docx

    from rag.ingest.pipeline import parse_file

    d = docx.Document()
    d.add_paragraph("正文第一段。")
    t = d.add_table(rows=2, cols=3)
    t.cell(0, 0).merge(t.cell(0, 2)).text = "2024年铜仁市工会数据汇总"
    for i, v in enumerate(["铜仁市", "1200", "3234"]):
        t.cell(1, i).text = v
    inner = t.cell(1, 0).add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "嵌套内容甲", "嵌套内容乙"
    d.save(str(tmp_path / "t.docx"))
    text = "\n".join(c.text for c in parse_file(tmp_path / "t.docx").chunks)
    assert text.count("2024年铜仁市工会数据汇总") == 1  # a merged cell once
    assert "铜仁市 | 1200 | 3234" in text and "嵌套内容甲 | 嵌套内容乙" in text
    only = docx.Document()
    rows = only.add_table(rows=2, cols=2)
    rows.cell(0, 0).text, rows.cell(0, 1).text = "地区", "会员"
    rows.cell(1, 0).text, rows.cell(1, 1).text = "铜仁市", "1200"
    only.save(str(tmp_path / "only.docx"))
    pf = parse_file(tmp_path / "only.docx")
    assert pf.documents[0].title == "only" and "地区 | 会员" in pf.chunks[0].text


def test_markdown_headings_form_the_heading_path(tmp_path):
    from rag.ingest.pipeline import parse_file
    from rag.settings import Settings

    body = "职工服务工作取得新进展，全年服务职工一万人次。" * 8
    md = f"# 年度报告\n\n## 第一部分\n\n### 维权\n\n{body}\n\n### 服务\n\n{body}\n\n## 第二部分\n\n{body}\n"
    path = tmp_path / "r.md"
    path.write_text(md, encoding="utf-8")
    pf = parse_file(path, Settings(chunk_tokens=200))
    assert pf.documents[0].title == "年度报告"
    paths = {c.heading_path for c in pf.chunks}
    assert ("第一部分", "维权") in paths and ("第一部分", "服务") in paths and ("第二部分",) in paths


def test_long_section_split_at_sentences_with_overlap(tmp_path):
    from rag.ingest.pipeline import parse_text
    from rag.settings import Settings

    sentences = [f"第{i}项工作完成了任务{i * 7}件。" for i in range(120)]
    text = "标题\n\n" + "".join(sentences) + "\n"
    _, chunks = parse_text(text, "long.txt", Settings(chunk_tokens=100, chunk_overlap_tokens=30))
    assert len(chunks) > 3
    for c in chunks:
        assert c.text.endswith("。") and c.n_tokens <= 100
    # one sentence over the budget stays whole in a chunk of its own
    long_sentence = "这是一个非常长的句子，" * 20 + "结束。"
    _, chunks2 = parse_text(
        "标题\n\n" + "短句。" * 40 + long_sentence + "短句。" * 40 + "\n", "l.txt", Settings(chunk_tokens=100)
    )
    assert any(long_sentence in c.text for c in chunks2)
    # consecutive pieces overlap by at least one sentence, and nothing is lost
    assert chunks[1].text.split("。")[0] + "。" in chunks[0].text
    joined = "".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)


def test_text_before_the_first_article_is_kept():
    from rag.ingest.pipeline import parse_text

    body = "职工服务工作取得新进展，全年服务职工一万人次。" * 40
    docs, chunks = parse_text(f"本文介绍两篇报道。\n\n## 甲\n\n{body}\n\n## 乙\n\n{body}\n", "m.md")
    assert [d.title for d in docs] == ["甲", "乙"] and any("本文介绍" in c.text for c in chunks)
    assert docs[0].start <= min(c.start for c in chunks if c.doc_id == docs[0].id)
    toc = (
        "汇编\n\n目录\n\n甲市工会综述　　1\n\n乙市工会综述　　5\n\n编者按：本汇编收录两篇，数据截至2023年6月，共1200个。"
        f"\n\n甲市工会综述\n\n{body}\n\n乙市工会综述\n\n{body}\n"
    )
    docs, chunks = parse_text(toc, "t.txt")
    assert [d.title for d in docs] == ["汇编", "甲市工会综述", "乙市工会综述"]
    assert any("1200" in c.text for c in chunks)


def test_a_huge_line_without_punctuation_is_cut_to_the_budget():
    from rag.ingest.pipeline import parse_text

    text = "职工医疗互助金" * 3000
    _, chunks = parse_text("标题\n\n" + text + "\n", "x.txt")
    assert max(c.n_tokens for c in chunks) <= 300
    assert "".join(c.text for c in chunks) == text


def test_bylines_and_captions_are_not_headings(parsed_seeds):
    for pf in parsed_seeds.values():
        for c in pf.chunks:
            for h in c.heading_path:
                assert not h.startswith(("记者", "编辑", "二审", "三审", "（本版")), h
                # fragments of broken lines are not headings either
                assert not re.search("[。！？]", h) and h.count("“") == h.count("”"), h
    # image captions of the Markdown article in 003 are not headings
    heads_003 = {h for c in parsed_seeds["003_c29671b5c8295cff.txt"].chunks for h in c.heading_path}
    assert heads_003 == {"举旗定向，昂扬向上展风采", "服务大局，产才融合促发展", "情系职工，组织覆盖增活力"}


def test_iter_files_skips_hidden_and_unsupported(tmp_path):
    from rag.ingest.pipeline import iter_files

    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("x", encoding="utf-8")
    (tmp_path / "b.png").write_bytes(b"x")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "c.md").write_text("x", encoding="utf-8")
    assert [p.name for p in iter_files([tmp_path])] == ["a.txt", "c.md"]


def test_same_file_name_in_two_folders_stays_two_documents(tmp_path):
    from rag.assistant import Assistant
    from rag.build import build_index
    from rag.settings import Settings

    for sub, text in (("a", "甲市工会\n\n建成驿站10个。\n"), ("b", "乙市工会\n\n建成驿站20个。\n")):
        (tmp_path / "docs" / sub).mkdir(parents=True)
        (tmp_path / "docs" / sub / "report.txt").write_text(text, encoding="utf-8")
    build_index([tmp_path / "docs"], tmp_path / "idx", Settings(embedding_model="none"))
    docs = Assistant.load(tmp_path / "idx").documents()
    assert sorted(d.source for d in docs) == ["a/report.txt", "b/report.txt"]


def test_seed_copy_matches_shared(seed_files):
    shared = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("../shared/seeds not beside the repo")
    assert sorted(p.name for p in shared.glob("*.txt")) == [p.name for p in seed_files]
