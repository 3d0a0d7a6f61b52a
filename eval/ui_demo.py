"""Start `rag serve` as a user would, measure it, and take the README's screenshot.

    python eval/ui_demo.py --index index [--shot docs/screenshot.png] [--runs 3]

Measures, on a private copy of the index (the original is never written):
- serve → ready: from starting the `rag serve` process to the first page served (HTTP 200
  on /), and to its "ready" line;
- upload → searchable: in Chromium, from clicking 「加入索引」 with one small file to its
  result row, then to the answer of a question only that file answers;
- service upload: the same update through ``Service.upload`` (the code the button runs).
Then asks a question, clicks its citation and saves a screenshot (Chinese fonts from
Debian's fonts-noto-cjk). Figures go to stdout as a table and to eval/runs/ui_demo.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
SMALL = "某市2026年图书馆事业统计\n\n全市共有公共图书馆{n}座，全年接待读者{m}万人次。\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(index: Path, port: int) -> tuple[subprocess.Popen[str], float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("rag")), "serve", "--index", str(index), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready_line = 0.0
    assert proc.stdout is not None
    for line in proc.stdout:
        if "ready at" in line:
            ready_line = time.perf_counter() - t0
            break
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.05)
    return proc, ready_line, time.perf_counter() - t0


def ask(page, question: str, n: int) -> str:
    page.fill("#rag-input textarea", question)
    page.press("#rag-input textarea", "Enter")
    page.wait_for_selector(f'.rag-turn[data-turn="{n - 1}"]', state="attached", timeout=60_000)
    return page.locator('#rag-chat [data-testid="bot"]').nth(n - 1).inner_text()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", default="index")
    ap.add_argument("--shot", default=str(ROOT / "docs" / "screenshot.png"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--question", default="2025年铜仁市发放了多少职工医疗互助金？")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from ui.service import Service

    work = Path(tempfile.mkdtemp(prefix="rag-ui-demo-"))
    index = work / "index"
    shutil.copytree(args.index, index, ignore=shutil.ignore_patterns("feedback.jsonl", "uploads", ".lock"))
    figures: dict[str, list[float]] = {"serve_ready_line_s": [], "serve_first_page_s": []}
    for _ in range(args.runs):
        port = free_port()
        proc, line_s, page_s = start_server(index, port)
        proc.terminate()
        proc.wait(timeout=20)
        figures["serve_ready_line_s"].append(line_s)
        figures["serve_first_page_s"].append(page_s)

    svc = Service(index)
    svc.assistant().warm_up()
    figures["service_upload_s"] = []
    for i in range(args.runs):
        f = work / f"svc{i}.txt"
        f.write_text(SMALL.format(n=30 + i, m=100 + i), encoding="utf-8")
        t = time.perf_counter()
        (r,) = svc.upload([(f, f.name)])
        assert r.status == "added", r
        assert f"{30 + i}座" in svc.ask("某市2026年共有公共图书馆多少座？", sources=[f.name]).text
        figures["service_upload_s"].append(time.perf_counter() - t)
        svc.delete([f.name])

    port = free_port()
    proc, _, _ = start_server(index, port)
    figures["ui_upload_to_result_s"], figures["ui_upload_to_answer_s"] = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#rag-input textarea")
            for i in range(args.runs):
                f = work / f"ui{i}.txt"
                f.write_text(SMALL.format(n=50 + i, m=200 + i), encoding="utf-8")
                page.get_by_role("tab", name="文档管理").click()
                page.locator("#rag-upload input[type=file]").set_input_files(str(f))
                page.wait_for_timeout(500)  # the browser has sent the file to Gradio's upload route
                t = time.perf_counter()
                page.locator("#rag-upload-btn").click()
                page.wait_for_function(
                    "name => document.querySelector('#rag-upload-result').innerText.includes(name)", arg=f.name,
                    timeout=60_000,
                )
                figures["ui_upload_to_result_s"].append(time.perf_counter() - t)
                page.get_by_role("tab", name="问答").click()
                text = ask(page, "某市2026年共有公共图书馆多少座？", i + 1)
                figures["ui_upload_to_answer_s"].append(time.perf_counter() - t)
                assert f"{50 + i}座" in text, text
                svc.delete([f.name])
            page.close()
            # the screenshot: a fresh page answering one question, its citation clicked
            page = browser.new_page(viewport={"width": 1440, "height": 860}, locale="zh-CN")
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#rag-input textarea")
            ask(page, args.question, 1)
            page.locator('a.rag-cite[data-turn="0"]').first.click()
            page.wait_for_timeout(800)
            Path(args.shot).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.shot)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)

    summary = {k: {"median": round(statistics.median(v), 2), "min": round(min(v), 2), "max": round(max(v), 2)}
               for k, v in figures.items() if v}  # fmt: skip
    print("| what | median s | min | max |\n|---|---|---|---|")
    for k, v in summary.items():
        print(f"| {k} | {v['median']} | {v['min']} | {v['max']} |")
    out = ROOT / "eval" / "runs"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ui_demo.json").write_text(json.dumps({"runs": args.runs, "figures": summary}, indent=2), encoding="utf-8")
    print(f"screenshot: {args.shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
