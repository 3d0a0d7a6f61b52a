"""The server's building blocks without a browser: escaping, highlights, uploads, feedback,
example questions, follow-up messages, logins, incremental updates and PDF pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag.records import Answer, Citation, Passage
from ui.examples import cloze
from ui.openai_api import parse_messages
from ui.render import document_html, escape_markdown, highlight_span, marked_html, source_card, sources_text
from ui.server import read_users
from ui.service import Service, Turn, safe_filename

# passages of several genres: a statistics bulletin, a company report, a regulation, an encyclopedia entry
GENRES = {
    "bulletin": ("全年地区生产总值1234.5亿元，比上年增长5.2%。年末常住人口86.3万人。", "年末常住人口86.3万人"),
    "company": ("报告期内，公司实现营业收入3.5亿美元，同比增长12%；净利润\n4200万元。", "净利润4200万元"),
    "regulation": ("第十二条 违反本条例规定的，由县级以上人民政府责令改正，处五千元以上二万元以下罚款。", "处五千元以上二万元以下罚款"),
    "encyclopedia": ("珠穆朗玛峰海拔8848.86米，是世界最高峰。它位于中国与尼泊尔边界。", "海拔8848.86米"),
}


def _passage(text: str, **kw) -> Passage:
    return Passage(id=kw.get("id", "p1"), text=text, source=kw.get("source", "a.txt"), title=kw.get("title", "标题"),
                   heading_path=kw.get("heading_path", ()), score=0.5, meta=kw.get("meta", {}))


@pytest.mark.parametrize("genre", sorted(GENRES))
def test_highlight_finds_the_quote_in_every_genre(genre):
    text, quote = GENRES[genre]
    span = highlight_span(text, quote)
    assert span is not None
    assert re.sub(r"\s", "", text[span[0] : span[1]]) == re.sub(r"\s", "", quote)


def test_highlight_falls_back_to_the_closest_sentence_and_never_invents():
    text = "第一句讲别的。全市共有普通高校9所，在校学生8.6万人。"
    a, b = highlight_span(text, "全市共有普通高校9所，在校生8.6万人")  # a reworded quote
    assert "普通高校9所" in text[a:b]
    assert highlight_span(text, "完全无关的一段话") is None
    assert highlight_span(text, "") is None


@pytest.mark.parametrize(
    "hostile",
    ['<script>alert(1)</script>', '<img src=x onerror="alert(1)">', '"><svg onload=alert(1)>', "[点我](javascript:alert(1))"],
)
def test_document_text_is_escaped_everywhere(hostile):
    p = _passage(f"正文{hostile}结尾", title=f"标题{hostile}", source=f"{hostile}.txt", heading_path=(hostile,), id='x"y')
    for html in (
        source_card(0, 1, p, quote=hostile),
        source_card(0, None, p),
        document_html(p.title, p.text, 2, 6),
        marked_html(p.text, (0, 3)),
    ):
        assert "<script" not in html and "<img" not in html and "<svg" not in html
        assert 'id="x"y' not in html  # attribute values escaped too
    md = escape_markdown(hostile)
    assert "<" not in md and "](" not in md


def test_markdown_marks_are_literal_but_markers_stay():
    assert escape_markdown("**加粗** # 标题 [1]") == "\\*\\*加粗\\*\\* \\# 标题 [1]"


def test_source_card_shows_page_and_marks_quote():
    p = _passage("前文。净利润4200万元。后文。", meta={"page": "3"}, heading_path=("第二节", "经营情况"))
    html = source_card(2, 1, p, "净利润4200万元")
    assert 'id="rag-src-2-1"' in html and "第 3 页" in html and "第二节 › 经营情况" in html
    assert '<mark class="rag-hl">净利润4200万元</mark>' in html


def test_sources_text_lists_every_citation():
    p = _passage("年末常住人口86.3万人。", meta={"page": "2"})
    ans = Answer("q", "86.3万人[1]。", (Citation(1, p, "年末常住人口86.3万人"),))
    text = sources_text(ans.citations)
    assert text.startswith("来源：") and "[1] 标题" in text and "第2页" in text and "86.3万人" in text


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../x.txt", "x.txt"),
        ("..\\..\\windows\\x.md", "x.md"),
        ("/etc/passwd", "passwd"),
        ("a\x00b\x1b[31m.txt", "ab[31m.txt"),
        (".hidden.txt", "hidden.txt"),
        ("   ", ""),
    ],
)
def test_safe_filename(name, safe):
    assert safe_filename(name) == safe


def test_long_names_keep_their_suffix():
    out = safe_filename("长" * 300 + ".docx")
    assert len(out) <= 120 and out.endswith(".docx")


def test_cloze_questions_in_several_genres():
    assert cloze("全市共有普通高校9所") == "全市共有普通高校多少所"
    assert cloze("公司全年新开门店120家") == "公司全年新开门店多少家"
    assert cloze("藏书12万册") == "藏书多少万册"
    assert cloze("2024年工作回顾") is None  # a year is not an amount
    assert cloze("会议强调了工作重点") is None


def test_parse_messages_takes_history_and_strips_source_lists():
    q, hist = parse_messages(
        [
            {"role": "system", "content": "你是助手"},
            {"role": "user", "content": [{"type": "text", "text": "2025年A市有多少所高校？"}]},
            {"role": "assistant", "content": "9所[1]。\n\n来源：\n[1] 公报"},
            {"role": "user", "content": "那2024年呢？"},
        ]
    )
    assert q == "那2024年呢？" and hist == [("2025年A市有多少所高校？", "9所[1]。")]
    for bad in ([], [{"role": "assistant", "content": "x"}], "hi", [{"role": "user", "content": "  "}]):
        with pytest.raises(ValueError):
            parse_messages(bad)


def test_read_users(tmp_path):
    f = tmp_path / "users"
    f.write_text("# team\nalice:pw1\nbob:pw:2\n", encoding="utf-8")
    assert read_users(str(f)) == {"alice": "pw1", "bob": "pw:2"}
    with pytest.raises(ValueError, match="user:password"):
        read_users("alice:")
    with pytest.raises(ValueError):
        read_users(str(tmp_path / "missing"))


# --------------------------------------------------------------------------- the service on a small index

DOCS = {
    "统计公报.txt": "某市2026年统计公报\n\n一、综合\n\n全年地区生产总值1234.5亿元。全市共有普通高校9所。\n",
    "年报.md": "# 某公司2025年年度报告\n\n## 经营情况\n\n报告期内公司实现营业收入3.5亿美元，净利润4200万元。\n",
}


@pytest.fixture
def small_index(tmp_path):
    from rag.build import build_index

    src = tmp_path / "docs"
    src.mkdir()
    for name, text in DOCS.items():
        (src / name).write_text(text, encoding="utf-8")
    index = tmp_path / "index"
    build_index([src], index)
    return index


@pytest.mark.slow
def test_upload_checks_every_file_on_the_server(small_index, tmp_path):
    svc = Service(small_index)
    good = tmp_path / "up.txt"
    good.write_text("某县2026年共建成乡村图书馆37座，藏书12万册。\n", encoding="utf-8")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    broken = tmp_path / "b.docx"
    broken.write_bytes(b"not a zip")
    big = tmp_path / "big.txt"
    big.write_bytes("大".encode() * (2 * 1024 * 1024 // 3 + 10))
    svc.settings = svc.settings.replace(max_upload_mb=1)
    before = set(svc.sources())
    results = svc.upload([(good, "../../../etc/up.txt"), (exe, "tool.exe"), (broken, "b.docx"), (big, "big.txt")])
    status = {r.name: (r.status, r.reason) for r in results}
    assert status["up.txt"][0] == "added"
    assert status["tool.exe"][0] == "refused" and "unsupported" in status["tool.exe"][1]
    assert status["b.docx"][0] == "refused" and status["b.docx"][1]
    assert status["big.txt"][0] == "refused" and "limit" in status["big.txt"][1]
    assert set(svc.sources()) == before | {"up.txt"}
    assert (small_index / "uploads" / "up.txt").is_file()
    assert not (tmp_path / "etc").exists() and not list((small_index / "uploads").glob(".*"))
    ans = svc.ask("某县2026年共建成乡村图书馆多少座？")
    assert "37座" in ans.text and ans.citations[0].passage.source == "up.txt"
    assert svc.delete(["up.txt"]) == ["up.txt"]
    assert set(svc.sources()) == before and not (small_index / "uploads" / "up.txt").exists()


@pytest.mark.slow
def test_too_many_files_are_refused(small_index, tmp_path):
    svc = Service(small_index)
    svc.settings = svc.settings.replace(max_upload_files=1)
    files = []
    for i in range(2):
        f = tmp_path / f"f{i}.txt"
        f.write_text(f"第{i}份文件，内容是数字{i + 10}个。", encoding="utf-8")
        files.append((f, f.name))
    results = svc.upload(files)
    assert [r.status for r in results][-1] == "refused" and "more than 1" in results[-1].reason


@pytest.mark.slow
def test_refused_update_keeps_the_previous_version(small_index, tmp_path):
    svc = Service(small_index)
    v1 = tmp_path / "notes.txt"
    v1.write_text("某市共有公园25个。", encoding="utf-8")
    assert svc.upload([(v1, "notes.txt")])[0].status == "added"
    v2 = tmp_path / "v2.txt"
    v2.write_bytes(b"\x00" * 100)  # no text
    r = svc.upload([(v2, "notes.txt")])[0]
    assert r.status == "refused"
    assert (small_index / "uploads" / "notes.txt").read_text(encoding="utf-8") == "某市共有公园25个。"
    assert "25个" in svc.ask("某市共有公园多少个？").text


@pytest.mark.slow
def test_feedback_rows_are_an_eval_dataset(small_index):
    from rag.evaluation.dataset import load_dataset

    svc = Service(small_index)
    ans = svc.ask("全市共有普通高校多少所？")
    svc.record_feedback(Turn("全市共有普通高校多少所？", ans), True, "对")
    svc.record_feedback(Turn("全市共有普通高校多少所？", ans), False, "")
    rows = [json.loads(x) for x in (small_index / "feedback.jsonl").read_text("utf-8").splitlines()]
    assert rows[0]["feedback"] == "like" and rows[0]["answer"] == ans.text and rows[0]["evidence"]
    assert rows[1]["feedback"] == "dislike" and "answer" not in rows[1] and rows[1]["system_answer"] == ans.text
    assert [i.question for i in load_dataset(small_index / "feedback.jsonl")] == [rows[0]["question"]] * 2


@pytest.mark.slow
def test_service_follows_a_new_version_published_elsewhere(small_index, tmp_path):
    from rag.build import build_index

    svc = Service(small_index)
    first = svc.assistant()
    extra = tmp_path / "more.txt"
    extra.write_text("某区2026年新建公共厕所48座。", encoding="utf-8")
    build_index([extra], small_index)  # as `rag ingest` in another process would
    assert svc.assistant() is not first
    assert "more.txt" in svc.sources()


@pytest.mark.slow
def test_examples_are_answered_with_their_figure(small_index):
    svc = Service(small_index)
    examples = svc.examples()
    assert examples and all(q.endswith("？") for q in examples)
    for q in examples:
        assert not svc.ask(q).refused


# --------------------------------------------------------------------------- incremental updates


def _embedder_bytes(index: Path) -> bytes:
    from rag.store import current_version

    return (current_version(index) / "embedder" / "model.safetensors").read_bytes()


@pytest.mark.slow
def test_adding_a_file_reuses_rows_and_keeps_the_embedder(small_index, tmp_path):
    from rag import Assistant
    from rag.build import build_index
    from rag.store import current_version, load_vectors, read_manifest

    before = Assistant.load(small_index)
    old_vectors = {c.id: v for c, v in zip(before.data.chunks, load_vectors(current_version(small_index)), strict=True)}
    weights = _embedder_bytes(small_index)
    new = tmp_path / "新闻.txt"
    new.write_text("本报讯 某市今年新增城市绿地面积120公顷，新建口袋公园15个。", encoding="utf-8")
    from rag.settings import Settings

    report = build_index([new], small_index, Settings(embedder_retrain_fraction=1.0))  # 1 chunk in 3 is new
    assert report.added == ["新闻.txt"]
    assert _embedder_bytes(small_index) == weights  # not retrained
    after = Assistant.load(small_index)
    vectors = load_vectors(current_version(small_index))
    for c, v in zip(after.data.chunks, vectors, strict=True):
        if c.id in old_vectors:
            assert (v == old_vectors[c.id]).all()
    manifest = read_manifest(current_version(small_index))
    assert manifest["embedder"]["added_since_training"] == 1
    # the new file is found by both BM25 and the dense side
    hits = after.retrieve("新建口袋公园多少个", k=3)
    assert hits[0].source == "新闻.txt"
    # same results as a full rebuild of the same files, for BM25
    fresh = tmp_path / "fresh"
    build_index([tmp_path / "docs", new], fresh)
    a = [p.id for p in after.retrieve("净利润", k=3)]
    b = [p.id for p in Assistant.load(fresh).retrieve("净利润", k=3)]
    assert a[0] == b[0]


@pytest.mark.slow
def test_reindex_retrains_and_a_large_change_retrains_by_itself(small_index, tmp_path):
    from rag.build import build_index
    from rag.settings import Settings

    weights = _embedder_bytes(small_index)
    report = build_index([], small_index, retrain=True)
    assert report.written
    # more than embedder_retrain_fraction of the chunks added since training: retrained
    many = tmp_path / "many"
    many.mkdir()
    for i in range(4):
        (many / f"n{i}.txt").write_text(f"第{i}篇：某地今年种树{i * 100 + 7}棵，修路{i + 3}公里。", encoding="utf-8")
    build_index([many], small_index, Settings(embedder_retrain_fraction=0.25))
    from rag.store import current_version, read_manifest

    assert read_manifest(current_version(small_index))["embedder"]["added_since_training"] == 0
    del weights  # training is deterministic, so the weights may repeat: the counter is what shows a retrain


def test_pdf_chunks_know_their_page(tmp_path):
    try:
        from tests.test_ingest import _pdf_bytes
    except ImportError:
        from test_ingest import _pdf_bytes  # type: ignore[no-redef]
    from rag.ingest.pipeline import parse_file
    from rag.settings import Settings

    para = "The annual report says revenue grew strongly in every region of the country this year. " * 6
    p = tmp_path / "r.pdf"
    p.write_bytes(_pdf_bytes([["Annual Report", "", para[:300]], ["Second part", "", para[:300]], ["Third", "", para[:300]]]))
    pf = parse_file(p, Settings(chunk_tokens=60, chunk_overlap_tokens=0))
    from bisect import bisect_right

    from rag.ingest.loaders import load_text_and_pages

    text, starts = load_text_and_pages(p)
    assert len(starts) == 3 and text[starts[1] :].startswith("Second part") and text[starts[2] :].startswith("Third")
    pages = [c.meta.get("page") for c in pf.chunks]
    assert pages[0] == "1" and max(pages) >= "2" and pages == sorted(pages)
    for c in pf.chunks:  # the page a chunk names is the page its first character is on
        assert c.meta["page"] == str(bisect_right(starts, c.start))
