"""The chat page in a real browser: Debian's Chromium driven by playwright (never `playwright install`).

One server for the module (a private copy of the seeds index); each test gets its own
browser context, i.e. its own session and conversation.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "2025年铜仁市发放了多少职工医疗互助金？"


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make browsers` installs Debian's chromium and fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    pg = ctx.new_page()
    pg.goto(live_server.url + "/")
    pg.wait_for_selector("#rag-input textarea")
    yield pg
    ctx.close()


def ask(page, question: str, n: int) -> str:
    """Type ``question``, press Enter, wait for the ``n``-th answer (1-based) and return its text."""
    page.fill("#rag-input textarea", question)
    page.press("#rag-input textarea", "Enter")
    bots = page.locator('#rag-chat [data-testid="bot"]')
    page.wait_for_function(
        "n => { const b = document.querySelectorAll('#rag-chat [data-testid=\"bot\"]');"
        " return b.length >= n && !b[n-1].innerText.includes('正在查找'); }",
        arg=n,
        timeout=30_000,
    )
    page.wait_for_selector(f'.rag-turn[data-turn="{n - 1}"]', state="attached", timeout=30_000)
    return bots.nth(n - 1).inner_text()


def test_answer_shows_figure_and_clickable_citation(page):
    text = ask(page, QUESTION, 1)
    assert "3234万元" in text
    # the short answer and its sentence both cite source 1: every [1] is a link to it
    cites = page.locator('#rag-chat a.rag-cite[data-turn="0"][data-n="1"]')
    assert cites.count() >= 1
    cite = cites.first
    cite.wait_for(timeout=10_000)
    cite.click()
    active = page.locator(".rag-src.rag-active")
    active.wait_for(timeout=5_000)
    assert active.get_attribute("id") == "rag-src-0-1"
    mark = active.locator("mark.rag-hl")
    assert "3234" in mark.inner_text()
    assert mark.is_visible()


def test_document_view_opens_at_the_passage(page):
    ask(page, QUESTION, 1)
    page.locator("#rag-src-0-1 button.rag-open").click()
    hit = page.locator("#rag-doc-modal #rag-doc-hit")
    hit.wait_for(timeout=10_000)
    assert "3234" in hit.inner_text()
    assert hit.is_visible()  # scrolled into view inside the modal
    assert "铜仁市总工会2025年工作综述" in page.locator("#rag-doc-modal .rag-doc-title").inner_text()
    page.keyboard.press("Escape")
    assert page.locator("#rag-doc-modal").is_hidden()


def test_follow_up_and_earlier_citations_keep_their_sources(page):
    ask(page, "2025年铜仁市工会指导企业签订了多少份综合集体合同？", 1)
    second = ask(page, "那2024年呢？", 2)
    assert "资料中没有相关信息" not in second or "2024" in second
    # the first turn's [1] still opens the first turn's source, not the second's
    page.locator('#rag-chat a.rag-cite[data-turn="0"][data-n="1"]').first.click()
    active = page.locator(".rag-src.rag-active")
    active.wait_for(timeout=5_000)
    assert active.get_attribute("id") == "rag-src-0-1"
    assert "68" in active.inner_text()


def test_refusal_says_so_and_shows_closest_passages(page):
    text = ask(page, "广州市总工会2023年建成了多少个户外劳动者驿站？", 1)
    assert "资料中没有相关信息" in text
    turn = page.locator('.rag-turn[data-turn="0"]')
    assert "最接近的段落" in turn.inner_text()
    assert turn.locator(".rag-src").count() >= 1
    assert page.locator("#rag-chat a.rag-cite").count() == 0


def test_like_is_saved_with_comment(page, live_server):
    ask(page, QUESTION, 1)
    page.fill("#rag-comment textarea", "数字准确")
    page.locator('#rag-chat [data-testid="bot"]').last.hover()
    page.locator('#rag-chat button[aria-label="赞"]').last.click()  # Gradio's zh-CN label for Like
    page.wait_for_function("() => document.querySelector('#rag-feedback-note').innerText.includes('已保存')")
    rows = [json.loads(x) for x in (live_server.index / "feedback.jsonl").read_text("utf-8").splitlines()]
    row = rows[-1]
    assert row["feedback"] == "like" and row["comment"] == "数字准确"
    assert row["question"].startswith("2025年铜仁市") and "3234万元" in row["answer"]
    assert row["citations"] and row["evidence"]
    from rag.evaluation.dataset import load_dataset

    assert load_dataset(live_server.index / "feedback.jsonl")[-1].question == row["question"]


def test_two_sessions_at_once_do_not_mix(browser, live_server):
    questions = [QUESTION, "曲靖建立了多少个新就业形态劳动者工会组织？"]
    expected = ["3234万元", "63"]
    pages = []
    for _ in questions:
        ctx = browser.new_context(viewport={"width": 1200, "height": 800})
        pg = ctx.new_page()
        pg.goto(live_server.url + "/")
        pg.wait_for_selector("#rag-input textarea")
        pages.append(pg)
    for pg, q in zip(pages, questions, strict=True):  # both sent before either answer is read
        pg.fill("#rag-input textarea", q)
        pg.press("#rag-input textarea", "Enter")
    for pg, q, want, other in zip(pages, questions, expected, reversed(expected), strict=True):
        pg.wait_for_selector('.rag-turn[data-turn="0"]', state="attached", timeout=30_000)
        chat = pg.locator("#rag-chat").inner_text()
        assert want in chat and q[:8] in chat
        assert other not in chat
        assert pg.locator('#rag-chat [data-testid="bot"]').count() == 1
    for pg in pages:
        pg.context.close()


def test_enter_while_composing_does_not_send(page):
    box = page.locator("#rag-input textarea")
    box.fill("正在输入")
    box.dispatch_event("compositionstart")
    page.evaluate(
        """() => { const t = document.querySelector('#rag-input textarea');
        for (const type of ['keydown', 'keypress'])
          t.dispatchEvent(new KeyboardEvent(type, {key: 'Enter', code: 'Enter', keyCode: 13, which: 13,
                                                   bubbles: true, cancelable: true, isComposing: true})); }"""
    )
    page.wait_for_timeout(1000)
    assert page.locator('#rag-chat [data-testid="user"]').count() == 0
    assert box.input_value() == "正在输入"
    box.dispatch_event("compositionend")
    page.wait_for_timeout(100)
    box.press("Enter")  # a plain Enter after composing sends
    page.wait_for_selector('#rag-chat [data-testid="user"]', timeout=10_000)


def test_shift_enter_adds_a_line(page):
    box = page.locator("#rag-input textarea")
    box.fill("第一行")
    box.press("Shift+Enter")
    box.type("第二行")
    assert box.input_value() == "第一行\n第二行"
    assert page.locator('#rag-chat [data-testid="user"]').count() == 0


HOSTILE = (
    "<b>标题</b><script>window.__pwned=1</script>\n\n"
    '2026年某县共建成<img src=x onerror="window.__pwned=2">乡村图书馆37座，藏书12万册。\n'
)


def _upload(page, paths: list[Path]) -> str:
    page.get_by_role("tab", name="文档管理").click()
    page.locator("#rag-upload input[type=file]").set_input_files([str(p) for p in paths])
    page.wait_for_timeout(500)
    page.locator("#rag-upload-btn").click()
    page.wait_for_function(
        "() => { const t = document.querySelector('#rag-upload-result'); return t && /已加入|已更新|拒绝|未变化/.test(t.innerText); }",
        timeout=60_000,
    )
    return page.locator("#rag-upload-result").inner_text()


def test_upload_ask_delete(page, tmp_path, live_server):
    doc = tmp_path / "统计公报2026.txt"
    doc.write_text(
        "某市2026年国民经济和社会发展统计公报\n\n"
        "一、综合\n\n全年地区生产总值1234.5亿元，比上年增长5.2%。\n\n"
        "二、教育\n\n全市共有普通高校9所，在校学生8.6万人。\n",
        encoding="utf-8",
    )
    bad = tmp_path / "broken.docx"  # passes the browser's type filter, refused by the server
    bad.write_bytes(b"this is not a zip archive")
    result = _upload(page, [doc, bad])
    assert "统计公报2026.txt" in result and "已加入" in result
    assert "broken.docx" in result and "拒绝" in result
    assert "统计公报2026.txt" in page.locator("#rag-docs").inner_text()
    page.get_by_role("tab", name="问答").click()
    text = ask(page, "2026年某市共有普通高校多少所？", 1)
    assert "9所" in text
    # delete it and see it gone
    page.get_by_role("tab", name="文档管理").click()
    page.locator("#rag-delete-pick input").click()
    page.get_by_role("option", name="统计公报2026.txt").click()
    page.locator("#rag-delete-btn").click()
    page.wait_for_function("() => document.querySelector('#rag-docs-note').innerText.includes('已删除')")
    assert "统计公报2026.txt" not in page.locator("#rag-docs").inner_text()
    assert "统计公报2026.txt" not in live_server.service.sources()
    assert not (live_server.index / "uploads" / "统计公报2026.txt").exists()
    page.get_by_role("tab", name="问答").click()
    again = ask(page, "2026年某市共有普通高校多少所？", 2)
    assert "9所" not in again


def test_document_html_is_shown_as_text(page, tmp_path, live_server):
    doc = tmp_path / "<img src=x onerror=alert(1)>.txt"
    doc.write_text(HOSTILE, encoding="utf-8")
    _upload(page, [doc])
    page.get_by_role("tab", name="问答").click()
    text = ask(page, "2026年某县共建成乡村图书馆多少座？", 1)
    assert "37座" in text
    sources = page.locator("#rag-sources").inner_text()
    assert "<b>标题</b>" in sources or "onerror" in sources  # markup shown literally
    page.locator("#rag-src-0-1 button.rag-open").click()
    page.locator("#rag-doc-modal #rag-doc-hit").wait_for(timeout=10_000)
    assert "<script>" in page.locator("#rag-doc-modal").inner_text()
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("#rag-sources img, #rag-doc-modal img, #rag-sources script, #rag-chat img").count() == 0
    names = [s for s in live_server.service.sources() if "onerror" in s]
    assert names and "/" not in names[0]
    live_server.service.delete(names)


def test_page_loads_nothing_from_outside(browser, live_server):
    ctx = browser.new_context()
    pg = ctx.new_page()
    hosts: list[str] = []
    lock = threading.Lock()

    def seen(req) -> None:
        with lock:
            hosts.append(req.url.split("/")[2] if "://" in req.url else req.url)

    pg.on("request", seen)
    pg.goto(live_server.url + "/")
    pg.wait_for_selector("#rag-input textarea")
    ask(pg, QUESTION, 1)
    ctx.close()
    assert hosts and set(hosts) <= {f"127.0.0.1:{live_server.port}"}, sorted(set(hosts))


def test_examples_come_from_the_documents(page, live_server):
    examples = live_server.service.examples()
    assert examples, "the seeds give example questions"
    chat = page.locator("#rag-chat").inner_text()
    assert examples[0][:10] in chat


def test_bracket_forms_become_links_and_unknown_numbers_stay_text(page):
    """LLMs write 【1】, ［1］ and [1,2]; a number with no source in its turn stays plain text."""
    page.wait_for_selector("#rag-sources", state="attached")  # a loaded machine may mount it late
    page.wait_for_selector("#rag-chat", state="attached")
    page.evaluate(
        """() => {
        const chat = document.querySelector('#rag-chat');
        const bot = document.createElement('div');
        bot.setAttribute('data-testid', 'bot');
        bot.innerHTML = '<div class="message-content"><p>甲【1】乙［２］丙[1,3]丁[7]</p></div>';
        chat.appendChild(bot);
        const panel = document.querySelector('#rag-sources');
        for (const n of [1, 2, 3]) {
          const c = document.createElement('div');
          c.className = 'rag-src'; c.id = 'rag-src-0-' + n; c.textContent = '来源' + n;
          panel.appendChild(c);
        }
        }"""
    )
    page.wait_for_function("() => document.querySelectorAll('#rag-chat a.rag-cite').length >= 4")
    links = page.locator("#rag-chat a.rag-cite")
    assert [links.nth(i).get_attribute("data-n") for i in range(links.count())] == ["1", "2", "1", "3"]
    assert "丁[7]" in page.locator('#rag-chat [data-testid="bot"]').last.inner_text()
    links.nth(1).click()
    assert page.locator(".rag-src.rag-active").get_attribute("id") == "rag-src-0-2"
